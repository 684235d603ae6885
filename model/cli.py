"""The command line: ``python run.py COMMAND`` or the ``governance-sim`` console script.

Exit codes: 0 success, 1 a check failed (regress, validate-model), 2 bad input (one line
naming the file, the field and what is allowed; nothing is written).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from model.scenario import (
    MAX_YEARS,
    ModelDiverged,
    ScenarioError,
    a_kind,
    file_kind,
    load_scenario,
    parse_override,
    read_yaml,
)

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class BadInput(Exception):
    """Raised by a subcommand for input it refuses; main() prints it and exits 2."""


def _overrides(pairs: list[str] | None) -> dict[str, Any]:
    """The --set overrides; a field set twice is refused, as a scenario file's duplicate
    keys are (the last would win silently and the command line would not say what ran)."""
    overrides: dict[str, Any] = {}
    for pair in pairs or []:
        key, value = parse_override(pair)
        if key in overrides:
            raise BadInput(f"--set {key}: given twice; allowed: each field once")
        overrides[key] = value
    return overrides


def _with_options(args: argparse.Namespace) -> dict[str, Any]:
    """--set, plus --years and --seed as the scenario fields they stand for, so that the
    schema checks them like any other field (years in (0, 50], seed >= 0)."""
    overrides = _overrides(args.set)
    for name in ("years", "seed"):
        if getattr(args, name, None) is not None:
            if name in overrides:
                raise BadInput(f"--{name} and --set {name}: given twice; allowed: one of them")
            overrides[name] = getattr(args, name)
    return overrides


def at_least(value: int | None, option: str, least: int = 1) -> None:
    """Refuse a count option below ``least`` before any work (None: not given, the default)."""
    if value is not None and value < least:
        raise BadInput(f"{option} {value}: allowed: {least} or more")


def usable_folder(out: Path, option: str = "--out") -> None:
    """Refuse an output folder that could not be written, before a run spends its time.

    The test is a real write (a temporary file, removed at once) in the folder or in its
    nearest existing parent: permission bits alone mislead for root, on /proc or on a
    read-only mount. Nothing is left behind."""
    _can_write_in(out, out, option, "a folder, new or existing", "a folder you can write")


def usable_file(path: Path, option: str) -> None:
    """Refuse an output file that could not be written, before the work that fills it: a
    folder, or a file in a folder that cannot be written (the same real write as
    ``usable_folder``). Nothing is left behind."""
    if path.is_dir():
        raise BadInput(f"{option} {path}: is a folder; allowed: a file name")
    _can_write_in(path, path.parent, option, "a file in a folder, new or existing", "a file in a folder you can write")


def _can_write_in(given: Path, folder: Path, option: str, kind: str, writable: str) -> None:
    parent = folder
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        where = "is a file" if parent == given else f"is under the file {parent}"
        raise BadInput(f"{option} {given}: {where}; allowed: {kind}")
    try:
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as err:
        raise BadInput(f"{option} {given}: cannot write in {parent} ({err.strerror}); allowed: {writable}") from None


def cmd_run(args: argparse.Namespace) -> int:
    from model.runner import run_scenario, write_outputs

    scenario = load_scenario(args.scenario, _with_options(args))
    seed = scenario.seed
    out = Path(args.out) if args.out else Path("out") / f"{scenario.name}-seed{seed}"
    usable_folder(out)
    result = run_scenario(scenario, seed=seed)
    write_outputs(result, out, scenario)
    print(human_summary(result.summary))
    print(f"\nwrote {out}/summary.json, timeseries.parquet, evaluations.parquet, scenario.json")
    return EXIT_OK


def human_summary(s: dict[str, Any]) -> str:
    hours = s["cadre_hours_share"]
    lines = [
        f"{s['scenario']} (seed {s['seed']}, {s['years']:g} years, {s['residents']:,} residents, {s['villages']} villages)",
        f"  incidents        {s['incidents_total']:,} arose, {s['resolution_rate']:.1%} resolved, "
        f"{s['mean_days_to_resolve']:.1f} days on average; backlog at end {s['backlog_end']:,}",
        f"  Beicai rates     disposal {s['disposal_rate']:.1%}  timeliness {s['timeliness_rate']:.1%}  "
        f"closure {s['closure_rate']:.1%} (reported {s['closure_rate_reported']:.1%})  satisfaction {s['satisfaction_rate']:.1%}",
        f"  petitions        true {s['petitions_true']:,}, reported {s['petitions_reported']:,}; skip-level true "
        f"{s['skip_level_petitions_true']:,}, reported {s['skip_level_petitions_reported']:,}",
        f"  stability        {s['interceptions']:,} interceptions costing {s['interception_spending']:,.0f} yuan; "
        f"{s['deferred_promises']:,} promises; {s['concealed_incidents']:,} concealed, {s['concealment_detected']:,} found",
        f"  money            spent {s['spending_total']:,.0f} yuan; debt at end {s['debt_end']:,.0f}",
        f"  cadres           {s['staff_on_post_mean']:.0f} on post, turnover {s['cadre_turnover']:.1%}/yr; hours: "
        + ", ".join(f"{k} {v:.0%}" for k, v in hours.items()),
        f"  residents        trust {s['trust_mean_end']:.2f}, grievance {s['grievance_mean_end']:.3f}",
    ]
    return "\n".join(lines)


COMPARE_METRICS = (
    "petitions_true",
    "petitions_reported",
    "skip_level_petitions_true",
    "skip_level_petitions_reported",
    "interceptions",
    "interception_spending",
    "deferred_promises",
    "concealed_incidents",
    "concealment_detected",
    "mean_days_to_resolve",
    "resolution_rate",
    "closure_rate",
    "closure_rate_reported",
    "satisfaction_rate",
    "hidden_grievance",
    "trust_mean_end",
    "debt_end",
    "cadre_turnover",
    "cadre_hours_share.handling",
    "cadre_hours_share.paperwork",
    "cadre_hours_share.stability",
)


def _compare_job(job: tuple[str, dict[str, Any], int]) -> dict[str, Any]:
    from model.runner import run_scenario

    path, overrides, seed = job
    summary = run_scenario(load_scenario(path, overrides), seed=seed).summary
    flat = {f"cadre_hours_share.{k}": v for k, v in summary["cadre_hours_share"].items()}
    return {**{k: summary[k] for k in COMPARE_METRICS if k in summary}, **flat, "scenario": summary["scenario"]}


def cmd_compare(args: argparse.Namespace) -> int:
    """Run scenarios on the same seeds (paired) and print them side by side."""
    import os
    from concurrent.futures import ProcessPoolExecutor

    import pandas as pd

    from model.analysis.paired import paired_differences

    at_least(args.seeds, "--seeds")
    at_least(args.workers, "--workers")
    overrides = _with_options(args)  # --set and --years, checked with every file before any run
    names = [load_scenario(p, overrides).name for p in args.scenarios]
    if len(args.scenarios) < 2:
        raise BadInput(f"{args.scenarios[0]}: compare needs two or more scenario files; allowed: compare A.yaml B.yaml ...")
    if len(set(names)) < len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise BadInput(
            f"{', '.join(args.scenarios)}: field 'name': two scenarios are both named {twice!r}; "
            "allowed: distinct names (the comparison's columns)"
        )
    seeds = list(range(1, args.seeds + 1))
    jobs = [(p, overrides, s) for p in args.scenarios for s in seeds]
    workers = args.workers or os.cpu_count() or 1
    with ProcessPoolExecutor(workers) as pool:
        rows = list(pool.map(_compare_job, jobs))
    runs = pd.DataFrame(rows)
    runs["arm"] = [names[i // len(seeds)] for i in range(len(rows))]
    runs["replication"] = [i % len(seeds) for i in range(len(rows))]
    runs["seed"] = [seeds[i % len(seeds)] for i in range(len(rows))]
    diffs = paired_differences(runs, "arm", names[0], COMPARE_METRICS)
    means = runs.groupby("arm", sort=False)[list(COMPARE_METRICS)].mean().T[names]
    print(f"Paired comparison over seeds 1..{args.seeds} (common random numbers), {args.years or 'scenario'} years.")
    if args.seeds == 1:
        print(f"Difference = other − {names[0]}; one seed gives no confidence interval (use --seeds 2 or more).\n")
    else:
        print(f"Difference = other − {names[0]}, with its 95% confidence interval.\n")
    header = f"{'metric':32s}" + "".join(f"{n[:18]:>19s}" for n in names) + "   difference [95% CI]"
    print(header)
    print("-" * len(header))
    for metric in COMPARE_METRICS:
        cells = "".join(f"{means.loc[metric, n]:>19,.3f}" for n in names)
        d = diffs[diffs["metric"] == metric]
        extra = "; ".join(f"{r.mean_difference:+,.3f} {_interval(r, args.seeds)}" for r in d.itertuples())
        print(f"{metric:32s}{cells}   {extra}")
    return EXIT_OK


def _interval(row: Any, seeds: int) -> str:
    # One pair has no spread to estimate: the interval is undefined, not [nan, nan].
    return "[n/a: one seed]" if seeds < 2 else f"[{row.ci_low:+,.3f}, {row.ci_high:+,.3f}]"


def cmd_validate(args: argparse.Namespace) -> int:
    """Check a scenario, experiment, validation-fact or calibration file without running anything."""
    kind = file_kind(read_yaml(args.scenario))
    if kind != "scenario" and args.set:
        raise BadInput(f"{args.scenario}: --set applies to scenario files; this is {a_kind(kind)} file")
    if kind == "experiment":
        print(f"{args.scenario}: valid experiment {_experiment_size(args.scenario)}")
    elif kind == "validation fact":
        from model.analysis.validation import load_fact
        from model.analysis.validation_runs import build_scenario_from

        try:
            fact = load_fact(args.scenario)
        except ValueError as err:
            raise BadInput(str(err)) from None
        for arm, overrides in fact.arms.items():  # every arm's overrides, as validate-model applies them
            try:
                build_scenario_from(fact.scenario_path(), overrides)
            except ScenarioError as err:
                raise BadInput(f"{args.scenario}: field 'arms.{arm}': {err}") from None
        print(
            f"{args.scenario}: valid validation fact {fact.id} '{fact.title}' ({len(fact.arms)} arms, "
            f"{len(fact.claims)} claims, {_count(fact.replications, 'replication')} of {_count(fact.years, 'year')})"
        )
    elif kind == "calibration":
        from model.analysis.calibration_essays import load_config

        cfg = load_config(args.scenario)  # every prior's ends in every setting, against the scenario
        print(
            f"{args.scenario}: valid calibration '{cfg['name']}' ({len(cfg['parameters'])} parameters, "
            f"{len(cfg['targets'])} targets, {len(cfg['settings'])} settings); run it with run.py calibrate-essays"
        )
    else:
        scenario = load_scenario(args.scenario, _overrides(args.set))
        print(
            f"{args.scenario}: valid scenario '{scenario.name}' ({scenario.county.townships} townships × "
            f"{scenario.county.villages_per_township} villages, regime '{scenario.regime.name}', "
            f"{_count(scenario.years, 'year')})"
        )
    return EXIT_OK


def _count(n: float, noun: str) -> str:
    return f"{n:g} {noun}{'' if n == 1 else 's'}"


def _experiment_size(path: str) -> str:
    """An experiment checked as ``sweep`` checks it (every swept value against its scenario),
    described by what it would run."""
    from model.sweep.design import static_design
    from model.sweep.experiment import load_experiment

    exp = load_experiment(path)
    if exp.is_sequential:  # bayes proposes as results come in
        configurations = f"{exp.sweep.run_cap} bayes configurations"
    else:
        how = exp.sampler.kind if exp.sampler is not None else exp.sweep.method
        configurations = f"{len(static_design(exp))} {how} configurations"
    return (
        f"'{exp.name}' ({configurations} × {_count(exp.replications, 'replication')} of "
        f"{exp.scenario_path.name}{f', {_count(exp.years, 'year')}' if exp.years else ''})"
    )


def cmd_regimes(args: argparse.Namespace) -> int:
    from model.regimes import REGIMES

    for name, cls in sorted(REGIMES.items()):
        print(f"{name:15s} {(cls.__doc__ or '').strip().splitlines()[0]}")
        for field, info in cls.Params.model_fields.items():
            print(
                f"    {field:20s} default {info.default if info.default_factory is None else info.default_factory()!r}: {info.description}"
            )
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from model.schema_doc import scenario_reference

    text = scenario_reference()
    if args.out:
        from model.atomic import atomic_write_text

        out = Path(args.out)
        usable_file(out, "--out")
        atomic_write_text(out, text)
    else:
        print(text)
    return EXIT_OK


def cmd_resident(args: argparse.Namespace) -> int:
    from model.simulation import GovernanceModel

    scenario = load_scenario(args.scenario, _with_options(args))
    at_least(args.days, "--days")
    longest = MAX_YEARS * 365
    if args.days > longest:
        raise BadInput(f"--days {args.days}: allowed: 1..{longest} ({MAX_YEARS} years, the longest a scenario runs)")
    model = GovernanceModel(scenario, seed=scenario.seed)
    if not 0 <= args.id < len(model.residents):  # before spending the run on it
        raise BadInput(
            f"{args.scenario}: resident id {args.id} does not exist; allowed: 0..{len(model.residents) - 1}"
        )
    model.run(int(args.days))
    print(json.dumps(model.resident(args.id), indent=2))
    return EXIT_OK


Registrar = Callable[[argparse._SubParsersAction], None]


def _add_core(sub: argparse._SubParsersAction) -> None:
    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("scenario", help="scenario YAML file, e.g. scenarios/demo.yaml")
        p.add_argument(
            "--set",
            action="append",
            metavar="KEY=VALUE",
            help="override a field, e.g. --set regime.name=veto (repeatable)",
        )

    p = sub.add_parser("run", help="run one scenario and write its outputs")
    common(p)
    p.add_argument("--seed", type=int, help="random seed (default: the scenario's)")
    p.add_argument("--years", type=float, help="simulated years (default: the scenario's)")
    p.add_argument("--out", help="output folder (default: out/NAME-seedN)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("compare", help="run scenarios on the same seeds and compare them side by side")
    p.add_argument("scenarios", nargs="+", help="two or more scenario files; the first is the baseline")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override applied to every scenario")
    p.add_argument("--seeds", type=int, default=5, help="paired replications (seeds 1..N)")
    p.add_argument("--years", type=float, help="simulated years (default: each scenario's)")
    p.add_argument("--workers", type=int, help="processes (default: all cores)")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("validate", help="check a scenario, experiment or validation-fact file without running it")
    p.add_argument("scenario", metavar="file", help="a scenario, experiment (experiments/*.yaml) or fact file")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a scenario field (repeatable)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("regimes", help="list the registered assessment regimes and their parameters")
    p.set_defaults(func=cmd_regimes)

    p = sub.add_parser("schema", help="print the scenario file reference (every field)")
    p.add_argument("--out", help="write it to this file")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("resident", help="run a scenario and show one resident and its incident history")
    common(p)
    p.add_argument("id", type=int, help="resident id")
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--seed", type=int)
    p.set_defaults(func=cmd_resident)


def _optional_registrars() -> list[Registrar]:
    """Subcommands of the other subsystems, each registering its own parsers."""
    regs: list[Registrar] = []
    for module, name in (
        ("model.sweep.cli", "add_sweep_commands"),
        ("model.dashboard.cli", "add_dashboard_command"),
        ("model.analysis.regression_cli", "add_regress_command"),
        ("model.analysis.validation_cli", "add_validation_command"),
    ):
        try:
            mod = __import__(module, fromlist=[name])
        except ModuleNotFoundError as err:
            if err.name and module.startswith(err.name):
                continue
            raise
        regs.append(getattr(mod, name))
    return regs


class WholeOptions(argparse.ArgumentParser):
    """A parser that takes options only as spelt in full: with argparse's default
    abbreviations, ``compare --seed 3`` meant ``--seeds 3`` and ``regress --seed 5`` meant
    ``--seed-offset 5``, silently."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = WholeOptions(
        prog="run.py",
        description="Grass-roots governance simulator: villages, cadres, associations, grids, "
        "townships and county offices under an assessment regime.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=WholeOptions)
    _add_core(sub)
    for register in _optional_registrars():
        try:
            register(sub)
        except ImportError as err:
            # A subsystem that cannot load must not take the core commands down with it.
            sub.add_parser(
                register.__name__.removeprefix("add_").removesuffix("_command").removesuffix("_commands"),
                help=f"(unavailable: {err})",
            ).set_defaults(func=_unavailable(err))
    return parser


def _unavailable(err: Exception) -> Callable[[argparse.Namespace], int]:
    def fail(args: argparse.Namespace) -> int:
        print(f"error: this command could not load: {err}", file=sys.stderr)
        return EXIT_FAILED

    return fail


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ScenarioError, BadInput) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ModelDiverged as err:  # valid input, a run that cannot go on: not exit 2
        print(f"error: the run stopped on {err}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print(
            "error: out of memory: this run needs more than the machine has; a smaller county, lower "
            "incident rates or a shorter horizon need less",
            file=sys.stderr,
        )
        return 1
    except BrokenPipeError:
        # The reader left (`run.py regimes | head`): stop quietly, as the Python docs advise
        # (signal module, "Note on SIGPIPE"), instead of a traceback; files already written stay.
        _silence_stdout()
        return 1


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):  # stdout replaced (tests) or closed
        pass


if __name__ == "__main__":
    sys.exit(main())
