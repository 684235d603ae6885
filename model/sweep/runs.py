"""One run of an experiment: its specification, its execution in a worker, its outcome, and
the short report the worker sends back once it has recorded that outcome in the store.

``execute_run`` runs one specification in a worker (``model.sweep.worker`` then records the
outcome). It never raises for a failing model: an exception becomes a ``failed`` outcome
carrying its traceback, so the sweep goes on. The run function is injectable
(``run_fn(spec) -> result``) for tests and custom models; the default, ``run_model``, loads
the scenario with the run's overrides and calls the runner.
"""

from __future__ import annotations

import difflib
import math
import os
import socket
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class RunSpec:
    """Everything a worker needs to execute one run, and nothing it must look up."""

    run_id: str
    config_id: int
    replication: int
    seed: int
    scenario: str
    params: dict[str, Any]
    """The swept parameters' values for this configuration."""
    overrides: dict[str, Any]
    """Dotted scenario keys applied before validation: the experiment's fixed overrides,
    then ``params``."""
    years: float | None = None
    summary_metrics: tuple[str, ...] = ()
    timeseries_columns: tuple[str, ...] | str | None = None
    """Daily columns to keep, ``"all"``, or None to keep no time series."""
    timeseries_every: int = 1


@dataclass
class RunOutcome:
    """The result of one run as the store records it."""

    spec: RunSpec
    status: str  # "finished" or "failed"
    metrics: dict[str, float] = field(default_factory=dict)
    timeseries: pd.DataFrame | None = None
    error: str | None = None
    traceback: str | None = None
    error_type: str | None = None
    started_at: float = 0.0
    duration_s: float = 0.0
    worker: str = ""
    code_version: str = ""


@dataclass(frozen=True)
class RunReport:
    """What the sweep's parent process hears about one run: enough for the progress bar, the
    counts and the check for a mistaken metric name.

    The outcome itself (metrics, time series, traceback) is written into the store by the
    worker that ran it, so the parent neither receives nor writes it and stays off the cores
    the workers need. ``unrecorded`` carries the whole outcome when no worker wrote it (the
    worker could not reach the store, or died): the parent records it.
    """

    run_id: str
    status: str  # "finished" or "failed"
    error: str | None = None
    error_type: str | None = None
    unrecorded: RunOutcome | None = None

    @classmethod
    def of(cls, outcome: RunOutcome, recorded: bool) -> RunReport:
        return cls(run_id=outcome.spec.run_id, status=outcome.status, error=outcome.error,
                   error_type=outcome.error_type, unrecorded=None if recorded else outcome)


class MissingMetricError(KeyError):
    """A kept metric is not an output of the model: a mistake in the experiment file."""

    def __str__(self) -> str:  # KeyError quotes its message; this one is a sentence
        return str(self.args[0])


RunFunction = Callable[[RunSpec], Any]
"""``run_fn(spec)`` returns an object with ``.summary`` (a mapping) and optionally
``.timeseries`` (a DataFrame with a ``day`` column), or a plain summary mapping."""


def run_model(spec: RunSpec) -> Any:
    """The default run function: load the scenario with the run's overrides and run it."""
    from model.runner import run_scenario
    from model.scenario import load_scenario

    scenario = load_scenario(spec.scenario, spec.overrides)
    return run_scenario(scenario, seed=spec.seed, years=spec.years)


OUTPUT_PROBE_DAYS = 1
"""Days simulated to learn the names of the model's outputs: the summary has no declared list
(``Collector.summary`` builds it), and one day of a county takes well under a second."""


def model_outputs(scenario: str | Path, overrides: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """The summary metrics (dotted, numeric) and daily columns the default run function can
    keep, from a one-day run of the scenario with these overrides."""
    from model.runner import run_scenario
    from model.scenario import load_scenario

    result = run_scenario(load_scenario(scenario, dict(overrides)), years=OUTPUT_PROBE_DAYS / 365)
    summary = [name for name, value in flatten(result.summary).items() if not isinstance(value, str)]
    columns = [c for c in result.timeseries.columns if c != "day"]
    return summary, columns


def unknown_metric(name: str, known: Sequence[str], among: str = "in the model's summary") -> str:
    """What to say of a metric name that is not in ``known``: the closest known name when one
    is close (most such names are misspelt), then every allowed name."""
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{name!r} is not {among}; {hint}allowed: {', '.join(known)}"


def flatten(summary: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested summary entries as dotted keys: ``cadre_hours_share.handling``."""
    flat: dict[str, Any] = {}
    for key, value in summary.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, prefix=f"{name}."))
        else:
            flat[name] = value
    return flat


def _as_float(name: str, value: Any) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool | np.bool_):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"summary metric {name!r} is not a number (got {value!r})") from None


def keep_metrics(summary: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, float]:
    """The kept summary metrics as floats, or MissingMetricError naming what exists."""
    flat = flatten(summary)
    missing = [n for n in names if n not in flat]
    if missing:
        numeric = sorted(k for k, v in flat.items() if not isinstance(v, str))
        raise MissingMetricError(
            f"metric {missing[0]!r} is not in the model's summary; available: "
            + ", ".join(numeric)
        )
    return {n: _as_float(n, flat[n]) for n in names}


def keep_timeseries(frame: pd.DataFrame, columns: tuple[str, ...] | str,
                    every: int) -> pd.DataFrame:
    """The kept daily columns, thinned to every n-th day (the last day always kept)."""
    if "day" not in frame.columns:
        raise ValueError("the run's timeseries has no 'day' column")
    if columns == "all":
        columns = tuple(c for c in frame.columns
                        if c != "day" and pd.api.types.is_numeric_dtype(frame[c]))
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MissingMetricError(
            f"timeseries column {missing[0]!r} is not in the model's output; available: "
            + ", ".join(c for c in frame.columns if c != "day")
        )
    days = frame["day"].to_numpy()
    keep = (days % every == 0) | (np.arange(len(frame)) == len(frame) - 1)
    out = frame.loc[keep, ["day", *columns]].reset_index(drop=True)
    out["day"] = out["day"].astype("int64")
    for column in columns:
        out[column] = out[column].astype("float64")
    return out


def _code_version() -> str:
    try:
        from model.version import code_version

        return code_version()
    except Exception:  # the store must record something even without the model package
        return "unknown"


def execute_run(run_fn: RunFunction, spec: RunSpec) -> RunOutcome:
    """Run ``run_fn(spec)`` and turn whatever happens into a RunOutcome (never raises)."""
    started = time.time()
    clock = time.perf_counter()
    outcome = RunOutcome(spec=spec, status="finished", started_at=started,
                         worker=f"{socket.gethostname()}:{os.getpid()}")
    try:
        result = run_fn(spec)
        summary = getattr(result, "summary", result)
        if not isinstance(summary, Mapping):
            raise TypeError(f"run function returned {type(result).__name__}; expected an "
                            "object with .summary or a mapping")
        outcome.metrics = keep_metrics(summary, spec.summary_metrics)
        version = summary.get("code_version")
        outcome.code_version = str(version) if version else _code_version()
        if spec.timeseries_columns:
            frame = getattr(result, "timeseries", None)
            if frame is None:
                raise ValueError("the experiment keeps time series but the run returned none")
            outcome.timeseries = keep_timeseries(frame, spec.timeseries_columns,
                                                 spec.timeseries_every)
    except Exception as exc:  # a failing run is data, not a reason to stop the sweep
        outcome.status = "failed"
        outcome.metrics = {}
        outcome.timeseries = None
        outcome.error = f"{type(exc).__name__}: {exc}"
        outcome.error_type = type(exc).__name__
        outcome.traceback = traceback.format_exc()
        outcome.code_version = outcome.code_version or _code_version()
    outcome.duration_s = time.perf_counter() - clock
    return outcome


def lost_outcome(spec: RunSpec, why: str) -> RunOutcome:
    """A run whose worker died under it (killed, out of memory, segfault)."""
    return RunOutcome(spec=spec, status="failed", error=why, error_type="WorkerLost",
                      traceback=why, started_at=time.time(), code_version=_code_version())


def lost_report(spec: RunSpec, why: str) -> RunReport:
    """The report of a run whose worker died under it: the parent records the failure."""
    return RunReport.of(lost_outcome(spec, why), recorded=False)
