"""Experiments: sweeps over scenarios, replicated with common random numbers, executed in
parallel into a resumable run store.

A notebook runs and reads a small experiment in a few lines::

    from model.sweep import load_experiment, run_experiment
    experiment = load_experiment("experiments/veto_vs_comprehensive.yaml")
    result = run_experiment(experiment, "runs/veto", workers=2)
    result.summary            # one row per run: parameters, seed, metrics, status

See ``docs/experiments.md`` for the experiment file format and the store layout.
"""

from model.lazy import lazy_exports

# Lazy (PEP 562): `run.py validate` must not pay for importing every subsystem.
_EXPORTS = {
    "make_backend": "model.sweep.backends",
    "Configuration": "model.sweep.design",
    "static_design": "model.sweep.design",
    "ExperimentResult": "model.sweep.execution",
    "run_experiment": "model.sweep.execution",
    "run_specs": "model.sweep.execution",
    "Experiment": "model.sweep.experiment",
    "ExperimentError": "model.sweep.experiment",
    "experiment_from_dict": "model.sweep.experiment",
    "load_experiment": "model.sweep.experiment",
    "RunOutcome": "model.sweep.runs",
    "RunSpec": "model.sweep.runs",
    "execute_run": "model.sweep.runs",
    "run_model": "model.sweep.runs",
    "replication_seed": "model.sweep.seeds",
    "RunStore": "model.sweep.store",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
