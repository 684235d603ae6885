"""The configurations of an experiment: which parameter values each run gets.

Grid, random and bayes proposals come from the W&B ``sweeps`` engine. The engine keeps no
state of its own and draws from global random state, so we (1) seed that state from the
experiment seed before every proposal (``seeds.seeded_global_state``), which makes random
and bayes sweeps reproducible, and (2) never ask it what is left to run: a grid is enumerated
once and the run store decides what is done, because the engine will not re-propose a grid
point it has seen, even one that crashed.

Structured designs (Latin hypercube, Sobol, Morris) draw points in the unit cube and map
each coordinate through the parameter's W&B distribution (``HyperParameter.ppf``), so the
same ``parameters:`` block defines their ranges.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from model.sweep import seeds
from model.sweep.experiment import MAX_CONFIGURATIONS, Experiment

if TYPE_CHECKING:
    import sweeps
    from sweeps.params import HyperParameter


def _engine() -> ModuleType:
    """The W&B sweeps engine, imported when a design is first made rather than with this
    module: it takes ~2 s (jsonschema), and every local worker process re-imports the script
    that started the sweep, and with it ``run_experiment`` and this module."""
    # The engine imports its search modules at its first proposal, and importing the bayes
    # one (scikit-learn) draws from Python's global random state. Imported here, before a
    # proposal seeds that state (callers get the engine first), the first proposal of a
    # process is the same as the same proposal asked for again; and the caller's state is
    # left as it was.
    with seeds.preserved_global_state():
        import sweeps
        import sweeps.bayes_search  # noqa: F401

    return sweeps


@dataclass(frozen=True)
class Configuration:
    """One point of the design: the swept parameters' values, and where it came from."""

    config_id: int
    params: dict[str, Any]
    batch: int = 0
    unit: dict[str, float] = field(default_factory=dict)
    """Coordinates in the unit cube, for structured designs (needed by SALib's analyses)."""


def plain(value: Any) -> Any:
    """A numpy scalar or array as plain Python (the engine returns numpy types)."""
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value


_SMALLEST_UNIT = float(np.nextafter(0.0, 1.0))


def unit_value(parameter: HyperParameter, u: float) -> Any:
    """The parameter's value at unit-cube coordinate ``u`` (its quantile function).

    scipy's discrete quantile function puts 0 one step below the support
    (``randint.ppf(0, a, b) == a - 1``): at 0 an int_uniform parameter would get ``min - 1``
    and a ``values`` list its last value. Morris levels include 0 exactly, so for these two
    kinds 0 is moved to the smallest positive coordinate, which gives ``min`` and the first
    value; every other coordinate, and every other kind, maps as before.
    """
    from sweeps.params import HyperParameter

    if u == 0.0 and parameter.type in (HyperParameter.INT_UNIFORM, HyperParameter.CATEGORICAL):
        u = _SMALLEST_UNIT
    return plain(parameter.ppf(u))


def grid_values(parameter: HyperParameter) -> list[Any]:
    """The values a grid enumerates for one parameter, as the engine's grid search does."""
    from sweeps.params import HyperParameter

    config = parameter.config
    if parameter.type == HyperParameter.CONSTANT:
        return [config["value"]]
    if parameter.type == HyperParameter.INT_UNIFORM:
        return list(range(config["min"], config["max"] + 1))
    if parameter.type == HyperParameter.Q_UNIFORM:
        return plain(np.arange(config["min"], config["max"], config["q"]))
    return list(config["values"])


def _from_engine(run: sweeps.SweepRun, experiment: Experiment) -> dict[str, Any]:
    params = {name: plain(spec["value"]) for name, spec in run.config.items()}
    return coerce(experiment, params)


def coerce(experiment: Experiment, params: dict[str, Any]) -> dict[str, Any]:
    """Give each parameter one type in every configuration (ints become floats beside floats).

    YAML reads ``values: [0.5, 1]`` as a float and an int; one Parquet column needs one type.
    """
    out = dict(params)
    for name, value in params.items():
        spec = experiment.sweep.parameters.get(name, {})
        choices = spec.get("values", [])
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in choices)
        if choices and numeric and any(isinstance(v, float) for v in choices):
            out[name] = float(value)
    return out


def grid_design(experiment: Experiment) -> list[Configuration]:
    """Every point of a grid, in the engine's order (parameters sorted by name)."""
    config = experiment.engine_config()
    cap = experiment.sweep.run_cap
    limit = min(cap, MAX_CONFIGURATIONS) if cap else MAX_CONFIGURATIONS
    proposals = _engine().next_runs(config, [], n=limit + 1)
    points = [_from_engine(run, experiment) for run in proposals if run is not None]
    if len(points) > limit and cap is None:
        raise ValueError(f"the grid has more than {limit} points")
    points = points[:limit]
    return [Configuration(i, p) for i, p in enumerate(points)]


def random_proposal(experiment: Experiment, index: int) -> dict[str, Any]:
    """Proposal ``index`` of a random sweep: a pure function of (experiment seed, index)."""
    engine = _engine()
    with seeds.seeded_global_state(seeds.proposal_seed(experiment.seed, index)):
        run = engine.next_run(experiment.engine_config(), [])
    return _from_engine(run, experiment)


def random_design(experiment: Experiment) -> list[Configuration]:
    points = [random_proposal(experiment, i) for i in range(experiment.sweep.run_cap or 0)]
    return [Configuration(i, p) for i, p in enumerate(points)]


@dataclass(frozen=True)
class Outcome:
    """What the bayes engine learns about one configuration: its state and objective."""

    params: dict[str, Any]
    state: str  # "finished", "failed" or "pending"
    value: float = math.nan


def bayes_batch(experiment: Experiment, start: int, history: list[Outcome]) -> list[dict[str, Any]]:
    """Proposals ``start .. start+batch_size-1`` of a bayes sweep, given earlier outcomes.

    Proposals of one batch are drawn one after another, each seeing the earlier ones of the
    batch as pending (the engine then fits the Gaussian process with fantasy values for
    them), so a batch spreads out instead of proposing the same point several times.
    """
    name, _goal = experiment.objective  # type: ignore[misc]
    config = experiment.engine_config()
    runs = [_to_engine(o, name) for o in history]
    size = min(experiment.batch_size, (experiment.sweep.run_cap or 0) - start)
    proposals = []
    engine = _engine()
    for offset in range(size):
        with seeds.seeded_global_state(seeds.proposal_seed(experiment.seed, start + offset)):
            run = engine.next_run(config, runs)
        params = _from_engine(run, experiment)
        proposals.append(params)
        runs.append(_to_engine(Outcome(params, "pending"), name))
    return proposals


def _to_engine(outcome: Outcome, metric: str) -> sweeps.SweepRun:
    engine = _engine()
    state = {"finished": engine.RunState.finished, "failed": engine.RunState.failed,
             "pending": engine.RunState.pending}[outcome.state]
    summary = {metric: outcome.value} if math.isfinite(outcome.value) else {}
    if outcome.state == "finished" and not summary:
        state = engine.RunState.failed
    return engine.SweepRun(config={k: {"value": v} for k, v in outcome.params.items()},
                           state=state, summary_metrics=summary)


def _parameters(experiment: Experiment) -> tuple[list[HyperParameter], list[HyperParameter]]:
    """(varied, constant) parameters in the engine's order."""
    from sweeps.params import HyperParameter, HyperParameterSet

    params = HyperParameterSet.from_config(experiment.sweep.parameters)
    varied = [p for p in params if p.type != HyperParameter.CONSTANT]
    constant = [p for p in params if p.type == HyperParameter.CONSTANT]
    return varied, constant


def salib_problem(experiment: Experiment) -> dict[str, Any]:
    """SALib's problem dict for a structured design, in unit-cube coordinates.

    Indices are computed against the unit-cube coordinate of each parameter; the map to
    the parameter's own scale is monotone and one-to-one, which leaves Sobol indices
    unchanged and makes Morris effects comparable across parameters.
    """
    varied, _ = _parameters(experiment)
    return {"num_vars": len(varied), "names": [p.name for p in varied],
            "bounds": [[0.0, 1.0]] * len(varied)}


def unit_sample(experiment: Experiment) -> np.ndarray:
    """The structured design's points in the unit cube, one row per configuration."""
    sampler = experiment.sampler
    assert sampler is not None
    problem = salib_problem(experiment)
    if sampler.kind == "latin_hypercube":
        from scipy.stats import qmc

        engine = qmc.LatinHypercube(d=problem["num_vars"], rng=seeds.design_rng(experiment.seed))
        return engine.random(sampler.samples)
    if sampler.kind == "sobol":
        from SALib.sample import sobol

        return sobol.sample(problem, sampler.samples, calc_second_order=sampler.second_order,
                            scramble=True, seed=seeds.design_seed(experiment.seed))
    from SALib.sample import morris

    return morris.sample(problem, sampler.samples, num_levels=sampler.levels,
                         seed=seeds.design_seed(experiment.seed))


def sampler_design(experiment: Experiment) -> list[Configuration]:
    varied, constant = _parameters(experiment)
    points = unit_sample(experiment)
    # ppf(1.0) of a continuous distribution is its upper bound; keep it inside [0, 1].
    points = np.clip(points, 0.0, 1.0)
    configurations = []
    params = []
    for row in points:
        values = {p.name: unit_value(p, float(u)) for p, u in zip(varied, row, strict=True)}
        values.update({p.name: plain(p.config["value"]) for p in constant})
        params.append(coerce(experiment, dict(sorted(values.items()))))
    for i, (p, row) in enumerate(zip(params, points, strict=True)):
        unit = {v.name: float(u) for v, u in zip(varied, row, strict=True)}
        configurations.append(Configuration(i, p, unit=unit))
    return configurations


def static_design(experiment: Experiment) -> list[Configuration]:
    """The whole design of a non-sequential experiment (grid, random, structured)."""
    if experiment.sampler is not None:
        return sampler_design(experiment)
    if experiment.sweep.method == "grid":
        return grid_design(experiment)
    if experiment.sweep.method == "random":
        return random_design(experiment)
    raise ValueError("bayes designs are built batch by batch: see bayes_batch")
