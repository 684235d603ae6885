"""Where the time goes per simulated day: wall time of each phase of ``GovernanceModel.step``.

The phases are timed by wrapping the callables ``step()`` calls (methods of the model and of
its parts, and the functions of model/petitions.py) with ``time.perf_counter``, so the
schedule itself is not copied here and cannot drift from the model's. Each wrapped callable
is booked to one of the issue's categories:

- resident updates: grievance and trust, residents petitioning (and interception);
- arrivals: new incidents, returning promises, discovery of hidden cases;
- handling: the escalation ladder (mediation, referral, FIFO service, payment, resolution);
- cadre decisions: staffing, the monthly hours / money split, projects, fiscal flows, banked
  hours, promises, concealment, the annual evaluation;
- data collection: per-unit counters and the daily time series;
- bookkeeping: streaming closed incidents out of the open book.

What is left (the loop and ``step()`` itself) is reported as "schedule overhead".
Phases are timed in CPU time of this process (``time.process_time``) by default: on a shared
machine, wall time also counts the time other processes hold the core.

    python -m benchmarks.phases scenarios/county.yaml --years 1 --repeats 3
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from model import GovernanceModel, load_scenario
from model import petitions as petitions_mod

CATEGORIES = (
    "resident updates",
    "arrivals",
    "handling",
    "cadre decisions",
    "data collection",
    "bookkeeping",
)
MODEL_PHASES = {
    "staff_come_and_go": "cadre decisions",
    "cadres_allocate": "cadre decisions",
    "fund_projects": "cadre decisions",
    "bank_hours": "cadre decisions",
    "incidents_arise": "arrivals",
    "discover_hidden_cases": "arrivals",
    "grievance_and_trust": "resident updates",
    "close_books": "bookkeeping",
}
PART_PHASES = {
    ("fiscal", "daily_income"): "cadre decisions",
    ("fiscal", "daily_interest"): "cadre decisions",
    ("ladder", "returning_promises"): "arrivals",
    ("ladder", "step"): "handling",
    ("counters", "end_day"): "data collection",
    ("collector", "collect"): "data collection",
    ("county_office", "evaluate_year"): "cadre decisions",
}
PETITION_PHASES = {
    "new_petitions": "resident updates",
    "make_promises": "cadre decisions",
    "conceal_cases": "cadre decisions",
}


def _timed(
    fn: Callable[..., Any], key: str, totals: dict[str, float], clock: Callable[[], float] = time.process_time
) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = clock()
        try:
            return fn(*args, **kwargs)
        finally:
            totals[key] += clock() - t0

    return wrapper


@contextmanager
def _petition_timers(totals: dict[str, float], clock: Callable[[], float]):
    """Wrap the petition-module functions ``step()`` calls, restoring them afterwards."""
    originals = {name: getattr(petitions_mod, name) for name in PETITION_PHASES}
    try:
        for name, fn in originals.items():
            setattr(petitions_mod, name, _timed(fn, f"petitions.{name}", totals, clock))
        yield
    finally:
        for name, fn in originals.items():
            setattr(petitions_mod, name, fn)


def instrument(model: GovernanceModel, totals: dict[str, float], clock: Callable[[], float]) -> None:
    """Replace the model's phase callables (instance attributes only) by timed ones."""
    for name in MODEL_PHASES:
        setattr(model, name, _timed(getattr(model, name), name, totals, clock))
    for (part, name), _ in PART_PHASES.items():
        obj = getattr(model, part)
        setattr(obj, name, _timed(getattr(obj, name), f"{part}.{name}", totals, clock))


def category_of(key: str) -> str:
    if key in MODEL_PHASES:
        return MODEL_PHASES[key]
    if key.startswith("petitions."):
        return PETITION_PHASES[key.split(".", 1)[1]]
    part, name = key.split(".", 1)
    return PART_PHASES[(part, name)]


def profile_run(scenario_path: str | Path, seed: int = 1, years: float = 1.0, wall: bool = False) -> dict[str, Any]:
    """One run with per-phase timers: milliseconds per simulated day by phase and category
    (CPU time, or wall time with ``wall``)."""
    clock = time.perf_counter if wall else time.process_time
    scenario = load_scenario(scenario_path)
    days = int(round(years * 365))
    totals: dict[str, float] = defaultdict(float)
    t_build = time.perf_counter()
    model = GovernanceModel(scenario, seed=seed, keep_incident_log=False)
    build = time.perf_counter() - t_build
    instrument(model, totals, clock)
    with _petition_timers(totals, clock):
        t0, w0 = clock(), time.perf_counter()
        for _ in range(days):
            model.step()
        elapsed, wall_elapsed = clock() - t0, time.perf_counter() - w0
    per_day = {k: 1e3 * v / days for k, v in totals.items()}
    by_category = dict.fromkeys(CATEGORIES, 0.0)
    for key, ms in per_day.items():
        by_category[category_of(key)] += ms
    by_category["schedule overhead"] = 1e3 * elapsed / days - sum(by_category.values())
    return {
        "scenario": str(scenario_path),
        "clock": "wall" if wall else "cpu",
        "days": days,
        "build_s": build,
        "ms_per_day": 1e3 * elapsed / days,
        "wall_ms_per_day": 1e3 * wall_elapsed / days,
        "by_category": by_category,
        "by_phase": dict(sorted(per_day.items(), key=lambda kv: -kv[1])),
    }


def profile_median(scenario_path: str | Path, seed: int = 1, years: float = 1.0, repeats: int = 3) -> dict[str, Any]:
    """Median over ``repeats`` runs of every per-day figure."""
    runs = [profile_run(scenario_path, seed, years) for _ in range(repeats)]
    out = dict(runs[0])
    out["repeats"] = repeats
    out["ms_per_day"] = float(np.median([r["ms_per_day"] for r in runs]))
    out["wall_ms_per_day"] = float(np.median([r["wall_ms_per_day"] for r in runs]))
    out["build_s"] = float(np.median([r["build_s"] for r in runs]))
    for field in ("by_category", "by_phase"):
        keys = runs[0][field].keys()
        out[field] = {k: float(np.median([r[field].get(k, 0.0) for r in runs])) for k in keys}
    return out


def format_profile(p: dict[str, Any]) -> str:
    lines = [
        f"{p['scenario']}: {p['ms_per_day']:.3f} ms {p['clock']} time per simulated day "
        f"({p['wall_ms_per_day']:.3f} ms wall; median of {p.get('repeats', 1)})"
    ]
    total = p["ms_per_day"]
    for name, ms in p["by_category"].items():
        lines.append(f"  {name:<20} {ms:8.3f} ms  {100 * ms / total:5.1f}%")
    lines.append("  by phase:")
    for name, ms in p["by_phase"].items():
        lines.append(f"    {name:<32} {ms:8.3f} ms")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="Per-phase time per simulated day.")
    parser.add_argument("scenario", nargs="+")
    parser.add_argument("--years", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for path in args.scenario:
        print(format_profile(profile_median(path, args.seed, args.years, args.repeats)))


if __name__ == "__main__":
    main()
