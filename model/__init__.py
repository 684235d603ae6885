"""Grass-roots governance simulator: villages, cadres, associations, grids, townships and
county offices handling a daily flow of incidents under an assessment regime.

Three lines for a notebook::

    from model import load_scenario, run_scenario
    result = run_scenario(load_scenario("scenarios/demo.yaml"), seed=1)
    result.summary["petitions_reported"], result.timeseries.plot(x="day", y="backlog")
"""

import warnings

from model.lazy import lazy_exports

# The `sweeps` engine declares pydantic-v1 config keys; its warning says nothing to our users.
warnings.filterwarnings("ignore", message="Valid config keys have changed in V2")

_EXPORTS = {
    "GovernanceModel": "model.simulation",
    "ModelDiverged": "model.scenario",
    "RunResult": "model.runner",
    "run_scenario": "model.runner",
    "Scenario": "model.scenario",
    "ScenarioError": "model.scenario",
    "load_scenario": "model.scenario",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
