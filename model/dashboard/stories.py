"""Small helpers the trainer notebooks share: find the repository, run a few paired arms,
and say in a sentence what changed.

A notebook reads top to bottom without them, but three lines beat thirty in front of a room
of cadres::

    runs, series = run_arms({"veto": {"regime.name": "veto"}, "comprehensive": {...}}, seeds=[1, 2], years=1)
    compare(runs, baseline="comprehensive", metrics=["petitions_true", "petitions_reported"])

``GOV_FAST=1`` (set by the tests) shrinks horizons and seed counts; without it the notebooks
run the sizes their prose describes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.analysis import label, paired_differences
from model.runner import run_scenario
from model.scenario import load_scenario

FAST_ENV = "GOV_FAST"


def fast_mode() -> bool:
    """True when the tests ask for small runs (``GOV_FAST=1``)."""
    return os.environ.get(FAST_ENV, "") not in ("", "0", "false", "no")


def repo_root(start: str | Path | None = None) -> Path:
    """The repository folder (the one holding ``scenarios/``), from a notebook's folder."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "scenarios").is_dir() and (folder / "model").is_dir():
            return folder
    raise FileNotFoundError(f"no scenarios/ folder above {here}")


def scenario_file(name: str = "demo.yaml") -> Path:
    return repo_root() / "scenarios" / name


def flatten(summary: Mapping[str, Any]) -> dict[str, Any]:
    """A run summary as one flat row: ``cadre_hours_share`` becomes ``hours_share.TASK``."""
    row = {k: v for k, v in summary.items() if not isinstance(v, dict)}
    for task, share in summary.get("cadre_hours_share", {}).items():
        row[f"hours_share.{task}"] = share
    return row


def run_arms(
    arms: Mapping[str, Mapping[str, Any]],
    seeds: Iterable[int],
    years: float,
    scenario: str | Path = "demo.yaml",
) -> tuple[pd.DataFrame, dict[tuple[str, int], pd.DataFrame]]:
    """Run every arm (name → scenario overrides) with every seed: common random numbers, so
    arm A and arm B with seed k form a pair. Returns one summary row per run, and each run's
    daily series keyed by (arm, seed)."""
    path = Path(scenario)
    if not path.is_file():
        path = scenario_file(str(scenario))
    rows, series = [], {}
    for seed in seeds:
        for arm, overrides in arms.items():
            result = run_scenario(load_scenario(path, dict(overrides)), seed=seed, years=years)
            rows.append({"arm": arm, "seed": seed, "replication": seed, **flatten(result.summary)})
            series[(arm, seed)] = result.timeseries
    return pd.DataFrame(rows), series


def compare(runs: pd.DataFrame, baseline: str, metrics: Sequence[str], confidence: float = 0.95) -> pd.DataFrame:
    """Each arm against ``baseline``, pair by pair (same seed): means, the mean difference
    with its confidence interval, and in how many pairs the arm came out higher."""
    table = paired_differences(runs, arm="arm", baseline=baseline, metrics=list(metrics), confidence=confidence)
    higher = []
    for _, row in table.iterrows():
        base = runs[runs["arm"] == baseline].set_index("seed")[row["metric"]]
        other = runs[runs["arm"] == row["arm"]].set_index("seed")[row["metric"]]
        both = base.index.intersection(other.index)
        higher.append(f"{int((other[both] > base[both]).sum())} of {len(both)}")
    table["arm higher in"] = higher
    table.insert(0, "measure", [label(m) for m in table["metric"]])
    keep = ["measure", "arm", "mean_baseline", "mean_arm", "mean_difference", "ci_low", "ci_high", "arm higher in"]
    return table[keep].rename(columns={"mean_baseline": f"mean ({baseline})", "mean_arm": "mean (arm)"})


def say_change(runs: pd.DataFrame, metric: str, arm: str, baseline: str, what: str | None = None) -> str:
    """One plain sentence: 'Petitions actually made: 12 under veto against 11 under comprehensive (+9%).'"""
    a = runs.loc[runs["arm"] == arm, metric].mean()
    b = runs.loc[runs["arm"] == baseline, metric].mean()
    what = what or label(metric)
    change = "" if b == 0 or not np.isfinite(b) else f" ({(a - b) / abs(b):+.0%})"
    return f"{what}: {_fmt(a)} under {arm} against {_fmt(b)} under {baseline}{change}."


def _fmt(x: float) -> str:
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 1:
        return f"{x:.1f}"
    return f"{x:.2f}"


def cumulative(series: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Running totals of daily event columns, indexed by day."""
    return series.set_index("day")[list(columns)].cumsum()
