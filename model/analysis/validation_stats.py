"""Statistics of the validation suite: paired, one-sided tests in the predicted direction.

Every comparison is paired: replication k of every arm runs with the same seed (common
random numbers), so the unit of analysis is the per-seed difference d_k = arm_k − base_k
(or, for a within-run contrast, metric_k − versus_k). For each sub-claim we report

- the mean difference with a 95% percentile bootstrap interval (resampling seeds; Efron &
  Tibshirani 1993), the relative change, and the standardised effect size
  d_z = mean(d) / sd(d) (Lakens 2013);
- a one-sided Wilcoxon signed-rank test in the predicted direction (exact for n ≤ 25), and
  the one-sided paired t-test beside it;
- a Holm (1979) step-down correction across the sub-claims of one fact, so a fact is called
  reproduced only if every sub-claim holds at the family-wise level alpha.

A *level* claim (e.g. mediation success above 95%) is a one-sample test of the per-seed values
against the threshold; a *convexity* claim fits y = a + b·x + c·x² over the pooled runs and
tests c > 0 with a seed-block bootstrap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

BOOTSTRAP_RESAMPLES = 4000
CONFIDENCE = 0.95


@dataclass
class TestResult:
    """The outcome of one sub-claim's test."""

    n: int
    estimate: float  # mean paired difference (or mean level, or quadratic coefficient)
    ci_low: float
    ci_high: float
    effect_size: float  # d_z, or standardised distance from the threshold
    relative_change: float
    p_value: float  # the decisive one-sided p (Wilcoxon, or bootstrap for convexity)
    p_t: float  # one-sided paired t (for reference)
    direction_ok: bool  # the estimate has the predicted sign
    test: str
    p_adjusted: float = math.nan
    passed: bool = False


def _bootstrap_mean_ci(d: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    if len(d) < 2:
        return math.nan, math.nan
    idx = rng.integers(0, len(d), size=(BOOTSTRAP_RESAMPLES, len(d)))
    means = d[idx].mean(axis=1)
    a = (1 - CONFIDENCE) / 2
    return float(np.quantile(means, a)), float(np.quantile(means, 1 - a))


def _sign(direction: str) -> int:
    if direction not in ("increase", "decrease"):
        raise ValueError(f"direction must be 'increase' or 'decrease' (got {direction!r})")
    return 1 if direction == "increase" else -1


def paired_test(base: np.ndarray, arm: np.ndarray, direction: str, seed: int = 0) -> TestResult:
    """Arm vs baseline over paired seeds, one-sided in ``direction`` (arm > base for increase)."""
    base, arm = np.asarray(base, float), np.asarray(arm, float)
    ok = np.isfinite(base) & np.isfinite(arm)
    base, arm = base[ok], arm[ok]
    d = arm - base
    return _one_sample(d, direction, seed, reference=float(base.mean()) if len(base) else math.nan, test="paired")


def level_test(values: np.ndarray, threshold: float, direction: str, seed: int = 0) -> TestResult:
    """Per-seed values above (increase) or below (decrease) a threshold."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    res = _one_sample(v - threshold, direction, seed, reference=threshold, test="level")
    res.estimate += threshold
    res.ci_low += threshold
    res.ci_high += threshold
    return res


def _one_sample(d: np.ndarray, direction: str, seed: int, reference: float, test: str) -> TestResult:
    sign = _sign(direction)
    n = len(d)
    rng = np.random.default_rng(seed)
    mean = float(d.mean()) if n else math.nan
    lo, hi = _bootstrap_mean_ci(d, rng)
    sd = float(d.std(ddof=1)) if n > 1 else math.nan
    dz = mean / sd if sd and sd > 0 else (math.copysign(math.inf, mean) if mean else 0.0)
    alternative = "greater" if sign > 0 else "less"
    if n == 0:
        p_w = p_t = math.nan
    elif np.all(d == 0):
        p_w = p_t = 1.0
    else:
        p_w = float(stats.wilcoxon(d, alternative=alternative, zero_method="wilcox").pvalue) if np.any(d != 0) else 1.0
        if sd and sd > 0:
            p_t = float(stats.ttest_1samp(d, 0.0, alternative=alternative).pvalue)
        else:
            p_t = 0.0 if sign * mean > 0 else 1.0
    rel = mean / abs(reference) if reference and np.isfinite(reference) and reference != 0 else math.nan
    return TestResult(
        n=n,
        estimate=mean,
        ci_low=lo,
        ci_high=hi,
        effect_size=float(dz),
        relative_change=rel,
        p_value=p_w,
        p_t=p_t,
        direction_ok=bool(n and sign * mean > 0),
        test=f"{test}: one-sided Wilcoxon signed-rank",
    )


def convexity_test(x: np.ndarray, y: np.ndarray, block: np.ndarray, seed: int = 0) -> TestResult:
    """Is y convex in x? OLS y = a + b x + c x²; c with a seed-block bootstrap interval and
    one-sided bootstrap p = share of resamples with c ≤ 0. Effect size: c·range(x)² relative
    to the mean of y, i.e. how much the curvature adds across the observed range."""
    x, y, block = np.asarray(x, float), np.asarray(y, float), np.asarray(block)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y, block = x[ok], y[ok], block[ok]
    c = _quad_coef(x, y)
    rng = np.random.default_rng(seed)
    blocks = np.unique(block)
    members = [np.flatnonzero(block == b) for b in blocks]
    boots = np.empty(BOOTSTRAP_RESAMPLES)
    for i in range(BOOTSTRAP_RESAMPLES):
        pick = np.concatenate([members[j] for j in rng.integers(0, len(blocks), len(blocks))])
        boots[i] = _quad_coef(x[pick], y[pick])
    boots = boots[np.isfinite(boots)]
    a = (1 - CONFIDENCE) / 2
    span = float(np.ptp(x)) if len(x) else math.nan
    p_boot = float(((boots <= 0).sum() + 1) / (len(boots) + 1))
    # A classical check beside it: the t-test of c in the OLS fit.
    X = np.column_stack([np.ones_like(x), x, x * x])
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    dof = max(len(y) - 3, 1)
    cov = (resid @ resid / dof) * np.linalg.pinv(X.T @ X)
    se = math.sqrt(max(cov[2, 2], 0.0))
    p_t = float(stats.t.sf(beta[2] / se, dof)) if se > 0 else math.nan
    return TestResult(
        n=len(blocks),
        estimate=float(c),
        ci_low=float(np.quantile(boots, a)),
        ci_high=float(np.quantile(boots, 1 - a)),
        effect_size=float(c * span**2 / max(abs(y.mean()), 1e-12)),
        relative_change=math.nan,
        p_value=p_boot,
        p_t=p_t,
        direction_ok=bool(c > 0),
        test="convexity: quadratic coefficient > 0, seed-block bootstrap",
    )


def _quad_coef(x: np.ndarray, y: np.ndarray) -> float:
    if len(np.unique(x)) < 3:
        return math.nan
    X = np.column_stack([np.ones_like(x), x, x * x])
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    return float(beta[2])


def holm(p_values: list[float]) -> list[float]:
    """Holm (1979) step-down adjusted p-values (NaN stays NaN and counts as 1)."""
    p = np.array([1.0 if not np.isfinite(v) else v for v in p_values])
    m = len(p)
    order = np.argsort(p)
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted.tolist()
