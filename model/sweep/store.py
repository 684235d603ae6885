"""The run store: one directory per experiment, one file per run, each written atomically.

Layout of ``OUT``::

    experiment.yaml        the experiment file as it was run (a copy, for readers)
    experiment.json        the validated experiment, scenario path resolved (for `report`)
    store.json             fingerprint, code version, state of the sweep, counts
    design.parquet         one row per configuration: config_id, batch, parameters
    runs/<run_id>.parquet  one row per finished run: ids, seed, parameters, metrics, timings
    timeseries/<run_id>.parquet   the kept daily series of a finished run
    manifest/<run_id>.json        every run's record: parameters, seed, code version,
                                  timings, status, and the traceback of a failed run
    summary.parquet        every run (finished and failed) in one table, written at the end

A run is done when ``runs/<run_id>.parquet`` exists: it is written last, by renaming a
temporary file in the same directory (``os.replace`` is atomic), so a crash leaves either a
complete run or none. Temporary files start with a dot, which pyarrow's dataset reader
skips, so ``pandas.read_parquet(OUT / "runs")`` is always a consistent table.

Runs are written by the worker process that ran them (``model.sweep.worker``), each to its
own three files, so writers never share a file; the sweep's own process writes the rest.
A worker first checks that it sees *this* store (the random ``store_id`` in ``store.json``):
a Dask worker on a machine without the shared directory sends its outcome back instead.
"""

from __future__ import annotations

import json
import math
import shutil
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from model.atomic import atomic_write_bytes, atomic_write_parquet, remove_temporaries
from model.sweep.design import Configuration
from model.sweep.experiment import Experiment, ExperimentError, experiment_from_dict
from model.sweep.runs import RunOutcome, RunSpec

ID_COLUMNS = ("run_id", "config_id", "replication", "seed", "status")
BOOKKEEPING_COLUMNS = ("error", "code_version", "started_at", "duration_s", "worker")
UNIT_PREFIX = "unit:"
"""Design columns holding unit-cube coordinates of structured designs."""


def run_id(config_id: int, replication: int) -> str:
    """Stable name of a run: configuration and replication, zero-padded so names sort."""
    return f"c{config_id:05d}-r{replication:04d}"


def _atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_bytes(path, json.dumps(data, indent=1, default=str, allow_nan=True).encode())


def _read_json_object(path: Path, allowed: str) -> dict[str, Any]:
    """The JSON object in one of the store's own files. A damaged file (cut short, emptied,
    overwritten) is refused, naming it and ``allowed`` (what to do instead), and left as it is:
    the store's finished runs are in other files."""
    raw = path.read_bytes()
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        why = "empty" if not raw.strip() else f"not JSON: {err}"
    else:
        if isinstance(data, dict):
            return data
        why = "not a JSON object"
    raise ExperimentError(f"{path}: damaged ({why}); the store is left as it is; allowed: {allowed}")


def _read_table(path: Path, allowed: str) -> pd.DataFrame:
    """One of the store's Parquet files, or a folder of them. A damaged file is refused,
    naming it (the first few, for a folder) and ``allowed``, and left as it is."""
    import pyarrow as pa

    try:
        return pd.read_parquet(path)
    except (pa.ArrowException, OSError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
    damaged = [path] if path.is_file() else [p for p in sorted(path.glob("*.parquet")) if not _readable(p)]
    names = ", ".join(str(p) for p in damaged[:3]) + (f" (+{len(damaged) - 3} more)" if len(damaged) > 3 else "")
    raise ExperimentError(f"{names or path}: damaged ({reason}); the store is left as it is; allowed: {allowed}")


def _readable(path: Path) -> bool:
    import pyarrow as pa

    try:
        pd.read_parquet(path)
    except (pa.ArrowException, OSError):
        return False
    return True


_NEW_OUT = "a new --out (the finished runs stay readable: pandas.read_parquet(OUT/runs))"
_RUN_AGAIN = "delete the damaged run file(s) and run the same sweep again: only those runs are simulated again"


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


class RunStore:
    """Read and write the run store of one experiment in ``root``."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.runs_dir = self.root / "runs"
        self.timeseries_dir = self.root / "timeseries"
        self.manifest_dir = self.root / "manifest"

    # -- opening --------------------------------------------------------------------------
    @classmethod
    def check(cls, root: str | Path, experiment: Experiment) -> None:
        """Refuse ``root`` if it holds the store of a different experiment, or tables a resumed
        sweep could not read; writes nothing, so a sweep can check before it starts a cluster
        and create the store after (a damaged table is refused before the store's state is
        touched; the sweep reads them all again when it finishes)."""
        store = cls(root)
        if store._same_definition(experiment):
            store.load_design()
            store.finished_table()

    def _same_definition(self, experiment: Experiment) -> bool:
        """Whether this folder already holds a store (True) of ``experiment``; a store of
        another experiment is refused."""
        if not (self.root / "store.json").is_file():
            return False
        meta = self.meta()
        if meta.get("fingerprint") != experiment.fingerprint():
            raise ExperimentError(
                f"{self.root}: field 'out': this store holds runs of a different "
                f"definition of experiment {meta.get('experiment')!r} (its scenario, "
                "seed, overrides, parameters or metrics changed); allowed: a new --out "
                "directory, or the unchanged experiment"
            )
        return True

    @classmethod
    def create(cls, root: str | Path, experiment: Experiment) -> RunStore:
        """Open ``root`` for ``experiment``, creating it, or refuse a different experiment."""
        store = cls(root)
        store._same_definition(experiment)
        for folder in (store.root, store.runs_dir, store.timeseries_dir, store.manifest_dir):
            folder.mkdir(parents=True, exist_ok=True)
        store._remove_temporaries()
        if experiment.source is not None and experiment.source.is_file():
            shutil.copyfile(experiment.source, store.root / "experiment.yaml")
        data = experiment.model_dump(mode="json")
        data["scenario"] = str(experiment.scenario_path)
        _atomic_write_json(store.root / "experiment.json", data)
        return store

    def experiment(self) -> Experiment:
        """The experiment this store was written for (without re-checking its scenario)."""
        path = self.root / "experiment.json"
        if not path.is_file():
            raise ExperimentError(f"{self.root}: not a run store (no experiment.json); "
                                  "allowed: an --out directory written by `run.py sweep`")
        data = _read_json_object(path, "the same `run.py sweep` command with --out "
                                 f"{self.root}, which rewrites experiment.json and reruns no "
                                 "finished run, or the file restored from a copy")
        return experiment_from_dict(data, source=str(path), check_scenario=False)

    def _remove_temporaries(self) -> None:
        """Temporary files left by a process killed mid-write (before any worker starts)."""
        for folder in (self.root, self.runs_dir, self.timeseries_dir, self.manifest_dir):
            remove_temporaries(folder)

    # -- state ------------------------------------------------------------------------------
    def finished_ids(self) -> set[str]:
        """Runs with a result row."""
        return {p.stem for p in self.runs_dir.glob("*.parquet") if not p.name.startswith(".")}

    def failed_records(self) -> dict[str, dict[str, Any]]:
        """Manifests of runs whose last attempt failed (and that have no result row)."""
        finished = self.finished_ids()
        records = {}
        for path in self.manifest_dir.glob("*.json"):
            if path.name.startswith(".") or path.stem in finished:
                continue
            record = json.loads(path.read_text())
            if record.get("status") == "failed":
                records[path.stem] = record
        return records

    def write_meta(self, experiment: Experiment, **fields: Any) -> None:
        path = self.root / "store.json"
        meta = self.meta() if path.is_file() else {"created_at": _iso(time.time())}
        meta.setdefault("store_id", uuid.uuid4().hex)  # stores written before it get one too
        meta.update(experiment=experiment.name, fingerprint=experiment.fingerprint(),
                    source=str(experiment.source) if experiment.source else None,
                    updated_at=_iso(time.time()), **fields)
        _atomic_write_json(path, meta)

    def meta(self) -> dict[str, Any]:
        """``store.json``: the store's identity, fingerprint and state ({} before the first
        ``write_meta``); a damaged one is refused (ExperimentError), never rewritten."""
        path = self.root / "store.json"
        if not path.is_file():
            return {}
        return _read_json_object(path, f"{_NEW_OUT}, or the file restored from a copy")

    def store_id(self) -> str:
        """This store's random identity, set by the first ``write_meta``."""
        return str(self.meta().get("store_id", ""))

    def is_store(self, store_id: str) -> bool:
        """Whether ``root`` here is the store called ``store_id``: False on a machine where
        the path is missing or is another directory (no shared file system)."""
        try:
            return bool(store_id) and self.store_id() == store_id
        except (OSError, ValueError):  # unreadable, or not JSON
            return False

    # -- design -----------------------------------------------------------------------------
    def save_design(self, configurations: Iterable[Configuration]) -> None:
        rows = []
        for c in configurations:
            row: dict[str, Any] = {"config_id": c.config_id, "batch": c.batch, **c.params}
            row.update({f"{UNIT_PREFIX}{k}": v for k, v in c.unit.items()})
            rows.append(row)
        atomic_write_parquet(self.root / "design.parquet", pd.DataFrame(rows))

    def load_design(self) -> list[Configuration]:
        path = self.root / "design.parquet"
        if not path.is_file():
            return []
        frame = _read_table(path, _NEW_OUT)
        params = [c for c in frame.columns
                  if c not in ("config_id", "batch") and not c.startswith(UNIT_PREFIX)]
        units = [c for c in frame.columns if c.startswith(UNIT_PREFIX)]
        out = []
        for record in frame.to_dict("records"):
            out.append(Configuration(
                config_id=int(record["config_id"]), batch=int(record["batch"]),
                params={p: _plain(record[p]) for p in params},
                unit={u[len(UNIT_PREFIX):]: float(record[u]) for u in units},
            ))
        return out

    def design_frame(self) -> pd.DataFrame:
        path = self.root / "design.parquet"
        return _read_table(path, _NEW_OUT) if path.is_file() else pd.DataFrame()

    # -- writing runs -------------------------------------------------------------------------
    def write(self, outcome: RunOutcome, experiment_name: str) -> None:
        """Record one run: time series, then manifest, then the result row (the commit)."""
        spec = outcome.spec
        record = self._manifest(outcome, experiment_name)
        if outcome.status == "finished":
            if outcome.timeseries is not None:
                frame = outcome.timeseries.copy()
                frame.insert(0, "replication", spec.replication)
                frame.insert(0, "config_id", spec.config_id)
                frame.insert(0, "run_id", spec.run_id)
                atomic_write_parquet(self.timeseries_dir / f"{spec.run_id}.parquet", frame)
            _atomic_write_json(self.manifest_dir / f"{spec.run_id}.json", record)
            atomic_write_parquet(self.runs_dir / f"{spec.run_id}.parquet",
                                  pd.DataFrame([self._row(outcome)]))
        else:
            _atomic_write_json(self.manifest_dir / f"{spec.run_id}.json", record)

    @staticmethod
    def _row(outcome: RunOutcome) -> dict[str, Any]:
        spec = outcome.spec
        row: dict[str, Any] = {"run_id": spec.run_id, "config_id": spec.config_id,
                               "replication": spec.replication, "seed": spec.seed,
                               "status": outcome.status}
        row.update(spec.params)
        row.update(outcome.metrics)
        row.update(error=outcome.error or "", code_version=outcome.code_version,
                   started_at=pd.Timestamp(outcome.started_at, unit="s", tz="UTC"),
                   duration_s=float(outcome.duration_s), worker=outcome.worker)
        return row

    @staticmethod
    def _manifest(outcome: RunOutcome, experiment_name: str) -> dict[str, Any]:
        spec: RunSpec = outcome.spec
        return {
            "experiment": experiment_name, "run_id": spec.run_id,
            "config_id": spec.config_id, "replication": spec.replication, "seed": spec.seed,
            "params": spec.params, "overrides": spec.overrides, "scenario": spec.scenario,
            "years": spec.years, "status": outcome.status, "error": outcome.error,
            "error_type": outcome.error_type, "traceback": outcome.traceback,
            "code_version": outcome.code_version, "started_at": _iso(outcome.started_at),
            "duration_s": outcome.duration_s, "worker": outcome.worker,
            "written_at": _iso(time.time()),
        }

    # -- reading ------------------------------------------------------------------------------
    def finished_table(self) -> pd.DataFrame:
        """The result rows of finished runs, as ``pandas.read_parquet(OUT / 'runs')``."""
        if not self.finished_ids():
            return pd.DataFrame()
        frame = _read_table(self.runs_dir, _RUN_AGAIN)
        return frame.sort_values(["config_id", "replication"]).reset_index(drop=True)

    def summary(self) -> pd.DataFrame:
        """Every run recorded: finished rows, then failed ones with NaN metrics and the error."""
        finished = self.finished_table()
        failed = []
        for record in self.failed_records().values():
            row = {"run_id": record["run_id"], "config_id": record["config_id"],
                   "replication": record["replication"], "seed": record["seed"],
                   "status": "failed", **record["params"], "error": record["error"] or "",
                   "code_version": record["code_version"],
                   "started_at": pd.Timestamp(record["started_at"]),
                   "duration_s": record["duration_s"], "worker": record["worker"]}
            failed.append(row)
        if not failed:
            return finished
        failed_frame = pd.DataFrame(failed)
        if finished.empty:
            frame = failed_frame
        else:
            for column in finished.columns:
                if column not in failed_frame:
                    failed_frame[column] = math.nan
            frame = pd.concat([finished, failed_frame[finished.columns]], ignore_index=True)
        return frame.sort_values(["config_id", "replication"]).reset_index(drop=True)

    def timeseries(self) -> pd.DataFrame:
        """Every kept daily series, long format: run_id, config_id, replication, day, ..."""
        if not any(self.timeseries_dir.glob("*.parquet")):
            return pd.DataFrame()
        frame = _read_table(self.timeseries_dir, _RUN_AGAIN)
        finished = self.finished_ids()  # a series whose run row was never committed is stale
        frame = frame[frame["run_id"].isin(finished)]
        return frame.sort_values(["config_id", "replication", "day"]).reset_index(drop=True)

    def consolidate(self) -> pd.DataFrame:
        """Write ``summary.parquet`` (every run recorded so far) and return it."""
        table = self.summary()
        atomic_write_parquet(self.root / "summary.parquet", table)
        return table


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
