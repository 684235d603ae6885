"""The statistical regression check: does a code change move what the model says?

A *reference suite* (``regression/suite.yaml``) names a few demo-sized scenarios, a fixed
list of seeds, the key metrics with their equivalence margins, and paired regime
comparisons. ``make_baseline`` runs it and stores, per scenario and per seed, every metric
(and per seed every paired regime effect), plus exact fingerprints of a few runs, in a
readable JSON file (``regression/baseline.json``) with the code version, date and reason.
``check`` re-runs the suite and compares it with the baseline in two tiers:

1. *exact*: fingerprints (SHA-256 of the summary and the daily series) of the first seeds'
   runs. Any change of the random stream or of arithmetic breaks them; they only *inform*.
2. *statistical*, which decides: for every metric and every regime effect, a permutation
   Anderson-Darling test (the distribution across seeds) and a paired sign-flip test (the
   mean, seed by seed), Holm-corrected together at family-wise error α = 1 %; equivalence
   within a domain margin (TOST), Benjamini-Hochberg q-values and an unpaired permutation
   Welch p-value are reported beside them.

The method, and why its false-alarm rate is at most α, is in ``docs/regression.md``.
In a notebook::

    from model.analysis.regression import load_suite, make_baseline, check, format_report
    baseline = make_baseline(load_suite(), reason="first baseline")
    report = check(baseline, overrides={"*": {"cadres.interception_cost": 6000}})
    print(format_report(report))
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import multiprocessing
import os
import platform
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from model.analysis.regression_stats import (
    benjamini_hochberg,
    holm,
    paired_test,
    paired_tost_p,
    permutation_labels,
    sign_flips,
    two_sample_tests,
)
from model.scenario import Scenario, ScenarioError, Years, apply_overrides, load_scenario, read_yaml, scenario_from_dict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SUITE = PROJECT_ROOT / "regression" / "suite.yaml"
DEFAULT_BASELINE = PROJECT_ROOT / "regression" / "baseline.json"
BASELINE_FORMAT = 1

DERIVED: dict[str, Callable[[dict[str, Any]], float]] = {
    # The true-versus-reported gap is a first-class output (DESIGN.md "Outputs").
    "petition_gap": lambda s: float(s["petitions_true"]) - float(s["petitions_reported"]),
    "skip_level_gap": lambda s: float(s["skip_level_petitions_true"]) - float(s["skip_level_petitions_reported"]),
    "closure_rate_gap": lambda s: float(s["closure_rate_reported"]) - float(s["closure_rate"]),
}
"""Metrics computed from the summary, by name."""

FEATURES = ("peak", "peak_day", "end", "mean")
"""Features of a daily series: maximum, first day of the maximum, mean over the last
``end_window_days`` days (the end level), mean over the run."""

Overrides = dict[str, dict[str, Any]]
"""Scenario overrides by suite scenario key; the key ``"*"`` applies to every scenario."""


class RegressionError(ValueError):
    """A suite or baseline file is invalid or missing; the message says which and why."""


# --------------------------------------------------------------------------- suite file


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MetricSpec(_Strict):
    """One metric: where it comes from and its equivalence margin (domain grounds)."""

    series: str | None = Field(None, description="Daily series column; None: a summary key or a derived metric.")
    feature: Literal["peak", "peak_day", "end", "mean"] | None = Field(None, description="Feature of the series.")
    absolute: float | None = Field(None, gt=0, description="Margin in the metric's units.")
    relative: float | None = Field(None, gt=0, description="Margin as a share of the baseline mean.")
    why: str = Field("", description="The domain reason for the margin.")

    @model_validator(mode="after")
    def _one_margin(self) -> MetricSpec:
        if (self.absolute is None) == (self.relative is None):
            raise ValueError("give exactly one of 'absolute' or 'relative' as the margin")
        if (self.series is None) != (self.feature is None):
            raise ValueError("'series' and 'feature' go together")
        return self


class EffectSpec(_Strict):
    """A paired regime comparison: per seed, treatment minus control (common random numbers)."""

    treatment: str
    control: str
    metrics: list[str] = Field(..., min_length=1)


class SeedBlock(_Strict):
    first: int = Field(1, ge=0)
    count: int = Field(24, ge=4, le=10000)


class Suite(_Strict):
    """The reference suite (regression/suite.yaml)."""

    description: str = ""
    years: Years = Field(2, description="Simulated years per run (at least one day).")
    seeds: SeedBlock = Field(default_factory=SeedBlock)
    fingerprint_runs: int = Field(2, ge=0, description="Seeds per scenario whose runs are fingerprinted exactly.")
    alpha: float = Field(0.01, gt=0, lt=0.5, description="Family-wise error rate of the gate (Holm).")
    equivalence_alpha: float = Field(0.05, gt=0, lt=0.5, description="Level of the TOST equivalence tests.")
    min_margin_se: float = Field(2.5, ge=0, description="Margins are at least this many standard errors wide.")
    permutations: int = Field(19999, ge=999, description="Least number of label permutations per test.")
    permutation_seed: int = Field(20240917, ge=0)
    end_window_days: int = Field(30, ge=1, description="Days averaged for a series' end level.")
    scenarios: dict[str, str] = Field(..., min_length=1, description="Key → scenario file, relative to the project.")
    metrics: dict[str, MetricSpec] = Field(..., min_length=1)
    effects: dict[str, EffectSpec] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _effects_refer_to_known(self) -> Suite:
        for name, eff in self.effects.items():
            for arm in (eff.treatment, eff.control):
                if arm not in self.scenarios:
                    raise ValueError(f"effects.{name}: unknown scenario {arm!r}; allowed: {', '.join(self.scenarios)}")
            for metric in eff.metrics:
                if metric not in self.metrics:
                    raise ValueError(f"effects.{name}: unknown metric {metric!r}; allowed: {', '.join(self.metrics)}")
        # The paired sign-flip test's smallest p-value is 2^(1-n): with too few seeds even a
        # change in every pair could never pass Holm's first threshold, alpha / family; ask
        # for a factor 4 of room, as for the number of permutations.
        needed = math.ceil(1 + math.log2(4 * self.family_size() / self.alpha))
        if self.seeds.count < needed:
            raise ValueError(
                f"seeds.count: {self.seeds.count} seeds cannot show a change at alpha {self.alpha:g} over "
                f"{self.family_size()} tests; use at least {needed}"
            )
        return self

    @property
    def seed_list(self) -> list[int]:
        return list(range(self.seeds.first, self.seeds.first + self.seeds.count))

    def family_size(self) -> int:
        """Number of p-values in the Holm family: two tests per metric row and effect row."""
        return 2 * (len(self.scenarios) * len(self.metrics) + sum(len(e.metrics) for e in self.effects.values()))

    def resamples(self) -> int:
        """Permutations per test: enough that the smallest attainable Holm-adjusted p-value,
        family / (resamples + 1), is a quarter of α, so resolution never blocks a rejection."""
        needed = math.ceil(4 * self.family_size() / self.alpha)
        return max(self.permutations, needed)


def _pydantic_message(err: ValidationError, source: str) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(top level)"
    return f"{source}: field '{where}': {first['msg'].removeprefix('Value error, ')}"


def load_suite(path: str | Path = DEFAULT_SUITE) -> Suite:
    """Read and validate a suite file; raise RegressionError naming the file and field."""
    path = Path(path)
    if not path.is_file():
        raise RegressionError(f"{path}: no such suite file")
    try:
        # read_yaml: UTF-8, one key once, and any unreadable file as one line.
        data = read_yaml(path)
    except ScenarioError as err:
        raise RegressionError(str(err)) from None
    try:
        return Suite.model_validate(data)
    except ValidationError as err:
        raise RegressionError(_pydantic_message(err, str(path))) from None


# --------------------------------------------------------------------------- running


@dataclass(frozen=True)
class RunTask:
    key: str
    scenario: Scenario
    seed: int
    years: float
    fingerprint: bool
    metrics: dict[str, MetricSpec]
    end_window_days: int


def _series_feature(values: np.ndarray, feature: str, end_window: int) -> float:
    if feature == "peak":
        return float(values.max())
    if feature == "peak_day":
        return float(np.argmax(values))
    if feature == "end":
        return float(values[-end_window:].mean())
    return float(values.mean())


def extract_metrics(
    summary: dict[str, Any], timeseries: pd.DataFrame, metrics: dict[str, MetricSpec], end_window_days: int
) -> dict[str, float]:
    """The suite's metrics of one run, by name."""
    out: dict[str, float] = {}
    for name, spec in metrics.items():
        if spec.series is not None:
            if spec.series not in timeseries.columns:
                raise RegressionError(
                    f"metric {name!r}: no daily series {spec.series!r}; allowed: {', '.join(timeseries.columns)}"
                )
            out[name] = _series_feature(
                timeseries[spec.series].to_numpy(float), spec.feature or "mean", end_window_days
            )
        elif name in DERIVED:
            out[name] = DERIVED[name](summary)
        elif isinstance(summary.get(name), int | float):
            out[name] = float(summary[name])
        else:
            scalars = sorted(k for k, v in summary.items() if isinstance(v, int | float))
            raise RegressionError(
                f"metric {name!r}: not a summary metric; allowed: {', '.join(scalars + sorted(DERIVED))}, "
                "or a daily series with 'series' and 'feature'"
            )
    return out


def fingerprint(summary: dict[str, Any], timeseries: pd.DataFrame) -> dict[str, Any]:
    """Exact fingerprint of a run: SHA-256 of its summary (without the code version) and of its
    daily series, bit for bit; plus the summary's scalars and a short hash per daily column,
    so a report can say which outputs changed."""
    clean = {k: v for k, v in summary.items() if k != "code_version"}
    summary_bytes = json.dumps(clean, sort_keys=True, default=float).encode()
    series = hashlib.sha256(",".join(timeseries.columns).encode())
    series.update(np.ascontiguousarray(timeseries.to_numpy(dtype=np.float64)).tobytes())
    columns = {
        c: hashlib.sha256(np.ascontiguousarray(timeseries[c].to_numpy(dtype=np.float64)).tobytes()).hexdigest()[:16]
        for c in timeseries.columns
    }
    values = {k: v for k, v in _flatten(clean).items() if isinstance(v, int | float | str | bool)}
    return {
        "summary": hashlib.sha256(summary_bytes).hexdigest(),
        "timeseries": series.hexdigest(),
        "values": values,
        "columns": columns,
    }


def _run_task(task: RunTask) -> dict[str, Any]:
    from model.runner import run_scenario

    result = run_scenario(task.scenario, seed=task.seed, years=task.years)
    out: dict[str, Any] = {
        "key": task.key,
        "seed": task.seed,
        "metrics": extract_metrics(result.summary, result.timeseries, task.metrics, task.end_window_days),
    }
    if task.fingerprint:
        out["fingerprint"] = fingerprint(result.summary, result.timeseries)
    return out


@dataclass
class SuiteRuns:
    """Outputs of one execution of the suite."""

    seeds: list[int]
    samples: dict[str, dict[str, list[float]]]  # scenario key → metric → values by seed
    fingerprints: dict[str, dict[str, dict[str, Any]]]  # scenario key → str(seed) → fingerprint
    scenarios: dict[str, dict[str, Any]]  # scenario key → resolved parameters
    seconds: float
    workers: int


def _load_scenarios(suite: Suite, overrides: Overrides | None, root: Path) -> dict[str, Scenario]:
    overrides = overrides or {}
    unknown = set(overrides) - set(suite.scenarios) - {"*"}
    if unknown:
        raise RegressionError(
            f"overrides for unknown scenario(s) {', '.join(sorted(unknown))}; allowed: *, {', '.join(suite.scenarios)}"
        )
    scenarios = {}
    for key, rel in suite.scenarios.items():
        merged = {**overrides.get("*", {}), **overrides.get(key, {})}
        try:
            scenario = load_scenario(root / rel)
            if merged:
                # Overrides apply to the fully resolved scenario, so that a dotted key may
                # reach into a table the file leaves at its defaults (incidents.KIND.rate).
                full = apply_overrides(scenario.model_dump(mode="json"), merged)
                scenario = scenario_from_dict(full, source=f"{rel} with overrides")
        except ScenarioError as err:
            raise RegressionError(f"suite scenario {key!r}: {err}") from None
        scenarios[key] = scenario
    return scenarios


def _pool_context() -> multiprocessing.context.BaseContext:
    # fork where available: workers then see the parent's imported (possibly monkeypatched)
    # model, which the tests of this check rely on; spawn elsewhere.
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def run_suite(
    suite: Suite,
    *,
    seeds: list[int] | None = None,
    overrides: Overrides | None = None,
    workers: int | None = None,
    fingerprints: bool = True,
    root: Path = PROJECT_ROOT,
    progress: Callable[[str], None] | None = None,
) -> SuiteRuns:
    """Run every scenario of ``suite`` with every seed, on ``workers`` processes."""
    seeds = suite.seed_list if seeds is None else list(seeds)
    scenarios = _load_scenarios(suite, overrides, root)
    tasks = [
        RunTask(
            key,
            sc,
            seed,
            suite.years,
            fingerprints and i < suite.fingerprint_runs,
            suite.metrics,
            suite.end_window_days,
        )
        for key, sc in scenarios.items()
        for i, seed in enumerate(seeds)
    ]
    workers = max(1, min(workers or os.cpu_count() or 1, len(tasks)))
    if progress:
        progress(
            f"running {len(tasks)} runs ({len(scenarios)} scenarios × {len(seeds)} seeds × {suite.years:g} years) on {workers} process(es)"
        )
    start = time.perf_counter()
    if workers == 1:
        outputs = [_run_task(t) for t in tasks]
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context()) as pool:
            outputs = list(pool.map(_run_task, tasks, chunksize=1))
    seconds = time.perf_counter() - start
    samples: dict[str, dict[str, list[float]]] = {k: {m: [] for m in suite.metrics} for k in scenarios}
    prints: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in scenarios}
    for out in outputs:  # pool.map keeps the task order: values stay in seed order
        for metric, value in out["metrics"].items():
            samples[out["key"]][metric].append(value)
        if "fingerprint" in out:
            prints[out["key"]][str(out["seed"])] = out["fingerprint"]
    if progress:
        progress(f"ran {len(tasks)} runs in {seconds:.0f} s")
    resolved = {k: sc.model_dump(mode="json") for k, sc in scenarios.items()}
    return SuiteRuns(seeds, samples, prints, resolved, seconds, workers)


def effect_samples(suite: Suite, samples: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, list[float]]]:
    """Per-seed paired regime effects: treatment minus control on the same seed."""
    out: dict[str, dict[str, list[float]]] = {}
    for name, eff in suite.effects.items():
        t, c = samples[eff.treatment], samples[eff.control]
        out[name] = {m: (np.asarray(t[m]) - np.asarray(c[m])).tolist() for m in eff.metrics}
    return out


# --------------------------------------------------------------------------- baseline


def _environment() -> dict[str, str]:
    import mesa
    import scipy

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pandas": pd.__version__,
        "mesa": mesa.__version__,
        "platform": f"{platform.system()} {platform.machine()}",
    }


def make_baseline(
    suite: Suite,
    reason: str,
    *,
    runs: SuiteRuns | None = None,
    workers: int | None = None,
    previous: dict[str, Any] | None = None,
    moved: list[str] | None = None,
    root: Path = PROJECT_ROOT,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the suite (unless ``runs`` are given) and return the baseline as a JSON-ready dict.

    Margins are fixed here, from the suite's domain margins floored at ``min_margin_se``
    standard errors of a difference of two means (baseline spread, equal sample sizes).
    ``previous`` (the baseline being replaced) and ``moved`` (what the check flagged against
    it) go into the history, so every update records why the model's statistics changed.
    """
    from model.version import code_version

    if not reason or not reason.strip():
        raise RegressionError("a baseline needs a reason (why the model's statistics may change)")
    runs = runs or run_suite(suite, workers=workers, root=root, progress=progress)
    effects = effect_samples(suite, runs.samples)
    n = len(runs.seeds)
    se_factor = math.sqrt(2.0 / n)
    margins: dict[str, dict[str, dict[str, float | str]]] = {}

    def margin_of(metric: str, values: list[float], level_mean: float) -> dict[str, float | str]:
        spec = suite.metrics[metric]
        domain = spec.absolute if spec.absolute is not None else spec.relative * abs(level_mean)
        floor = suite.min_margin_se * float(np.std(values, ddof=1)) * se_factor
        return {
            "margin": max(domain, floor),
            "domain": domain,
            "se_floor": floor,
            "binding": "domain" if domain >= floor else "se",
        }

    for key, metrics in runs.samples.items():
        margins[key] = {m: margin_of(m, v, float(np.mean(v))) for m, v in metrics.items()}
    for name, metrics in effects.items():
        control = runs.samples[suite.effects[name].control]
        margins[name] = {m: margin_of(m, v, float(np.mean(control[m]))) for m, v in metrics.items()}

    now = _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()
    entry = {"created": now, "code_version": code_version(), "reason": reason.strip()}
    if previous is not None:
        entry["replaces"] = previous.get("code_version")
        entry["moved"] = moved or []
    history = [*(previous or {}).get("history", []), entry]
    return {
        "format": BASELINE_FORMAT,
        "created": now,
        "code_version": code_version(),
        "reason": reason.strip(),
        "environment": _environment(),
        "runtime_seconds": round(runs.seconds, 1),
        "suite": suite.model_dump(mode="json"),
        "seeds": runs.seeds,
        "scenarios": runs.scenarios,
        "samples": runs.samples,
        "effects": effects,
        "margins": margins,
        "fingerprints": runs.fingerprints,
        "history": history,
    }


def write_baseline(baseline: dict[str, Any], path: str | Path = DEFAULT_BASELINE) -> Path:
    """Write the baseline atomically as indented JSON (floats round-trip exactly)."""
    from model.runner import atomic_write_bytes

    path = Path(path)
    atomic_write_bytes(path, (json.dumps(baseline, indent=1) + "\n").encode("utf-8"))
    path.chmod(0o644)  # the temporary file behind the atomic write is private (0600)
    return path


def read_baseline(path: str | Path = DEFAULT_BASELINE) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise RegressionError(
            f'{path}: no baseline; make one with: python run.py regress --update --reason "first baseline"'
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise RegressionError(f"{path}: not valid JSON: {err}") from None
    if data.get("format") != BASELINE_FORMAT:
        raise RegressionError(
            f"{path}: baseline format {data.get('format')!r}; this code reads format {BASELINE_FORMAT}"
        )
    return data


# --------------------------------------------------------------------------- check


@dataclass
class FingerprintResult:
    status: Literal["identical", "different", "skipped"]
    compared: int = 0
    differing: list[str] = field(default_factory=list)
    largest_change: float = 0.0  # largest relative change of a metric over the shared seeds
    note: str = ""


@dataclass
class CheckReport:
    rows: pd.DataFrame
    fingerprint: FingerprintResult
    alpha: float
    notes: list[str]
    baseline_version: str
    code_version: str
    seconds: float
    seed_offset: int

    @property
    def moved(self) -> list[str]:
        """The quantities (scenario/metric or effect/metric) that moved: the gate's rejections."""
        return self.rows.loc[self.rows["regression"], "quantity"].tolist()

    @property
    def passed(self) -> bool:
        return not self.moved

    def verdict(self) -> str:
        if not self.passed:
            return "REGRESSION: statistically different from the baseline in " + ", ".join(self.moved)
        if self.fingerprint.status == "identical":
            return "PASS: numerically identical to the baseline"
        if self.fingerprint.status == "different":
            return "PASS: numerically different, statistically the same"
        return "PASS: statistically the same (exact tier not compared)"


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for k, v in data.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: data}


def parameter_changes(before: dict[str, Any], after: dict[str, Any], limit: int = 8) -> list[str]:
    """Scenario parameters that differ, as 'field: old → new'."""
    a, b = _flatten(before), _flatten(after)
    diffs = [
        f"{k}: {a.get(k, '(absent)')!r} → {b.get(k, '(absent)')!r}"
        for k in sorted(set(a) | set(b))
        if a.get(k) != b.get(k)
    ]
    return diffs[:limit] + ([f"... and {len(diffs) - limit} more"] if len(diffs) > limit else [])


def _compare_fingerprints(baseline: dict[str, Any], runs: SuiteRuns, seed_offset: int) -> FingerprintResult:
    if seed_offset:
        return FingerprintResult("skipped", note="seeds shifted: runs are not the baseline's")
    differing, compared, outputs = [], 0, set()
    for key, by_seed in baseline["fingerprints"].items():
        for seed, old in by_seed.items():
            new = runs.fingerprints.get(key, {}).get(seed)
            if new is None:
                continue
            compared += 1
            if (old["summary"], old["timeseries"]) == (new["summary"], new["timeseries"]):
                continue
            differing.append(f"{key} seed {seed}")
            for part in ("values", "columns"):
                a, b = old.get(part, {}), new.get(part, {})
                label = "summary" if part == "values" else "series"
                outputs.update(f"{label} {k}" for k in set(a) | set(b) if a.get(k) != b.get(k))
    largest = 0.0
    for key, metrics in baseline["samples"].items():
        for metric, values in metrics.items():
            base, cur = np.asarray(values), np.asarray(runs.samples[key][metric])
            if len(base) == len(cur):
                scale = np.maximum(np.abs(base), 1e-12)
                largest = max(largest, float(np.max(np.abs(cur - base) / scale)))
    if compared == 0:
        return FingerprintResult("skipped", note="no fingerprinted run in common")
    note = ""
    if outputs:
        shown = sorted(outputs)
        note = (
            "outputs that differ: "
            + ", ".join(shown[:12])
            + (f" and {len(shown) - 12} more" if len(shown) > 12 else "")
        )
    return FingerprintResult("different" if differing else "identical", compared, differing, largest, note)


def compare(baseline: dict[str, Any], runs: SuiteRuns, suite: Suite | None = None, seed_offset: int = 0) -> CheckReport:
    """Compare suite runs with a baseline: the statistical gate and the exact tier."""
    from model.version import code_version

    suite = suite or Suite.model_validate(baseline["suite"])
    now_effects = effect_samples(suite, runs.samples)
    n_base, n_now = len(baseline["seeds"]), len(runs.seeds)
    if n_base != n_now:
        raise RegressionError(f"the check ran {n_now} seeds, the baseline has {n_base}: the samples must pair up")
    labels = permutation_labels(n_now, n_base, suite.resamples(), suite.permutation_seed)
    signs = sign_flips(n_now, suite.resamples(), suite.permutation_seed + 1)
    records = []
    groups: list[tuple[str, str, dict[str, list[float]], dict[str, list[float]]]] = [
        ("level", k, baseline["samples"][k], runs.samples[k]) for k in suite.scenarios
    ] + [("effect", e, baseline["effects"][e], now_effects[e]) for e in suite.effects]
    for kind, group, base_metrics, now_metrics in groups:
        for metric, base_values in base_metrics.items():
            base, now = np.asarray(base_values, float), np.asarray(now_metrics[metric], float)
            tests = two_sample_tests(now, base, labels)
            paired_t, paired_p = paired_test(now, base, signs)
            margin = float(baseline["margins"][group][metric]["margin"])
            records.append(
                {
                    "quantity": f"{group}/{metric}",
                    "kind": kind,
                    "group": group,
                    "metric": metric,
                    "baseline_mean": float(base.mean()),
                    "baseline_sd": float(base.std(ddof=1)),
                    "now_mean": float(now.mean()),
                    "now_sd": float(now.std(ddof=1)),
                    "change": float(now.mean() - base.mean()),
                    "margin": margin,
                    "identical": bool(len(base) == len(now) and np.array_equal(base, now)),
                    "ad_statistic": tests.ad_statistic,
                    "ad_p": tests.ad_p,
                    "paired_t": paired_t,
                    "mean_p": paired_p,
                    "welch_p": tests.welch_p,
                    "tost_p": paired_tost_p(now, base, margin),
                }
            )
    rows = pd.DataFrame.from_records(records)
    p_all = np.concatenate([rows["ad_p"].to_numpy(), rows["mean_p"].to_numpy()])
    adj, q = holm(p_all), benjamini_hochberg(p_all)
    m = len(rows)
    rows["ad_p_holm"], rows["mean_p_holm"] = adj[:m], adj[m:]
    rows["ad_q"], rows["mean_q"] = q[:m], q[m:]
    rows["regression"] = (rows["ad_p_holm"] <= suite.alpha) | (rows["mean_p_holm"] <= suite.alpha)
    rows["equivalent"] = rows["tost_p"] < suite.equivalence_alpha
    rows["verdict"] = [_row_verdict(r, suite.alpha) for r in rows.itertuples()]

    notes = []
    for key, params in baseline["scenarios"].items():
        if key in runs.scenarios and params != runs.scenarios[key]:
            notes.append(
                f"scenario '{key}' parameters differ from the baseline's: "
                + "; ".join(parameter_changes(params, runs.scenarios[key]))
            )
    fp = _compare_fingerprints(baseline, runs, seed_offset)
    return CheckReport(
        rows, fp, suite.alpha, notes, baseline.get("code_version", "?"), code_version(), runs.seconds, seed_offset
    )


def _row_verdict(r: Any, alpha: float) -> str:
    if r.regression:
        which = [name for name, p in (("mean", r.mean_p_holm), ("distribution", r.ad_p_holm)) if p <= alpha]
        return "REGRESSION (" + ", ".join(which) + ")"
    if r.identical:
        return "identical"
    return "same (within margin)" if r.equivalent else "ok, not shown equivalent"


def check(
    baseline: dict[str, Any],
    *,
    overrides: Overrides | None = None,
    seed_offset: int = 0,
    workers: int | None = None,
    root: Path = PROJECT_ROOT,
    progress: Callable[[str], None] | None = None,
) -> CheckReport:
    """Re-run the baseline's suite (its seeds, shifted by ``seed_offset``) and compare."""
    suite = Suite.model_validate(baseline["suite"])
    seeds = [s + seed_offset for s in baseline["seeds"]]
    runs = run_suite(
        suite,
        seeds=seeds,
        overrides=overrides,
        workers=workers,
        fingerprints=not seed_offset,
        root=root,
        progress=progress,
    )
    return compare(baseline, runs, suite, seed_offset)


# --------------------------------------------------------------------------- report


def _fmt(x: float) -> str:
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    a = abs(x)
    if a >= 1e5:
        return f"{x:,.0f}"
    if a >= 100:
        return f"{x:.0f}"
    if a >= 1:
        return f"{x:.2f}"
    return f"{x:.3g}"


def _fmt_p(p: float) -> str:
    return "1" if p >= 0.9995 else (f"{p:.3f}" if p >= 0.001 else f"{p:.0e}")


def format_table(rows: pd.DataFrame, only: Iterable[str] | None = None) -> str:
    """The table: metric, baseline, now, change, margin, tests' p-values, Holm, q, verdict."""
    header = (
        "metric",
        "baseline mean±sd",
        "now mean±sd",
        "change",
        "margin",
        "AD p",
        "mean p",
        "Holm p",
        "BH q",
        "verdict",
    )
    table = [header]
    keep = set(only) if only is not None else None
    for r in rows.itertuples():
        if keep is not None and r.quantity not in keep:
            continue
        rel = (
            f" ({r.change / r.baseline_mean:+.1%})"
            if r.baseline_mean and abs(r.baseline_mean) > 1e-12 and r.kind == "level"
            else ""
        )
        table.append(
            (
                r.quantity,
                f"{_fmt(r.baseline_mean)}±{_fmt(r.baseline_sd)}",
                f"{_fmt(r.now_mean)}±{_fmt(r.now_sd)}",
                f"{'+' if r.change >= 0 else ''}{_fmt(r.change)}{rel}",
                f"±{_fmt(r.margin)}",
                _fmt_p(r.ad_p),
                _fmt_p(r.mean_p),
                _fmt_p(min(r.ad_p_holm, r.mean_p_holm)),
                _fmt_p(min(r.ad_q, r.mean_q)),
                r.verdict,
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = []
    for i, row in enumerate(table):
        lines.append(
            "  ".join(
                cell.ljust(w) if j in (0, 9) else cell.rjust(w)
                for j, (cell, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_report(report: CheckReport, advice: bool = True) -> str:
    """The human report: the table, the exact tier, notes and the verdict (and, on a
    regression, how to accept it when ``advice``)."""
    fp = report.fingerprint
    n_rows = len(report.rows)
    out = [
        f"Statistical regression check: baseline {report.baseline_version}, code {report.code_version}",
        f"gate: Anderson-Darling permutation test (distribution across seeds) and paired sign-flip test (mean, "
        f"seed by seed), {2 * n_rows} p-values, Holm family-wise error ≤ {report.alpha:g}; "
        "equivalence: paired TOST at 5% within the margins (docs/regression.md)",
        "",
        format_table(report.rows),
        "",
    ]
    if fp.status == "identical":
        out.append(f"exact tier: {fp.compared} fingerprinted runs identical to the baseline, bit for bit")
    elif fp.status == "different":
        out.append(
            f"exact tier: {len(fp.differing)} of {fp.compared} fingerprinted runs differ ({', '.join(fp.differing[:4])}"
            f"{', ...' if len(fp.differing) > 4 else ''}); largest relative change of a suite metric on a shared seed: {fp.largest_change:.2g}"
        )
        if fp.note:
            out.append(f"  {fp.note}")
    else:
        out.append(f"exact tier: skipped ({fp.note})")
    equivalent = int(report.rows["equivalent"].sum())
    out.append(f"equivalence within margins shown for {equivalent} of {n_rows} means and effects")
    out.extend(f"note: {n}" for n in report.notes)
    out.append(f"runs took {report.seconds:.0f} s")
    out.append("")
    out.append(report.verdict())
    if advice and not report.passed:
        out.append(
            'If this change is intended, record it: python run.py regress --update --reason "<why the statistics moved>"'
        )
    return "\n".join(out)


def report_json(report: CheckReport) -> dict[str, Any]:
    return {
        "passed": report.passed,
        "verdict": report.verdict(),
        "moved": report.moved,
        "baseline_version": report.baseline_version,
        "code_version": report.code_version,
        "alpha": report.alpha,
        "exact_tier": report.fingerprint.__dict__,
        "notes": report.notes,
        "seconds": report.seconds,
        "rows": json.loads(report.rows.to_json(orient="records")),
    }


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
