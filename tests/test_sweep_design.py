"""Designs, seeds and analyses: random and bayes proposals stay in bounds and reproduce,
seeds are common across arms, Sobol and Morris run end to end, paired differences and PRIM
boxes recover what was planted in the data."""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model.analysis import (
    calibration_fit,
    calibration_trace,
    load_results,
    paired_differences,
    scenario_discovery,
    sensitivity_indices,
    write_report,
)
from model.sweep import (
    ExperimentError,
    RunSpec,
    experiment_from_dict,
    replication_seed,
    run_experiment,
    static_design,
)

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "scenarios" / "demo.yaml"

BOUNDED = {
    "cadres.rationality": {"distribution": "uniform", "min": 1.0, "max": 20.0},
    "residents.petition_prob": {"distribution": "log_uniform_values", "min": 0.005,
                                "max": 0.05},
    "staffing.recruitment_lag_days": {"distribution": "int_uniform", "min": 30, "max": 365},
    "regime.name": {"values": ["veto", "comprehensive"]},
}


def experiment(method: str, seed: int = 1, **extra):
    data = {"name": f"{method}_design", "scenario": str(DEMO), "seed": seed, "replications": 2,
            "sweep": {"method": method, "parameters": BOUNDED, "run_cap": 12},
            "metrics": {"summary": ["score"]}, **extra}
    if method == "bayes":
        data["sweep"]["metric"] = {"name": "score", "goal": "minimize"}
    return experiment_from_dict(data, source=f"{method}.yaml", check_scenario=False)


def quadratic_score(spec: RunSpec) -> dict[str, float]:
    """An objective with its minimum at rationality 5, plus seed noise (replications differ)."""
    noise = (spec.seed % 1000) / 1000 - 0.5
    return {"score": (spec.params["cadres.rationality"] - 5.0) ** 2 + noise}


def assert_in_bounds(design: pd.DataFrame) -> None:
    assert design["cadres.rationality"].between(1.0, 20.0).all()
    assert design["residents.petition_prob"].between(0.005, 0.05).all()
    lags = design["staffing.recruitment_lag_days"]
    assert lags.between(30, 365).all() and (lags == lags.round()).all()
    assert set(design["regime.name"]) <= {"veto", "comprehensive"}


def test_replication_seeds_come_from_seed_sequence_and_are_shared_by_every_arm() -> None:
    expected = int(np.random.SeedSequence(7, spawn_key=(0, 3)).generate_state(1, np.uint32)[0])
    assert replication_seed(7, 3) == expected
    exp = experiment("random")
    from model.sweep import run_specs

    specs = run_specs(exp, static_design(exp))
    by_replication: dict[int, set[int]] = {}
    for spec in specs:
        by_replication.setdefault(spec.replication, set()).add(spec.seed)
    assert all(len(seeds) == 1 for seeds in by_replication.values())
    assert by_replication[0] != by_replication[1]


def test_random_proposals_are_in_bounds_reproducible_and_leave_global_state_alone() -> None:
    np.random.seed(123)
    random.seed(123)
    numpy_before, python_before = np.random.random(), random.random()
    np.random.seed(123)
    random.seed(123)
    first = static_design(experiment("random"))
    assert (np.random.random(), random.random()) == (numpy_before, python_before)
    again = static_design(experiment("random"))
    other_seed = static_design(experiment("random", seed=2))
    design = pd.DataFrame([c.params for c in first])
    assert len(design) == 12
    assert_in_bounds(design)
    assert [c.params for c in first] == [c.params for c in again]
    assert [c.params for c in first] != [c.params for c in other_seed]


def test_bayes_proposals_are_in_bounds_and_a_rerun_proposes_the_same(tmp_path: Path) -> None:
    stores = []
    for name in ("first", "second"):
        run_experiment(experiment("bayes", batch_size=4), tmp_path / name, workers=0,
                       run_fn=quadratic_score, progress=False)
        stores.append(pd.read_parquet(tmp_path / name / "design.parquet"))
    first, second = stores
    assert len(first) == 12 and first["batch"].tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert_in_bounds(first)
    pd.testing.assert_frame_equal(first, second)
    summary = pd.read_parquet(tmp_path / "first" / "summary.parquet")
    assert len(summary) == 12 * 2 and (summary["status"] == "finished").all()


def test_structured_designs_cover_their_ranges(tmp_path: Path) -> None:
    lhs = experiment("random", sampler={"kind": "latin_hypercube", "samples": 20})
    design = pd.DataFrame([c.params for c in static_design(lhs)])
    assert len(design) == 20
    assert_in_bounds(design)
    # A Latin hypercube puts exactly one point in each of the 20 equal-probability strata.
    strata = np.floor((design["cadres.rationality"] - 1.0) / 19.0 * 20).astype(int)
    assert sorted(strata) == list(range(20))


def ishigami(spec: RunSpec) -> dict[str, float]:
    x1, x2, x3 = (spec.params[f"x.x{i}"] for i in (1, 2, 3))
    return {"y": math.sin(x1) + 7 * math.sin(x2) ** 2 + 0.1 * x3**4 * math.sin(x1)}


def test_sobol_analysis_recovers_the_ishigami_indices_end_to_end(tmp_path: Path) -> None:
    box = {"distribution": "uniform", "min": -math.pi, "max": math.pi}
    exp = experiment_from_dict({
        "name": "ishigami", "scenario": str(DEMO), "seed": 5, "replications": 1,
        "sweep": {"method": "random", "parameters": {f"x.x{i}": box for i in (1, 2, 3)}},
        "sampler": {"kind": "sobol", "samples": 256},
        "metrics": {"summary": ["y"]},
        "analyses": [{"kind": "sensitivity", "metrics": ["y"], "resamples": 200}],
    }, source="ishigami.yaml", check_scenario=False)
    run_experiment(exp, tmp_path, workers=0, run_fn=ishigami, progress=False)
    table = sensitivity_indices(load_results(tmp_path), ["y"], resamples=200).set_index(
        "parameter")
    # Analytic indices of Ishigami (a=7, b=0.1; Saltelli et al. 2008, p. 179).
    s1 = {"x.x1": 0.314, "x.x2": 0.442, "x.x3": 0.0}
    st = {"x.x1": 0.558, "x.x2": 0.442, "x.x3": 0.244}
    # With N=256 the Saltelli estimators' sampling error is of order 0.05 (seed 5 misses by
    # at most 0.07; the bootstrap half-widths are 0.06-0.2), so 0.12 is about two errors.
    for name in s1:
        assert table.loc[name, "S1"] == pytest.approx(s1[name], abs=0.12)
        assert table.loc[name, "ST"] == pytest.approx(st[name], abs=0.12)
    # x3 acts only through its interaction with x1: its total index clearly exceeds its S1.
    assert table.loc["x.x3", "ST"] > table.loc["x.x3", "S1"] + 0.1
    files = write_report(tmp_path)
    assert tmp_path / "report" / "01-sensitivity.png" in files


def test_morris_screening_runs_end_to_end_on_the_real_model(tmp_path: Path) -> None:
    exp = experiment_from_dict({
        "name": "tiny_morris", "scenario": str(DEMO), "years": 0.1, "seed": 8,
        "replications": 1,
        "sweep": {"method": "random", "parameters": {
            "cadres.rationality": {"distribution": "uniform", "min": 1.0, "max": 20.0},
            "residents.petition_threshold": {"distribution": "uniform", "min": 1.5,
                                             "max": 5.0}}},
        "sampler": {"kind": "morris", "samples": 3, "levels": 4},
        "metrics": {"summary": ["incidents_resolved", "trust_mean_end"]},
        "analyses": [{"kind": "sensitivity"}],
    }, source="tiny_morris.yaml", base_dir=tmp_path)
    result = run_experiment(exp, tmp_path / "out", workers=0, progress=False)
    assert result.complete and result.total == 3 * (2 + 1)
    table = sensitivity_indices(load_results(tmp_path / "out"), resamples=100)
    assert set(table["parameter"]) == {"cadres.rationality", "residents.petition_threshold"}
    assert (table["mu_star"] >= 0).all() and table["mu_star"].notna().all()
    write_report(tmp_path / "out")
    assert (tmp_path / "out" / "report" / "01-sensitivity.svg").is_file()


def test_paired_differences_use_the_partner_runs_and_report_interval_and_effect() -> None:
    base = np.array([1.0, 2.0, 3.0, 4.0])
    shift = np.array([1.0, 1.2, 0.8, 1.0])
    runs = pd.DataFrame({
        "regime.name": ["comprehensive"] * 4 + ["veto"] * 4,
        "replication": [0, 1, 2, 3] * 2, "seed": [11, 12, 13, 14] * 2,
        "status": "finished", "petitions": np.concatenate([base, base + shift]),
    })
    row = paired_differences(runs, "regime.name", "comprehensive", ["petitions"]).iloc[0]
    sd = np.std(shift, ddof=1)
    half = 3.182446305284263 * sd / 2  # t(0.975, 3) · sd / √4
    assert row["n_pairs"] == 4 and row["mean_difference"] == pytest.approx(1.0)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((1 - half, 1 + half))
    assert row["effect_size_dz"] == pytest.approx(1.0 / sd)
    assert row["relative_change"] == pytest.approx(1.0 / 2.5)
    # The arms share their between-replication spread, so pairing removes it.
    assert row["unpaired_half_width"] > 5 * half


def test_prim_finds_the_planted_box_with_its_coverage_and_density() -> None:
    rng = np.random.default_rng(2024)
    cases = pd.DataFrame({"a": rng.uniform(0, 1, 400), "b": rng.uniform(0, 1, 400),
                          "c": rng.choice(["x", "y"], 400)})
    cases["outcome"] = ((cases["a"] > 0.7) & (cases["b"] < 0.4)).astype(float)
    found = scenario_discovery(cases, ["a", "b", "c"], "outcome", threshold=0.5,
                               min_density=0.9, max_boxes=1)
    box = found.boxes.set_index("parameter")
    assert set(box.index) == {"a", "b"}
    # Limits land between sampled points: with 400 uniform points PRIM's peels (5% of the
    # remaining mass) stop within a few hundredths of the planted edges.
    assert box.loc["a", "lower"] == pytest.approx(0.7, abs=0.05)
    assert box.loc["b", "upper"] == pytest.approx(0.4, abs=0.05)
    assert box["density"].iloc[0] >= 0.9 and box["coverage"].iloc[0] >= 0.8
    assert found.cases_of_interest == int(cases["outcome"].sum())


def mediation_model(spec: RunSpec) -> dict[str, float]:
    """Mediation success equals the neighbour-point success parameter, plus seed noise."""
    noise = ((spec.seed % 101) / 100 - 0.5) * 0.002
    return {"mediation_success": spec.params["neighbour_points.success"] + noise}


def test_calibration_trace_and_fit_follow_the_distance_written_in_the_file(
        tmp_path: Path) -> None:
    exp = experiment_from_dict({
        "name": "calibration", "scenario": str(DEMO), "seed": 4, "replications": 2,
        "batch_size": 3,
        "sweep": {"method": "bayes", "run_cap": 9, "parameters": {
            "neighbour_points.success": {"distribution": "uniform", "min": 0.6, "max": 1.0}}},
        "calibration": {"targets": [{"metric": "mediation_success", "value": 0.9974,
                                     "scale": 0.005}]},
        "metrics": {"summary": ["mediation_success"]},
        "analyses": [{"kind": "calibration"}],
    }, source="calibration.yaml", check_scenario=False)
    run_experiment(exp, tmp_path, workers=0, run_fn=mediation_model, progress=False)
    results = load_results(tmp_path)
    trace = calibration_trace(results)
    assert len(trace) == 9
    means = results.finished.groupby("config_id")["mediation_success"].mean()
    assert trace["distance"].tolist() == pytest.approx(
        (((means - 0.9974) / 0.005) ** 2).tolist())
    assert trace["best_so_far"].is_monotonic_decreasing
    fit = calibration_fit(results, trace)
    assert fit["proposal"].iloc[0] == trace["distance"].idxmin()
    write_report(tmp_path)
    assert (tmp_path / "report" / "01-calibration.png").is_file()


def test_a_store_refuses_a_changed_experiment(tmp_path: Path) -> None:
    run_experiment(experiment("random", seed=1), tmp_path, workers=0, run_fn=quadratic_score,
                   progress=False)
    with pytest.raises(ExperimentError, match="different definition"):
        run_experiment(experiment("random", seed=2), tmp_path, workers=0,
                       run_fn=quadratic_score, progress=False)


def test_a_store_refuses_an_experiment_whose_scenario_extends_a_changed_file(
        tmp_path: Path) -> None:
    # A run reads every file of the extends chain; hashing only the named file let runs of two
    # different parent scenarios end up in one store without a word.
    parent = tmp_path / "parent.yaml"
    parent.write_text(DEMO.read_text())
    (tmp_path / "child.yaml").write_text("extends: parent.yaml\n")
    data = {"name": "extends", "scenario": "child.yaml", "seed": 1, "replications": 1,
            "sweep": {"method": "grid", "parameters": {"regime.name": {"values": ["veto"]}}},
            "metrics": {"summary": ["score"]}}

    def exp():
        return experiment_from_dict(data, source="extends.yaml", base_dir=tmp_path,
                                    check_scenario=False)

    before = exp().fingerprint()
    parent.write_text(DEMO.read_text() + "staffing:\n  fill_rate: 0.5\n")
    assert exp().fingerprint() != before


def test_a_scenario_that_extends_nothing_keeps_the_fingerprint_it_had() -> None:
    # The fingerprint of the file's bytes alone, as stores written before the extends chain
    # counted record it: they must not be refused after the upgrade.
    import hashlib
    import json

    exp = experiment("random", seed=1)
    data = exp.model_dump(mode="json", exclude={"replications", "analyses", "labels",
                                                "description", "name"})
    data["sweep"].pop("run_cap", None)
    data["scenario"] = hashlib.sha256(DEMO.read_bytes()).hexdigest()
    text = json.dumps(data, sort_keys=True, default=str)
    assert exp.fingerprint() == hashlib.sha256(text.encode()).hexdigest()[:16]


def test_an_int_uniform_range_is_checked_at_its_ends_not_one_below() -> None:
    # The discrete quantile function at 0 is min - 1: township_quota from 1 was refused as 0.
    for method in ("random", "grid"):
        data = {"name": "quota", "scenario": str(DEMO), "seed": 1, "replications": 1,
                "sweep": {"method": method, "run_cap": 3, "parameters": {
                    "staffing.township_quota": {"distribution": "int_uniform", "min": 1,
                                                "max": 10}}},
                "metrics": {"summary": ["backlog_end"]}}
        experiment_from_dict(data, source="quota.yaml")
    data["sweep"]["parameters"]["staffing.township_quota"]["min"] = 0
    with pytest.raises(ExperimentError, match="value 0 is rejected by the scenario"):
        experiment_from_dict(data, source="quota.yaml")


def test_morris_levels_at_zero_give_the_lowest_integer_and_the_first_value() -> None:
    # Morris levels include 0 exactly, where scipy's discrete quantile is one step below the
    # support: an int_uniform parameter got min - 1 and a values list its last value.
    exp = experiment("random", sampler={"kind": "morris", "samples": 6, "levels": 4})
    design = pd.DataFrame([c.unit | {"value:" + k: v for k, v in c.params.items()}
                           for c in static_design(exp)])
    at_zero = design[design["staffing.recruitment_lag_days"] == 0.0]
    assert len(at_zero), "the design has points at level 0"
    assert (at_zero["value:staffing.recruitment_lag_days"] == 30).all()
    assert (design[design["regime.name"] == 0.0]["value:regime.name"] == "veto").all()
    assert_in_bounds(design.filter(like="value:").rename(columns=lambda c: c[6:]))


def test_an_experiment_without_a_metrics_block_keeps_every_number_the_model_outputs() -> None:
    # The default was a fixed list of 41 names that dropped e.g. cadre_hours_entropy and the
    # spending and handling-hours tables, while the docs promised every summary statistic;
    # the list is in the store's fingerprint, so adding one later meant redoing every run.
    from model.sweep.experiment import DEFAULT_SUMMARY_METRICS
    from model.sweep.runs import model_outputs

    summary, _columns = model_outputs(DEMO, {})
    assert list(DEFAULT_SUMMARY_METRICS) == [n for n in summary if n not in ("seed", "years")]
    exp = experiment_from_dict({
        "name": "defaults", "scenario": str(DEMO), "seed": 1, "replications": 1,
        "sweep": {"method": "grid", "parameters": {"regime.name": {"values": ["veto"]}}},
    }, source="defaults.yaml")
    for name in ("cadre_hours_entropy", "escalated_by_residents", "township_share",
                 "mediation_attempt_success", "spending_by_purpose.interception",
                 "handling_hours_by_level.township", "cadre_hours_share.handling"):
        assert name in exp.summary_metrics
