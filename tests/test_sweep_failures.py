"""A run that raises, or whose worker process dies, is recorded as failed and the sweep goes
on to finish every other run, on every backend, without hanging. A worker that cannot reach
the store sends its run back and the sweep records it; a reopened store drops what killed
writers left half-written; workers never run a stale or half-imported model.

The run functions here are injected (``run_fn=``): module-level so worker processes can
import them, cheap so the tests are about the execution machinery, not the model.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import cloudpickle
import pandas as pd
import pytest

from model.sweep import (
    ExperimentError,
    RunSpec,
    RunStore,
    backends,
    experiment_from_dict,
    preload,
    run_experiment,
    run_specs,
    static_design,
)
from model.sweep.worker import RecordRun

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "scenarios" / "demo.yaml"
FAILING_RATE = 0.5
"""The fill rate whose runs fail in these tests: 1 of 3 configurations."""


def grid(replications: int = 3) -> dict:
    return {
        "name": "failures",
        "scenario": str(DEMO),
        "seed": 3,
        "replications": replications,
        "sweep": {"method": "grid", "parameters": {
            "staffing.fill_rate": {"values": [FAILING_RATE, 0.7, 0.9]}}},
        "metrics": {"summary": ["backlog_end", "petitions_true"]},
    }


def fake_model(spec: RunSpec) -> dict[str, float]:
    """A deterministic stand-in for the model: outputs are functions of params and seed."""
    rate = spec.params["staffing.fill_rate"]
    return {"backlog_end": 100 * (1 - rate) + spec.seed % 7, "petitions_true": spec.seed % 11}


def raises_for_one_configuration(spec: RunSpec) -> dict[str, float]:
    if spec.params["staffing.fill_rate"] == FAILING_RATE:
        raise RuntimeError(f"simulated model failure at fill rate {FAILING_RATE}")
    return fake_model(spec)


def kills_its_worker_for_one_run(spec: RunSpec) -> dict[str, float]:
    if spec.params["staffing.fill_rate"] == FAILING_RATE and spec.replication == 1:
        os._exit(9)  # what the OOM killer or a segfault looks like from the pool
    return fake_model(spec)


def experiment():
    return experiment_from_dict(grid(), source="failures.yaml")


@pytest.mark.parametrize("backend, workers", [("local", 0), ("local", 2), ("dask", 2)])
def test_a_run_that_raises_is_recorded_as_failed_and_the_others_finish(
        backend: str, workers: int, tmp_path: Path) -> None:
    if backend == "dask":
        # Dask workers import functions by module name; this test module is not installed.
        cloudpickle.register_pickle_by_value(sys.modules[__name__])
    result = run_experiment(experiment(), tmp_path, workers=workers, backend=backend,
                            run_fn=raises_for_one_configuration, progress=False)
    summary = pd.read_parquet(tmp_path / "summary.parquet")
    failed = summary[summary["status"] == "failed"]
    assert len(summary) == 9 and summary["run_id"].is_unique
    assert result.failed == 3 and set(failed["staffing.fill_rate"]) == {FAILING_RATE}
    assert failed["error"].str.contains("RuntimeError: simulated model failure").all()
    assert failed["backlog_end"].isna().all()
    record = json.loads((tmp_path / "manifest" / f"{failed['run_id'].iloc[0]}.json").read_text())
    assert record["status"] == "failed"
    assert "raises_for_one_configuration" in record["traceback"]
    in_this_process = record["worker"].endswith(f":{os.getpid()}")
    assert in_this_process == (workers == 0), "written by the worker that ran it"
    finished = summary[summary["status"] == "finished"]
    expected = 100 * (1 - finished["staffing.fill_rate"]) + finished["seed"] % 7
    assert finished["backlog_end"].tolist() == pytest.approx(expected.tolist())


def test_failed_runs_are_retried_on_the_next_sweep_and_then_finish(tmp_path: Path) -> None:
    run_experiment(experiment(), tmp_path, workers=0, run_fn=raises_for_one_configuration,
                   progress=False)
    result = run_experiment(experiment(), tmp_path, workers=0, run_fn=fake_model,
                            progress=False)
    assert result.ran == 3 and result.failed == 0 and result.complete


def test_a_worker_that_dies_fails_only_its_run_and_the_sweep_does_not_hang(
        tmp_path: Path) -> None:
    result = run_experiment(experiment(), tmp_path, workers=2,
                            run_fn=kills_its_worker_for_one_run, progress=False)
    summary = result.summary
    failed = summary[summary["status"] == "failed"]
    assert len(summary) == 9
    # Runs in flight beside the dying one are retried alone, so only the culprit fails.
    assert failed["run_id"].tolist() == ["c00000-r0001"]
    assert "worker process died" in failed["error"].iloc[0]


def test_a_worker_that_cannot_see_the_store_sends_the_run_back_and_the_sweep_records_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = run_specs(experiment(), static_design(experiment()))[0]
    elsewhere = RecordRun(run_fn=fake_model, store_root=str(tmp_path / "elsewhere"),
                          store_id="another-store", experiment_name="failures")
    report = elsewhere(spec)
    assert report.status == "finished" and report.unrecorded is not None
    assert report.unrecorded.metrics == fake_model(spec)
    assert not (tmp_path / "elsewhere").exists(), "nothing written where the store is not"

    # A Dask worker without the shared directory: the sweep's process records its runs.
    monkeypatch.setattr(RunStore, "is_store", lambda self, store_id: False)
    result = run_experiment(experiment(), tmp_path / "out", workers=0, run_fn=fake_model,
                            progress=False)
    assert result.complete and len(result.summary) == 9


def test_reopening_a_store_removes_what_killed_writers_left_and_keeps_its_identity(
        tmp_path: Path) -> None:
    run_experiment(experiment(), tmp_path, workers=0, run_fn=fake_model, progress=False)
    identity = RunStore(tmp_path).store_id()
    half_written = [tmp_path / "runs" / ".c00000-r0000.parquet.k1ll3d.tmp",
                    tmp_path / "manifest" / ".c00000-r0001.json.k1ll3d.tmp"]
    for path in half_written:
        path.write_bytes(b"half a file")
    result = run_experiment(experiment(), tmp_path, workers=0, run_fn=fake_model,
                            progress=False)
    assert result.ran == 0 and result.complete
    assert not any(path.exists() for path in half_written)
    assert len(identity) == 32 and RunStore(tmp_path).store_id() == identity


def test_pools_started_after_the_model_files_changed_load_the_model_afresh(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backends, "_preloaded_source", None)
    monkeypatch.setattr(backends, "_model_source", lambda: "as first loaded")
    assert backends.worker_context("forkserver").get_start_method() == "forkserver"
    monkeypatch.setattr(backends, "_model_source", lambda: "edited since, e.g. in a notebook")
    assert backends.worker_context("forkserver").get_start_method() == "spawn"


def test_a_model_file_that_fails_to_import_does_not_kill_the_fork_server(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "half_edited_model.py").write_text("raise SyntaxError('mid-edit')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(preload, "WORKER_MODULES", ("half_edited_model", "json"))
    preload._import_worker_modules()  # the runs will import it themselves and say why


def test_a_metric_the_model_does_not_output_is_refused_before_anything_is_written(
        tmp_path: Path) -> None:
    # It used to surface after the first run, leaving a store tied to the misspelt name that
    # then refused the corrected file as "a different definition".
    from model.sweep import ExperimentError

    data = {**grid(replications=1), "years": 0.05,
            "metrics": {"summary": ["backlog_end", "no_such_metric"]}}
    with pytest.raises(ExperimentError) as caught:
        experiment_from_dict(data, source="typo.yaml")
    message = str(caught.value)
    assert "typo.yaml: field 'metrics.summary.1': 'no_such_metric' is not in the model's " \
           "summary; allowed: " in message
    assert "hidden_grievance" in message and "cadre_hours_share.handling" in message
    unchecked = experiment_from_dict(data, source="typo.yaml", check_scenario=False)
    with pytest.raises(ExperimentError, match="field 'metrics.summary.1'"):
        run_experiment(unchecked, tmp_path / "store", workers=0, progress=False)
    assert not (tmp_path / "store").exists(), "no store for a mistaken file"


def test_a_misspelt_metric_is_refused_with_its_close_match(tmp_path: Path) -> None:
    from model.sweep import ExperimentError

    data = {**grid(replications=1), "metrics": {"summary": ["cadre_hours_share.paperwrok"]}}
    with pytest.raises(ExperimentError, match=r"field 'metrics.summary.0': 'cadre_hours_share.paperwrok' is not "
                       r"in the model's summary; did you mean 'cadre_hours_share.paperwork'\? allowed: "):
        experiment_from_dict(data, source="typo.yaml")


def test_a_metric_a_run_function_does_not_output_stops_the_sweep_naming_what_exists(
        tmp_path: Path) -> None:
    # A replaced run function's outputs are known only once it has run: checked then.
    from model.sweep import ExperimentError

    data = {**grid(replications=1), "metrics": {"summary": ["backlog_end", "no_such_metric"]}}
    exp = experiment_from_dict(data, source="typo.yaml", check_scenario=False)
    with pytest.raises(ExperimentError) as caught:
        run_experiment(exp, tmp_path, workers=0, run_fn=fake_model, progress=False)
    assert "typo.yaml: field 'metrics': metric 'no_such_metric' is not in the model's " \
           "summary; available: backlog_end, petitions_true" in str(caught.value)
    assert not list((tmp_path / "runs").glob("*.parquet"))
    assert not list((tmp_path / "manifest").glob("*.json")), "a mistake, not a failed run"


def test_an_unreachable_dask_scheduler_is_bad_input_not_a_traceback(tmp_path, monkeypatch, capsys) -> None:
    # Nothing listens on port 1; the sweep used to end in distributed's OSError traceback.
    from model.cli import main

    monkeypatch.setattr(backends, "SCHEDULER_TIMEOUT", "2s")
    args = ["sweep", str(ROOT / "experiments" / "duty_weights.yaml"), "--backend", "dask",
            "--scheduler", "tcp://127.0.0.1:1", "--out", str(tmp_path / "store"), "--no-progress"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "--scheduler tcp://127.0.0.1:1: no Dask scheduler answered" in err and "allowed:" in err, err
    assert not (tmp_path / "store").exists(), "the sweep connects before it creates its store"


@pytest.mark.parametrize("address", ["localhost", "http//bad", "http://host:8786", "tcp://host:port"])
def test_a_scheduler_address_of_the_wrong_form_is_refused_before_anything_starts(
        address, tmp_path, capsys) -> None:
    # It was a ValueError traceback from distributed once the client connected, after the
    # experiment had loaded and its store had been created.
    from model.cli import main

    args = ["sweep", str(tmp_path / "not_read.yaml"), "--backend", "dask", "--scheduler", address,
            "--out", str(tmp_path / "store"), "--no-progress"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"--scheduler {address}: not a scheduler address" in err, err
    assert "allowed: tcp://HOST:PORT" in err, err
    assert not (tmp_path / "store").exists()
    with pytest.raises(ExperimentError, match="not a scheduler address"):  # the Python API too
        run_experiment(experiment(), tmp_path / "store", backend="dask", scheduler=address,
                       run_fn=fake_model, progress=False)
    assert not (tmp_path / "store").exists()


def test_a_scheduler_without_the_dask_backend_is_refused_by_the_python_api_too(tmp_path) -> None:
    # The CLI refuses it itself; through the API it was a plain ValueError naming a CLI flag.
    with pytest.raises(ExperimentError, match="scheduler 'tcp://10.1.2.3:8786': only with backend 'dask'"):
        run_experiment(experiment(), tmp_path / "store", backend="local", scheduler="tcp://10.1.2.3:8786",
                       run_fn=fake_model, progress=False)
    with pytest.raises(ExperimentError, match="backend 'slurm': allowed: local, dask"):
        run_experiment(experiment(), tmp_path / "store", backend="slurm", run_fn=fake_model, progress=False)
    assert not (tmp_path / "store").exists()


def test_ctrl_c_before_the_store_exists_does_not_promise_finished_runs(tmp_path, monkeypatch, capsys) -> None:
    # Ctrl-C while a Dask scheduler is being reached used to print "finished runs are kept in
    # OUT" for a store that was never created; once the store exists, that is what it says.
    import model.sweep.execution as execution
    from model.cli import main

    def interrupted(experiment, out_dir, **_):
        raise KeyboardInterrupt

    monkeypatch.setattr(execution, "run_experiment", interrupted)
    out = tmp_path / "store"
    args = ["sweep", str(ROOT / "experiments" / "duty_weights.yaml"), "--out", str(out), "--no-progress"]
    assert main(args) == 130
    err = capsys.readouterr().err
    assert f"interrupted before the sweep started; nothing was written to {out}" in err, err
    assert not out.exists()

    finished = run_experiment(experiment(), out, workers=0, run_fn=fake_model, progress=False)
    assert finished.finished > 0
    assert main(args) == 130
    err = capsys.readouterr().err
    assert f"interrupted; finished runs are kept in {out}; run the same command again to resume" in err, err
