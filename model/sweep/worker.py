"""What a worker process executes for one run: run it, record it in the store, report back.

Recording in the worker, not in the sweep's own process, matters on a small machine: each
run's Parquet row, time series and manifest cost ~15 ms of CPU, and with every worker on a
core, a parent writing them steals time from the runs (issue 4, target 4). The worker sends
back only a ``RunReport`` (status and error), so nothing large crosses between processes.

A worker writes only when it sees the sweep's store (``RunStore.is_store``): a Dask worker
without the shared directory, or one whose write fails, returns the whole outcome in the
report instead, and the parent records it, as it did for every run before.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from model.sweep.runs import (
    MissingMetricError,
    RunFunction,
    RunOutcome,
    RunReport,
    RunSpec,
    execute_run,
)
from model.sweep.store import RunStore


@dataclass(frozen=True)
class RecordRun:
    """``task(spec)``: execute one run and record its outcome in the store at ``store_root``.

    Picklable (a run function importable by name, and strings), so the same task goes to a
    local worker process, a Dask worker, or runs in the sweep's own process.
    """

    run_fn: RunFunction
    store_root: str
    """Absolute: a Dask worker's working directory is not the parent's."""
    store_id: str
    experiment_name: str

    @classmethod
    def into(cls, store: RunStore, run_fn: RunFunction, experiment_name: str) -> RecordRun:
        return cls(run_fn=run_fn, store_root=str(Path(store.root).resolve()),
                   store_id=store.store_id(), experiment_name=experiment_name)

    def __call__(self, spec: RunSpec) -> RunReport:
        outcome = execute_run(self.run_fn, spec)
        return RunReport.of(outcome, recorded=self._record(outcome))

    def _record(self, outcome: RunOutcome) -> bool:
        """Write the outcome into the store; False leaves it to the parent."""
        if outcome.error_type == MissingMetricError.__name__:
            return False  # a mistake in the experiment file, not a result: the sweep stops
        store = RunStore(self.store_root)
        if not store.is_store(self.store_id):
            return False
        try:
            store.write(outcome, self.experiment_name)
        except OSError:  # e.g. a full or read-only disk here: the parent tries, or stops
            return False
        return True
