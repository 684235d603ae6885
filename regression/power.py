"""Measure the power of the regression check by simulation (docs/regression.md, "Power").

Two measurements, both on the real suite (its scenarios, years, metrics, margins, tests,
Holm family and alpha):

A. *Smallest detectable shift per metric, fresh random stream* (the worst case: a change
   that re-draws everything, so the seed-by-seed pairing helps nothing). The unchanged
   model is run on ``--blocks`` disjoint blocks of seeds; each replicate draws two disjoint
   sets of seeds (suite size) from that pool, one as the baseline and one as the check,
   shifts one metric of the check by d standard deviations, and asks whether the gate fails.
   Shift 0 gives the empirical false-alarm rate of a stream-changing, neutral change.

B. *Detection of injected model changes, same seeds* (the usual case: a changed parameter
   or rule, the check re-running the baseline's seeds). Each change is applied through
   scenario overrides to the first scenarios' runs on the pooled seeds; each replicate draws
   one seed set (suite size) and compares the unchanged runs with the changed runs on those
   seeds. Scenarios a change does not touch are taken as identical (a lower bound on power).

Runs are cached in ``--cache`` (JSON lines), so the script resumes. Usage::

    python regression/power.py --blocks 3 --replicates 200 --workers 2
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from model.analysis import regression as rg
from model.analysis.regression_stats import (
    anderson_darling_test,
    holm,
    paired_test,
    permutation_labels,
    sign_flips,
)

BLOCK_STRIDE = 100_000
ANY_CODE = False  # --any-code: reuse cached runs whatever model version made them
SHIFTS_SD = (0.0, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0)

KEY_METRICS = (
    "incidents_total",
    "resolution_rate",
    "mean_days_to_resolve",
    "backlog_mean",
    "backlog_peak",
    "backlog_peak_day",
    "backlog_end",
    "petitions_true",
    "petitions_reported",
    "petition_gap",
    "interception_spending",
    "satisfaction_rate",
    "cadre_turnover",
)

# label, scope ("*": every scenario, or one suite scenario key), dotted field, factor
CHANGES: list[tuple[str, str, str, float]] = [
    ("service_request rate +5%", "*", "incidents.service_request.rate", 1.05),
    ("service_request rate +10%", "*", "incidents.service_request.rate", 1.10),
    ("interception cost +25%", "*", "cadres.interception_cost", 1.25),
    ("veto threshold ×2", "veto", "regime.threshold", 2.0),
]


def _override(suite: rg.Suite, scope: str, dotted: str, factor: float) -> dict[str, dict[str, object]]:
    """Overrides multiplying ``dotted`` by ``factor``, read from the resolved scenario."""
    scenario = rg.load_scenario(rg.PROJECT_ROOT / suite.scenarios["comprehensive" if scope == "*" else scope])
    value: object = scenario.model_dump(mode="json")
    for part in dotted.split("."):
        value = value[part]  # type: ignore[index]
    return {scope: {dotted: float(value) * factor}}  # type: ignore[arg-type]


def _cached_runs(
    suite: rg.Suite, scenarios: list[str], seeds: list[int], label: str, overrides, cache: Path, workers: int
) -> dict[str, dict[int, dict[str, float]]]:
    """Metrics by scenario and seed, running what the cache lacks."""
    from model.version import code_version

    have: dict[tuple[str, str, int], dict[str, float]] = {}
    if cache.is_file():
        for line in cache.read_text().splitlines():
            rec = json.loads(line)
            # Runs of another model version are not comparable: a change of the model while
            # the study runs would be mixed into the injected changes.
            if rec.get("code") == code_version() or ANY_CODE:
                have[(rec["label"], rec["scenario"], rec["seed"])] = rec["metrics"]
    missing = [s for s in seeds if any((label, k, s) not in have for k in scenarios)]
    if missing:
        sub = suite.model_copy(update={"scenarios": {k: suite.scenarios[k] for k in scenarios}})
        runs = rg.run_suite(
            sub, seeds=missing, overrides=overrides, workers=workers, fingerprints=False, progress=rg.log
        )
        with cache.open("a") as fh:
            for k in scenarios:
                for i, seed in enumerate(missing):
                    metrics = {m: runs.samples[k][m][i] for m in suite.metrics}
                    have[(label, k, seed)] = metrics
                    record = {"label": label, "scenario": k, "seed": seed, "code": code_version(), "metrics": metrics}
                    fh.write(json.dumps(record) + "\n")
    return {k: {s: have[(label, k, s)] for s in seeds} for k in scenarios}


def _rows(suite: rg.Suite) -> list[tuple[str, str, str]]:
    """(group, metric, kind) of every row of the check, in the check's order."""
    rows = [(k, m, "level") for k in suite.scenarios for m in suite.metrics]
    rows += [(e, m, "effect") for e, spec in suite.effects.items() for m in spec.metrics]
    return rows


def _values(suite: rg.Suite, runs, seeds: list[int], group: str, metric: str, kind: str) -> np.ndarray:
    if kind == "level":
        return np.array([runs[group][s][metric] for s in seeds])
    eff = suite.effects[group]
    return np.array([runs[eff.treatment][s][metric] - runs[eff.control][s][metric] for s in seeds])


class Gate:
    """The check's gate on two samples of every row, with one row's check sample editable."""

    def __init__(self, suite: rg.Suite, n: int) -> None:
        self.suite = suite
        self.labels = permutation_labels(n, n, suite.resamples(), suite.permutation_seed)
        self.signs = sign_flips(n, suite.resamples(), suite.permutation_seed + 1)

    def pvalues(self, now: np.ndarray, base: np.ndarray) -> tuple[float, float]:
        ad = anderson_darling_test(now, base, self.labels)
        return ad, paired_test(now, base, self.signs)[1]

    def fails(self, p_ad: np.ndarray, p_mean: np.ndarray) -> bool:
        return bool((holm(np.concatenate([p_ad, p_mean])) <= self.suite.alpha).any())


def power_fresh(suite: rg.Suite, pool, seeds: list[int], replicates: int, rng: np.random.Generator) -> dict:
    """Part A: detection rate by metric (comprehensive scenario and effects) and shift in SD."""
    n = len(suite.seed_list)
    gate = Gate(suite, n)
    rows = _rows(suite)
    targets = [
        i for i, (g, m, _) in enumerate(rows) if (g == "comprehensive" and m in KEY_METRICS) or g in suite.effects
    ]
    hits = {rows[i][:2]: np.zeros(len(SHIFTS_SD)) for i in targets}
    false_alarms = 0
    sds: dict[tuple[str, str], list[float]] = {rows[i][:2]: [] for i in targets}
    means: dict[tuple[str, str], list[float]] = {rows[i][:2]: [] for i in targets}
    for _ in range(replicates):
        drawn = rng.permutation(seeds)[: 2 * n]
        base_seeds, now_seeds = sorted(drawn[:n]), sorted(drawn[n:])
        base = [_values(suite, pool, base_seeds, *r) for r in rows]
        now = [_values(suite, pool, now_seeds, *r) for r in rows]
        p = np.array([gate.pvalues(x, y) for x, y in zip(now, base, strict=True)])
        false_alarms += gate.fails(p[:, 0], p[:, 1])
        for i in targets:
            key = rows[i][:2]
            sd = float(base[i].std(ddof=1))
            sds[key].append(sd)
            means[key].append(float(base[i].mean()))
            for j, d in enumerate(SHIFTS_SD):
                if d == 0:
                    hits[key][j] += gate.fails(p[:, 0], p[:, 1])
                    continue
                p_i = gate.pvalues(now[i] + d * sd, base[i])
                pa, pm = p[:, 0].copy(), p[:, 1].copy()
                pa[i], pm[i] = p_i
                hits[key][j] += gate.fails(pa, pm)
    out = {}
    for key, h in hits.items():
        rate = h / replicates
        sd, mean = float(np.mean(sds[key])), float(np.mean(means[key]))
        mds = next((d for d, r in zip(SHIFTS_SD, rate, strict=True) if d > 0 and r >= 0.8), math.inf)
        out["/".join(key)] = {
            "rates": dict(zip(map(str, SHIFTS_SD), rate.round(3).tolist(), strict=True)),
            "sd": sd,
            "mean": mean,
            "mds_sd": mds,
            "mds_units": mds * sd,
            "mds_percent_of_mean": (100 * mds * sd / abs(mean)) if mean and math.isfinite(mds) else None,
        }
    return {"false_alarm_rate": false_alarms / replicates, "replicates": replicates, "by_metric": out}


def power_changes(suite: rg.Suite, seeds, replicates, cache, workers, rng, scenarios) -> dict:
    """Part B: detection rate of each injected change, same seeds for baseline and check."""
    n = len(suite.seed_list)
    gate = Gate(suite, n)
    rows = _rows(suite)
    unchanged = _cached_runs(suite, scenarios, seeds, "unchanged", None, cache, workers)
    out = {}
    for label, scope, dotted, factor in CHANGES:
        overrides = _override(suite, scope, dotted, factor)
        touched = [k for k in scenarios if "*" in overrides or k in overrides]
        changed_part = _cached_runs(suite, touched, seeds, label, overrides, cache, workers)
        changed = {k: changed_part.get(k, unchanged[k]) for k in scenarios}
        detected, moved_count = 0, {}
        for _ in range(replicates):
            chosen = sorted(rng.choice(seeds, size=n, replace=False))
            pa, pm = [], []
            for r in rows:
                if r[0] not in scenarios and r[2] == "level":
                    pa.append(1.0), pm.append(1.0)  # a scenario outside the measurement: identical
                    continue
                base = _values(suite, unchanged, chosen, *r)
                now = _values(suite, changed, chosen, *r)
                a, m = gate.pvalues(now, base)
                pa.append(a), pm.append(m)
            adj = holm(np.array(pa + pm))
            flagged = [
                f"{rows[i][0]}/{rows[i][1]}" for i in range(len(rows)) if min(adj[i], adj[i + len(rows)]) <= suite.alpha
            ]
            detected += bool(flagged)
            for f in flagged:
                moved_count[f] = moved_count.get(f, 0) + 1
        top = sorted(moved_count.items(), key=lambda kv: -kv[1])[:4]
        out[label] = {"detection_rate": detected / replicates, "most_often_flagged": top}
        rg.log(f"{label}: detected in {detected}/{replicates}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", default=str(rg.DEFAULT_SUITE))
    parser.add_argument("--blocks", type=int, default=2, help="seed blocks of suite size in the pool (part A)")
    parser.add_argument("--change-blocks", type=int, default=2, help="seed blocks for the injected changes (part B)")
    parser.add_argument("--replicates", type=int, default=40)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--cache", default="regression/power-runs.jsonl")
    parser.add_argument("--out", default="regression/power.json")
    parser.add_argument("--skip-changes", action="store_true", help="part A only")
    parser.add_argument("--any-code", action="store_true", help="reuse cached runs of any model version")
    args = parser.parse_args(argv)
    global ANY_CODE
    ANY_CODE = args.any_code
    suite = rg.load_suite(args.suite)
    n = suite.seeds.count
    seeds = [suite.seeds.first + BLOCK_STRIDE * (b + 1) + i for b in range(args.blocks) for i in range(n)]
    cache = Path(args.cache)
    rng = np.random.default_rng(20240917)
    start = time.perf_counter()
    pool = _cached_runs(suite, list(suite.scenarios), seeds, "unchanged", None, cache, args.workers or 2)
    result = {
        "suite": args.suite,
        "seeds_in_pool": len(seeds),
        "fresh": power_fresh(suite, pool, seeds, args.replicates, rng),
    }
    rg.log(f"part A done: false-alarm rate {result['fresh']['false_alarm_rate']:.3f}")
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    if not args.skip_changes:
        change_seeds = seeds[: args.change_blocks * n]
        scenarios = [k for k in ("comprehensive", "veto") if k in suite.scenarios]
        result["changes"] = power_changes(
            suite, change_seeds, args.replicates, cache, args.workers or 2, rng, scenarios
        )
    result["seconds"] = round(time.perf_counter() - start)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(format_power(result))
    return 0


def format_power(result: dict) -> str:
    lines = [
        "| metric | sd across seeds | smallest shift detected with ≥80% (fresh stream) | as % of mean |",
        "|---|---:|---:|---:|",
    ]
    for name, r in result["fresh"]["by_metric"].items():
        pct = f"{r['mds_percent_of_mean']:.2g}%" if r["mds_percent_of_mean"] is not None else "-"
        mds = f"{r['mds_sd']:g} sd = {r['mds_units']:.3g}" if math.isfinite(r["mds_sd"]) else "> 3 sd"
        lines.append(f"| {name} | {r['sd']:.3g} | {mds} | {pct} |")
    lines.append("")
    lines.append(
        f"False-alarm rate, neutral stream change: {result['fresh']['false_alarm_rate']:.3f} "
        f"({result['fresh']['replicates']} replicates)"
    )
    if "changes" in result:
        lines += ["", "| injected change (same seeds) | detection rate | most often flagged |", "|---|---:|---|"]
        for label, r in result["changes"].items():
            flagged = ", ".join(f"{k} ({v})" for k, v in r["most_often_flagged"])
            lines.append(f"| {label} | {r['detection_rate']:.2f} | {flagged} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
