"""Paired comparisons of arms run with common random numbers.

Replication k of every arm of an experiment runs with the same seed, so the arms differ by
their parameters only and replication k of arm B is the natural partner of replication k of
arm A. The difference B − A is then estimated from the per-pair differences, whose variance
is smaller than that of two independent means whenever the runs are positively correlated
(the point of common random numbers). We report the mean difference with a Student-t
interval, the standardised effect size d_z (mean difference / sd of differences, Cohen
1988 / Lakens 2013), the relative change, the paired t-test p-value, and for comparison the
half-width an unpaired (Welch) interval would have had.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from model.analysis.tables import AnalysisError

PAIR_KEYS = ("replication", "seed")
"""Columns that make two runs partners: the same replication, hence the same seed."""


def paired_differences(
    runs: pd.DataFrame,
    arm: str,
    baseline: Any,
    metrics: Sequence[str],
    by: Sequence[str] = (),
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Paired differences (arm − baseline) of each metric, for each other arm and group.

    ``runs``: finished runs, one row each, with the ``arm`` column, the ``by`` columns,
    ``replication`` and ``seed``. Parameters not in ``by`` are averaged within each
    replication first, which keeps the pairing. Returns one row per (group, arm, metric):
    n_pairs, mean_baseline, mean_arm, mean_difference, ci_low, ci_high, sd_difference,
    effect_size_dz, relative_change, p_value, unpaired_half_width.
    """
    by = [b for b in by if b != arm]
    if "status" in runs:
        runs = runs[runs["status"] == "finished"]
    if arm not in runs:
        raise AnalysisError(f"paired comparison: no column {arm!r} in the runs")
    if not (runs[arm] == baseline).any():
        raise AnalysisError(f"paired comparison: no finished run in the baseline arm "
                            f"{arm}={baseline!r}")
    keys = [arm, *by, *PAIR_KEYS]
    means = runs.groupby(keys, sort=True)[list(metrics)].mean().reset_index()
    base = means[means[arm] == baseline]
    rows = []
    for other in [v for v in means[arm].unique() if v != baseline]:
        pairs = base.merge(means[means[arm] == other], on=[*by, *PAIR_KEYS],
                           suffixes=("__base", "__arm"))
        groups = pairs.groupby(by, sort=True) if by else [((), pairs)]
        for values, group in groups:
            values = values if isinstance(values, tuple) else (values,)
            for metric in metrics:
                a = group[f"{metric}__base"].to_numpy(dtype=float)
                b = group[f"{metric}__arm"].to_numpy(dtype=float)
                ok = np.isfinite(a) & np.isfinite(b)
                rows.append({**dict(zip(by, values, strict=True)), "metric": metric,
                             "arm_parameter": arm, "arm": other, "baseline": baseline,
                             **_paired_stats(a[ok], b[ok], confidence)})
    return pd.DataFrame(rows)


def _paired_stats(base: np.ndarray, arm: np.ndarray, confidence: float) -> dict[str, float]:
    n = len(base)
    d = arm - base
    out = {"n_pairs": n, "mean_baseline": _mean(base), "mean_arm": _mean(arm),
           "mean_difference": _mean(d), "ci_low": np.nan, "ci_high": np.nan,
           "sd_difference": np.nan, "effect_size_dz": np.nan, "relative_change": np.nan,
           "p_value": np.nan, "unpaired_half_width": np.nan, "confidence": confidence}
    if n and out["mean_baseline"] != 0:
        out["relative_change"] = out["mean_difference"] / abs(out["mean_baseline"])
    if n < 2:
        return out
    crit = stats.t.ppf((1 + confidence) / 2, n - 1)
    sd = float(d.std(ddof=1))
    half = crit * sd / np.sqrt(n)
    out.update(ci_low=out["mean_difference"] - half, ci_high=out["mean_difference"] + half,
               sd_difference=sd)
    if sd > 0:
        out["effect_size_dz"] = out["mean_difference"] / sd
        out["p_value"] = float(2 * stats.t.sf(abs(out["mean_difference"] / (sd / np.sqrt(n))),
                                              n - 1))
    elif out["mean_difference"] == 0:
        out["p_value"] = 1.0
    else:
        out["p_value"] = 0.0  # every pair differs by the same nonzero amount
    var_a, var_b = base.var(ddof=1) / n, arm.var(ddof=1) / n
    if var_a + var_b > 0:
        welch_df = (var_a + var_b) ** 2 / (var_a**2 / (n - 1) + var_b**2 / (n - 1))
        out["unpaired_half_width"] = float(stats.t.ppf((1 + confidence) / 2, welch_df)
                                           * np.sqrt(var_a + var_b))
    return out


def _mean(x: np.ndarray) -> float:
    return float(x.mean()) if len(x) else np.nan
