"""Grass-roots governance simulator: villages, cadres, associations, grids, townships and
county offices handling a daily flow of incidents under an assessment regime.

Three lines for a notebook::

    from model import load_scenario, run_scenario
    result = run_scenario(load_scenario("scenarios/demo.yaml"), seed=1)
    result.summary["petitions_reported"], result.timeseries.plot(x="day", y="backlog")
"""

import warnings

# The `sweeps` engine declares pydantic-v1 config keys; its warning says nothing to our users.
warnings.filterwarnings("ignore", message="Valid config keys have changed in V2")

from model.runner import RunResult, run_scenario  # noqa: E402
from model.scenario import Scenario, ScenarioError, load_scenario  # noqa: E402
from model.simulation import GovernanceModel  # noqa: E402

__all__ = ["GovernanceModel", "RunResult", "Scenario", "ScenarioError", "load_scenario", "run_scenario"]
