"""Where runs execute: in this process, in local worker processes, or on a Dask cluster.

Every backend takes run specifications and a task (``model.sweep.worker.RecordRun``: run,
record in the store, report) and yields the tasks' ``RunReport``s as they complete. A run
that raises comes back as a ``failed`` report from the worker itself; a worker that *dies*
(killed, out of memory, segfault) is handled here, and its run reported as failed for the
parent to record, so the sweep neither stops nor hangs:

- local processes: a dead worker breaks the whole ``ProcessPoolExecutor``
  (``BrokenProcessPool``) and fails every run in flight. The pool is rebuilt and the runs
  that were in flight are retried one at a time, alone in the pool, so that the run that
  kills its worker is identified and recorded as failed while the innocent ones finish;
- Dask: the scheduler retries a task whose worker died on another worker and gives up with
  ``KilledWorker``, which is recorded as a failed run.

Ctrl-C (or SIGTERM, which the command line turns into the same thing) stops submitting new
runs, lets the runs in flight finish (their workers record them) and yields them, then
raises KeyboardInterrupt; a second Ctrl-C abandons the runs in flight. Results do not depend
on the backend: a run is a pure function of its specification.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

from model.sweep.runs import RunReport, RunSpec, lost_report

PREFETCH_PER_WORKER = 2
"""Runs queued per worker: enough to keep workers busy, few enough that Ctrl-C is quick."""

PRELOAD_MODULE = "model.sweep.preload"
"""Imported once by the fork server, which forks every worker with the model loaded."""

_preloaded_source: str | None = None
"""The model's source hash when this process's fork server was told to preload it."""

Task = Callable[[RunSpec], RunReport]
"""What a worker executes for one run (``model.sweep.worker.RecordRun``)."""


class Backend(Protocol):
    workers: int

    def __enter__(self) -> Backend: ...
    def __exit__(self, *exc: object) -> None: ...
    def run(self, specs: Sequence[RunSpec], task: Task) -> Iterator[RunReport]: ...


def default_workers() -> int:
    """All cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class InProcessBackend:
    """Runs one after another in the calling process (``--workers 0``): for debugging and
    for notebooks whose run function is defined in the notebook itself."""

    workers = 1

    def __enter__(self) -> InProcessBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def run(self, specs: Sequence[RunSpec], task: Task) -> Iterator[RunReport]:
        for spec in specs:
            yield task(spec)


def _model_source() -> str:
    """The hash of the model's files as they are now (``code_version`` caches its own)."""
    from model.version import source_hash

    return source_hash.__wrapped__()


def worker_context(start_method: str) -> multiprocessing.context.BaseContext:
    """The multiprocessing context for a new pool. With 'forkserver', the server (one per
    process, started with the first pool) preloads the model; if the model's files changed
    since, as in a notebook session, new pools use 'spawn' so workers run the current code."""
    global _preloaded_source
    if start_method != "forkserver":
        return multiprocessing.get_context(start_method)
    source = _model_source()
    if _preloaded_source is None:
        # '__main__' is multiprocessing's own default preload, kept for scripts' functions.
        multiprocessing.set_forkserver_preload(["__main__", PRELOAD_MODULE])
        _preloaded_source = source
    if source != _preloaded_source:
        return multiprocessing.get_context("spawn")
    return multiprocessing.get_context("forkserver")


def _ignore_sigint() -> None:
    # The parent handles Ctrl-C for the whole sweep; workers finish their current run.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class LocalBackend:
    """Worker processes on this machine (``ProcessPoolExecutor``, 'forkserver' or 'spawn').

    'fork' is avoided: it copies the parent's threads and locks (tqdm's monitor, Dask's
    event loop) into children, which can deadlock them. The fork server imports the model
    once (``model.sweep.preload``), so a worker starts in milliseconds, not seconds; it lives
    as long as this process, so a second sweep (or a pool rebuilt after a worker died) starts
    at once.
    """

    def __init__(self, workers: int | None = None, start_method: str | None = None):
        self.workers = workers or default_workers()
        methods = multiprocessing.get_all_start_methods()
        self.start_method = start_method or ("forkserver" if "forkserver" in methods else "spawn")
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> LocalBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self._shutdown(abandon=exc[0] is not None)

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.workers,
                                   mp_context=worker_context(self.start_method),
                                   initializer=_ignore_sigint)

    def _shutdown(self, abandon: bool) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if abandon:
            self._terminate_workers(pool)
        pool.shutdown(wait=True, cancel_futures=True)

    @staticmethod
    def _terminate_workers(pool: ProcessPoolExecutor) -> None:
        # ProcessPoolExecutor cannot cancel a running call; its worker processes are ours.
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            if process.is_alive():
                process.terminate()

    def run(self, specs: Sequence[RunSpec], task: Task) -> Iterator[RunReport]:
        pending = deque(specs)
        suspects: deque[RunSpec] = deque()  # in flight when a worker died: retried alone
        in_flight: dict[Future[RunReport], tuple[RunSpec, bool]] = {}
        capacity = self.workers * PREFETCH_PER_WORKER
        stopping = False
        if self._pool is None:
            self._pool = self._new_pool()
        while pending or suspects or in_flight:
            if not stopping:
                if suspects:
                    if not in_flight:
                        spec = suspects.popleft()
                        in_flight[self._pool.submit(task, spec)] = (spec, True)
                else:
                    while pending and len(in_flight) < capacity:
                        spec = pending.popleft()
                        in_flight[self._pool.submit(task, spec)] = (spec, False)
            if not in_flight:
                break
            try:
                done, _ = wait(list(in_flight), return_when=FIRST_COMPLETED)
            except KeyboardInterrupt:
                if stopping:  # second Ctrl-C: abandon the runs in flight
                    self._shutdown(abandon=True)
                    raise
                stopping = True
                print(f"\ninterrupted: finishing {len(in_flight)} run(s) in flight "
                      "(Ctrl-C again to abandon them)", file=sys.stderr, flush=True)
                self._cancel_queued(in_flight)
                continue
            broken = False
            for future in done:
                spec, alone = in_flight.pop(future)
                try:
                    yield future.result()
                except BrokenProcessPool:
                    broken = True
                    if alone:
                        yield lost_report(spec, "the worker process died while running this "
                                          "run (killed, out of memory or crashed); it was "
                                          "retried alone and died again")
                    else:
                        suspects.append(spec)
                except Exception as exc:  # e.g. an unpicklable result
                    yield lost_report(spec, f"{type(exc).__name__}: {exc}")
            if broken:
                for future, (spec, alone) in list(in_flight.items()):
                    if future.done() and not future.cancelled() and future.exception() is None:
                        yield future.result()  # finished before the pool broke
                    elif alone:
                        yield lost_report(spec, "the worker process died while running this run")
                    else:
                        suspects.append(spec)
                in_flight.clear()
                self._shutdown(abandon=True)
                self._pool = self._new_pool()
        if stopping:
            raise KeyboardInterrupt

    @staticmethod
    def _cancel_queued(in_flight: dict[Future[RunReport], Any]) -> None:
        for future in list(in_flight):
            if future.cancel():  # not started yet
                del in_flight[future]


SCHEDULER_TIMEOUT = "30s"
"""How long to wait for a named Dask scheduler to answer before giving up."""

SCHEDULER_SCHEMES = ("tcp", "tls", "ws", "wss")
"""Protocols of a Dask scheduler address that a plain ``distributed`` install speaks."""


def check_scheduler_address(address: str) -> None:
    """Refuse an address that is not of the form ``[scheme://]host:port``, before any work.

    distributed raises a plain ValueError for it only when the client connects, which came
    after the experiment was loaded and its store created.
    """
    scheme, separator, location = address.partition("://")
    if not separator:  # distributed's default protocol
        scheme, location = "tcp", address
    host, colon, port = location.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")  # an IPv6 literal: tcp://[::1]:8786
    if scheme not in SCHEDULER_SCHEMES:
        problem = f"unknown protocol {scheme!r}"
    elif not colon or not port:
        problem = "no port"
    elif not host:
        problem = "no host before the port"
    elif any(c in host for c in "/ \t"):
        problem = f"{host!r} is not a host name"
    elif not port.isdigit() or not 0 < int(port) < 65536:
        problem = f"port {port!r} is not a number from 1 to 65535"
    else:
        return
    from model.sweep.experiment import ExperimentError

    raise ExperimentError(
        f"--scheduler {address}: not a scheduler address ({problem}); allowed: tcp://HOST:PORT "
        f"(or {', '.join(f'{s}://' for s in SCHEDULER_SCHEMES[1:])}), e.g. tcp://10.1.2.3:8786, "
        "or no --scheduler for a local cluster"
    )


class DaskBackend:
    """A Dask distributed cluster: a scheduler address, or a LocalCluster started here.

    On Slurm, start the cluster with dask-jobqueue and pass its scheduler address
    (``docs/experiments.md``). Workers that see the store's directory (a LocalCluster, or a
    shared file system) record their runs in it; the others send the outcome back to this
    process, which records it, so workers need no shared file system (the scenario file
    excepted).
    """

    def __init__(self, workers: int | None = None, scheduler: str | None = None):
        self.requested_workers = workers
        self.scheduler = scheduler
        self.workers = workers or default_workers()
        self._client: Any = None
        self._cluster: Any = None

    def __enter__(self) -> DaskBackend:
        from dask.distributed import Client, LocalCluster

        if self.scheduler:
            try:
                self._client = Client(self.scheduler, timeout=SCHEDULER_TIMEOUT)
            except OSError as err:  # refused, unreachable or timed out: the address is the input to fix
                from model.sweep.experiment import ExperimentError

                raise ExperimentError(
                    f"--scheduler {self.scheduler}: no Dask scheduler answered ({err}); allowed: the address "
                    "of a running scheduler, e.g. tcp://host:8786, or no --scheduler for a local cluster"
                ) from None
        else:
            self._cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1,
                                         processes=True, dashboard_address=None)
            self._client = Client(self._cluster)
        threads = sum(self._client.nthreads().values())
        self.workers = threads or self.workers
        return self

    def __exit__(self, *exc: object) -> None:
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        self._client = self._cluster = None

    def run(self, specs: Sequence[RunSpec], task: Task) -> Iterator[RunReport]:
        from dask.distributed import wait as dask_wait

        client = self._client
        pending = deque(specs)
        capacity = self.workers * PREFETCH_PER_WORKER
        in_flight: dict[Any, RunSpec] = {}
        stopping = False
        while pending or in_flight:
            while pending and not stopping and len(in_flight) < capacity:
                spec = pending.popleft()
                future = client.submit(task, spec, pure=False,
                                       key=f"run-{spec.run_id}-{os.urandom(4).hex()}")
                in_flight[future] = spec
            if not in_flight:
                break
            try:
                done, _ = dask_wait(list(in_flight), return_when="FIRST_COMPLETED")
            except KeyboardInterrupt:
                if stopping:
                    client.cancel(list(in_flight))
                    raise
                stopping = True
                print(f"\ninterrupted: finishing {len(in_flight)} run(s) in flight "
                      "(Ctrl-C again to abandon them)", file=sys.stderr, flush=True)
                continue
            for future in done:
                spec = in_flight.pop(future)
                try:
                    yield future.result()
                except Exception as exc:  # KilledWorker, lost connection to a worker, ...
                    yield lost_report(spec, f"{type(exc).__name__}: {exc}")
                finally:
                    future.release()
        if stopping:
            raise KeyboardInterrupt


def make_backend(name: str = "local", workers: int | None = None,
                 scheduler: str | None = None) -> Backend:
    """The backend called ``name``: 'local' (processes; workers=0 runs in-process) or 'dask'.

    A wrong combination is an ExperimentError (bad input, one line), as everywhere in the API."""
    from model.sweep.experiment import ExperimentError

    if name == "local":
        if scheduler:
            raise ExperimentError(f"scheduler {scheduler!r}: only with backend 'dask' (--backend dask)")
        if workers == 0:
            return InProcessBackend()
        return LocalBackend(workers)
    if name == "dask":
        if scheduler:
            check_scheduler_address(scheduler)
        return DaskBackend(workers or None, scheduler)
    raise ExperimentError(f"backend {name!r}: allowed: local, dask")
