"""The statistical regression check (docs/regression.md): it passes on the unchanged model and
on changes that only reorder equivalent computation, and fails, naming the metrics that
moved, on deliberate changes of the model made here through scenario overrides.

The mutation tests build their own baseline from the current code in a temporary folder with
a small suite (two scenarios, one year, 20 seeds), so they stay valid whatever the model's
tuning; only ``test_committed_baseline_still_holds`` (slow) reads regression/baseline.json.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from scipy import stats

from model.analysis import regression as rg
from model.analysis.regression_stats import (
    anderson_darling_statistics,
    benjamini_hochberg,
    holm,
    paired_test,
    permutation_labels,
    sign_flips,
    two_sample_tests,
)
from model.cli import main

SMALL_METRICS = (
    "incidents_total",
    "resolution_rate",
    "mean_days_to_resolve",
    "backlog_mean",
    "backlog_peak",
    "backlog_end",
    "petitions_true",
    "petitions_reported",
    "petition_gap",
    "interception_spending",
    "satisfaction_rate",
    "cadre_turnover",
)


def small_suite() -> rg.Suite:
    """The reference suite cut to two paired scenarios, one year and 20 seeds (~40 runs)."""
    suite = rg.load_suite()
    data = suite.model_dump(mode="json")
    data.update(
        years=1,
        seeds={"first": 1, "count": 20},
        fingerprint_runs=1,
        scenarios={k: suite.scenarios[k] for k in ("comprehensive", "veto")},
        metrics={k: data["metrics"][k] for k in SMALL_METRICS},
        effects={
            "veto_vs_comprehensive": {
                "treatment": "veto",
                "control": "comprehensive",
                "metrics": ["petitions_reported", "petition_gap", "interception_spending", "satisfaction_rate"],
            }
        },
    )
    return rg.Suite.model_validate(data)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A baseline of the current code, written to and read back from a temporary file."""
    path = tmp_path_factory.mktemp("regression") / "baseline.json"
    rg.write_baseline(rg.make_baseline(small_suite(), reason="test baseline"), path)
    return rg.read_baseline(path)


# ---------------------------------------------------------------------------- the check


def test_unchanged_model_passes_and_is_numerically_identical(baseline: dict) -> None:
    report = rg.check(baseline)
    assert report.passed, rg.format_report(report)
    assert report.fingerprint.status == "identical"
    assert (report.rows["verdict"] == "identical").all()
    assert report.verdict() == "PASS: numerically identical to the baseline"


def test_a_fresh_random_stream_passes_the_statistical_tier(baseline: dict) -> None:
    # Shifting every seed re-draws all randomness, as a new draw in the model would: the
    # samples differ, the distributions do not. Deterministic for these seeds; an unchanged
    # model fails this with probability <= alpha = 1% over the choice of seeds.
    report = rg.check(baseline, seed_offset=1000)
    assert report.passed, rg.format_report(report)
    assert report.fingerprint.status == "skipped"
    assert not (report.rows["verdict"] == "identical").all()


def test_ten_percent_more_service_requests_fails_on_incident_counts(baseline: dict) -> None:
    rate = baseline["scenarios"]["comprehensive"]["incidents"]["service_request"]["rate"]
    report = rg.check(baseline, overrides={"*": {"incidents.service_request.rate": rate * 1.1}})
    assert not report.passed
    assert "comprehensive/incidents_total" in report.moved
    assert "REGRESSION" in rg.format_report(report)
    assert any("incidents.service_request.rate" in note for note in report.notes)


def test_doubling_the_interception_cost_fails_on_interception_spending(baseline: dict) -> None:
    cost = baseline["scenarios"]["veto"]["cadres"]["interception_cost"]
    report = rg.check(baseline, overrides={"*": {"cadres.interception_cost": cost * 2}})
    assert not report.passed
    assert any(q.endswith("/interception_spending") for q in report.moved), report.moved


def test_a_veto_that_never_bites_fails_on_reported_petitions_and_the_regime_effect(baseline: dict) -> None:
    report = rg.check(baseline, overrides={"veto": {"regime.threshold": 1e6}})
    assert not report.passed
    assert "veto/petitions_reported" in report.moved
    assert "veto_vs_comprehensive/petitions_reported" in report.moved
    assert not any(q.startswith("comprehensive/") for q in report.moved)  # the control arm is untouched


class _ReversedSums:
    """numpy, except that weighted bincounts add their terms in reverse order: the same sums,
    computed in another order, so they may differ in the last bit."""

    def __getattr__(self, name: str) -> object:
        return getattr(np, name)

    @staticmethod
    def bincount(x: np.ndarray, weights: np.ndarray | None = None, minlength: int = 0) -> np.ndarray:
        x = np.asarray(x)[::-1]
        return np.bincount(x, None if weights is None else np.asarray(weights)[::-1], minlength)


def test_reordering_equivalent_computation_passes(baseline: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    import model.simulation

    # Worker processes are forked, so they run the patched module.
    monkeypatch.setattr(model.simulation, "np", _ReversedSums())
    report = rg.check(baseline)
    assert report.passed, rg.format_report(report)
    # "Different", not "identical or different": identical would mean the patch never reached
    # the runs (e.g. workers no longer forked), and this test would check nothing new.
    assert report.verdict() == "PASS: numerically different, statistically the same", report.verdict()


@pytest.mark.slow
@pytest.mark.parametrize("offset", [2000, 3000, 4000])
def test_fresh_random_streams_pass_for_several_seed_blocks(baseline: dict, offset: int) -> None:
    report = rg.check(baseline, seed_offset=offset)
    assert report.passed, rg.format_report(report)


@pytest.mark.slow
def test_committed_baseline_still_holds() -> None:
    if not rg.DEFAULT_BASELINE.is_file():
        pytest.skip(f"no committed baseline at {rg.DEFAULT_BASELINE}")
    committed = rg.read_baseline()
    report = rg.check(committed)
    assert report.passed, (
        f"The model's statistics moved away from the committed baseline (made by code {committed['code_version']} "
        f"on {committed['created']}; code now {report.code_version}). If the change is intended, regenerate it: "
        f"python run.py regress --update --reason '<why>'.\n\n{rg.format_report(report)}"
    )


# ---------------------------------------------------------------------------- the statistics


@pytest.mark.filterwarnings("ignore:p-value")
def test_anderson_darling_statistic_matches_scipy_with_ties() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.poisson(4, 20).astype(float), rng.poisson(5, 17).astype(float)
    labels = np.zeros((1, 37), dtype=bool)
    labels[0, :20] = True
    ours = anderson_darling_statistics(np.concatenate([x, y]), labels)[0]
    scipy_standardised = stats.anderson_ksamp([x, y], variant="midrank").statistic
    # scipy reports (A² − (k − 1)) / σ with σ depending only on the sample sizes.
    other = stats.anderson_ksamp([x + 100, y], variant="midrank")
    sigma = (anderson_darling_statistics(np.concatenate([x + 100, y]), labels)[0] - 1) / other.statistic
    assert ours == pytest.approx(1 + scipy_standardised * sigma, rel=1e-9)


def test_permutation_p_values_are_calibrated_for_discrete_outputs() -> None:
    rng = np.random.default_rng(11)
    labels, signs = permutation_labels(24, 24, 999, 1), sign_flips(24, 999, 2)
    ad, paired = [], []
    for _ in range(400):
        x, y = rng.poisson(3, 24).astype(float), rng.poisson(3, 24).astype(float)
        ad.append(two_sample_tests(x, y, labels).ad_p)
        paired.append(paired_test(x, y, signs)[1])
    for p in (np.array(ad), np.array(paired)):
        assert 0.02 <= (p <= 0.05).mean() <= 0.085  # nominal 5%, binomial sd ≈ 1.1%


def test_identical_samples_give_p_one() -> None:
    x = np.arange(20.0)
    assert two_sample_tests(x, x, permutation_labels(20, 20, 99, 0)).ad_p == 1.0
    assert paired_test(x, x, sign_flips(20, 99, 0)) == (0.0, 1.0)


def test_holm_and_benjamini_hochberg_adjust_as_published() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.005])
    assert holm(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert benjamini_hochberg(p) == pytest.approx([0.02, 0.04, 0.04, 0.02])


# ---------------------------------------------------------------------------- files and command line


def test_suite_rejects_an_effect_on_an_unknown_metric(tmp_path) -> None:
    data = rg.load_suite().model_dump(mode="json")
    data["effects"]["veto_vs_comprehensive"]["metrics"].append("happiness")
    path = tmp_path / "suite.yaml"
    path.write_text(json.dumps(data))
    with pytest.raises(rg.RegressionError, match="unknown metric 'happiness'"):
        rg.load_suite(path)


def test_a_suite_file_not_in_utf8_is_one_line(tmp_path) -> None:
    """The suite is read like every other YAML file of the project: UTF-8 or a clear refusal."""
    path = tmp_path / "suite.yaml"
    path.write_bytes("description: 基准\n".encode("gbk"))
    with pytest.raises(rg.RegressionError, match="not UTF-8"):
        rg.load_suite(path)


def test_suite_with_too_few_seeds_for_holm_is_refused() -> None:
    data = rg.load_suite().model_dump(mode="json")
    data["seeds"]["count"] = 8
    with pytest.raises(ValueError, match="use at least"):
        rg.Suite.model_validate(data)


def test_regress_without_a_baseline_exits_2_with_the_command_to_make_one(tmp_path, capsys) -> None:
    assert main(["regress", "--baseline", str(tmp_path / "none.json")]) == 2
    assert "regress --update --reason" in capsys.readouterr().err


def test_regress_update_requires_a_reason(tmp_path, capsys) -> None:
    assert main(["regress", "--update", "--baseline", str(tmp_path / "b.json")]) == 2
    assert "--reason" in capsys.readouterr().err


def test_regress_update_refuses_json_it_would_not_write(tmp_path, capsys) -> None:
    # --update checks nothing, so --json was silently ignored.
    args = ["regress", "--update", "--reason", "x", "--baseline", str(tmp_path / "b.json"), "--json", str(tmp_path / "r.json")]
    assert main(args) == 2
    assert "--json without --update" in capsys.readouterr().err
    assert not (tmp_path / "b.json").exists()


@pytest.mark.parametrize(
    ("option", "says"),
    [
        (["--workers", "-1"], "--workers -1: allowed: 1 or more"),
        (["--seed-offset", "-5"], "--seed-offset -5: allowed: 0 or more"),
    ],
    ids=["workers", "seed-offset"],
)
def test_regress_refuses_a_negative_count_before_reading_the_baseline(tmp_path, capsys, option, says) -> None:
    # --workers -1 ran on one process without a word; --seed-offset -5 ended in a traceback
    # from the first run given a negative seed, after the others had started.
    assert main(["regress", "--baseline", str(tmp_path / "none.json"), *option]) == 2
    assert capsys.readouterr().err.splitlines() == [f"error: {says}"]


def _unwritable(tmp_path, kind: str):
    (tmp_path / "afile").write_text("")
    (tmp_path / "adir").mkdir()
    return {"a folder": tmp_path / "adir", "under a file": tmp_path / "afile" / "x.json", "in /proc": "/proc/x.json"}[kind]


KINDS = [
    "a folder",
    "under a file",
    pytest.param("in /proc", marks=pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="Linux only")),
]


@pytest.mark.parametrize("kind", KINDS)
def test_regress_refuses_a_json_report_it_cannot_write_before_running(tmp_path, capsys, monkeypatch, kind) -> None:
    # The report was written after every run, and a bad path ended in a traceback there.
    def run(*args, **kwargs):
        raise AssertionError("the suite ran")

    monkeypatch.setattr(rg, "read_baseline", lambda path: {})
    monkeypatch.setattr(rg, "check", run)
    where = _unwritable(tmp_path, kind)
    assert main(["regress", "--json", str(where)]) == 2
    said = capsys.readouterr().err.splitlines()
    assert len(said) == 1 and said[0].startswith(f"error: --json {where}: ") and "allowed:" in said[0], said


@pytest.mark.parametrize("kind", KINDS)
def test_regress_update_refuses_a_baseline_it_cannot_write_before_running(tmp_path, capsys, monkeypatch, kind) -> None:
    def run(*args, **kwargs):
        raise AssertionError("the suite ran")

    monkeypatch.setattr(rg, "run_suite", run)
    where = _unwritable(tmp_path, kind)
    assert main(["regress", "--update", "--reason", "r", "--baseline", str(where)]) == 2
    said = capsys.readouterr().err.splitlines()
    assert len(said) == 1 and said[0].startswith(f"error: --baseline {where}: ") and "allowed:" in said[0], said
