"""The `sweep` and `report` subcommands, for the project's command line (run.py).

``add_sweep_commands(subparsers)`` registers both on an argparse sub-parser collection;
each sets ``func``, a function of the parsed arguments returning the exit code:
0 all runs finished (or report written), 1 some runs failed (the sweep went on and they are
recorded in the store), 2 a bad experiment file or argument (one line naming file, field,
allowed), 130 interrupted (the store keeps every run that finished; re-run to resume).
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_RUNS_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


def add_sweep_commands(subparsers: Any) -> None:
    """Add `sweep EXPERIMENT` and `report OUTDIR` to an argparse subparsers object."""
    sweep = subparsers.add_parser(
        "sweep", help="run an experiment (a sweep of scenario runs) into a run store",
        description="Run every run of an experiment that the store does not hold yet. "
        "Re-running resumes; Ctrl-C finishes the runs in flight and stops.",
    )
    sweep.add_argument("experiment", type=Path, help="experiment file (experiments/*.yaml)")
    sweep.add_argument("--workers", type=int, default=None,
                       help="worker processes (default: all cores; 0: in this process)")
    sweep.add_argument("--backend", choices=("local", "dask"), default="local",
                       help="local processes (default) or a Dask cluster")
    sweep.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="Dask scheduler address (tcp://host:8786); default: a "
                       "LocalCluster with --workers processes")
    sweep.add_argument("--out", type=Path, default=None,
                       help="run store directory (default: runs/<experiment name>)")
    sweep.add_argument("--no-progress", action="store_true", help="no progress bar")
    sweep.add_argument("--report", action="store_true",
                       help="write the report (tables and figures) when the sweep ends")
    sweep.set_defaults(func=cmd_sweep)

    report = subparsers.add_parser(
        "report", help="analyse a run store: tidy tables and figures",
        description="Run the experiment's analyses on its store and write CSV/Parquet "
        "tables and PNG/SVG figures into OUTDIR/report.",
    )
    report.add_argument("outdir", type=Path, help="run store written by `sweep`")
    report.add_argument("--dest", type=Path, default=None,
                        help="where to write (default: OUTDIR/report)")
    report.set_defaults(func=cmd_report)


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _raise_keyboard_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def cmd_sweep(args: argparse.Namespace) -> int:
    from model.cli import BadInput, usable_folder
    from model.scenario import ScenarioError
    from model.sweep.backends import check_scheduler_address
    from model.sweep.execution import run_experiment
    from model.sweep.experiment import load_experiment

    if args.workers is not None and args.workers < 0:
        return _fail(f"--workers {args.workers}: allowed: 0 (in this process) or more")
    if args.scheduler and args.backend != "dask":
        return _fail("--scheduler: only with --backend dask")
    try:
        if args.scheduler:
            check_scheduler_address(args.scheduler)
        experiment = load_experiment(args.experiment)
        out = Path(args.out) if args.out else Path("runs") / experiment.name
        usable_folder(out)
        if args.report:
            usable_folder(out / "report", "--report")
    except ScenarioError as err:  # ExperimentError is a ScenarioError
        return _fail(str(err))
    except BadInput as err:
        return _fail(str(err))
    # Slurm and `kill` send SIGTERM: stop like Ctrl-C, keeping the runs in flight.
    previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        result = run_experiment(experiment, args.out, workers=args.workers,
                                backend=args.backend, scheduler=args.scheduler,
                                progress=not args.no_progress)
    except ScenarioError as err:
        return _fail(str(err))
    except KeyboardInterrupt:
        out = Path(args.out) if args.out else Path("runs") / experiment.name
        if not (out / "store.json").is_file():  # stopped while connecting, before the store
            print(f"interrupted before the sweep started; nothing was written to {out}",
                  file=sys.stderr)
        else:
            print(f"interrupted; finished runs are kept in {out}; run the same command again "
                  "to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)
    print(f"{result.finished} of {result.total} runs finished, {result.failed} failed "
          f"({result.ran} run now, {result.skipped} already in the store)")
    print(f"results: {result.out_dir / 'summary.parquet'}")
    if result.failed:
        failed = result.summary[result.summary["status"] == "failed"]
        for row in failed.head(5).itertuples():
            print(f"  failed {row.run_id}: {row.error}  (traceback: "
                  f"{result.out_dir / 'manifest' / (row.run_id + '.json')})", file=sys.stderr)
        if len(failed) > 5:
            print(f"  ... and {len(failed) - 5} more", file=sys.stderr)
    if args.report:
        code = _report(result.out_dir, None)
        if code:
            return code
    return EXIT_RUNS_FAILED if result.failed else EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    return _report(args.outdir, args.dest)


def _report(outdir: Path, dest: Path | None) -> int:
    from model.analysis.report import write_report
    from model.cli import BadInput, usable_folder
    from model.scenario import ScenarioError

    try:
        # Before the analyses. The default folder is checked only inside a store: elsewhere
        # the missing store is what to report.
        if dest is not None or outdir.is_dir():
            usable_folder(dest if dest is not None else outdir / "report", "--dest")
    except BadInput as err:
        return _fail(str(err))
    try:
        written = write_report(outdir, dest)
    except ScenarioError as err:
        return _fail(str(err))
    folder = dest or outdir / "report"
    print(f"report: {len(written)} files in {folder} (start with {folder / 'README.md'})")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """`python -m model.sweep sweep|report ...`: the two commands without run.py."""
    from model.cli import WholeOptions

    parser = WholeOptions(prog="python -m model.sweep")
    add_sweep_commands(parser.add_subparsers(dest="command", required=True, parser_class=WholeOptions))
    args = parser.parse_args(argv)
    return args.func(args)
