"""Run a scenario and write its outputs atomically.

``run_scenario(scenario, seed)`` is a pure function of (scenario, seed, code version): the
same inputs give byte-identical ``summary.json`` and ``timeseries.parquet``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from model.atomic import atomic_write_bytes, atomic_write_parquet
from model.regimes import make_regime
from model.scenario import Scenario
from model.simulation import GovernanceModel
from model.version import code_version


@dataclass
class RunResult:
    summary: dict[str, object]
    timeseries: pd.DataFrame
    evaluations: pd.DataFrame = field(default_factory=pd.DataFrame)


def run_scenario(
    scenario: Scenario, seed: int | None = None, years: float | None = None, keep_incident_log: bool = False
) -> RunResult:
    """Simulate ``scenario`` for its years (or ``years``) with ``seed`` (or the scenario's)."""
    seed = scenario.seed if seed is None else int(seed)
    days = scenario.days if years is None else int(round(years * 365))
    model = GovernanceModel(scenario, seed=seed, keep_incident_log=keep_incident_log)
    model.run(days)
    summary = model.collector.summary()
    summary.update({"scenario": scenario.name, "seed": seed, "code_version": code_version(), "years": days / 365})
    return RunResult(summary, model.collector.timeseries(), pd.DataFrame(model.county_office.evaluations))


def summary_json(summary: dict[str, object]) -> bytes:
    return (json.dumps(summary, indent=2, sort_keys=True) + "\n").encode("utf-8")


def scenario_json(scenario: Scenario) -> bytes:
    """The scenario as the run used it, every default filled in, the regime's parameters
    included: a regime's defaults live in its class (model/regimes.py), not in the scenario,
    so a plain dump would record only the parameters the file set. Loading it back gives
    the same scenario."""
    data = scenario.model_dump(mode="json")
    data["regime"] = {"name": scenario.regime.name, **make_regime(scenario.regime).params.model_dump(mode="json")}
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def write_outputs(result: RunResult, out_dir: str | Path, scenario: Scenario | None = None) -> Path:
    """Write timeseries.parquet, evaluations.parquet, scenario.json, then summary.json last:
    a folder with a summary.json is a finished run."""
    out = Path(out_dir)
    atomic_write_parquet(out / "timeseries.parquet", result.timeseries)
    atomic_write_parquet(out / "evaluations.parquet", result.evaluations)
    if scenario is not None:
        atomic_write_bytes(out / "scenario.json", scenario_json(scenario))
    atomic_write_bytes(out / "summary.json", summary_json(result.summary))
    return out
