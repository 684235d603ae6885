"""The validation suite in its reduced form: every stylised fact holds by the full form's test.

The full suite (``python run.py validate-model --full``) decides each fact with paired
one-sided Wilcoxon tests and Holm correction and writes docs/validation/report.md. The reduced
form runs demo-sized, 1.5-year arms and decides by the same test at alpha 0.05: each claim must
point the predicted way with a Holm-adjusted one-sided p below 0.05. Its replications (8, 15
or 17 pairs) come from a power calculation on a pilot, written beside ``reduced:`` in each
fact file: enough pairs for 80% power at the effect the pilot measured. A claim whose reduced
effect is too small for the test run (``reduced.left_out``) is skipped with the reason and
left to the full form. The whole reduced suite is simulated once per session (module fixture).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from model.analysis.validation import (
    FactSpec,
    load_fact,
    load_facts,
    replication_seeds,
    run_validation,
    write_report,
)
from model.analysis.validation_runs import RunCache
from model.analysis.validation_stats import convexity_test, holm, level_test, paired_test

FAILS_SEE = "the model does not reproduce this yet; diagnosis in the fact file and docs/validation/report.md: "
KNOWN_FAILURES: dict[tuple[int, str], str] = {
    # (fact id, claim label) → why. Checked by hand against the reduced report (pytest.xfail
    # stops the test, so a fixed mechanism does not XPASS): remove the entry once it holds.
    (4, "Comprehensive spreads hours more evenly than the veto"): FAILS_SEE
    + "'handling' is one task serving four weighted rates and absorbs ~70% of hours, and an entropy "
    "over tasks counts the veto's move of hours from handling to stability as spreading (the "
    "veto_same_routine claims); the fact needs restating, a decision for the issue's owner",
}


# ---- the statistics, on made-up numbers ------------------------------------------------
def test_paired_test_detects_a_consistent_increase_and_not_a_decrease() -> None:
    rng = np.random.default_rng(1)
    base = rng.normal(10, 1, 20)
    arm = base + 1.0 + rng.normal(0, 0.2, 20)
    up = paired_test(base, arm, "increase")
    assert up.direction_ok and up.p_value < 0.001 and up.ci_low > 0.5
    down = paired_test(base, arm, "decrease")
    assert not down.direction_ok and down.p_value > 0.99


def test_level_test_compares_against_the_threshold() -> None:
    values = np.array([0.97, 0.98, 0.975, 0.985, 0.99, 0.97, 0.98])
    assert level_test(values, 0.95, "increase").p_value < 0.01
    assert level_test(values, 0.99, "increase").p_value > 0.5


def test_convexity_test_tells_a_hockey_stick_from_a_line() -> None:
    rho = np.tile(np.linspace(0.1, 0.9, 6), 5)
    block = np.repeat(np.arange(5), 6)
    noise = np.random.default_rng(2).normal(0, 0.05, rho.size)
    assert convexity_test(rho, rho / (1 - rho) + noise, block).p_value < 0.01
    assert convexity_test(rho, 2 * rho + noise, block).p_value > 0.05


def test_holm_adjusts_step_down_and_keeps_order() -> None:
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])


def test_replication_seeds_are_stable_and_distinct() -> None:
    seeds = replication_seeds(20240601, 5)
    assert seeds == replication_seeds(20240601, 5) and len(set(seeds)) == 5


def test_every_fact_file_is_valid_and_cites_its_sources() -> None:
    facts = load_facts()
    assert [f.id for f in facts] == list(range(1, 11))
    for f in facts:
        assert f.sources and f.claims and f.scenario_path().is_file()


def test_a_claim_naming_an_unknown_arm_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "fact99_bad.yaml"
    bad.write_text(
        "id: 99\nslug: bad\ntitle: t\nclaim: c\nsources: [s]\nscenario: x.yaml\n"
        "arms: {a: {}}\nclaims: [{label: l, kind: paired, metric: m, base: a, arm: b}]\n"
    )
    with pytest.raises(ValueError, match="unknown arm 'b'"):
        load_fact(bad)


def test_leaving_out_a_claim_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    """A misspelt label in reduced.left_out would leave the real claim asserted, or, worse,
    a renamed claim silently untested; the file must name a claim it has."""
    bad = tmp_path / "fact99_left_out.yaml"
    bad.write_text(
        "id: 99\nslug: bad\ntitle: t\nclaim: c\nsources: [s]\nscenario: x.yaml\n"
        "arms: {a: {}, b: {}}\nclaims: [{label: l, kind: paired, metric: m, base: a, arm: b}]\n"
        "reduced: {left_out: {L: too small}}\n"
    )
    with pytest.raises(ValueError, match="reduced.left_out names no claim 'L'"):
        load_fact(bad)


def test_a_fact_file_with_a_key_given_twice_is_refused(tmp_path: Path) -> None:
    """PyYAML keeps the last of two equal keys; a fact run with the wrong replications would
    report a verdict nobody asked for."""
    bad = tmp_path / "fact99_twice.yaml"
    bad.write_text("id: 99\nreplications: 12\nreplications: 3\n")
    with pytest.raises(ValueError, match="field 'replications': given twice"):
        load_fact(bad)


@pytest.mark.parametrize(
    ("horizon", "field"), [("years: 0.001", "years"), ("reduced: {years: 0.001}", "reduced.years")]
)
def test_a_fact_horizon_shorter_than_one_day_is_refused_like_a_scenario_s(tmp_path, capsys, horizon, field) -> None:
    # The model steps in whole days: 0.001 years ran no day at all and tested empty runs.
    bad = tmp_path / "fact99_short.yaml"
    bad.write_text(
        "id: 99\nslug: bad\ntitle: t\nclaim: c\nsources: [s]\nscenario: x.yaml\n"
        f"arms: {{a: {{}}, b: {{}}}}\nclaims: [{{label: l, kind: paired, metric: m, base: a, arm: b}}]\n{horizon}\n"
    )
    from model.cli import main

    assert main(["validate", str(bad)]) == 2
    said = capsys.readouterr().err.splitlines()
    assert said == [f"error: {bad}: field '{field}': shorter than one day (got 0.001); allowed: 1/365 (one day) or more, up to 50"]


DEMO = Path(__file__).resolve().parents[1] / "scenarios" / "demo.yaml"


def _fact_with(claim: str) -> str:
    return (
        f"id: 99\nslug: typo\ntitle: t\nclaim: c\nsources: [s]\nscenario: {DEMO}\n"
        f"arms: {{a: {{}}, b: {{}}}}\nclaims: [{claim}]\n"
    )


@pytest.mark.parametrize(
    ("claim", "field", "says"),
    [
        (
            "{label: l, kind: paired, metric: petitons_reported, base: a, arm: b}",
            "claims.0.metric",
            "'petitons_reported' is not a metric of the validation runs; did you mean 'petitions_reported'? allowed: ",
        ),
        (
            "{label: l, kind: within, metric: cadre_hours_share.paperwork, versus: cadre_hours_share.stabilty, arm: a}",
            "claims.0.versus",
            "did you mean 'cadre_hours_share.stability'?",
        ),
        (
            "{label: l, kind: convexity, metric: backlog_mean, x: utilisaton_cadres, arms: [a, b]}",
            "claims.0.x",
            "did you mean 'utilisation_cadres'?",
        ),
    ],
    ids=["metric", "versus", "x"],
)
def test_a_misspelt_metric_in_a_fact_is_refused_with_the_close_match(tmp_path, capsys, claim, field, says) -> None:
    # `validate` passed it, and validate-model then read the metric as NaN for every run and
    # reported the typo as the model failing the fact.
    from model.cli import main

    bad = tmp_path / "fact99_typo.yaml"
    bad.write_text(_fact_with(claim))
    assert main(["validate", str(bad)]) == 2
    said = capsys.readouterr().err.splitlines()
    assert len(said) == 1 and said[0].startswith(f"error: {bad}: field '{field}': ") and says in said[0], said
    assert "petitions_reported" in said[0] and "cadre_hours_share.handling" in said[0]  # the allowed names
    out = tmp_path / "report"
    assert main(["validate-model", "--dir", str(tmp_path), "--out", str(out)]) == 2  # before any run
    assert capsys.readouterr().err.count("\n") == 1 and not out.exists()


@pytest.mark.parametrize("command", [["validate-model", "--facts", "1"], ["calibrate-essays"]])
def test_a_worker_count_below_one_is_refused_before_any_run(tmp_path, capsys, command) -> None:
    # It reached the process pool and ended in a ValueError traceback.
    from model.cli import main

    out = ["--out", str(tmp_path / "report")] if command[0] == "validate-model" else []
    scenario_out = ["--scenario-out", str(tmp_path / "c.yaml")] if command[0] == "calibrate-essays" else []
    assert main([*command, "--workers", "-1", *out, *scenario_out]) == 2
    assert capsys.readouterr().err.splitlines() == ["error: --workers -1: allowed: 1 or more"]
    assert not list(tmp_path.iterdir())


UNWRITABLE_FOLDERS = [
    pytest.param(lambda tmp: tmp / "afile", "is a file", id="an existing file"),
    pytest.param(lambda tmp: tmp / "afile" / "x", "is under the file", id="under a file"),
    pytest.param(
        lambda tmp: Path("/proc/x"),
        "cannot write in /proc",
        id="in /proc",
        marks=pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="Linux only"),
    ),
]


@pytest.mark.parametrize(("where", "says"), UNWRITABLE_FOLDERS)
def test_validate_model_refuses_a_report_folder_it_cannot_write_before_any_run(
    tmp_path, capsys, monkeypatch, where, says
) -> None:
    # The report is written after every run: a bad --out ended in a traceback there.
    import model.analysis.validation as validation

    def run(*args, **kwargs):
        raise AssertionError("the suite ran")

    monkeypatch.setattr(validation, "run_validation", run)
    (tmp_path / "afile").write_text("")
    out = where(tmp_path)
    from model.cli import main

    assert main(["validate-model", "--facts", "1", "--out", str(out)]) == 2
    said = capsys.readouterr().err.splitlines()
    assert len(said) == 1 and said[0].startswith(f"error: --out {out}: {says}") and "allowed:" in said[0], said


@pytest.mark.parametrize(
    ("option", "where", "says"),
    [
        ("--scenario-out", lambda tmp: tmp / "adir", "is a folder; allowed: a file name"),
        ("--scenario-out", lambda tmp: tmp / "afile" / "c.yaml", "is under the file"),
        ("--doc-dir", lambda tmp: tmp / "afile", "is a file; allowed: a folder"),
        pytest.param(
            "--doc-dir",
            lambda tmp: Path("/proc/x"),
            "cannot write in /proc",
            marks=pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="Linux only"),
        ),
    ],
    ids=["scenario-out-a-folder", "scenario-out-under-a-file", "doc-dir-a-file", "doc-dir-in-proc"],
)
def test_calibrate_essays_refuses_outputs_it_cannot_write_before_any_run(
    tmp_path, capsys, monkeypatch, option, where, says
) -> None:
    # The calibrated scenario and its page are written after minutes of runs.
    import model.analysis.calibration_essays as cal

    def run(*args, **kwargs):
        raise AssertionError("the calibration ran")

    monkeypatch.setattr(cal, "run_calibration", run)
    (tmp_path / "afile").write_text("")
    (tmp_path / "adir").mkdir()
    path = where(tmp_path)
    outputs = {"--scenario-out": str(tmp_path / "c.yaml"), "--doc-dir": str(tmp_path / "doc"), option: str(path)}
    from model.cli import main

    assert main(["calibrate-essays", *(x for pair in outputs.items() for x in pair)]) == 2
    said = capsys.readouterr().err.splitlines()
    assert len(said) == 1 and said[0].startswith(f"error: {option} {path}: {says}"), said


def test_dotted_and_derived_metrics_of_the_validation_runs_are_accepted(tmp_path) -> None:
    good = tmp_path / "fact99_good.yaml"
    good.write_text(
        _fact_with("{label: l, kind: within, metric: cadre_hours_share.paperwork, versus: service_share, arm: a}")
    )
    assert load_fact(good).claims[0].versus == "service_share"


def _cache_line(key: str, value: float) -> str:
    return json.dumps([key, {"m": value}]) + "\n"


def test_a_run_cache_cut_short_by_a_kill_keeps_its_finished_runs_and_resumes(tmp_path, capsys) -> None:
    # A killed write leaves the last line cut short: every re-run stopped on it with a
    # JSONDecodeError, so none of the finished runs could be resumed.
    path = tmp_path / "runs.jsonl"
    path.write_text(_cache_line("a", 1.0) + "not json\n" + _cache_line("b", 2.0) + _cache_line("c", 3.0)[:12])
    cache = RunCache(path)
    assert cache.results == {"a": {"m": 1.0}, "b": {"m": 2.0}} and cache.skipped == 2
    assert "skipped 2 damaged lines and kept 2 runs" in capsys.readouterr().err
    cache.store("c", {"m": 3.0})  # simulated again, on a line of its own
    again = RunCache(path)
    assert again.results == {"a": {"m": 1.0}, "b": {"m": 2.0}, "c": {"m": 3.0}} and again.skipped == 2


def test_a_run_cache_appends_each_run_as_one_whole_line_in_one_unbuffered_write(tmp_path, monkeypatch) -> None:
    # A buffered text file may hand a long line (this one is ~60 kB) to the system in pieces.
    path, writes, real_open = tmp_path / "runs.jsonl", [], Path.open

    class Recorder:
        def __init__(self, fh, buffering: int) -> None:
            self.fh, self.buffering = fh, buffering

        def __enter__(self) -> Recorder:
            return self

        def __exit__(self, *exc: object) -> None:
            self.fh.close()

        def write(self, data: bytes) -> int:
            writes.append((self.buffering, data))
            return self.fh.write(data)

    def recording_open(self: Path, mode: str = "r", buffering: int = -1, *args, **kwargs):
        fh = real_open(self, mode, buffering, *args, **kwargs)
        return Recorder(fh, buffering) if self == path and "a" in mode else fh

    monkeypatch.setattr(Path, "open", recording_open)
    metrics = {f"metric_{i}": i / 7 for i in range(2000)}
    cache = RunCache(path)
    cache.store("a", metrics)
    cache.store("b", metrics)
    assert [buffering for buffering, _ in writes] == [0, 0]
    assert [json.loads(data)[0] for _, data in writes] == ["a", "b"]
    assert all(data.endswith(b"\n") and data.count(b"\n") == 1 for _, data in writes)


@pytest.mark.parametrize("command", ["validate-model", "calibrate-essays"])
@pytest.mark.parametrize(
    ("where", "says"),
    [(lambda tmp: tmp / "adir", "is a folder"), (lambda tmp: tmp / "afile" / "runs.jsonl", "is under the file")],
    ids=["a-folder", "under-a-file"],
)
def test_a_run_cache_that_cannot_be_appended_to_is_refused_before_any_run(
    tmp_path, capsys, monkeypatch, command, where, says
) -> None:
    # It was opened for the first finished run and ended in a traceback there.
    import model.analysis.calibration_essays as cal
    import model.analysis.validation as validation

    def run(*args, **kwargs):
        raise AssertionError("it ran")

    monkeypatch.setattr(validation, "run_validation", run)
    monkeypatch.setattr(cal, "run_calibration", run)
    (tmp_path / "afile").write_text("")
    (tmp_path / "adir").mkdir()
    cache = where(tmp_path)
    outputs = (
        ["--facts", "1", "--out", str(tmp_path / "report")]
        if command == "validate-model"
        else ["--scenario-out", str(tmp_path / "c.yaml")]
    )
    from model.cli import main

    assert main([command, *outputs, "--cache", str(cache)]) == 2
    said = capsys.readouterr().err.splitlines()
    assert len(said) == 1 and said[0].startswith(f"error: --cache {cache}: {says}"), said


# ---- the reduced suite ------------------------------------------------------------------
@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory):
    return run_validation(full=False, workers=2)


def _claims():
    for f in load_facts():
        for c in f.claims:
            yield pytest.param(f, c.label, id=f"fact{f.id:02d}-{c.label[:40]}")


@pytest.mark.parametrize(("fact", "label"), list(_claims()))
def test_each_claim_holds_by_its_test_in_the_reduced_suite(suite, fact: FactSpec, label: str) -> None:
    result = next(r for r in suite.facts if r.fact.id == fact.id)
    claim = next(c for c in result.claims if c.claim.label == label)
    if claim.result is None:
        pytest.skip(f"not in the reduced form: {claim.skipped}")
    r = claim.result
    if (fact.id, label) in KNOWN_FAILURES:
        # Evaluated, not skipped: a known failure that starts to hold is news (update the
        # report and this list), and one that stops having an estimate is a new failure.
        assert math.isfinite(r.estimate), f"fact {fact.id} '{label}': no estimate"
        if r.passed:
            pytest.fail(f"fact {fact.id} '{label}' now holds: drop it from KNOWN_FAILURES")
        pytest.xfail(KNOWN_FAILURES[(fact.id, label)])
    assert math.isfinite(r.estimate), f"fact {fact.id} '{label}': no estimate (metric missing or NaN)"
    assert r.passed, (
        f"fact {fact.id} '{label}': estimate {r.estimate:.4g} [{r.ci_low:.4g}, {r.ci_high:.4g}] "
        f"over {r.n} pairs is not a significant {claim.claim.direction} of {claim.claim.metric} "
        f"({r.test}: p = {r.p_value:.3g}, Holm-adjusted {r.p_adjusted:.3g}, alpha {fact.alpha})"
    )


def test_a_claim_left_out_of_the_reduced_form_is_skipped_with_its_reason(suite) -> None:
    """Fact 9's backlog claim is left out (fact09_turnover.yaml says why): the reduced run must
    report the reason, not a verdict drawn from pairs too few to carry it."""
    fact9 = next(r for r in suite.facts if r.fact.id == 9)
    claim = next(c for c in fact9.claims if c.claim.label == "Low pay raises the backlog")
    assert claim.result is None
    assert claim.skipped.startswith("left out of the reduced form: at 1.5 demo years")


def test_the_reduced_report_is_written_with_a_figure_per_fact(suite, tmp_path: Path) -> None:
    report = write_report(suite, tmp_path)
    text = report.read_text()
    assert text.count("## Fact ") == 10
    assert len(list((tmp_path / "figures").glob("fact*.png"))) == 10
    assert "reproduced" in text and (tmp_path / "claims.csv").is_file()


def test_calibration_distance_is_zero_inside_a_target_and_capped_far_outside() -> None:
    from model.analysis.calibration_essays import MISS_CAP, distance, miss

    debt = {"metric": "debt_per_village", "setting": "county", "low": 5e5, "high": 6e5, "tolerance": 5e4}
    rate = {"metric": "closure_rate_reported", "setting": "county", "low": 0.98, "tolerance": 0.01}
    assert miss(debt, 5.5e5) == 0 and miss(debt, 7e5) == pytest.approx(2.0) and miss(rate, 0.99) == 0
    far = {"county:debt_per_village": 5.5e5, "county:closure_rate_reported": 0.5}
    assert distance([debt, rate], far) == pytest.approx(MISS_CAP**2)


def test_calibration_polish_brings_in_a_target_one_parameter_drives(monkeypatch) -> None:
    # Step 6 of the calibration, on a stand-in model whose two targets each follow one
    # parameter (as the Guiyang fill rate follows staffing.fill_rate): from a start that hits
    # the first target and misses the second by two tolerances, the polish must move only the
    # second parameter, to the posterior value that hits it, and log the move. Deterministic.
    import model.analysis.calibration_essays as cal

    targets = [
        {"metric": "a", "setting": "s", "value": 0.5, "tolerance": 0.05},
        {"metric": "b", "setting": "s", "value": 0.7, "tolerance": 0.05},
    ]
    monkeypatch.setattr(cal, "_runs_for", lambda cfg, params, seed, extra: {"s": dict(params)})
    monkeypatch.setattr(cal, "run_many", lambda runs, cache, workers, tick: None)
    monkeypatch.setattr(cal, "_target_values", lambda cfg, cache, rs: {"s:a": rs["s"]["x"], "s:b": rs["s"]["y"]})
    cfg = {"targets": targets, "seed": 1, "refine_replications": 2}
    posterior = {
        "x": {"prior": [0, 1], "q05": 0.3, "mean": 0.5, "q95": 0.7},
        "y": {"prior": [0, 1], "q05": 0.6, "mean": 0.7, "q95": 0.8},
    }
    start = {"x": 0.5, "y": 0.6}
    start_runs = [{"s": start}, {"s": start}]
    sensitivity = {"s:a": {"x": 0.9, "y": 0.0}, "s:b": {"x": 0.0, "y": 0.8}}
    params, before, log = cal._polish(
        cfg, None, 1, lambda i, n: None, lambda m: None, start, start_runs, posterior, sensitivity
    )
    assert params == {"x": 0.5, "y": 0.7} and before == pytest.approx(4.0)
    assert [m["parameter"] for m in log] == ["y"] and log[0]["distance"] == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (("design_size: 32 ", "design_sise: 32 "), "field 'design_sise'"),
        (("setting: wuxi_like\n", "setting: wuxi\n"), "'wuxi' is not a setting; allowed: county, wuxi_like"),
        (("staffing.fill_rate: [0.55, 0.95]", "staffing.fill_ratee: [0.55, 0.95]"), "field 'staffing.fill_ratee'"),
        (("staffing.fill_rate: [0.55, 0.95]", "staffing.fill_rate: [0.55, 1.5]"), "priors' upper ends"),
        (("\nyears: 2\n", "\nyears: 0.001\n"), "field 'years': shorter than one day (got 0.001); allowed: 1/365"),
        (("value: 0.687 ", "value: .nan "), "field 'targets.0.value': Input should be a finite number"),
        # An empty range was accepted and could never be met.
        (("high: 600000", "high: 400000"), "needs low <= high"),
        (
            ("metric: debt_per_village", "metric: debt_per_vilage"),
            "field 'targets.1.metric': 'debt_per_vilage' is not a metric of the validation runs; "
            "did you mean 'debt_per_village'? allowed: ",
        ),
    ],
    ids=[
        "unknown-field",
        "unknown-setting",
        "misspelt-parameter",
        "prior-out-of-range",
        "shorter-than-a-day",
        "nan-target",
        "empty-range",
        "misspelt-metric",
    ],
)
def test_calibration_file_mistakes_stop_the_command_before_any_run(tmp_path, capsys, edit, says) -> None:
    # calibrate-essays runs for minutes; it used to meet these with a KeyError or a traceback
    # from the first simulation.
    from model.analysis.calibration_essays import CONFIG, load_config
    from model.cli import main

    assert load_config()["name"] == "essays"  # the shipped file passes
    text = CONFIG.read_text()
    assert edit[0] in text
    text = text.replace(edit[0], edit[1], 1).replace("../../scenarios/", str(CONFIG.parents[2] / "scenarios") + "/")
    path = tmp_path / "calibration.yaml"
    path.write_text(text)
    assert main(["calibrate-essays", "--config", str(path), "--scenario-out", str(tmp_path / "c.yaml")]) == 2
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(lines) == 1 and str(path) in lines[0] and says in lines[0], lines
    assert not (tmp_path / "c.yaml").exists()
