"""Grass-roots governance simulator: villages, cadres, associations, grids, townships and
county offices handling a daily flow of incidents under an assessment regime.

Three lines for a notebook::

    from model import load_scenario, run_scenario
    result = run_scenario(load_scenario("scenarios/demo.yaml"), seed=1)
    result.summary["petitions_reported"], result.timeseries.plot(x="day", y="backlog")
"""

import warnings
from importlib import import_module

# The `sweeps` engine declares pydantic-v1 config keys; its warning says nothing to our users.
warnings.filterwarnings("ignore", message="Valid config keys have changed in V2")

_EXPORTS = {
    "GovernanceModel": "model.simulation",
    "RunResult": "model.runner",
    "run_scenario": "model.runner",
    "Scenario": "model.scenario",
    "ScenarioError": "model.scenario",
    "load_scenario": "model.scenario",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    # Lazy, so that `run.py validate` does not pay for importing Mesa and the simulation.
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'model' has no attribute {name!r}")
