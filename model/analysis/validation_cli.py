"""``python run.py validate-model [--full] [--out DIR]``: run the stylised-fact suite and write
its report; ``python run.py calibrate-essays``: calibrate the county to the essays' numbers.

validate-model exits 0 when every fact is reproduced and 1 when one is not (the report still
gets written: a failed fact is a finding, not a crash).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# Paths only: the validation machinery (scipy, pandas) is imported when a command runs, so
# that `run.py validate` stays quick.
ROOT = Path(__file__).resolve().parents[2]
FACTS_DIR = ROOT / "experiments" / "validation"
REPORT_DIR = ROOT / "docs" / "validation"
CALIBRATION_CONFIG = FACTS_DIR / "calibration.yaml"
CALIBRATED_SCENARIO = ROOT / "scenarios" / "calibrated.yaml"


def usable_cache(path: str | None) -> None:
    """Refuse a run cache (``--cache``) that could not be read and appended to, before the
    runs: a folder, a place that cannot be written, or a file that cannot be opened."""
    from model.cli import BadInput, usable_file

    if path is None:
        return
    cache = Path(path)
    usable_file(cache, "--cache")
    if cache.exists():
        try:
            with cache.open("rb"), cache.open("ab"):
                pass
        except OSError as err:
            raise BadInput(
                f"--cache {cache}: cannot read and append to it ({err.strerror}); "
                "allowed: a JSON-lines file you can read and write, or a new file"
            ) from None


def cmd_validate_model(args: argparse.Namespace) -> int:
    from model.analysis.validation import load_facts, run_validation, write_report
    from model.cli import EXIT_FAILED, EXIT_OK, BadInput, at_least, usable_folder

    at_least(args.workers, "--workers")
    try:
        only = [int(x) for x in args.facts.split(",")] if args.facts else None
    except ValueError:
        raise BadInput(f"--facts {args.facts}: allowed: comma-separated fact ids, e.g. 1,4,7") from None
    try:
        facts = load_facts(args.dir, only)
    except ValueError as err:
        raise BadInput(str(err)) from None
    if not facts:
        raise BadInput(f"{args.dir}: no fact*.yaml files{' with ids ' + args.facts if args.facts else ''}")
    out = Path(args.out) if args.out else (REPORT_DIR if args.full else Path("out") / "validation-reduced")
    usable_folder(out)  # before the runs, not when the report is written after them
    usable_cache(args.cache)

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    suite = run_validation(full=args.full, facts=facts, workers=args.workers, cache_path=args.cache, progress=say)
    report = write_report(suite, out)
    for f in suite.facts:
        passed = sum(c.result is not None and c.result.passed for c in f.claims)
        print(
            f"fact {f.fact.id:2d} {'reproduced    ' if f.reproduced else 'NOT reproduced'} "
            f"({passed}/{len(f.claims)} claims)  {f.fact.title}"
        )
    print(
        f"\n{sum(f.reproduced for f in suite.facts)} of {len(suite.facts)} facts reproduced "
        f"in {suite.seconds:.0f} s; report: {report}"
    )
    return EXIT_OK if suite.all_reproduced else EXIT_FAILED


def cmd_calibrate_essays(args: argparse.Namespace) -> int:
    from model.analysis.calibration_essays import run_calibration
    from model.cli import at_least, usable_file, usable_folder

    at_least(args.workers, "--workers")
    # Only the full calibration replaces the committed scenario and its page: a --quick smoke
    # run, or one written elsewhere, keeps its outputs together away from them.
    quick_dir = Path("out") / "calibration-quick"
    default_scenario = quick_dir / "calibrated.yaml" if args.quick else CALIBRATED_SCENARIO
    scenario_out = Path(args.scenario_out) if args.scenario_out else default_scenario
    committed = scenario_out.resolve() == CALIBRATED_SCENARIO
    doc_dir = Path(args.doc_dir) if args.doc_dir else (REPORT_DIR if committed else scenario_out.parent)
    # Checked before the minutes of runs, whose outputs are written only at the end.
    usable_file(scenario_out, "--scenario-out")
    usable_folder(doc_dir, "--doc-dir")
    usable_cache(args.cache)
    run_calibration(
        config=args.config,
        out_scenario=scenario_out,
        doc_dir=doc_dir,
        workers=args.workers,
        quick=args.quick,
        cache_path=args.cache,
        progress=lambda msg: print(msg, file=sys.stderr, flush=True),
    )
    return 0


def add_validation_command(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "validate-model",
        help="run the stylised-fact validation suite and write its report (exit 1 if a fact fails)",
    )
    p.add_argument("--full", action="store_true", help="full replications and horizons (default: reduced, demo-sized)")
    p.add_argument(
        "--out",
        help=f"report folder (default: {REPORT_DIR.relative_to(REPORT_DIR.parents[1])} with --full, "
        "else out/validation-reduced)",
    )
    p.add_argument("--facts", help="comma-separated fact ids to run (default: all)")
    p.add_argument("--workers", type=int, help="local processes (default: all cores)")
    p.add_argument(
        "--cache", help="JSON-lines file caching finished runs (re-runs skip them; a line cut short by a kill is skipped)"
    )
    p.add_argument("--dir", default=str(FACTS_DIR), help="folder of fact*.yaml files")
    p.set_defaults(func=cmd_validate_model)

    CONFIG, SCENARIO_OUT = CALIBRATION_CONFIG, CALIBRATED_SCENARIO  # noqa: N806

    p = subparsers.add_parser(
        "calibrate-essays",
        help="calibrate the county scenario to the essays' numbers (writes scenarios/calibrated.yaml + .json)",
    )
    p.add_argument("--config", default=str(CONFIG), help="calibration file (targets, free parameters, budget)")
    p.add_argument(
        "--scenario-out",
        help=f"calibrated scenario to write (default: {SCENARIO_OUT.relative_to(ROOT)}; "
        "with --quick, out/calibration-quick/calibrated.yaml)",
    )
    p.add_argument(
        "--doc-dir",
        help=f"where calibration.md and its figure go (default: {REPORT_DIR.relative_to(ROOT)} for the "
        "committed scenario, else the scenario's folder)",
    )
    p.add_argument("--workers", type=int, help="local processes (default: all cores)")
    p.add_argument("--quick", action="store_true", help="a small budget, for smoke tests")
    p.add_argument(
        "--cache", help="JSON-lines file caching finished runs (re-runs skip them; a line cut short by a kill is skipped)"
    )
    p.set_defaults(func=cmd_calibrate_essays)
