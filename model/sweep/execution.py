"""Run an experiment: build its design, skip what the store holds, execute the rest.

``run_experiment`` is the whole sweep in one call, the same as ``run.py sweep``::

    from model.sweep import load_experiment, run_experiment
    result = run_experiment("experiments/staffing_fiscal_grid.yaml", "runs/grid", workers=2)
    result.summary.groupby("staffing.fill_rate")["hidden_grievance"].mean()
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from model.sweep import seeds
from model.sweep.backends import Backend, make_backend
from model.sweep.design import Configuration, Outcome, bayes_batch, static_design
from model.sweep.experiment import (
    CALIBRATION_METRIC,
    Experiment,
    ExperimentError,
    check_outputs,
    load_experiment,
)
from model.sweep.runs import RunFunction, RunReport, RunSpec, run_model
from model.sweep.store import RunStore, run_id
from model.sweep.worker import RecordRun

DEFAULT_OUT_ROOT = Path("runs")
"""Where a sweep writes when no --out is given: runs/<experiment name> (git-ignored)."""


@dataclass
class ExperimentResult:
    """What a sweep left in its store, and what happened in this call."""

    out_dir: Path
    experiment: Experiment
    summary: pd.DataFrame
    """Every run recorded (finished and failed): ``OUT/summary.parquet``."""
    ran: int
    """Runs executed in this call."""
    failed: int
    """Runs recorded as failed in the store (this call or earlier, not since retried)."""
    skipped: int
    """Runs already finished in the store and not run again."""
    total: int

    @property
    def finished(self) -> int:
        """Runs finished in the store."""
        if self.summary.empty:
            return 0
        return int((self.summary["status"] == "finished").sum())

    @property
    def complete(self) -> bool:
        """Whether every planned run has finished."""
        return self.finished == self.total

    def timeseries(self) -> pd.DataFrame:
        return RunStore(self.out_dir).timeseries()


def run_specs(experiment: Experiment, configurations: Iterable[Configuration]) -> list[RunSpec]:
    """Every run of these configurations: replication k has the same seed in each."""
    series = experiment.metrics.timeseries
    columns: tuple[str, ...] | str | None = None
    if series is not None:
        columns = series.columns if series.columns == "all" else tuple(series.columns)
    specs = []
    for configuration in configurations:
        for replication in range(experiment.replications):
            specs.append(RunSpec(
                run_id=run_id(configuration.config_id, replication),
                config_id=configuration.config_id,
                replication=replication,
                seed=seeds.replication_seed(experiment.seed, replication),
                scenario=str(experiment.scenario_path),
                params=dict(configuration.params),
                overrides={**experiment.overrides, **configuration.params},
                years=experiment.years,
                summary_metrics=tuple(experiment.summary_metrics),
                timeseries_columns=columns,
                timeseries_every=series.every if series is not None else 1,
            ))
    return specs


def configuration_objective(experiment: Experiment, rows: pd.DataFrame) -> float:
    """The value a bayes sweep optimises for one configuration's finished runs.

    The replication mean of the metric, or for calibration the distance between the
    replication means of the target metrics and the targets.
    """
    if rows.empty:
        return math.nan
    name, _goal = experiment.objective  # type: ignore[misc]
    if name == CALIBRATION_METRIC:
        assert experiment.calibration is not None
        means = {t.metric: float(rows[t.metric].mean()) for t in experiment.calibration.targets}
        return experiment.calibration.distance_of(means)
    return float(rows[name].mean())


class _Progress:
    """A tqdm bar: runs done / failed / remaining, with rate and ETA."""

    def __init__(self, total: int, done: int, enabled: bool, name: str):
        from tqdm.auto import tqdm

        self.failed = 0
        self.done = done
        self.total = total
        self.bar = tqdm(total=total, initial=done, unit="run", desc=name, disable=not enabled,
                        dynamic_ncols=True, smoothing=0.1, file=sys.stderr)
        self._postfix()

    def _postfix(self) -> None:
        remaining = self.total - self.done - self.failed
        self.bar.set_postfix_str(f"done={self.done} failed={self.failed} remaining={remaining}",
                                 refresh=False)

    def grow(self, total: int) -> None:
        self.total = total
        self.bar.total = total
        self._postfix()
        self.bar.refresh()

    def update(self, report: RunReport) -> None:
        if report.status == "finished":
            self.done += 1
        else:
            self.failed += 1
        self._postfix()
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


class _Sweep:
    """One call of run_experiment: the store, the backend, the progress bar, the counts."""

    def __init__(self, experiment: Experiment, store: RunStore, backend: Backend,
                 run_fn: RunFunction, progress: _Progress):
        self.experiment = experiment
        self.store = store
        self.backend = backend
        self.task = RecordRun.into(store, run_fn, experiment.name)
        self.progress = progress
        self.ran = 0

    def execute(self, specs: Sequence[RunSpec]) -> None:
        """Run what the store lacks; workers record their runs, this process the rest."""
        done = self.store.finished_ids()
        todo = [s for s in specs if s.run_id not in done]
        if not todo:
            return
        for report in self.backend.run(todo, self.task):
            if report.error_type == "MissingMetricError":  # a mistake in the file: stop
                why = (report.error or "").removeprefix("MissingMetricError: ")
                raise ExperimentError(f"{self.experiment.origin}: field 'metrics': {why}")
            if report.unrecorded is not None:  # no worker wrote it (lost, or no shared disk)
                self.store.write(report.unrecorded, self.experiment.name)
            self.ran += 1
            self.progress.update(report)

    def run_static(self) -> None:
        configurations = static_design(self.experiment)
        stored = self.store.load_design()
        if stored and [c.params for c in stored] != [c.params for c in configurations[
                :len(stored)]]:
            raise ExperimentError(f"{self.store.root}: field 'out': the stored design differs "
                                  "from this experiment's; allowed: a new --out directory")
        self.store.save_design(configurations)
        self.execute(run_specs(self.experiment, configurations))

    def run_bayes(self) -> None:
        exp = self.experiment
        cap = exp.sweep.run_cap or 0
        design = [c for c in self.store.load_design() if c.config_id < cap]
        batch = 0
        for start in range(0, cap, exp.batch_size):
            size = min(exp.batch_size, cap - start)
            current = [c for c in design if start <= c.config_id < start + size]
            if len(current) < size:  # not proposed yet: ask the engine, then persist
                history = self._history(design)
                proposals = bayes_batch(exp, start, history)
                current = [Configuration(start + i, p, batch=batch)
                           for i, p in enumerate(proposals)]
                design = [c for c in design if c.config_id < start] + current
                self.store.save_design(design)
            self.execute(run_specs(exp, current))
            batch += 1

    def _history(self, design: list[Configuration]) -> list[Outcome]:
        table = self.store.finished_table()
        history = []
        for configuration in design:
            rows = table[table["config_id"] == configuration.config_id] if len(table) else table
            value = configuration_objective(self.experiment, rows)
            state = "finished" if math.isfinite(value) else "failed"
            history.append(Outcome(configuration.params, state, value))
        return history


def run_experiment(
    experiment: Experiment | str | Path,
    out_dir: str | Path | None = None,
    workers: int | None = None,
    backend: str = "local",
    scheduler: str | None = None,
    run_fn: RunFunction | None = None,
    progress: bool = True,
) -> ExperimentResult:
    """Run every run of ``experiment`` that ``out_dir`` does not already hold.

    ``workers``: processes (default: all cores; 0 runs in this process). ``backend``:
    'local' or 'dask' (a LocalCluster, or the cluster at ``scheduler``). ``run_fn``: the
    function executed per run (default: the model, ``runs.run_model``); it must be a
    top-level function so worker processes can import it. A run that raises is recorded as
    failed and the sweep goes on. Ctrl-C finishes the runs in flight, records them and
    raises KeyboardInterrupt; running again resumes.
    """
    if not isinstance(experiment, Experiment):
        experiment = load_experiment(experiment)
    if run_fn is None and not experiment.outputs_checked:  # before the store is created
        check_outputs(experiment)
    out = Path(out_dir) if out_dir is not None else DEFAULT_OUT_ROOT / experiment.name
    RunStore.check(out, experiment)  # before a cluster starts for a store that refuses it
    total = _planned_runs(experiment)
    code_version = _code_version()
    chosen = make_backend(backend, workers, scheduler)
    started = time.time()
    state = "interrupted"
    store: RunStore | None = None
    progress_bar: _Progress | None = None
    sweep: _Sweep | None = None
    already = 0
    try:
        # The store is created once the backend is up: a Dask scheduler that does not answer
        # leaves no store behind. Leaving the backend finishes (or abandons) the runs in
        # flight before the store's summary is written.
        with chosen:
            store = RunStore.create(out, experiment)
            already = len(store.finished_ids())
            store.write_meta(experiment, state="running", code_version=code_version,
                             total_runs=total, backend=backend)
            progress_bar = _Progress(total, min(already, total), progress, experiment.name)
            sweep = _Sweep(experiment, store, chosen, run_fn or run_model, progress_bar)
            if experiment.is_sequential:
                sweep.run_bayes()
            else:
                sweep.run_static()
        state = "complete"
    except ExperimentError:
        state = "invalid"
        raise
    finally:
        if progress_bar is not None:
            progress_bar.close()
        if store is not None:
            summary = store.consolidate()
            failed = int((summary.get("status", pd.Series(dtype=str)) == "failed").sum())
            store.write_meta(experiment, state=state, code_version=code_version,
                             total_runs=total, finished=int(len(summary) - failed),
                             failed=failed, wall_time_s=round(time.time() - started, 3))
    ran = sweep.ran if sweep is not None else 0
    return ExperimentResult(out_dir=out, experiment=experiment, summary=summary, ran=ran,
                            failed=failed, skipped=min(already, total), total=total)


def _planned_runs(experiment: Experiment) -> int:
    if experiment.is_sequential:
        return (experiment.sweep.run_cap or 0) * experiment.replications
    return len(static_design(experiment)) * experiment.replications


def _code_version() -> str:
    try:
        from model.version import code_version

        return code_version()
    except Exception:
        return "unknown"
