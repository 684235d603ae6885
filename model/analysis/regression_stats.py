"""The statistics of the regression check: two-sample permutation tests, equivalence (TOST),
and multiple-comparison control (Holm for the gate, Benjamini-Hochberg q-values for reading).

Both two-sample tests are permutation tests on the pooled sample, so their p-values are
exact (up to Monte-Carlo resolution) for any distribution, discrete outputs with ties
included, whenever the two samples are exchangeable:

- the k-sample Anderson-Darling statistic A²akN with mid-ranks for ties (Scholz & Stephens
  1987, "K-sample Anderson-Darling tests", JASA 82: 918-924; the statistic of
  ``scipy.stats.anderson_ksamp(midrank=True)``), which is sensitive to any change of
  distribution and more so than Kolmogorov-Smirnov in the tails. scipy's tabulated p-value
  is clipped to [0.001, 0.25], too coarse for a Holm correction over dozens of tests, hence
  the permutation p-value;
- Welch's studentised difference of means, whose permutation distribution stays valid when
  the variances differ (Janssen 1997, "Studentized permutation tests for non-i.i.d.
  hypotheses", Stat. Probab. Lett. 36: 9-21);
- the paired (one-sample) t statistic of per-seed differences under random sign flips
  (Fisher's randomisation test; Good 2005, "Permutation, Parametric and Bootstrap Tests of
  Hypotheses", §3.1), exact whenever each pair is exchangeable, which holds when a change
  re-draws some of the randomness, and keeps the power that common random numbers give
  (a change of a rate leaves the drawn villages the same: only the rate's effect is tested).

All quantities share one set of permutations drawn from a fixed seed, so the check is a
deterministic function of its inputs: it cannot be flaky.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


def permutation_labels(n_x: int, n_y: int, n_resamples: int, seed: int) -> np.ndarray:
    """Boolean matrix (n_resamples × (n_x+n_y)): True marks the positions given to sample x."""
    rng = np.random.default_rng(seed)
    base = np.zeros(n_x + n_y, dtype=bool)
    base[:n_x] = True
    return rng.permuted(np.broadcast_to(base, (n_resamples, n_x + n_y)), axis=1)


def anderson_darling_statistics(pooled: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """A²akN (Scholz & Stephens 1987, eq. 7, mid-ranks for ties) for each row of ``labels``.

    ``pooled`` holds both samples; ``labels`` (rows × len(pooled)) marks sample 1. Only the
    labels vary between rows, so the pooled order and tie counts are computed once.
    """
    n_total = len(pooled)
    order = np.argsort(pooled, kind="stable")
    values = pooled[order]
    distinct, group = np.unique(values, return_inverse=True)
    if len(distinct) == 1:
        return np.zeros(len(labels))
    ties = np.bincount(group).astype(float)  # l_j
    last = np.cumsum(ties).astype(int) - 1  # last sorted position of each distinct value
    below = np.cumsum(ties) - ties / 2.0  # B_aj
    denom = below * (n_total - below) - n_total * ties / 4.0
    # M_1j: how many of sample 1 are at or below the j-th distinct value, for every row.
    m_1 = np.cumsum(labels[:, order], axis=1, dtype=np.int32)[:, last].astype(float)
    f_1 = np.diff(m_1, axis=1, prepend=0.0)
    n_1 = float(m_1[0, -1])
    total = np.zeros(len(labels))
    for n_i, m_i, f_i in ((n_1, m_1, f_1), (n_total - n_1, np.cumsum(ties) - m_1, ties - f_1)):
        m_a = m_i - f_i / 2.0  # M_aij
        total += (ties * (n_total * m_a - n_i * below) ** 2 / denom).sum(axis=1) / n_i
    return total * (n_total - 1) / n_total**2


def welch_statistics(pooled: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Welch's t = (mean_x − mean_y) / sqrt(s²x/nx + s²y/ny) for each row of ``labels``."""
    lab = labels.astype(float)
    n_x = lab[0].sum()
    n_y = len(pooled) - n_x
    sum_x = lab @ pooled
    sq_x = lab @ pooled**2
    sum_y, sq_y = pooled.sum() - sum_x, (pooled**2).sum() - sq_x
    mean_x, mean_y = sum_x / n_x, sum_y / n_y
    var_x = np.maximum(sq_x - n_x * mean_x**2, 0.0) / (n_x - 1)
    var_y = np.maximum(sq_y - n_y * mean_y**2, 0.0) / (n_y - 1)
    se = np.sqrt(var_x / n_x + var_y / n_y)
    diff = mean_x - mean_y
    # Relative tolerance: the two means can differ by rounding alone when both samples are
    # constant; such a difference is no difference.
    tiny = 1e-12 * (np.abs(pooled).max() + 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > tiny, diff / se, np.where(np.abs(diff) > tiny, np.sign(diff) * np.inf, 0.0))
    return t


@dataclass(frozen=True)
class TwoSampleResult:
    ad_statistic: float
    ad_p: float
    welch_t: float
    welch_p: float


def two_sample_tests(x: np.ndarray, y: np.ndarray, labels: np.ndarray) -> TwoSampleResult:
    """Permutation Anderson-Darling and Welch tests of x against y, sharing ``labels``.

    p = (1 + #{permuted statistic ≥ observed}) / (1 + #permutations): never zero, and exactly
    valid for a Monte-Carlo permutation test (Phipson & Smyth 2010, SAGMB 9: 39).
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if labels.shape[1] != len(x) + len(y):
        raise ValueError("permutation labels do not match the sample sizes")
    pooled = np.concatenate([x, y])
    observed = np.zeros((1, len(pooled)), dtype=bool)
    observed[0, : len(x)] = True
    ad_obs = float(anderson_darling_statistics(pooled, observed)[0])
    ad_p = _tail_p(anderson_darling_statistics(pooled, labels), ad_obs)
    t_obs = float(welch_statistics(pooled, observed)[0])
    t_p = _tail_p(np.abs(welch_statistics(pooled, labels)), abs(t_obs))
    return TwoSampleResult(ad_obs, ad_p, t_obs, t_p)


def anderson_darling_test(x: np.ndarray, y: np.ndarray, labels: np.ndarray) -> float:
    """The permutation Anderson-Darling p-value alone (see ``two_sample_tests``)."""
    pooled = np.concatenate([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])
    observed = np.zeros((1, len(pooled)), dtype=bool)
    observed[0, : len(x)] = True
    return _tail_p(anderson_darling_statistics(pooled, labels), float(anderson_darling_statistics(pooled, observed)[0]))


def _tail_p(permuted: np.ndarray, observed: float) -> float:
    # A relative tolerance keeps permutations that tie with the observed statistic (up to
    # rounding) on the "as extreme" side, which keeps the p-value valid.
    extreme = np.count_nonzero(permuted >= observed * (1 - 1e-9) - 1e-12)
    return float((1 + extreme) / (len(permuted) + 1))


def sign_flips(n: int, n_resamples: int, seed: int) -> np.ndarray:
    """Matrix (n_resamples × n) of random signs ±1 for the paired randomisation test."""
    rng = np.random.default_rng(seed)
    return rng.choice(np.array([-1.0, 1.0]), size=(n_resamples, n))


def paired_t_statistics(differences: np.ndarray, signs: np.ndarray) -> np.ndarray:
    """One-sample t of the sign-flipped differences, for each row of ``signs``."""
    d = signs * differences
    n = d.shape[1]
    mean = d.mean(axis=1)
    sd = d.std(axis=1, ddof=1)
    tiny = 1e-12 * (np.abs(differences).max() + 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sd > tiny, mean / (sd / np.sqrt(n)), np.where(np.abs(mean) > tiny, np.sign(mean) * np.inf, 0.0))


def paired_test(x: np.ndarray, y: np.ndarray, signs: np.ndarray) -> tuple[float, float]:
    """Randomisation test of mean(x − y) = 0 for paired samples: (t, two-sided p)."""
    d = np.asarray(x, dtype=float) - np.asarray(y, dtype=float)
    if signs.shape[1] != len(d):
        raise ValueError("sign flips do not match the number of pairs")
    t_obs = float(paired_t_statistics(d, np.ones((1, len(d))))[0])
    if not np.any(np.abs(d) > 1e-12 * (np.abs(np.concatenate([x, y])).max() + 1.0)):
        return 0.0, 1.0  # identical samples: no evidence of any change
    return t_obs, _tail_p(np.abs(paired_t_statistics(d, signs)), abs(t_obs))


def paired_tost_p(x: np.ndarray, y: np.ndarray, margin: float) -> float:
    """Two one-sided paired t-tests of |mean(x − y)| < margin (Schuirmann 1987)."""
    d = np.asarray(x, dtype=float) - np.asarray(y, dtype=float)
    if margin <= 0:
        return 1.0
    se = float(d.std(ddof=1) / np.sqrt(len(d)))
    mean = float(d.mean())
    if se == 0.0:
        return 0.0 if abs(mean) < margin else 1.0
    df = len(d) - 1
    return float(max(stats.t.sf((mean + margin) / se, df), stats.t.cdf((mean - margin) / se, df)))


def tost_p(x: np.ndarray, y: np.ndarray, margin: float) -> float:
    """Two one-sided Welch t-tests of |mean(x) − mean(y)| < margin (Schuirmann 1987).

    A small p shows the means equivalent within ±margin. Returns 1.0 when it cannot be shown
    (e.g. zero margin).
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if margin <= 0:
        return 1.0
    diff = x.mean() - y.mean()
    vx, vy = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    se = float(np.sqrt(vx + vy))
    if se == 0.0:
        return 0.0 if abs(diff) < margin else 1.0
    df = (vx + vy) ** 2 / (vx**2 / (len(x) - 1) + vy**2 / (len(y) - 1))
    p_lower = stats.t.sf((diff + margin) / se, df)  # H0: diff ≤ −margin
    p_upper = stats.t.cdf((diff - margin) / se, df)  # H0: diff ≥ +margin
    return float(max(p_lower, p_upper))


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values: reject where adjusted p ≤ α keeps the family-wise
    error rate ≤ α under any dependence between the tests (Holm 1979, Scand. J. Stat. 6: 65)."""
    p = np.asarray(p_values, dtype=float)
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    adjusted = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adjusted
    return out


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values (false discovery rate), for reading, not for the gate."""
    p = np.asarray(p_values, dtype=float)
    if len(p) == 0:
        return p
    return stats.false_discovery_control(p, method="bh")
