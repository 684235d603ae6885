"""Tidy tables of a run store: results, per-configuration means, time-series bands, heatmaps.

Plain data in, plain data out: every function takes DataFrames (as read from the store) and
returns a long ("tidy") DataFrame, one observation per row, ready for CSV or a plot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import stats

from model.sweep.experiment import Experiment
from model.sweep.store import RunStore


class AnalysisError(ValueError):
    """An analysis cannot run on these results (e.g. no finished run in an arm)."""


@dataclass
class Results:
    """A run store opened for analysis."""

    out_dir: Path
    experiment: Experiment
    summary: pd.DataFrame
    """Every run recorded, finished and failed (``status`` column)."""
    design: pd.DataFrame

    @property
    def finished(self) -> pd.DataFrame:
        """Finished runs only."""
        if self.summary.empty:
            return self.summary
        return self.summary[self.summary["status"] == "finished"].reset_index(drop=True)

    def timeseries(self) -> pd.DataFrame:
        """Kept daily series of finished runs, with the swept parameters joined on."""
        frame = RunStore(self.out_dir).timeseries()
        if frame.empty:
            return frame
        params = self.design[["config_id", *self.experiment.parameter_names]]
        return frame.merge(params, on="config_id", how="left")


def load_results(out_dir: str | Path) -> Results:
    """Open a run store written by ``run_experiment`` / ``run.py sweep``."""
    store = RunStore(out_dir)
    experiment = store.experiment()
    summary_path = store.root / "summary.parquet"
    try:
        summary = pd.read_parquet(summary_path) if summary_path.is_file() else None
    except (pa.ArrowException, OSError):  # summary.parquet is derived: rebuilt from the runs below
        summary = None
    if summary is None or len(store.finished_ids()) + len(store.failed_records()) != len(summary):
        summary = store.summary()  # the sweep was interrupted before consolidating, or the file is damaged
    return Results(Path(out_dir), experiment, summary, store.design_frame())


def select(frame: pd.DataFrame, where: dict[str, Any] | None) -> pd.DataFrame:
    """Rows whose parameters have the given values."""
    for key, value in (where or {}).items():
        frame = frame[frame[key] == value]
    return frame


def mean_ci(values: Sequence[float] | np.ndarray, confidence: float = 0.95) -> tuple[
        int, float, float, float, float]:
    """(n, mean, sd, ci_low, ci_high) with a Student-t interval; NaNs are dropped."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return 0, np.nan, np.nan, np.nan, np.nan
    mean = float(x.mean())
    if n == 1:
        return 1, mean, np.nan, np.nan, np.nan
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf((1 + confidence) / 2, n - 1) * sd / np.sqrt(n))
    return n, mean, sd, mean - half, mean + half


def configuration_summary(results: Results, metrics: Sequence[str] | None = None,
                          confidence: float = 0.95) -> pd.DataFrame:
    """Per configuration and metric: runs, mean, sd and confidence interval over replications."""
    exp = results.experiment
    metrics = list(metrics or exp.summary_metrics)
    finished = results.finished
    rows = []
    for config_id, group in finished.groupby("config_id", sort=True):
        params = {p: group[p].iloc[0] for p in exp.parameter_names}
        for metric in metrics:
            n, mean, sd, low, high = mean_ci(group[metric], confidence)
            rows.append({"config_id": config_id, **params, "metric": metric, "n": n,
                         "mean": mean, "sd": sd, "ci_low": low, "ci_high": high,
                         "confidence": confidence})
    return pd.DataFrame(rows)


def timeseries_bands(timeseries: pd.DataFrame, columns: Sequence[str],
                     by: str | None = None, facet: str | None = None,
                     confidence: float = 0.95) -> pd.DataFrame:
    """Mean and confidence band over runs, per day, series and (facet, by) group.

    Runs of configurations that differ in parameters other than ``by`` and ``facet`` are
    pooled; filter them first (``select``) to keep a band to one configuration.
    """
    keys = [k for k in (facet, by) if k is not None]
    rows = []
    for column in columns:
        grouped = timeseries.groupby([*keys, "day"], sort=True)[column]
        stats_frame = grouped.agg(["count", "mean", "std"]).reset_index()
        n = stats_frame["count"].to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            crit = np.where(n > 1, stats.t.ppf((1 + confidence) / 2, np.maximum(n - 1, 1)), np.nan)
            half = crit * stats_frame["std"].to_numpy() / np.sqrt(n)
        stats_frame["ci_low"] = stats_frame["mean"] - half
        stats_frame["ci_high"] = stats_frame["mean"] + half
        stats_frame.insert(len(keys) + 1, "series", column)
        rows.append(stats_frame.rename(columns={"count": "n", "std": "sd"}))
    out = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    out["confidence"] = confidence
    return out


def heatmap_table(finished: pd.DataFrame, x: str, y: str, metric: str,
                  facet: str | None = None, confidence: float = 0.95) -> pd.DataFrame:
    """Mean of ``metric`` over runs in each (facet, y, x) cell, with its interval."""
    keys = [k for k in (facet, y, x) if k is not None]
    rows = []
    for values, group in finished.groupby(keys, sort=True):
        values = values if isinstance(values, tuple) else (values,)
        n, mean, sd, low, high = mean_ci(group[metric], confidence)
        rows.append({**dict(zip(keys, values, strict=True)), "metric": metric, "n": n,
                     "value": mean, "sd": sd, "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows)
