"""``python run.py regress [--update --reason TEXT]``: the statistical regression check.

Exit codes: 0 the model's statistics match the baseline; 1 a regression (the table names the
metrics that moved); 2 bad input (missing baseline or reason, invalid suite or override).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from model.atomic import atomic_write_text
from model.scenario import parse_override


def _overrides(pairs: list[str] | None) -> dict[str, dict[str, Any]]:
    """``KEY=VALUE`` for every scenario, ``SCENARIO:KEY=VALUE`` for one suite scenario."""
    out: dict[str, dict[str, Any]] = {}
    for text in pairs or []:
        target, sep, rest = text.partition(":")
        if not sep or "=" in target:
            target, rest = "*", text
        key, value = parse_override(rest)
        out.setdefault(target, {})[key] = value
    return out


def cmd_regress(args: argparse.Namespace) -> int:
    from model.analysis import regression as rg
    from model.cli import BadInput, at_least, usable_file

    at_least(args.workers, "--workers")
    # Seeds are 0 or more: a negative shift failed in the first run, after the others started.
    at_least(args.seed_offset, "--seed-offset", least=0)
    if args.json and args.update:  # an update checks nothing, so there is no report to write
        raise BadInput("--json: writes a check's report; allowed: --json without --update")
    if args.json:
        usable_file(Path(args.json), "--json")
    try:
        if args.update:
            return _update(args)
        baseline = rg.read_baseline(args.baseline)
        report = rg.check(
            baseline,
            overrides=_overrides(args.set),
            seed_offset=args.seed_offset,
            workers=args.workers,
            progress=rg.log,
        )
    except rg.RegressionError as err:
        raise BadInput(str(err)) from None
    report.notes.extend(_suite_drift(args.suite, baseline))
    print(rg.format_report(report))
    if args.json:
        atomic_write_text(Path(args.json), json.dumps(rg.report_json(report), indent=1) + "\n")
    return 0 if report.passed else 1


def _update(args: argparse.Namespace) -> int:
    from model.analysis import regression as rg
    from model.cli import BadInput, usable_file

    if not args.reason or not args.reason.strip():
        raise BadInput('regress --update: give --reason "why the model\'s statistics may change"; it is recorded')
    if args.set or args.seed_offset:
        raise BadInput("regress --update: --set and --seed-offset are for checks only; a baseline is the model as is")
    usable_file(Path(args.baseline), "--baseline")
    suite = rg.load_suite(args.suite)
    previous = rg.read_baseline(args.baseline) if Path(args.baseline).is_file() else None
    runs = rg.run_suite(suite, workers=args.workers, progress=rg.log)
    moved: list[str] = []
    if previous is not None:
        old_suite = rg.Suite.model_validate(previous["suite"])
        if old_suite.model_dump(mode="json") == suite.model_dump(mode="json"):
            report = rg.compare(previous, runs, suite)
            moved = report.moved
            print(rg.format_report(report, advice=False))
            print(f"\naccepting: {', '.join(moved) if moved else 'no statistical change'}")
        else:
            print("the suite changed since the previous baseline: no comparison")
    baseline = rg.make_baseline(suite, args.reason, runs=runs, previous=previous, moved=moved)
    path = rg.write_baseline(baseline, args.baseline)
    print(f"wrote {path} (code {baseline['code_version']}, {len(runs.seeds)} seeds, reason: {baseline['reason']})")
    return 0


def _suite_drift(suite_path: str, baseline: dict[str, Any]) -> list[str]:
    """A note when the suite file no longer matches the suite the baseline was made with."""
    from model.analysis import regression as rg

    if not Path(suite_path).is_file():
        return []
    try:
        on_disk = rg.load_suite(suite_path).model_dump(mode="json")
    except rg.RegressionError as err:
        return [f"the suite file is invalid ({err}); the check used the baseline's suite"]
    if on_disk == baseline["suite"]:
        return []
    return [
        f"{suite_path} differs from the suite the baseline was made with; the check used the baseline's. "
        "Adopt the new suite with --update."
    ]


def add_regress_command(sub: argparse._SubParsersAction) -> None:
    # Plain paths: the regression machinery (scipy, pandas) loads only when `regress` runs.
    root = Path(__file__).resolve().parents[2]
    DEFAULT_SUITE, DEFAULT_BASELINE = root / "regression" / "suite.yaml", root / "regression" / "baseline.json"  # noqa: N806

    p = sub.add_parser(
        "regress",
        help="check that the model's statistics match the stored baseline (exit 1 on a regression)",
        description="Re-run the reference suite and compare every key metric and regime effect with the "
        "baseline: a permutation Anderson-Darling test and a paired sign-flip test of the mean, Holm family-wise error 1%, equivalence "
        "margins, exact fingerprints. See docs/regression.md.",
    )
    p.add_argument("--update", action="store_true", help="rewrite the baseline from the current code (needs --reason)")
    p.add_argument("--reason", help="why the baseline is rewritten; recorded in its history")
    p.add_argument("--baseline", default=str(DEFAULT_BASELINE), help="baseline file (default: %(default)s)")
    p.add_argument("--suite", default=str(DEFAULT_SUITE), help="suite file, read by --update (default: %(default)s)")
    p.add_argument("--workers", type=int, help="processes (default: all cores)")
    p.add_argument(
        "--set",
        action="append",
        metavar="[SCENARIO:]KEY=VALUE",
        help="check a modified model, e.g. --set veto:regime.threshold=30 (repeatable)",
    )
    p.add_argument(
        "--seed-offset",
        type=int,
        default=0,
        help="run seeds shifted by this much (0 or more): a fresh random stream, as a change of draws would give",
    )
    p.add_argument("--json", metavar="PATH", help="also write the full report as JSON")
    p.set_defaults(func=cmd_regress)
