"""Experiments: sweeps over scenarios, replicated with common random numbers, executed in
parallel into a resumable run store.

A notebook runs and reads a small experiment in a few lines::

    from model.sweep import load_experiment, run_experiment
    experiment = load_experiment("experiments/veto_vs_comprehensive.yaml")
    result = run_experiment(experiment, "runs/veto", workers=2)
    result.summary            # one row per run: parameters, seed, metrics, status

See ``docs/experiments.md`` for the experiment file format and the store layout.
"""

from model.sweep.backends import make_backend
from model.sweep.design import Configuration, static_design
from model.sweep.execution import ExperimentResult, run_experiment, run_specs
from model.sweep.experiment import (
    Experiment,
    ExperimentError,
    experiment_from_dict,
    load_experiment,
)
from model.sweep.runs import RunOutcome, RunSpec, execute_run, run_model
from model.sweep.seeds import replication_seed
from model.sweep.store import RunStore

__all__ = [
    "Configuration",
    "Experiment",
    "ExperimentError",
    "ExperimentResult",
    "RunOutcome",
    "RunSpec",
    "RunStore",
    "execute_run",
    "experiment_from_dict",
    "load_experiment",
    "make_backend",
    "replication_seed",
    "run_experiment",
    "run_model",
    "run_specs",
    "static_design",
]
