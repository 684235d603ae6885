"""Calibration: how close each proposed configuration came to the target statistics.

The targets and the distance are written in the experiment file (``calibration:``); a
``bayes`` sweep proposes configurations that minimise the distance between the replication
means of the target metrics and the observed values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.analysis.tables import AnalysisError, Results, mean_ci


def calibration_trace(results: Results) -> pd.DataFrame:
    """One row per configuration in proposal order: parameters, target means, distance and
    the best distance so far."""
    exp = results.experiment
    if exp.calibration is None:
        raise AnalysisError("calibration trace: the experiment has no `calibration:` block")
    finished = results.finished
    rows = []
    for record in results.design.sort_values("config_id").to_dict("records"):
        runs = finished[finished["config_id"] == record["config_id"]]
        means = {t.metric: float(runs[t.metric].mean()) if len(runs) else np.nan
                 for t in exp.calibration.targets}
        row = {"proposal": record["config_id"], "batch": record.get("batch", 0),
               **{p: record[p] for p in exp.parameter_names}, "runs": len(runs),
               **{f"mean:{k}": v for k, v in means.items()},
               "distance": exp.calibration.distance_of(means)}
        rows.append(row)
    trace = pd.DataFrame(rows)
    trace["best_so_far"] = trace["distance"].fillna(np.inf).cummin().replace(np.inf, np.nan)
    return trace


def calibration_fit(results: Results, trace: pd.DataFrame,
                    confidence: float = 0.95) -> pd.DataFrame:
    """Targets against the simulated values of the best configuration, with intervals."""
    exp = results.experiment
    assert exp.calibration is not None
    if trace["distance"].notna().sum() == 0:
        raise AnalysisError("calibration: no configuration has finished runs")
    best = trace.loc[trace["distance"].idxmin()]
    runs = results.finished[results.finished["config_id"] == best["proposal"]]
    rows = []
    for target in exp.calibration.targets:
        n, mean, _sd, low, high = mean_ci(runs[target.metric], confidence)
        rows.append({"proposal": int(best["proposal"]), "metric": target.metric,
                     "target": target.value, "scale": target.scale, "weight": target.weight,
                     "simulated_mean": mean, "ci_low": low, "ci_high": high, "runs": n,
                     "miss_in_scales": (mean - target.value) / target.scale,
                     "source": target.source})
    return pd.DataFrame(rows)
