"""The validation suite: does the model reproduce what is known about the system?

Each stylised fact (issue 7; DOMAIN.md "Stylised claims") is an experiment file in
``experiments/validation/factNN_*.yaml``: a base scenario, named *arms* (dotted overrides),
paired replications (replication k of every arm shares its seed: common random numbers), and
one or more *claims*, each a one-sided statistical test in the direction the literature
predicts (validation_stats.py). A fact is **reproduced** when every one of its claims holds
at the family-wise level ``alpha`` (Holm correction across the fact's claims).

Three lines from a notebook::

    from model.analysis.validation import run_validation
    suite = run_validation(full=False)          # reduced form: demo-sized, few replications
    suite.table()                               # one row per claim: estimate, CI, p, verdict

``write_report(suite, "docs/validation")`` writes the Markdown report with one figure per fact;
``python run.py validate-model [--full] [--out DIR]`` does both and exits 1 if a fact fails.
"""

from __future__ import annotations

import json
import math
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from model.analysis.validation_cli import FACTS_DIR, REPORT_DIR, ROOT  # noqa: E402  (one definition)
from model.analysis.validation_runs import VALIDATION_METRICS, RunCache, ValidationRun, metric_names, run_many
from model.analysis.validation_stats import (
    TestResult,
    convexity_test,
    holm,
    level_test,
    paired_test,
)
from model.atomic import atomic_write_csv, atomic_write_text
from model.scenario import ScenarioError, Years, read_yaml

MIN_WILCOXON_N = 6
"""Below six pairs the exact Wilcoxon test cannot reach p < 0.05 (its floor is 1/2^n), so the
form with fewer pairs decides by the one-sided paired t-test and says so."""


class _Strict(BaseModel):
    # A NaN threshold or horizon passes every one-sided bound and makes every test undecidable.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Claim(_Strict):
    """One testable consequence of a fact."""

    label: str
    kind: Literal["paired", "within", "level", "convexity"] = Field(
        ...,
        description="paired: metric in `arm` vs `base` over paired seeds; within: `metric` vs "
        "`versus` in the same runs of `arm`; level: `metric` of `arm` vs `threshold`; "
        "convexity: `metric` (y) convex in `x` across `arms`.",
    )
    metric: str
    direction: Literal["increase", "decrease"] = "increase"
    base: str | None = None
    arm: str | None = None
    versus: str | None = None
    threshold: float | None = None
    x: str | None = None
    arms: list[str] | None = None
    note: str = ""

    @model_validator(mode="after")
    def _fields_for_kind(self) -> Claim:
        need = {
            "paired": ("base", "arm"),
            "within": ("arm", "versus"),
            "level": ("arm", "threshold"),
            "convexity": ("x", "arms"),
        }[self.kind]
        missing = [n for n in need if getattr(self, n) is None]
        if missing:
            raise ValueError(f"a {self.kind} claim needs {', '.join(missing)}")
        return self


class Reduced(_Strict):
    """The form the default test run checks: demo-sized and short, decided by the same test.

    Replications come from a power calculation on a pilot (the fact files say which): enough
    pairs for 80% power at the claim's effect size in the reduced form. A claim whose reduced
    effect is too small for the test run's budget is left out with the reason, and only the
    full form decides it.

    Eight pairs is the floor: the exact one-sided Wilcoxon test cannot go below 1/2^n, and
    Holm's first step over a fact's claims (up to six in a reduced form) asks for p < 0.05 / 6;
    1/2^8 = 0.004 clears it with room for one pair on the wrong side."""

    years: Years = 2
    replications: int = Field(8, ge=2)
    overrides: dict[str, Any] = Field(default_factory=dict, description="Applied to every arm (e.g. a smaller county).")
    arms: list[str] | None = Field(None, description="Arms kept in the reduced form (default: all).")
    left_out: dict[str, str] = Field(
        default_factory=dict,
        description="Claim label → why the reduced form cannot test it (its power calculation).",
    )


class FactSpec(_Strict):
    id: int
    slug: str
    title: str
    claim: str
    sources: list[str]
    mechanism: str = Field("", description="Where the model implements it (for diagnosing a failure).")
    if_not_reproduced: str = Field(
        "", description="The diagnosis of the last known failure, printed only while the fact is not reproduced."
    )
    scenario: str
    years: Years = 3
    replications: int = Field(20, ge=2)
    seed: int = 20240601
    alpha: float = Field(0.05, gt=0, lt=1)
    overrides: dict[str, Any] = Field(default_factory=dict, description="Applied to every arm.")
    arms: dict[str, dict[str, Any]]
    claims: list[Claim]
    reduced: Reduced = Field(default_factory=Reduced)
    path: str = ""

    @model_validator(mode="after")
    def _arms_exist(self) -> FactSpec:
        for c in self.claims:
            for name in [c.base, c.arm, *(c.arms or [])]:
                if name is not None and name not in self.arms:
                    raise ValueError(f"claim {c.label!r}: unknown arm {name!r}; arms: {', '.join(self.arms)}")
        labels = [c.label for c in self.claims]
        for label in self.reduced.left_out:
            if label not in labels:
                raise ValueError(f"reduced.left_out names no claim {label!r}; claims: {'; '.join(labels)}")
        return self

    def scenario_path(self) -> Path:
        p = Path(self.scenario)
        return p if p.is_absolute() else (Path(self.path).parent / p).resolve()


def load_fact(path: str | Path) -> FactSpec:
    path = Path(path)
    try:
        # read_yaml: UTF-8, one key once, and any unreadable file as one line.
        data = read_yaml(path)
    except ScenarioError as err:
        raise ValueError(str(err)) from None
    try:
        fact = FactSpec.model_validate({**data, "path": str(path)})
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        what = first["msg"].removeprefix("Value error, ")
        # A check across fields (a claim naming an unknown arm) has no location of its own.
        raise ValueError(f"{path}: field '{where}': {what}" if where else f"{path}: {what}") from None
    _check_metric_names(fact)
    return fact


def _check_metric_names(fact: FactSpec) -> None:
    """Every metric a claim reads is one the runs report."""
    from model.sweep.runs import unknown_metric

    try:
        known = metric_names(fact.scenario_path())
    except ScenarioError as err:
        raise ValueError(f"{fact.path}: field 'scenario': {err}") from None
    for i, claim in enumerate(fact.claims):
        for name in ("metric", "versus", "x"):
            metric = getattr(claim, name)
            if metric is not None and metric not in known:
                what = unknown_metric(metric, known, VALIDATION_METRICS)
                raise ValueError(f"{fact.path}: field 'claims.{i}.{name}': {what}")


def load_facts(directory: str | Path = FACTS_DIR, only: list[int] | None = None) -> list[FactSpec]:
    facts = [load_fact(p) for p in sorted(Path(directory).glob("fact*.yaml"))]
    return [f for f in facts if only is None or f.id in only]


def replication_seeds(seed: int, n: int) -> list[int]:
    """Seed of replication k, shared by every arm (common random numbers)."""
    return [int(np.random.SeedSequence(seed, spawn_key=(k,)).generate_state(1, np.uint32)[0]) for k in range(n)]


@dataclass
class Plan:
    fact: FactSpec
    years: float
    seeds: list[int]
    arms: dict[str, dict[str, Any]]
    full: bool

    def run(self, arm: str, seed: int) -> ValidationRun:
        return ValidationRun.make(self.fact.scenario_path(), self.arms[arm], seed, self.years)

    def runs(self) -> list[ValidationRun]:
        return [self.run(a, s) for a in self.arms for s in self.seeds]


def plan(fact: FactSpec, full: bool) -> Plan:
    if full:
        years, reps, extra, keep = fact.years, fact.replications, {}, None
    else:
        r = fact.reduced
        years, reps, extra, keep = r.years, r.replications, r.overrides, r.arms
    arms = {name: {**fact.overrides, **extra, **ov} for name, ov in fact.arms.items() if keep is None or name in keep}
    return Plan(fact, years, replication_seeds(fact.seed, reps), arms, full)


@dataclass
class ClaimResult:
    claim: Claim
    result: TestResult | None
    data: dict[str, Any] = field(default_factory=dict)  # per-seed values for the figure
    skipped: str = ""


@dataclass
class FactResult:
    fact: FactSpec
    plan: Plan
    claims: list[ClaimResult]
    seconds: float

    @property
    def reproduced(self) -> bool:
        """Every claim significant in the predicted direction (Holm within the fact, alpha).
        In the reduced form, claims it leaves out (or whose arms it drops) do not count."""
        if self.plan.full:
            return all(c.result is not None and c.result.passed for c in self.claims)
        tested = [c for c in self.claims if c.result is not None]
        return bool(tested) and all(c.result.passed for c in tested)

    @property
    def verdict(self) -> str:
        return "reproduced" if self.reproduced else "not reproduced"


@dataclass
class SuiteResult:
    facts: list[FactResult]
    full: bool
    seconds: float
    errors: dict[str, str]
    runs: int = 0
    simulated: int = 0  # runs simulated by this call; the rest came from the run cache

    @property
    def all_reproduced(self) -> bool:
        return all(f.reproduced for f in self.facts)

    def table(self) -> pd.DataFrame:
        rows = []
        for f in self.facts:
            for c in f.claims:
                r = c.result
                rows.append(
                    {
                        "fact": f.fact.id,
                        "title": f.fact.title,
                        "claim": c.claim.label,
                        "kind": c.claim.kind,
                        "metric": c.claim.metric,
                        "direction": c.claim.direction,
                        **(asdict(r) if r else {}),
                        "skipped": c.skipped,
                        "fact_verdict": f.verdict,
                    }
                )
        return pd.DataFrame(rows)


def _values(cache: RunCache, p: Plan, arm: str, metric: str) -> np.ndarray:
    out = []
    for s in p.seeds:
        m = cache.results.get(p.run(arm, s).key)
        out.append(m.get(metric, math.nan) if m else math.nan)
    return np.array(out, dtype=float)


def evaluate_fact(p: Plan, cache: RunCache, seconds: float = 0.0) -> FactResult:
    fact = p.fact
    results: list[ClaimResult] = []
    for i, c in enumerate(fact.claims):
        seed = fact.seed + 101 * i
        arms_here = [a for a in [c.base, c.arm] if a is not None]
        missing = [a for a in arms_here if a not in p.arms]
        curve = [a for a in (c.arms or []) if a in p.arms]  # a dose-response uses the arms it has
        if c.kind == "convexity" and len(curve) < 3:
            missing = [a for a in c.arms if a not in p.arms]
        if missing:
            results.append(ClaimResult(c, None, skipped=f"arm {missing[0]!r} not in the reduced form"))
            continue
        if not p.full and c.label in fact.reduced.left_out:
            why = fact.reduced.left_out[c.label]
            results.append(ClaimResult(c, None, skipped=f"left out of the reduced form: {why}"))
            continue
        if c.kind == "paired":
            base, arm = _values(cache, p, c.base, c.metric), _values(cache, p, c.arm, c.metric)
            res = paired_test(base, arm, c.direction, seed)
            data = {"base": base.tolist(), "arm": arm.tolist()}
        elif c.kind == "within":
            a, b = _values(cache, p, c.arm, c.metric), _values(cache, p, c.arm, c.versus)
            res = paired_test(b, a, c.direction, seed)
            data = {"base": b.tolist(), "arm": a.tolist()}
        elif c.kind == "level":
            v = _values(cache, p, c.arm, c.metric)
            res = level_test(v, c.threshold, c.direction, seed)
            data = {"values": v.tolist()}
        else:
            xs, ys, blocks, labels = [], [], [], []
            for arm in curve:
                xs.append(_values(cache, p, arm, c.x))
                ys.append(_values(cache, p, arm, c.metric))
                blocks.append(np.arange(len(p.seeds)))
                labels += [arm] * len(p.seeds)
            x, y, blk = np.concatenate(xs), np.concatenate(ys), np.concatenate(blocks)
            res = convexity_test(x, y, blk, seed)
            data = {"x": x.tolist(), "y": y.tolist(), "arm": labels}
        if c.kind in ("paired", "within", "level") and res.n < MIN_WILCOXON_N:
            res.p_value, res.test = res.p_t, res.test.replace("Wilcoxon signed-rank", "paired t (n < 6)")
        results.append(ClaimResult(c, res, data))
    tested = [r for r in results if r.result is not None]
    for r, adj in zip(tested, holm([r.result.p_value for r in tested]), strict=True):
        r.result.p_adjusted = adj
        r.result.passed = bool(r.result.direction_ok and adj < fact.alpha)
    return FactResult(fact, p, results, seconds)


def run_validation(
    full: bool = False,
    facts: list[FactSpec] | None = None,
    workers: int | None = None,
    cache_path: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> SuiteResult:
    """Run every fact (reduced form unless ``full``) and evaluate its claims."""
    start = time.perf_counter()
    facts = load_facts() if facts is None else facts
    plans = [plan(f, full) for f in facts]
    cache = RunCache(Path(cache_path) if cache_path else None)
    all_runs = [r for p in plans for r in p.runs()]
    keys = [r.key for r in all_runs]
    todo = len({k for k in keys if k not in cache.results})
    say = progress or (lambda msg: None)
    say(f"validation: {len(facts)} facts, {len(all_runs)} runs ({todo} to simulate)")
    t0 = time.perf_counter()

    def tick(i: int, n: int) -> None:
        if i == n or i % max(1, n // 20) == 0:
            say(f"  {i}/{n} runs, {time.perf_counter() - t0:.0f} s")

    run_many(all_runs, cache, workers, tick)
    results = [evaluate_fact(p, cache) for p in plans]
    sim_seconds = time.perf_counter() - t0
    for r in results:
        r.seconds = sim_seconds * len(r.plan.runs()) / max(len(all_runs), 1)
    return SuiteResult(results, full, time.perf_counter() - start, dict(cache.errors), len(set(keys)), todo)


# ---- the report -------------------------------------------------------------------------
def _fmt(v: float, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    a = abs(v)
    if a != 0 and (a >= 1e4 or a < 1e-3):
        return f"{v:.3g}"
    return f"{v:.{digits}g}"


def _p(v: float) -> str:
    if not math.isfinite(v):
        return "n/a"
    return "<0.0001" if v < 1e-4 else f"{v:.4f}"


def _cached_note(suite: SuiteResult) -> str:
    if suite.simulated >= suite.runs:
        return ""
    return f" ({suite.simulated} of {suite.runs} runs simulated in this call, the rest read from the run cache)"


def write_report(suite: SuiteResult, out_dir: str | Path = REPORT_DIR) -> Path:
    """Markdown report with one figure per fact, plus the claims table as CSV and JSON."""
    from model.analysis.validation_figures import fact_figure

    out = Path(out_dir)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    from model.version import code_version

    mode = "full" if suite.full else "reduced"
    n_ok = sum(f.reproduced for f in suite.facts)
    lines = [
        "# Validation report: stylised facts",
        "",
        f"Mode **{mode}**; code version `{code_version()}`; Python {platform.python_version()}; "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; wall time {suite.seconds:.0f} s{_cached_note(suite)}.",
        f"Regenerate: `python run.py validate-model{' --full' if suite.full else ''}{_out_flag(out, suite.full)}`.",
        "",
        f"**{n_ok} of {len(suite.facts)} facts reproduced.**",
        "",
        *(
            []
            if suite.full
            else [
                "> Reduced form: demo-sized, short horizons, replications from a power calculation "
                "(80% power at the effect a pilot measured). A fact counts as reproduced here when every "
                "claim it tests holds by the same test as the full form; claims it leaves out are listed "
                "with the reason. The committed verdicts come from `--full`.",
                "",
            ]
        ),
        "Method. Every arm of a fact runs the same replication seeds (common random numbers), so "
        "each comparison is paired by seed. Each claim is tested one-sided in the predicted direction "
        f"(exact Wilcoxon signed-rank on the per-seed differences; one-sided paired t when fewer than "
        f"{MIN_WILCOXON_N} pairs; a seed-block bootstrap of the quadratic coefficient for convexity). "
        "Estimates are mean paired differences with 95% percentile bootstrap intervals over seeds; "
        "d_z = mean / sd of the differences. Within a fact, p-values are Holm-corrected and a fact is "
        "*reproduced* only if every claim has the predicted sign and adjusted p < alpha.",
        "",
        "| # | fact | verdict | claims passed | headline effect (95% CI) |",
        "|---|---|---|---|---|",
    ]
    for f in suite.facts:
        tested = [c for c in f.claims if c.result is not None]
        head = tested[0] if tested else None
        effect = (
            f"{head.claim.metric}: {_fmt(head.result.estimate)} [{_fmt(head.result.ci_low)}, {_fmt(head.result.ci_high)}]"
            if head
            else "n/a"
        )
        mark = "✅ reproduced" if f.reproduced else "❌ not reproduced"
        lines.append(
            f"| {f.fact.id} | [{f.fact.title}](#fact-{f.fact.id}) | {mark} | "
            f"{sum(c.result.passed if suite.full else c.result.direction_ok for c in tested)}/{len(f.claims)} | {effect} |"
        )
    lines.append("")
    for f in suite.facts:
        fig = fact_figure(f, out / "figures" / f"fact{f.fact.id:02d}_{f.fact.slug}.png")
        lines += _fact_section(f, fig.relative_to(out), out)
    if suite.errors:
        lines += ["## Failed runs", ""]
        for key, err in list(suite.errors.items())[:10]:
            lines += [f"- `{key}`: `{err.splitlines()[0]}`"]
    atomic_write_text(out / "report.md", "\n".join(lines) + "\n")
    atomic_write_csv(out / "claims.csv", suite.table())
    atomic_write_text(
        out / "results.json",
        json.dumps(
            {
                "mode": mode,
                "code_version": code_version(),
                "seconds": suite.seconds,
                "python": sys.version.split()[0],
                "facts": [
                    {
                        "id": f.fact.id,
                        "title": f.fact.title,
                        "verdict": f.verdict,
                        "replications": len(f.plan.seeds),
                        "years": f.plan.years,
                        "claims": [
                            {"label": c.claim.label, **(asdict(c.result) if c.result else {}), "skipped": c.skipped}
                            for c in f.claims
                        ],
                    }
                    for f in suite.facts
                ],
            },
            indent=2,
            default=float,
        )
        + "\n",
    )
    return out / "report.md"


def _out_flag(out: Path, full: bool) -> str:
    """The --out flag to print, omitted when it is the default (docs/validation for --full)."""
    if full and out.resolve().as_posix().endswith("docs/validation"):
        return ""
    return f" --out {out}"


def _fact_section(f: FactResult, fig: Path, out: Path) -> list[str]:
    fact, p = f.fact, f.plan
    arms = "; ".join(
        f"`{name}`: "
        + (", ".join(f"{k}={json.dumps(v) if not isinstance(v, dict) else '{…}'}" for k, v in ov.items()) or "base")
        for name, ov in p.arms.items()
    )
    try:
        rel = Path(fact.path).resolve().relative_to(ROOT)
    except ValueError:
        rel = Path(fact.path)
    lines = [
        f"## Fact {fact.id}: {fact.title}",
        "",
        f'<a id="fact-{fact.id}"></a>**Verdict: {"reproduced" if f.reproduced else "NOT reproduced"}** '
        f"(alpha = {fact.alpha}, Holm across {len(fact.claims)} claims).",
        "",
        f"*Claim.* {fact.claim.strip()}",
        "",
        f"*Sources.* {'; '.join(fact.sources)}.",
        "",
        f"*Design.* `{rel}`: scenario `{Path(fact.scenario).name}`, {len(p.seeds)} paired replications × "
        f"{p.years:g} years; arms {arms}.",
        "",
        "| claim | test | estimate | 95% CI | d_z | rel. change | p (one-sided) | p Holm | result |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in f.claims:
        r = c.result
        if r is None:
            lines.append(f"| {c.claim.label} | skipped: {c.skipped} | | | | | | | – |")
            continue
        what = {
            "paired": f"{c.claim.metric}: {c.claim.arm} − {c.claim.base}",
            "within": f"{c.claim.arm}: {c.claim.metric} − {c.claim.versus}",
            "level": f"{c.claim.metric} in {c.claim.arm} vs {_fmt(c.claim.threshold)}",
            "convexity": f"{c.claim.metric} on {c.claim.x}, quadratic term",
        }[c.claim.kind]
        rel_change = f"{r.relative_change:+.1%}" if math.isfinite(r.relative_change) else "n/a"
        lines.append(
            f"| {c.claim.label} ({c.claim.direction}) | {what}; {r.test} | {_fmt(r.estimate)} | "
            f"[{_fmt(r.ci_low)}, {_fmt(r.ci_high)}] | {_fmt(r.effect_size, 2)} | {rel_change} | {_p(r.p_value)} | "
            f"{_p(r.p_adjusted)} | {'pass' if r.passed else 'FAIL'} |"
        )
    lines += ["", f"![fact {fact.id}]({fig.as_posix()})", ""]
    notes = [c for c in f.claims if c.claim.note]
    if notes:
        lines += [f"- *{c.claim.label}*: {c.claim.note.strip()}" for c in notes]
        lines.append("")
    if fact.mechanism:
        lines += [f"*Mechanism in the model.* {fact.mechanism.strip()}", ""]
    if fact.if_not_reproduced and not f.reproduced:
        lines += [f"*Diagnosis (why it is not reproduced).* {fact.if_not_reproduced.strip()}", ""]
    return lines
