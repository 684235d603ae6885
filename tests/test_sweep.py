"""Experiments end to end on the real model (scenarios/demo.yaml): backends agree, worker
processes record their own runs, a killed sweep resumes to the same store, failing runs are
recorded while the sweep goes on, and the command line reports bad experiment files with exit
code 2."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from model.atomic import TEMPORARY_PATTERN
from model.sweep import ExperimentError, RunStore, experiment_from_dict, load_experiment, run_experiment
from model.sweep.cli import main as sweep_main

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "scenarios" / "demo.yaml"
SUBPROCESS_TIMEOUT = 120
"""Seconds before a command-line sweep is declared hung (a 12-run sweep takes ~5 s)."""

# A quarter of a year keeps a run near 0.2 s while exercising every daily mechanism.
SMALL_GRID = {
    "name": "small_grid",
    "scenario": str(DEMO),
    "years": 0.25,
    "seed": 42,
    "replications": 3,
    "sweep": {"method": "grid", "parameters": {
        "regime.name": {"values": ["veto", "comprehensive"]},
        "staffing.fill_rate": {"values": [0.68, 0.9]},
    }},
    "metrics": {"summary": ["petitions_true", "petitions_reported", "interceptions",
                            "hidden_grievance", "trust_mean_end", "resolution_rate",
                            "cadre_hours_share.handling"],
                "timeseries": {"columns": ["backlog", "trust_mean"], "every": 10}},
    "analyses": [{"kind": "paired", "arm": "regime.name", "baseline": "comprehensive"}],
}


def write_experiment(folder: Path, data: dict, name: str = "experiment.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def results_table(out: Path) -> pd.DataFrame:
    """The store's runs without what legitimately differs between executions: timings, and
    the code version (a hash of the source tree, which changes while files are edited)."""
    table = pd.read_parquet(out / "summary.parquet")
    assert table["code_version"].str.len().gt(0).all()
    return table.drop(columns=["started_at", "duration_s", "worker", "code_version"]
                      ).sort_values("run_id").reset_index(drop=True)


def timeseries_table(out: Path) -> pd.DataFrame:
    return RunStore(out).timeseries().sort_values(["run_id", "day"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def grid_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_experiment(tmp_path_factory.mktemp("experiment"), SMALL_GRID)


@pytest.fixture(scope="module")
def reference(grid_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small grid run uninterrupted with one worker process."""
    out = tmp_path_factory.mktemp("reference")
    result = run_experiment(grid_file, out, workers=1, progress=False)
    assert result.complete and result.failed == 0
    return out


def test_reference_store_holds_every_run_once_with_paired_seeds(reference: Path) -> None:
    table = pd.read_parquet(reference / "runs")  # the runs/ folder reads as one dataset
    assert len(table) == 2 * 2 * 3
    assert table["run_id"].is_unique
    assert (table["status"] == "finished").all()
    # Common random numbers: replication k has one seed, whatever the configuration.
    seeds_per_replication = table.groupby("replication")["seed"].nunique()
    assert (seeds_per_replication == 1).all()
    assert table.groupby("config_id")["seed"].nunique().eq(3).all()
    manifest = pd.read_json(reference / "manifest" / "c00000-r0000.json", typ="series")
    assert manifest["status"] == "finished" and manifest["code_version"]
    assert manifest["params"] == {"regime.name": "veto", "staffing.fill_rate": 0.68}


def forbid_writing_runs_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make this (the sweep's) process fail if it writes a run: workers must record them.
    Worker processes import the store afresh, so the patch does not reach them."""
    def write(*_args: object) -> None:
        raise AssertionError("the sweep's own process wrote a run that a worker should have")

    monkeypatch.setattr(RunStore, "write", write)


def test_two_workers_record_their_own_runs_and_give_the_same_table_as_one(
        grid_file: Path, reference: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    forbid_writing_runs_here(monkeypatch)
    result = run_experiment(grid_file, tmp_path, workers=2, progress=False)
    assert result.complete
    assert not result.summary["worker"].str.endswith(f":{os.getpid()}").any()
    pd.testing.assert_frame_equal(results_table(tmp_path), results_table(reference))
    pd.testing.assert_frame_equal(timeseries_table(tmp_path), timeseries_table(reference))


def test_dask_local_cluster_workers_record_their_runs_and_give_the_same_table_as_one_worker(
        grid_file: Path, reference: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    forbid_writing_runs_here(monkeypatch)  # a LocalCluster's workers share this disk
    run_experiment(grid_file, tmp_path, workers=2, backend="dask", progress=False)
    pd.testing.assert_frame_equal(results_table(tmp_path), results_table(reference))


def test_rerunning_a_finished_sweep_runs_nothing(grid_file: Path, reference: Path) -> None:
    before = {p.name: p.stat().st_mtime_ns for p in (reference / "runs").iterdir()}
    result = run_experiment(grid_file, reference, workers=1, progress=False)
    assert result.ran == 0 and result.skipped == 12
    after = {p.name: p.stat().st_mtime_ns for p in (reference / "runs").iterdir()}
    assert after == before


def test_worker_processes_load_the_model_but_not_the_design_libraries() -> None:
    # The W&B sweeps library takes ~2 s to import and only the sweep's own process designs.
    # A worker re-imports the script that started the sweep, hence run_experiment too.
    probe = ("import sys, model.sweep.preload; from model.sweep import run_experiment; "
             "print('model.runner' in sys.modules, 'sweeps' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                          text=True, timeout=SUBPROCESS_TIMEOUT)
    assert done.stdout.split() == ["True", "False"], done.stderr


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-W", "ignore", str(ROOT / "run.py"), *args]


def _start_sweep(experiment: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        _cli("sweep", str(experiment), "--out", str(out), "--workers", "1", "--no-progress"),
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,  # its own process group: the signal reaches its workers too
    )


def _wait_for_runs(out: Path, count: int, process: subprocess.Popen) -> int:
    deadline = time.monotonic() + SUBPROCESS_TIMEOUT
    while time.monotonic() < deadline:
        done = len(list((out / "runs").glob("c*.parquet"))) if (out / "runs").is_dir() else 0
        if done >= count:
            return done
        if process.poll() is not None:
            pytest.fail(f"the sweep ended before it could be interrupted: {process.stderr.read()}")
        time.sleep(0.02)
    pytest.fail("the sweep made no progress")


@pytest.mark.parametrize("how", ["SIGKILL to the whole process group", "SIGINT (Ctrl-C)"])
def test_interrupted_sweep_resumes_to_the_store_of_an_uninterrupted_run(
        how: str, grid_file: Path, reference: Path, tmp_path: Path) -> None:
    process = _start_sweep(grid_file, tmp_path)
    _wait_for_runs(tmp_path, 2, process)
    if how.startswith("SIGKILL"):
        os.killpg(process.pid, signal.SIGKILL)
    else:
        os.kill(process.pid, signal.SIGINT)
    process.communicate(timeout=SUBPROCESS_TIMEOUT)
    if how.startswith("SIGINT"):
        assert process.returncode == 130  # it stopped after finishing the runs in flight
    else:
        assert process.returncode == -signal.SIGKILL
    partial = len(list((tmp_path / "runs").glob("c*.parquet")))
    assert 2 <= partial < 12, "the interruption should leave the sweep part-way"

    resumed = subprocess.run(_cli("sweep", str(grid_file), "--out", str(tmp_path),
                                  "--workers", "1", "--no-progress"),
                             cwd=ROOT, capture_output=True, text=True,
                             timeout=SUBPROCESS_TIMEOUT)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{12 - partial} run now, {partial} already in the store" in resumed.stdout
    pd.testing.assert_frame_equal(results_table(tmp_path), results_table(reference))
    pd.testing.assert_frame_equal(timeseries_table(tmp_path), timeseries_table(reference))
    leftovers = list(tmp_path.rglob(TEMPORARY_PATTERN))
    assert leftovers == [], "temporaries of killed writes are removed when the store reopens"


@pytest.mark.parametrize("case, edit, field", [
    ("misspelt top-level field", {"replicatons": 3}, "replicatons"),
    ("unknown scenario key", {"sweep": {"method": "grid", "parameters": {
        "staffing.fill_rat": {"values": [0.5]}}}}, "sweep.parameters.staffing.fill_rat"),
    ("value outside the scenario's range", {"sweep": {"method": "grid", "parameters": {
        "staffing.fill_rate": {"values": [0.5, 1.5]}}}}, "sweep.parameters.staffing.fill_rate"),
    ("unknown regime", {"sweep": {"method": "grid", "parameters": {
        "regime.name": {"values": ["veto", "strict"]}}}}, "sweep.parameters.regime.name"),
    ("unknown method", {"sweep": {"method": "gird", "parameters": {
        "regime.name": {"values": ["veto"]}}}}, "sweep.method"),
    ("continuous parameter in a grid", {"sweep": {"method": "grid", "parameters": {
        "staffing.fill_rate": {"distribution": "uniform", "min": 0.5, "max": 0.9}}}},
     "sweep.parameters.staffing.fill_rate"),
    ("bayes without a metric", {"sweep": {"method": "bayes", "run_cap": 4, "parameters": {
        "staffing.fill_rate": {"min": 0.5, "max": 0.9}}}}, "sweep.metric"),
    ("baseline not among the arms", {"analyses": [
        {"kind": "paired", "arm": "regime.name", "baseline": "consultative"}]},
     "analyses.0.baseline"),
    ("missing scenario file", {"scenario": "no/such/scenario.yaml"}, "scenario"),
    # Under a day, every run ran no day at all and was recorded as finished, its metrics 0.
    ("horizon shorter than one day", {"years": 0.0001}, "years"),
    # The run's own seed and horizon win over the scenario's: a swept seed or horizon was never
    # used, and the store's column showed values that did not run.
    ("seed swept as a parameter", {"sweep": {"method": "grid", "parameters": {
        "seed": {"values": [1, 2]}}}}, "sweep.parameters.seed"),
    ("years swept as a parameter", {"sweep": {"method": "grid", "parameters": {
        "years": {"values": [0.02, 0.05]}}}}, "sweep.parameters.years"),
    ("seed among the overrides", {"overrides": {"seed": 5}}, "overrides.seed"),
    # 400 × 400 points: refused from the value counts, not by a traceback from the design
    # after every one of the 800 values has been checked against the scenario.
    ("grid over the size limit", {"sweep": {"method": "grid", "parameters": {
        "staffing.fill_rate": {"values": [round(0.3 + i * 0.0015, 4) for i in range(400)]},
        "residents.trust_mean": {"values": [round(0.3 + i * 0.0015, 4) for i in range(400)]},
    }}}, "sweep.parameters"),
    # A misspelt output name is refused on load, not after the first run (with a store left).
    ("misspelt summary metric", {"metrics": {"summary": ["petitions_ture"]}},
     "metrics.summary.0"),
    ("misspelt daily column", {"metrics": {"summary": ["petitions_true"], "timeseries": {
        "columns": ["backlog", "trust_men"]}}}, "metrics.timeseries.columns.1"),
])
def test_bad_experiment_file_exits_2_naming_file_field_and_what_is_allowed(
        case: str, edit: dict, field: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = write_experiment(tmp_path, {**SMALL_GRID, **edit}, name="bad.yaml")
    code = sweep_main(["sweep", str(path), "--out", str(tmp_path / "out"), "--no-progress"])
    message = capsys.readouterr().err.strip()
    assert code == 2, case
    assert message.count("\n") == 0, "one line"
    assert str(path) in message and f"field '{field}'" in message, message
    # what is allowed: listed, or the scenario's own verdict on the value, or pydantic's
    says_what_is_allowed = any(phrase in message for phrase in (
        "allowed:", "rejected by the scenario", "should be", "no such file"))
    assert says_what_is_allowed, message
    assert not (tmp_path / "out").exists(), "nothing runs for a bad file"


@pytest.mark.parametrize("name, values, how_to_vary_it", [
    ("seed", [1, 2], "allowed: `replications: N` for more seeds, or another top-level `seed:`"),
    ("years", [0.02, 0.05], "allowed: `years:` at the experiment's top level"),
])
def test_seed_and_years_are_refused_as_parameters_naming_the_experiment_field_that_varies_them(
        name: str, values: list, how_to_vary_it: str) -> None:
    data = {**SMALL_GRID, "analyses": [],
            "sweep": {"method": "grid", "parameters": {name: {"values": values}}}}
    with pytest.raises(ExperimentError) as caught:
        experiment_from_dict(data, source="exp.yaml", check_scenario=False)
    message = str(caught.value)
    assert message.startswith(f"exp.yaml: field 'sweep.parameters.{name}': not a parameter")
    assert how_to_vary_it in message, message


def test_sweep_refuses_an_out_under_a_file_before_any_run(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """A mistyped --out was a traceback; it is one line, and no run starts."""
    path = write_experiment(tmp_path, SMALL_GRID)
    afile = tmp_path / "afile"
    afile.write_text("")
    assert sweep_main(["sweep", str(path), "--out", str(afile / "out"), "--no-progress"]) == 2
    message = capsys.readouterr().err.strip()
    assert message.count("\n") == 0 and f"--out {afile / 'out'}" in message and "allowed:" in message
    assert afile.read_text() == ""


UNWRITABLE = [
    pytest.param(lambda tmp: tmp / "afile", id="an existing file"),
    pytest.param(lambda tmp: tmp / "afile" / "report", id="under a file"),
    pytest.param(lambda tmp: Path("/proc/report"), id="in /proc",
                 marks=pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="Linux only")),
]


@pytest.mark.parametrize("where", UNWRITABLE)
def test_report_refuses_a_dest_it_cannot_write_before_analysing(
        where, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # It analysed the store first and ended in a traceback from mkdir.
    import model.analysis.report

    def analyse(*args: object) -> None:
        raise AssertionError("the store was analysed")

    monkeypatch.setattr(model.analysis.report, "write_report", analyse)
    (tmp_path / "afile").write_text("")
    dest = where(tmp_path)
    assert sweep_main(["report", str(tmp_path / "store"), "--dest", str(dest)]) == 2
    message = capsys.readouterr().err.strip()
    assert message.count("\n") == 0 and message.startswith(f"error: --dest {dest}: ") and "allowed:" in message
    assert (tmp_path / "afile").read_text() == ""


def test_sweep_with_report_refuses_a_report_folder_it_cannot_write_before_any_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_experiment(tmp_path, SMALL_GRID)
    out = tmp_path / "out"
    out.mkdir()
    (out / "report").write_text("")
    assert sweep_main(["sweep", str(path), "--out", str(out), "--report", "--no-progress"]) == 2
    message = capsys.readouterr().err.strip()
    assert message == f"error: --report {out / 'report'}: is a file; allowed: a folder, new or existing"
    assert sorted(p.name for p in out.iterdir()) == ["report"], "no run"


def test_command_line_exit_code_is_2_for_a_bad_experiment(tmp_path: Path) -> None:
    path = write_experiment(tmp_path, {**SMALL_GRID, "replications": 0}, name="bad.yaml")
    done = subprocess.run(_cli("sweep", str(path)), cwd=ROOT, capture_output=True, text=True,
                          timeout=SUBPROCESS_TIMEOUT)
    assert done.returncode == 2
    assert "bad.yaml: field 'replications'" in done.stderr


def _files(folder: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}


@pytest.mark.parametrize("command, damaged, content", [
    ("sweep", "store.json", '{"fingerprint": "'),  # cut short
    ("sweep", "store.json", ""),
    ("sweep", "store.json", "[]"),
    ("report", "experiment.json", "garbage{"),
    # These were pyarrow tracebacks.
    ("sweep", "design.parquet", "garbage"),
    ("report", "design.parquet", "garbage"),
    ("sweep", "runs/c00000-r0000.parquet", "garbage"),
])
def test_a_damaged_store_file_is_refused_naming_it_and_the_store_is_left_as_it_is(
        command: str, damaged: str, content: str, grid_file: Path, reference: Path,
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # These were JSONDecodeError and AttributeError tracebacks.
    store = tmp_path / "store"
    shutil.copytree(reference, store)
    (store / damaged).write_text(content)
    before = _files(store)
    sweep = ["sweep", str(grid_file), "--out", str(store), "--no-progress", "--workers", "0"]
    assert sweep_main(sweep if command == "sweep" else ["report", str(store)]) == 2
    message = capsys.readouterr().err.strip()
    assert message.count("\n") == 0, "one line"
    assert message.startswith(f"error: {store / damaged}: damaged") and "allowed:" in message, message
    assert _files(store) == before, "a damaged store is neither rewritten nor deleted"
    if damaged == "experiment.json":  # what the message offers: the sweep rewrites it, runs nothing
        assert sweep_main(sweep) == 0
        assert "0 run now, 12 already in the store" in capsys.readouterr().out
        assert RunStore(store).experiment().name == SMALL_GRID["name"]
    if damaged.startswith("runs/"):  # what the message offers: delete it, and only it runs again
        (store / damaged).unlink()
        assert sweep_main(sweep) == 0
        assert "1 run now, 11 already in the store" in capsys.readouterr().out


def test_report_rebuilds_a_damaged_summary_from_the_runs(reference: Path, tmp_path: Path) -> None:
    # summary.parquet is derived from the run files: a damaged copy is not a reason to stop.
    store = tmp_path / "store"
    shutil.copytree(reference, store)
    (store / "summary.parquet").write_text("garbage")
    assert sweep_main(["report", str(store), "--dest", str(tmp_path / "report")]) == 0
    assert (tmp_path / "report" / "README.md").is_file()


def test_report_writes_tables_and_png_and_svg_figures(reference: Path, tmp_path: Path) -> None:
    done = subprocess.run(_cli("report", str(reference), "--dest", str(tmp_path)), cwd=ROOT,
                          capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT)
    assert done.returncode == 0, done.stderr
    paired = pd.read_csv(tmp_path / "01-paired.csv")
    # 2 staffing levels × 7 metrics, veto against comprehensive, 3 pairs each
    assert len(paired) == 2 * 7 and (paired["n_pairs"] == 3).all()
    for suffix in (".png", ".svg"):
        assert (tmp_path / f"01-paired{suffix}").stat().st_size > 1000
    readme = (tmp_path / "README.md").read_text()
    assert "01-paired.png" in readme
    # The caption names the arms compared, not the parameter that holds them.
    assert "(One-vote veto vs Comprehensive assessment)" in readme, readme


def test_shipped_experiment_files_are_valid() -> None:
    names = sorted(p.name for p in (ROOT / "experiments").glob("*.yaml"))
    for required in ("veto_vs_comprehensive.yaml", "staffing_fiscal_grid.yaml",
                     "sensitivity.yaml", "calibrate.yaml"):
        assert required in names
    for name in names:
        experiment = load_experiment(ROOT / "experiments" / name)
        assert experiment.replications >= 1
    veto = load_experiment(ROOT / "experiments" / "veto_vs_comprehensive.yaml")
    assert veto.replications >= 20
    assert veto.sweep.parameters["regime.name"]["values"] == ["veto", "comprehensive"]


def test_an_experiment_on_a_broken_scenario_blames_its_scenario_not_its_overrides(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The message said "field 'overrides'" for a misspelt key in the scenario file itself.
    (tmp_path / "broken.yaml").write_text("name: broken\nyearz: 2\n")
    path = write_experiment(tmp_path, {**SMALL_GRID, "scenario": "broken.yaml"}, name="bad.yaml")
    assert sweep_main(["sweep", str(path), "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    message = capsys.readouterr().err.strip()
    assert "field 'scenario'" in message and "field 'yearz': unknown field" in message, message
    assert not (tmp_path / "out").exists()
