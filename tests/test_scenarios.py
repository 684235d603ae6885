"""Every shipped scenario validates and runs; bad files are refused with exit 2 and one
clear line naming the file, the field and what is allowed, and nothing is written."""

import subprocess
import sys
from pathlib import Path

import pytest

from model import load_scenario
from model.simulation import GovernanceModel
from tests.conftest import ROOT, SCENARIOS

ALL = sorted(p.name for p in SCENARIOS.glob("*.yaml"))


@pytest.mark.parametrize("name", ALL)
def test_every_scenario_validates_and_runs(name):
    scenario = load_scenario(SCENARIOS / name)
    model = GovernanceModel(scenario, seed=1)
    model.run(10 if scenario.county.townships > 2 else 40)
    assert model.stats["incidents_total"] > 0


def test_free_interception_with_no_money_leaves_the_cadres_choices_defined():
    # cadres.interception_cost may be 0 (the schema allows it). With no money at all the
    # feasibility of stability work was 0 / 0: every unit's split of hours was NaN from day 0.
    # Found by sampling every numeric field inside its bounds (closing note, twelfth session).
    import math

    import numpy as np

    from model.scenario import scenario_from_dict

    data = load_scenario(SCENARIOS / "demo.yaml").model_dump()
    data["cadres"]["interception_cost"] = 0.0
    data["fiscal"].update(borrowing=False, transfer_per_resident=0.0)
    data["regime"]["name"] = "veto"
    model = GovernanceModel(scenario_from_dict(data, source="free interception"), seed=1)
    for _ in range(60):
        model.step()
        assert np.isfinite(model.decisions.shares).all(), f"day {model.day}: {model.decisions.shares[:2]}"
    summary = model.collector.summary()
    assert all(math.isfinite(v) for v in summary.values() if isinstance(v, float)), summary


RUNAWAY = ["--set", "residents.grievance_per_severity=1", "--set", "residents.grievance_decay=0",
           "--set", "residents.petition_threshold=0.001", "--set", "residents.petition_cooldown_days=1",
           "--set", "residents.collective_min=2"]
"""Valid values that feed grievance back into itself: petitions at the least grievance, every day,
whose hurt (grievance_per_severity 1) nothing lets fade (decay 0). Found by sampling every
numeric field inside its bounds; such a run used to go on with inf and NaN in its outputs."""


def test_a_run_whose_state_overflows_stops_naming_the_day_and_the_series(tmp_path, capsys):
    import warnings

    from model import ModelDiverged
    from model.cli import main
    from model.scenario import parse_override, scenario_from_dict

    data = load_scenario(SCENARIOS / "demo.yaml").model_dump()
    for assignment in RUNAWAY[1::2]:
        key, value = parse_override(assignment)
        section, field = key.split(".")
        data[section][field] = value
    model = GovernanceModel(scenario_from_dict(data, source="runaway"), seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's overflow warning comes first
        with pytest.raises(ModelDiverged, match=r"day \d+: grievance_mean is no longer a finite number"):
            model.run(365)
        # The command line: exit 1 (the input is valid; the run cannot go on), one line, no files.
        out = tmp_path / "run"
        assert main(["run", str(SCENARIOS / "demo.yaml"), "--years", "1", "--out", str(out), *RUNAWAY]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: the run stopped on day ") and err.count("\n") == 0, err
    assert "residents.grievance_decay" in err, err
    assert not (out / "summary.json").exists()


def test_county_scenario_has_the_essays_scale():
    s = load_scenario(SCENARIOS / "county.yaml")
    villages = s.county.townships * s.county.villages_per_township
    assert 250 <= villages <= 350 and villages * s.county.residents_per_village >= 300_000


def _cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], cwd=cwd, capture_output=True, text=True)


BAD = {
    "unknown_field.yaml": ("name: x\ncounty:\n  villagez: 3\n", "county.villagez", "unknown field"),
    "wrong_type.yaml": ("name: x\ncounty:\n  townships: many\n", "county.townships", "integer"),
    "out_of_range.yaml": ("name: x\nstaffing:\n  fill_rate: 1.5\n", "staffing.fill_rate", "less than or equal to 1"),
    "unknown_regime.yaml": ("name: x\nregime:\n  name: vote\n", "regime", "allowed: comprehensive, consultative, veto"),
    "bad_regime_param.yaml": ("name: x\nregime:\n  name: veto\n  indicator: gdp\n", "regime", "allowed: disposal_rate"),
    # A veto on a rate (at most 1) with the default count threshold (3) fails every unit.
    "veto_rate_above_one.yaml": (
        "name: x\nregime:\n  name: veto\n  indicator: closure_rate\n", "regime", "allowed: 0 to 1 for a rate"
    ),
    "infinite_regime_param.yaml": ("name: x\nregime:\n  name: veto\n  threshold: .inf\n", "regime.threshold", "not inf"),
    # A regime's parameters depend on its name, so the message lists the named regime's.
    "unknown_regime_param.yaml": (
        "name: x\nregime:\n  name: veto\n  threshhold: 3\n",
        "regime",
        "allowed: name, audit_rate, audit_penalty, petition_scale, indicator, threshold",
    ),
    "missing_name.yaml": ("years: 2\n", "name", "Field required"),
    "not_yaml.yaml": ("name: [unclosed\n", "not valid YAML", ""),
    "bad_mix.yaml": ("name: x\ncounty:\n  typology_mix: {A: 0.5, B: 0.6}\n", "county.typology_mix", "sum to 1"),
    # inf passes a one-sided bound and was written to scenario.json as null, which no run reads.
    "infinite.yaml": ("name: x\nfiscal:\n  transfer_per_resident: .inf\n", "fiscal.transfer_per_resident", "not inf"),
    "nan_regime_weight.yaml": ("name: x\nregime:\n  weights: {closure_rate: .nan}\n", "regime.weights.closure_rate", "not inf"),
    # PyYAML keeps the last of two equal keys silently: the file would not say what ran.
    "duplicate_key.yaml": ("name: x\nyears: 1\nyears: 2\n", "field 'years'", "given twice (lines 2 and 3)"),
    "nested_duplicate_key.yaml": (
        "name: x\nstaffing:\n  fill_rate: 0.5\n  fill_rate: 0.6\n",
        "staffing.fill_rate",
        "given twice (lines 3 and 4)",
    ),
    # A horizon under one day ran no day and reported the rates of an empty run as 0.
    "shorter_than_a_day.yaml": ("name: x\nyears: 0.001\n", "field 'years'", "one day"),
    # The platform shares were not checked: a missing platform crashed the run with a
    # KeyError, and negative shares or shares summing past 1 ran.
    "missing_platform.yaml": (
        "name: x\ntownship:\n  platform_shares: {governance: 0.4, market: 0.2, enforcement: 0.4}\n",
        "township.platform_shares",
        "missing platform(s) services",
    ),
    "negative_platform_share.yaml": (
        "name: x\ntownship:\n  platform_shares: {governance: 0.6, market: -0.1, enforcement: 0.25, services: 0.25}\n",
        "township.platform_shares",
        "non-negative and sum to 1",
    ),
    # The message named only the missing parent, not the file that refers to it.
    "extends_missing.yaml": ("name: x\nextends: nowhere.yaml\n", "field 'extends'", "no such file"),
    # A check across tables used to name the field '(top level)'.
    "unknown_devolved_kind.yaml": (
        "name: x\nstaffing:\n  devolved_kinds: [nope]\n",
        "field 'staffing.devolved_kinds'",
        "allowed: neighbour_dispute",
    ),
}


@pytest.mark.parametrize("fname", sorted(BAD))
@pytest.mark.parametrize("command", ["validate", "run"])
def test_bad_scenario_exits_2_with_one_clear_line_and_writes_nothing(tmp_path, capsys, fname, command):
    # In-process: the same main() that run.py calls, without paying for a new interpreter.
    from model.cli import main

    text, field, allowed = BAD[fname]
    path = tmp_path / fname
    path.write_text(text)
    out = tmp_path / "out"
    args = [command, str(path)] + (["--out", str(out)] if command == "run" else [])
    assert main(args) == 2
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(lines) == 1, lines
    assert str(path) in lines[0] and field in lines[0] and allowed in lines[0], lines[0]
    assert not out.exists()


def test_bad_input_is_exit_status_2_of_the_process(tmp_path):
    proc = _cli("run", str(SCENARIOS / "demo.yaml"), "--set", "fiscal.matching_share=2", "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "fiscal.matching_share" in proc.stderr
    assert not (tmp_path / "o").exists()


EXPERIMENTS = ROOT / "experiments"


@pytest.mark.parametrize(
    "path",
    [
        p.relative_to(ROOT)
        for p in sorted(EXPERIMENTS.glob("*.yaml")) + sorted(EXPERIMENTS.glob("validation/*.yaml"))
    ],
    ids=str,
)
def test_validate_checks_every_shipped_experiment_fact_and_calibration(path, capsys):
    # The calibration file used to be read as a scenario and refused ("field 'scenario'").
    from model.cli import main

    assert main(["validate", str(ROOT / path)]) == 0
    out = capsys.readouterr().out
    assert any(f"valid {kind}" in out for kind in ("experiment", "validation fact", "calibration")), out


def _one_error_line(capsys) -> str:
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(lines) == 1, lines
    return lines[0]


def test_validate_refuses_an_experiment_sweeping_a_misspelt_key(tmp_path, capsys):
    from model.cli import main

    path = tmp_path / "exp.yaml"
    path.write_text(
        f"name: bad\nscenario: {SCENARIOS / 'demo.yaml'}\nseed: 1\nreplications: 2\n"
        "sweep:\n  method: grid\n  parameters:\n    staffing.fill_ratee: {values: [0.5, 0.9]}\n"
    )
    line = _one_error_line(capsys) if main(["validate", str(path)]) == 2 else pytest.fail("not refused")
    assert str(path) in line and "sweep.parameters.staffing.fill_ratee" in line and "fill_rate" in line, line
    assert main(["validate", str(EXPERIMENTS / "duty_weights.yaml"), "--set", "years=1"]) == 2
    assert "--set applies to scenario files" in _one_error_line(capsys)


def test_validate_applies_every_arm_of_a_fact_to_its_scenario(tmp_path, capsys):
    # validate-model would meet a misspelt arm key only when it runs that arm, minutes in.
    from model.cli import main

    text = (EXPERIMENTS / "validation" / "fact04_weights_move_hours.yaml").read_text()
    text = text.replace("regime.threshold: 3.0}", "regime.threshhold: 3.0}", 1)
    text = text.replace("../../scenarios/demo.yaml", str(SCENARIOS / "demo.yaml"))
    path = tmp_path / "fact04_typo.yaml"
    path.write_text(text)
    assert main(["validate", str(path)]) == 2
    line = _one_error_line(capsys)
    assert str(path) in line and "arms.veto" in line and "'threshhold'" in line and "threshold" in line, line


@pytest.mark.parametrize(
    "text",
    [
        "name: 演示\nyears: 1\n",
        f"name: 实验\nscenario: {SCENARIOS / 'demo.yaml'}\nsweep:\n  method: grid\n  parameters: {{}}\n",
    ],
    ids=["scenario", "experiment"],
)
@pytest.mark.parametrize("command", ["validate", "run", "sweep"])
def test_a_file_not_in_utf8_is_one_line_naming_the_encoding(tmp_path, capsys, text, command):
    # Files written on Chinese Windows are often GBK: that was a UnicodeDecodeError traceback.
    from model.cli import main

    path = tmp_path / "gbk.yaml"
    path.write_bytes(text.encode("gbk"))
    assert main([command, str(path), *(["--out", str(tmp_path / "out")] if command != "validate" else [])]) == 2
    line = _one_error_line(capsys)
    assert str(path) in line and "UTF-8" in line, line
    assert not (tmp_path / "out").exists()


def test_an_experiment_with_a_duplicate_key_is_refused(tmp_path, capsys):
    # Experiments are read by the same reader as scenarios (`sweep` as much as `validate`).
    from model.cli import main

    path = tmp_path / "exp.yaml"
    path.write_text(f"name: e\nscenario: {SCENARIOS / 'demo.yaml'}\nreplications: 2\nreplications: 3\nsweep: {{}}\n")
    assert main(["sweep", str(path), "--out", str(tmp_path / "out")]) == 2
    line = _one_error_line(capsys)
    assert str(path) in line and "'replications'" in line and "lines 3 and 4" in line, line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("override", "says"),
    [
        ("staffing.fill_rate=[1", "not valid YAML"),
        ("fiscal.transfer_per_resident=inf", "field 'fiscal.transfer_per_resident'"),
        ("regime.petition_scale=.inf", "field 'regime.petition_scale'"),
        ("staffing={fill_rate: 0.5, fill_rate: 0.6}", "field 'staffing.fill_rate': given twice"),
        # Each finite, their sum not: the scores were NaN from day 0.
        ("regime.weights={disposal_rate: 1e308, closure_rate: 1e308}", "their sum overflows"),
    ],
)
def test_a_bad_override_value_is_one_line_not_a_traceback(override, says, capsys):
    from model.cli import main

    assert main(["validate", str(SCENARIOS / "demo.yaml"), "--set", override]) == 2
    line = _one_error_line(capsys)
    assert says in line and override.split("=")[0] in line, line


@pytest.mark.parametrize("where", ["a file", "under a file", "/proc"])
def test_run_refuses_an_unusable_out_before_running(tmp_path, capsys, monkeypatch, where):
    # The folder used to be made after the run, so a mistyped --out lost the whole run.
    import model.runner
    from model.cli import main

    monkeypatch.setattr(model.runner, "run_scenario", lambda *a, **k: pytest.fail("ran before checking --out"))
    afile = tmp_path / "afile"
    afile.write_text("")
    out = {"a file": afile, "under a file": afile / "out", "/proc": Path("/proc/no-such-folder")}[where]
    assert main(["run", str(SCENARIOS / "demo.yaml"), "--out", str(out)]) == 2
    line = _one_error_line(capsys)
    assert f"--out {out}" in line and "allowed:" in line, line
    assert afile.read_text() == ""


def test_missing_file_exits_2(tmp_path, capsys):
    from model.cli import main

    assert main(["validate", str(tmp_path / "absent.yaml")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_run_writes_summary_and_timeseries(tmp_path):
    out = tmp_path / "demo"
    proc = _cli("run", str(SCENARIOS / "demo.yaml"), "--years", "0.5", "--seed", "3", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "petitions" in proc.stdout
    import json

    import pandas as pd

    summary = json.loads((out / "summary.json").read_text())
    for key in REQUIRED_SUMMARY_KEYS:
        assert key in summary, key
    ts = pd.read_parquet(out / "timeseries.parquet")
    assert len(ts) == round(0.5 * 365)
    assert not any(p.name.endswith(".tmp") for p in out.iterdir())


@pytest.mark.parametrize("umask", [0o022, 0o027], ids=["umask022", "umask027"])
def test_written_files_have_the_mode_the_umask_gives(tmp_path, umask):
    # mkstemp made every result 0600, unreadable to collaborators on a shared cluster.
    import os

    import pandas as pd

    from model.atomic import atomic_write_bytes, atomic_write_parquet

    previous = os.umask(umask)
    try:
        atomic_write_bytes(tmp_path / "summary.json", b"{}")
        atomic_write_parquet(tmp_path / "timeseries.parquet", pd.DataFrame({"day": [0]}))
    finally:
        os.umask(previous)
    for name in ("summary.json", "timeseries.parquet"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~umask, name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json", "timeseries.parquet"]


def test_extends_merges_over_the_parent(tmp_path):
    child = tmp_path / "child.yaml"
    child.write_text(f"extends: {SCENARIOS / 'demo.yaml'}\nname: child\nstaffing:\n  fill_rate: 0.68\n")
    s = load_scenario(child)
    assert s.name == "child" and s.staffing.fill_rate == 0.68 and s.county.villages_per_township == 10


def test_scenario_reference_doc_is_current():
    from model.schema_doc import scenario_reference

    doc = Path(ROOT / "docs" / "scenario-format.md")
    assert doc.read_text(encoding="utf-8") == scenario_reference(), (
        "docs/scenario-format.md is stale: run `python run.py schema --out docs/scenario-format.md`"
    )


REQUIRED_SUMMARY_KEYS = (
    "incidents_total incidents_resolved resolution_rate mean_days_to_resolve backlog_end disposal_rate "
    "timeliness_rate closure_rate satisfaction_rate petitions_true petitions_reported skip_level_petitions_true "
    "skip_level_petitions_reported interceptions interception_spending concealed_incidents concealment_detected "
    "deferred_promises spending_total debt_end cadre_hours_share staff_on_post_mean cadre_turnover trust_mean_end "
    "grievance_mean_end scenario seed code_version"
).split()


def test_an_override_into_a_mapping_changes_one_entry_and_keeps_the_defaults():
    """``--set regime.weights.discovery_rate=0.1`` (or a sweep over that key) must add one
    weight to the regime's default weights, not score discovery alone; the same for the
    cadres' beliefs. The regime's defaults are the named regime's, whatever the order of the
    overrides."""
    from model.regimes import ComprehensiveParams, VetoParams, make_regime
    from model.scenario import CadreRules

    weights = make_regime(load_scenario(SCENARIOS / "demo.yaml", {"regime.weights.discovery_rate": 0.1}).regime).params.weights
    assert weights == {**ComprehensiveParams().weights, "discovery_rate": 0.1}
    veto = load_scenario(SCENARIOS / "demo.yaml", {"regime.routine_weights.discovery_rate": 0.1, "regime.name": "veto"})
    assert make_regime(veto.regime).params.routine_weights == {**VetoParams().routine_weights, "discovery_rate": 0.1}
    beliefs = load_scenario(SCENARIOS / "demo.yaml", {"cadres.beliefs.patrol.discovery_rate": 0.5}).cadres.beliefs
    assert beliefs == {**CadreRules().beliefs, "patrol": {**CadreRules().beliefs["patrol"], "discovery_rate": 0.5}}
    whole = {"proof_of_work": 1.0}  # a whole table still replaces the default
    assert make_regime(load_scenario(SCENARIOS / "demo.yaml", {"regime.weights": whole}).regime).params.weights == whole


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["compare", str(SCENARIOS / "demo.yaml")], "two or more scenario files"),
        (["compare", str(SCENARIOS / "demo.yaml"), str(SCENARIOS / "demo.yaml")], "both named 'demo'"),
        (["resident", str(SCENARIOS / "demo.yaml"), "99999999"], "allowed: 0.."),
        (["validate", str(SCENARIOS)], "is a folder; allowed: a YAML file"),  # it said "no such file"
        # A rate of 1e9 ran until numpy could not allocate the day's arrivals.
        (["validate", str(SCENARIOS / "demo.yaml"), "--set", "incidents.labour_wage.rate=1e9"], "less than or equal to 365000"),
        # It said "field 'scenario': unknown field", not which kind of file it was given.
        (["run", str(ROOT / "experiments" / "duty_weights.yaml")], "an experiment file, not a scenario"),
        # The last of two values won silently, unlike a scenario file's duplicate keys.
        (["validate", str(SCENARIOS / "demo.yaml"), "--set", "years=1", "--set", "years=2"], "given twice"),
        (["run", str(SCENARIOS / "demo.yaml"), "--set", "seed=1", "--seed", "2"], "given twice"),
        # The message named neither the file nor what is allowed.
        (["validate", str(SCENARIOS / "demo.yaml"), "--set", "years.x=1"], "demo.yaml: override 'years.x'"),
        # A regime name that is not a string crashed the lookup of the regime's default weights.
        (["validate", str(SCENARIOS / "demo.yaml"), "--set", "regime={name: [veto]}", "--set", "regime.weights.closure_rate=1"],
         "field 'regime.name'"),
        # It simulated 274 years of the demo before answering.
        (["resident", str(SCENARIOS / "demo.yaml"), "5", "--days", "100000"], "allowed: 1..18250"),
        (
            ["compare", str(SCENARIOS / "demo.yaml"), str(SCENARIOS / "veto.yaml"), "--workers", "-1"],
            "--workers -1: allowed: 1 or more",
        ),
    ],
    ids=["compare-one", "compare-same-name", "resident-out-of-range", "folder-as-file", "absurd-rate", "experiment-as-scenario", "set-twice", "set-and-option", "set-into-a-value", "regime-name-not-a-string", "resident-days-past-50-years", "compare-negative-workers"],
)
def test_commands_refuse_arguments_they_cannot_use_before_running(args, says, capsys):
    # Each of these ran the model first and then crashed with a traceback.
    from model.cli import main

    assert main(args) == 2
    assert says in _one_error_line(capsys)


def test_compare_on_one_seed_shows_the_difference_without_an_interval(capsys):
    # One pair has no spread: the interval used to print as [+nan, +nan].
    from model.cli import main

    scenarios = [str(SCENARIOS / "demo.yaml"), str(SCENARIOS / "veto.yaml")]
    assert main(["compare", *scenarios, "--seeds", "1", "--years", "0.02", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "nan" not in out and "[n/a: one seed]" in out, out


def test_regress_help_shows_a_plain_percent_sign(capsys):
    # argparse does not %-format a description: `1%%` was printed as it stands.
    from model.cli import main

    with pytest.raises(SystemExit):
        main(["regress", "--help"])
    out = capsys.readouterr().out
    assert "error 1%," in out and "%%" not in out


def test_a_run_folders_scenario_json_reruns_the_run_exactly(tmp_path, capsys):
    # scenario.json carries --set, --years and --seed, so the folder alone says what was run.
    import json

    from model.cli import main

    first, again = tmp_path / "first", tmp_path / "again"
    args = ["--set", "regime.name=veto", "--years", "0.3", "--seed", "5"]
    assert main(["run", str(SCENARIOS / "demo.yaml"), *args, "--out", str(first)]) == 0
    assert main(["run", str(first / "scenario.json"), "--out", str(again)]) == 0
    one, two = (json.loads((d / "summary.json").read_text()) for d in (first, again))
    assert one["seed"] == 5 and one["years"] == round(0.3 * 365) / 365
    assert one == two


def test_scenario_json_records_the_regime_parameters_in_force(tmp_path):
    # A regime's defaults live in its class, so scenario.json said only {"name": ...}: the
    # audit rate, weights and pass mark a run used were nowhere in its folder.
    import json

    from model.cli import main
    from model.regimes import ComprehensiveParams

    first, again = tmp_path / "first", tmp_path / "again"
    assert main(["run", str(SCENARIOS / "demo.yaml"), "--set", "regime.pass_mark=0.7", "--years", "0.05", "--out", str(first)]) == 0
    regime = json.loads((first / "scenario.json").read_text(encoding="utf-8"))["regime"]
    assert regime == {"name": "comprehensive", **ComprehensiveParams(pass_mark=0.7).model_dump()}
    assert main(["run", str(first / "scenario.json"), "--out", str(again)]) == 0
    for name in ("summary.json", "scenario.json"):
        assert (first / name).read_bytes() == (again / name).read_bytes(), name


@pytest.mark.parametrize(
    "args",
    [
        ["compare", str(SCENARIOS / "demo.yaml"), str(SCENARIOS / "veto.yaml"), "--seed", "3"],
        ["regress", "--seed", "5"],
    ],
    ids=["compare-seed-is-not-seeds", "regress-seed-is-not-seed-offset"],
)
def test_an_abbreviated_option_is_refused_not_guessed(args, capsys):
    # argparse took '--seed 3' for '--seeds 3' (three replications) and '--seed 5' for
    # '--seed-offset 5' without a word.
    from model.cli import build_parser

    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(args)
    assert stop.value.code == 2
    assert "unrecognized arguments: --seed" in capsys.readouterr().err


def test_output_piped_to_a_reader_that_left_ends_quietly_not_in_a_traceback():
    # `run.py schema | head -1` ended in a BrokenPipeError traceback. Here the pipe's only
    # reader is closed before the command writes anything, so its first write fails for sure.
    import os

    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run([sys.executable, "run.py", "schema"], cwd=ROOT, stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=120, check=False)
    finally:
        os.close(write_end)
    assert done.returncode == 1
    assert done.stderr == "", done.stderr


def test_running_out_of_memory_is_one_line_not_a_traceback(monkeypatch, capsys):
    import model.cli as cli

    def too_big(args):
        raise MemoryError

    monkeypatch.setattr(cli, "cmd_run", too_big)
    assert cli.main(["run", str(SCENARIOS / "demo.yaml")]) == 1
    assert _one_error_line(capsys).startswith("error: out of memory")
