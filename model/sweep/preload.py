"""Imported by the local backend's fork server before it forks any worker: every worker then
starts with the model, the scenario loader and the store's Parquet writer in memory instead
of importing them itself (~1.8 s of CPU per worker on the 2-core development machine: scipy,
pandas, Mesa), and a second sweep in the same process, or a pool rebuilt after a worker
died, starts at once.

A failing import is swallowed here: it would kill the fork server, and the sweep with an
unhelpful EOFError. Without the preload, each run imports for itself and records the real
error in its traceback, as it always did.
"""

from __future__ import annotations

from importlib import import_module

WORKER_MODULES = ("model.sweep.worker", "model.runner", "model.scenario", "pyarrow.parquet")


def _import_worker_modules() -> None:
    for name in WORKER_MODULES:
        try:
            import_module(name)
        except Exception:  # a model file mid-edit: its runs will say what is wrong
            return


_import_worker_modules()
