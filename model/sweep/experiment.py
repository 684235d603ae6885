"""Experiment files: what to vary, how often to replicate, what to keep and what to analyse.

An experiment file (YAML, in ``experiments/``) names a base scenario, fixed overrides, the
parameters to vary in the W&B sweep schema (driven by the ``sweeps`` package), the number of
replications, the metrics to keep and the analyses to run. ``docs/experiments.md`` documents
every field; this module is the schema and its checks. ``load_experiment`` returns a
validated ``Experiment`` or raises ``ExperimentError`` with one line naming the file, the
field and what is allowed.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from model.fiscal import COUNTY_PURPOSES, SPENDING_PURPOSES
from model.incidents import STATES as INCIDENT_STATES
from model.scenario import LEVELS, PLATFORMS, TASKS, ScenarioError, Years, load_scenario, read_yaml

SWEEP_METHODS = ("grid", "random", "bayes")
"""Search methods of the W&B sweep engine (``sweeps`` package)."""

SAMPLERS = ("latin_hypercube", "sobol", "morris")
"""Structured designs that replace random draws (an extension of the W&B schema)."""

CALIBRATION_METRIC = "calibration_distance"
"""Name of the distance between simulated and target statistics, minimised by ``bayes``."""

DEFAULT_SUMMARY_METRICS = (
    "incidents_total",
    "incidents_resolved",
    "resolution_rate",
    "mean_days_to_resolve",
    *(f"mean_days_to_resolve_by_level.{level}" for level in LEVELS),
    "mean_days_on_books_when_late",
    "backlog_end",
    "hidden_end",
    "disposal_rate",
    "timeliness_rate",
    "closure_rate",
    "satisfaction_rate",
    "disposal_rate_reported",
    "timeliness_rate_reported",
    "closure_rate_reported",
    "satisfaction_rate_reported",
    "petitions_true",
    "petitions_reported",
    "skip_level_petitions_true",
    "skip_level_petitions_reported",
    "collective_petitions",
    "interceptions",
    "interception_spending",
    "concealed_incidents",
    "concealment_detected",
    "deferred_promises",
    "promises_broken",
    "escalated_by_residents",
    "spending_total",
    *(f"spending_by_purpose.{purpose}" for purpose in SPENDING_PURPOSES),
    *(f"spending_by_purpose.county_{purpose}" for purpose in COUNTY_PURPOSES),
    "debt_end",
    *(f"cadre_hours_share.{task}" for task in TASKS),
    "cadre_hours_entropy",
    "staff_on_post_mean",
    "cadre_turnover",
    "trust_mean_end",
    "grievance_mean_end",
    "hidden_grievance",
    "local_settlement_share",
    "township_share",
    "mediation_success",
    "mediation_attempt_success",
    "neighbour_point_success",
    "cadre_hours_by_unit.village",
    "cadre_hours_by_unit.township",
    *(f"handling_hours_by_level.{level}" for level in LEVELS),
    *(f"cadre_handling_hours_by_duty.{platform}" for platform in PLATFORMS),
    "discovered_by_grid",
    "discovered_by_associations",
    "reported_by_residents",
    "evaluations_failed",
    "projects",
    "residents",
    "villages",
    "days",
    *(f"states.{state}" for state in INCIDENT_STATES),
)
"""Summary statistics kept when an experiment does not list its own: every number in a run's
``summary.json``, nested tables flattened to dotted names, in its order, except ``seed`` (a
column of the run table already) and ``years`` (fixed by the experiment). Part of the store's
fingerprint, so a statistic added to the model is added here by hand (a test compares the two)."""

MAX_CONFIGURATIONS = 100_000
"""Refuse designs larger than this: a typo in a grid should not schedule a million runs."""


class ExperimentError(ScenarioError):
    """An experiment file is invalid; the one-line message names file, field and allowed."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SweepSpec(_Strict):
    """The W&B sweep block, passed to ``sweeps.next_run`` as it is written."""

    method: Literal["grid", "random", "bayes"] = Field(
        ..., description="grid: every combination; random: independent draws; bayes: "
        "Gaussian-process search toward `metric`."
    )
    parameters: dict[str, dict[str, Any]] = Field(
        ..., min_length=1, description="Dotted scenario key → W&B parameter spec "
        "(`values`, `value`, `distribution` with `min`/`max`, `mu`/`sigma`, `q`, ...)."
    )
    metric: dict[str, Any] | None = Field(
        None, description="bayes only: `{name, goal: minimize|maximize}`; defaults to "
        "calibration_distance / minimize when the experiment has a `calibration` block."
    )
    run_cap: int | None = Field(
        None, ge=1, le=MAX_CONFIGURATIONS, description="Number of parameter configurations "
        "to propose (random, bayes); a grid is run whole unless capped. Each configuration "
        "runs `replications` times."
    )


class SamplerSpec(_Strict):
    """A structured design over the sweep's parameter distributions."""

    kind: Literal["latin_hypercube", "sobol", "morris"] = Field(
        ..., description="latin_hypercube (scipy.stats.qmc), sobol (Saltelli design, SALib) "
        "or morris (elementary-effects trajectories, SALib)."
    )
    samples: int = Field(
        ..., ge=2, le=MAX_CONFIGURATIONS, description="latin_hypercube: configurations; "
        "sobol: base sample N (a power of 2), giving N·(D+2) configurations, N·(2D+2) with "
        "second order; morris: trajectories, giving r·(D+1) configurations."
    )
    levels: int = Field(4, ge=2, le=20, description="morris: grid levels per parameter.")
    second_order: bool = Field(False, description="sobol: also estimate second-order indices.")


class Target(_Strict):
    """One statistic the model should reproduce."""

    metric: str = Field(..., description="A summary metric of the model.")
    value: float = Field(..., description="The observed value, in the metric's units.")
    scale: float = Field(..., gt=0, description="Tolerance in the metric's units: a miss of "
                         "one `scale` costs `weight` (squared distance) — e.g. the standard "
                         "error of the observation.")
    weight: float = Field(1.0, ge=0, description="Relative importance of this target.")
    source: str = Field("", description="Where the observed value comes from.")


class CalibrationSpec(_Strict):
    """Targets and distance for a calibration (bayes) experiment."""

    targets: list[Target] = Field(..., min_length=1)
    distance: Literal["weighted_squared", "weighted_absolute"] = Field(
        "weighted_squared", description="Σ w·((mean − value)/scale)² or Σ w·|mean − value|/scale, "
        "where mean is the replication mean of the metric in one configuration."
    )

    def distance_of(self, means: dict[str, float]) -> float:
        """Distance between replication means and targets (NaN if a metric is missing)."""
        total = 0.0
        for target in self.targets:
            mean = means.get(target.metric, math.nan)
            if mean is None or not math.isfinite(mean):
                return math.nan
            miss = (mean - target.value) / target.scale
            squared = self.distance == "weighted_squared"
            total += target.weight * (miss * miss if squared else abs(miss))
        return total


class TimeseriesSpec(_Strict):
    columns: list[str] | Literal["all"] = Field(..., description="Daily columns to keep, or 'all'.")
    every: int = Field(1, ge=1, le=3650, description="Keep every n-th day (and the last one).")


class MetricsSpec(_Strict):
    summary: list[str] = Field(
        default_factory=lambda: list(DEFAULT_SUMMARY_METRICS),
        description="Summary statistics to keep; nested ones are dotted "
        "(`cadre_hours_share.handling`).",
    )
    timeseries: TimeseriesSpec | None = Field(None, description="Daily series to keep.")


class _Analysis(_Strict):
    title: str | None = Field(None, description="Figure title; a default is derived.")
    where: dict[str, Any] = Field(default_factory=dict, description="Keep only runs whose "
                                  "swept parameters have these values.")


class PairedAnalysis(_Analysis):
    kind: Literal["paired"]
    arm: str = Field(..., description="The swept parameter whose values are the arms.")
    baseline: Any = Field(..., description="The arm every other arm is compared with.")
    metrics: list[str] | None = Field(None, description="Default: every summary metric.")
    by: list[str] | None = Field(None, description="Parameters held fixed within a pair; "
                                 "default: every other swept parameter.")
    confidence: float = Field(0.95, gt=0, lt=1)


class TimeseriesAnalysis(_Analysis):
    kind: Literal["timeseries"]
    columns: list[str] | None = Field(None, description="Default: every kept column.")
    by: str | None = Field(None, description="Swept parameter drawn as separate lines.")
    facet: str | None = Field(None, description="Swept parameter drawn as separate panels.")
    confidence: float = Field(0.95, gt=0, lt=1)


class Contrast(_Strict):
    arm: str = Field(..., description="Swept parameter whose arms are contrasted.")
    baseline: Any = Field(..., description="The arm subtracted from the others.")


class HeatmapAnalysis(_Analysis):
    kind: Literal["heatmap"]
    x: str
    y: str
    metrics: list[str] | None = None
    facet: str | None = None
    contrast: Contrast | None = Field(None, description="Show the paired difference "
                                      "arm − baseline instead of the mean.")


class SensitivityAnalysis(_Analysis):
    kind: Literal["sensitivity"]
    metrics: list[str] | None = None
    confidence: float = Field(0.95, gt=0, lt=1)
    resamples: int = Field(1000, ge=10, le=100_000, description="Bootstrap resamples.")


class DiscoveryAnalysis(_Analysis):
    kind: Literal["scenario_discovery"]
    metric: str
    quantile: float = Field(0.9, gt=0, lt=1, description="Cases of interest: configurations "
                            "beyond this quantile of the metric (top decile by default).")
    direction: Literal["above", "below"] = "above"
    threshold: float | None = Field(None, description="An absolute threshold instead of the "
                                    "quantile.")
    min_density: float = Field(0.8, gt=0, le=1, description="Pick the box of largest "
                               "coverage whose density reaches this.")
    max_boxes: int = Field(2, ge=1, le=10)
    peel_alpha: float = Field(0.05, gt=0, lt=0.5)


class CalibrationAnalysis(_Analysis):
    kind: Literal["calibration"]


Analysis = Annotated[
    PairedAnalysis | TimeseriesAnalysis | HeatmapAnalysis | SensitivityAnalysis
    | DiscoveryAnalysis | CalibrationAnalysis,
    Field(discriminator="kind"),
]


class Experiment(_Strict):
    name: str = Field(..., min_length=1, pattern=r"^[A-Za-z0-9_.-]+$",
                      description="Used as the default output directory name.")
    description: str = ""
    scenario: str = Field(..., description="Base scenario file, relative to this file.")
    years: Years | None = Field(None, description="Horizon, at least one day (1/365); default: "
                                "the scenario's own.")
    seed: int = Field(..., ge=0, description="Root of every seed of the experiment.")
    replications: int = Field(..., ge=1, le=10_000, description="Runs per configuration, "
                              "with the same seeds in every configuration.")
    overrides: dict[str, Any] = Field(default_factory=dict, description="Dotted scenario keys "
                                      "fixed in every run.")
    sweep: SweepSpec
    sampler: SamplerSpec | None = None
    batch_size: int = Field(4, ge=1, le=1000, description="bayes: configurations proposed "
                            "together (a property of the experiment, not of the workers, "
                            "so that results do not depend on the worker count).")
    calibration: CalibrationSpec | None = None
    metrics: MetricsSpec = Field(default_factory=MetricsSpec)
    analyses: list[Analysis] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict, description="Reader-facing names of "
                                   "parameters, metrics and values, for figures.")

    _source: Path | None = PrivateAttr(default=None)
    _origin: str = PrivateAttr(default="<experiment>")
    _outputs_checked: bool = PrivateAttr(default=False)

    @property
    def origin(self) -> str:
        """How error messages name this experiment: its file, or the name it was given."""
        return self._origin

    @property
    def outputs_checked(self) -> bool:
        """Whether the kept metrics were found among the model's outputs (``check_outputs``)."""
        return self._outputs_checked

    @property
    def source(self) -> Path | None:
        """The file this experiment was read from, if any."""
        return self._source

    @property
    def scenario_path(self) -> Path:
        """The base scenario, resolved against the experiment file's folder."""
        path = Path(self.scenario)
        if not path.is_absolute() and self._source is not None:
            path = self._source.parent / path
        return path.resolve()

    @property
    def parameter_names(self) -> list[str]:
        """Swept parameters in the engine's (sorted) order, constants included."""
        return sorted(self.sweep.parameters)

    @property
    def varied_parameters(self) -> list[str]:
        """Swept parameters that take more than one value."""
        return [n for n in self.parameter_names if not _is_constant(self.sweep.parameters[n])]

    @property
    def summary_metrics(self) -> list[str]:
        """Summary metrics to keep, calibration targets included."""
        kept = list(self.metrics.summary)
        for target in self.calibration.targets if self.calibration else []:
            if target.metric not in kept:
                kept.append(target.metric)
        return kept

    @property
    def objective(self) -> tuple[str, str] | None:
        """(metric, goal) that a bayes sweep optimises, or None."""
        if self.sweep.metric is not None:
            return self.sweep.metric["name"], self.sweep.metric.get("goal", "minimize")
        if self.calibration is not None:
            return CALIBRATION_METRIC, "minimize"
        return None

    @property
    def is_sequential(self) -> bool:
        """Whether proposals depend on earlier results (bayes)."""
        return self.sweep.method == "bayes"

    def engine_config(self) -> dict[str, Any]:
        """The sweep block as the ``sweeps`` engine reads it."""
        config: dict[str, Any] = {"method": self.sweep.method,
                                  "parameters": self.sweep.parameters}
        if self.sweep.method == "bayes":
            name, goal = self.objective  # type: ignore[misc]
            config["metric"] = {**(self.sweep.metric or {}), "name": name, "goal": goal}
        return config

    def fingerprint(self) -> str:
        """Hash of what determines each run's result; stores refuse a changed one.

        The scenario counts by the contents of its file and of every file it extends.
        Excluded: replications and run_cap (a store can be extended with more), the
        analyses, labels and description (they do not change any run).
        """
        data = self.model_dump(mode="json", exclude={"replications", "analyses", "labels",
                                                     "description", "name"})
        data["sweep"].pop("run_cap", None)
        scenario, *parents = [_file_hash(path) for path in _scenario_files(self.scenario_path)]
        data["scenario"] = scenario
        if parents:  # only then: stores of scenarios that extend nothing keep their fingerprint
            data["scenario_extends"] = parents
        text = json.dumps(data, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _scenario_files(path: Path) -> list[Path]:
    """The scenario file and the files its ``extends:`` chain names, child first.

    A run reads all of them (``model.scenario.resolve_extends``), so an edit to any one of
    them changes the runs of an experiment on this scenario.
    """
    files = [path]
    while True:
        try:
            data = read_yaml(files[-1])
        except ScenarioError:
            return files  # loading the scenario reports it; nothing more to hash
        parent = data.get("extends") if isinstance(data, dict) else None
        if not isinstance(parent, str):
            return files
        parent_path = (files[-1].parent / parent).resolve()
        if parent_path in files or not parent_path.is_file():  # loading the scenario reports it
            return files
        files.append(parent_path)


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _is_constant(spec: dict[str, Any]) -> bool:
    return "value" in spec and "values" not in spec and "distribution" not in spec


def _error(source: str, field: str, what: str) -> ExperimentError:
    return ExperimentError(f"{source}: field '{field}': {what}")


def _describe(err: ValidationError, source: str) -> str:
    first = err.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or "(top level)"
    if first["type"] == "extra_forbidden":
        parent = first["loc"][:-1]
        what = "unknown field"
        allowed = _allowed_fields(parent)
        if allowed:
            what += f"; allowed: {', '.join(allowed)}"
    elif first["type"] == "missing":
        what = "required field is missing"
    elif first["type"] == "value_error":  # a validator of ours: says what it got and allows
        what = first["msg"].removeprefix("Value error, ")
    else:
        what = first["msg"]
        if "input" in first and not isinstance(first["input"], dict | list):
            what += f" (got {first['input']!r})"
    more = f" (+{len(err.errors()) - 1} more)" if len(err.errors()) > 1 else ""
    return f"{source}: field '{field}': {what}{more}"


def _allowed_fields(loc: tuple[Any, ...]) -> list[str]:
    """Field names allowed at a location of the schema, for error messages."""
    model: type[BaseModel] | None = Experiment
    for key in loc:
        if model is None:
            return []
        if isinstance(key, int):
            continue
        field = model.model_fields.get(str(key))
        if field is None:
            # a tag of the analyses union
            tagged = {a.model_fields["kind"].annotation.__args__[0]: a for a in
                      (PairedAnalysis, TimeseriesAnalysis, HeatmapAnalysis,
                       SensitivityAnalysis, DiscoveryAnalysis, CalibrationAnalysis)}
            model = tagged.get(str(key))
            continue
        annotation = field.annotation
        model = None
        for candidate in (annotation, *getattr(annotation, "__args__", ())):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                model = candidate
    return list(model.model_fields) if model is not None else []


def experiment_from_dict(data: Any, source: str = "<experiment>",
                         base_dir: Path | None = None, check_scenario: bool = True) -> Experiment:
    """Validate raw data as an Experiment, as ``load_experiment`` does for a file."""
    if not isinstance(data, dict):
        raise ExperimentError(f"{source}: expected a YAML mapping at top level")
    try:
        experiment = Experiment.model_validate(data)
    except ValidationError as err:
        raise ExperimentError(_describe(err, source)) from None
    if base_dir is not None:
        experiment._source = (base_dir / "experiment.yaml").resolve()
    experiment._origin = source
    _check(experiment, source, check_scenario)
    return experiment


def load_experiment(path: str | Path, check_scenario: bool = True) -> Experiment:
    """Load and validate an experiment file.

    With ``check_scenario`` (the default) every swept value is also applied to the base
    scenario and validated there, so a misspelt key or an out-of-range value is reported
    before any run starts.
    """
    path = Path(path)
    try:
        data = read_yaml(path)
    except ScenarioError as err:
        raise ExperimentError(str(err)) from None
    if not isinstance(data, dict):
        raise ExperimentError(f"{path}: expected a YAML mapping at top level")
    try:
        experiment = Experiment.model_validate(data)
    except ValidationError as err:
        raise ExperimentError(_describe(err, str(path))) from None
    experiment._source = path.resolve()
    experiment._origin = str(path)
    _check(experiment, str(path), check_scenario)
    return experiment


def _check(exp: Experiment, source: str, check_scenario: bool) -> None:
    """Checks that span fields; each raises an ExperimentError naming the field."""
    _check_seed_and_years(exp, source)
    _check_sweep(exp, source)
    if check_scenario:  # before the analyses: a misspelt key is the root cause to report
        _check_against_scenario(exp, source)
    _check_metrics(exp, source)
    if check_scenario:
        check_outputs(exp)
    _check_analyses(exp, source)


_SEED_IS_THE_EXPERIMENTS = ("every run's seed comes from the experiment's top-level `seed:` and "
                            "its replication, the same seeds in every configuration; allowed: "
                            "`replications: N` for more seeds, or another top-level `seed:` for "
                            "other ones")
_YEARS_ARE_THE_EXPERIMENTS = ("every run lasts the experiment's top-level `years:`; allowed: "
                              "`years:` at the experiment's top level, one experiment (and --out) "
                              "per horizon")


def _check_seed_and_years(exp: Experiment, source: str) -> None:
    """Refuse the scenario's ``seed`` and ``years`` as parameters or overrides: each run's seed
    and horizon are passed to the model beside its scenario and win over it, so a swept value
    was never used (identical results, and a column showing values that did not run)."""
    for name in ("seed", "years"):
        if name in exp.sweep.parameters:
            why = _SEED_IS_THE_EXPERIMENTS if name == "seed" else _YEARS_ARE_THE_EXPERIMENTS
            raise _error(source, f"sweep.parameters.{name}", f"not a parameter: {why}")
    if "seed" in exp.overrides:
        raise _error(source, "overrides.seed", f"would be ignored: {_SEED_IS_THE_EXPERIMENTS}")
    if "years" in exp.overrides and exp.years is not None:
        raise _error(source, "overrides.years", "would be ignored: the top-level `years:` "
                     f"sets the horizon; allowed: one of the two, `years: {exp.years}` at the "
                     "top level")


def _check_sweep(exp: Experiment, source: str) -> None:
    from sweeps import schema_violations_from_proposed_config
    from sweeps.params import HyperParameter

    method = exp.sweep.method
    for name, spec in exp.sweep.parameters.items():
        field = f"sweep.parameters.{name}"
        if ".wbnest" in name or not name or name.startswith(".") or name.endswith("."):
            raise _error(source, field, "a parameter is a dotted scenario key such as "
                         "'staffing.fill_rate'")
        if "parameters" in spec:
            raise _error(source, field, "nested parameter groups are not supported; write "
                         "dotted scenario keys instead")
        try:
            violations = schema_violations_from_proposed_config(
                {"method": "random" if method == "grid" else method,
                 "parameters": {name: spec},
                 **({"metric": {"name": "m", "goal": "minimize"}} if method == "bayes" else {})}
            )
        except Exception as err:  # the schema code raises plain ValueErrors too
            violations = [str(err)]
        if violations:
            raise _error(source, field, f"{violations[0]}; allowed: `values: [...]`, "
                         "`value: x`, or `distribution: uniform|int_uniform|log_uniform_values"
                         "|q_uniform|normal|...` with `min`/`max` (the W&B sweep schema)")
        try:
            parameter = HyperParameter(name, spec)
        except Exception as err:
            raise _error(source, field, f"not a valid W&B parameter: {err}") from None
        if method == "grid" and parameter.type not in (
            HyperParameter.CATEGORICAL, HyperParameter.CONSTANT, HyperParameter.INT_UNIFORM,
            HyperParameter.Q_UNIFORM,
        ):
            raise _error(source, field, "a grid cannot enumerate a continuous distribution; "
                         "allowed: `values: [...]`, `value: x`, or an int_uniform / q_uniform "
                         "distribution (or method random / bayes)")
        if parameter.type == HyperParameter.CATEGORICAL:
            kinds = {_value_kind(v) for v in spec["values"]}
            if len(kinds) > 1:
                raise _error(source, field, f"values mix types ({', '.join(sorted(kinds))}); "
                             "allowed: all numbers, all strings or all booleans")
    if method == "grid" and exp.sweep.run_cap is None:
        _check_grid_size(exp, source)
    if method == "bayes":
        if exp.objective is None:
            raise _error(source, "sweep.metric", "bayes needs a metric to optimise; allowed: "
                         "`metric: {name: <summary metric>, goal: minimize|maximize}` or a "
                         "`calibration:` block")
        name, goal = exp.objective
        if goal not in ("minimize", "maximize"):
            raise _error(source, "sweep.metric.goal", f"{goal!r}; allowed: minimize, maximize")
        if name != CALIBRATION_METRIC and name not in exp.summary_metrics:
            raise _error(source, "sweep.metric.name", f"{name!r} is not a kept summary metric; "
                         f"allowed: {CALIBRATION_METRIC}, {', '.join(exp.summary_metrics)}")
        if name == CALIBRATION_METRIC and exp.calibration is None:
            raise _error(source, "calibration", f"metric {CALIBRATION_METRIC} needs a "
                         "calibration block with targets")
        if not exp.varied_parameters:
            raise _error(source, "sweep.parameters", "bayes needs at least one varied parameter")
    if method in ("random", "bayes") and exp.sweep.run_cap is None and exp.sampler is None:
        raise _error(source, "sweep.run_cap", f"method {method} needs the number of "
                     "configurations to propose; allowed: an integer >= 1")
    if exp.sampler is not None:
        if method != "random":
            raise _error(source, "sampler", f"a sampler draws from the sweep's distributions "
                         f"and needs `sweep.method: random` (got {method})")
        if not exp.varied_parameters:
            raise _error(source, "sampler", "a sampler needs at least one varied parameter")
        if exp.sampler.kind == "sobol":
            n = exp.sampler.samples
            if n & (n - 1):
                raise _error(source, "sampler.samples", f"{n}: Sobol sequences need a power "
                             "of 2; allowed: 2, 4, 8, 16, 32, 64, ...")


def _check_grid_size(exp: Experiment, source: str) -> None:
    """Refuse a grid larger than MAX_CONFIGURATIONS from its parameters' value counts, before
    any of its values is checked against the scenario (which takes a while for a big grid)."""
    from sweeps.params import HyperParameter

    from model.sweep.design import grid_values

    counts = {name: len(grid_values(HyperParameter(name, spec)))
              for name, spec in exp.sweep.parameters.items()}
    size = math.prod(counts.values())
    if size > MAX_CONFIGURATIONS:
        factors = " × ".join(f"{name}: {n} values" for name, n in counts.items() if n > 1)
        raise _error(source, "sweep.parameters", f"the grid has {size:,} points ({factors}); "
                     f"allowed: at most {MAX_CONFIGURATIONS:,}, or `sweep.run_cap` to run the "
                     "first ones")


def _value_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return type(value).__name__


def _check_metrics(exp: Experiment, source: str) -> None:
    if not exp.summary_metrics:
        raise _error(source, "metrics.summary", "keep at least one summary metric")
    for i, name in enumerate(exp.metrics.summary):
        if name in exp.sweep.parameters or name in _RESERVED_COLUMNS:
            raise _error(source, f"metrics.summary.{i}", f"{name!r} clashes with a column of "
                         "the run table (a parameter or a bookkeeping column)")


def check_outputs(exp: Experiment) -> None:
    """Check that the model outputs every kept metric and daily column, before anything runs.

    The names come from a one-day run of the base scenario with the fixed overrides
    (``runs.model_outputs``); otherwise a misspelt name surfaced only after the first run, in a
    store then tied to the misspelt definition. For experiments run by the model (the default
    run function): ``load_experiment`` calls it, and ``run_experiment`` if the experiment was
    built without scenario checks.
    """
    from model.sweep.runs import model_outputs, unknown_metric

    source = exp.origin
    try:
        summary, columns = model_outputs(exp.scenario_path, exp.overrides)
    except ScenarioError as err:
        raise _error(source, "scenario", str(err)) from None
    kept = [(f"metrics.summary.{i}", name) for i, name in enumerate(exp.metrics.summary)]
    targets = exp.calibration.targets if exp.calibration else []
    kept += [(f"calibration.targets.{i}.metric", t.metric) for i, t in enumerate(targets)]
    for field, name in kept:
        if name not in summary:
            raise _error(source, field, unknown_metric(name, summary))
    series = exp.metrics.timeseries
    for i, name in enumerate(series.columns if series and series.columns != "all" else []):
        if name not in columns:
            raise _error(source, f"metrics.timeseries.columns.{i}", f"{name!r} is not a daily "
                         f"column of the model; allowed: {', '.join(columns)}")
    exp._outputs_checked = True


_RESERVED_COLUMNS = ("run_id", "config_id", "replication", "seed", "status", "error",
                     "code_version", "started_at", "duration_s", "worker", "day")


def _check_analyses(exp: Experiment, source: str) -> None:
    varied = exp.varied_parameters
    metrics = exp.summary_metrics
    kept_series = exp.metrics.timeseries
    for i, analysis in enumerate(exp.analyses):
        here = f"analyses.{i}"

        def need_param(field: str, name: str | None, values: bool = False,
                       here: str = here) -> None:
            if name is None:
                return
            if name not in varied:
                raise _error(source, f"{here}.{field}", f"{name!r} is not a varied parameter; "
                             f"allowed: {', '.join(varied) or '(none)'}")
            if values and "values" not in exp.sweep.parameters[name]:
                raise _error(source, f"{here}.{field}", f"{name!r} must be swept over a "
                             "`values` list to define arms")

        def need_metrics(field: str, names: list[str] | None, here: str = here) -> None:
            for name in names or []:
                if name not in metrics:
                    raise _error(source, f"{here}.{field}", f"{name!r} is not a kept summary "
                                 f"metric; allowed: {', '.join(metrics)}")

        for key in analysis.where:
            if key not in exp.sweep.parameters:
                raise _error(source, f"{here}.where", f"{key!r} is not a swept parameter; "
                             f"allowed: {', '.join(exp.parameter_names)}")
        if isinstance(analysis, PairedAnalysis):
            need_param("arm", analysis.arm, values=True)
            values = exp.sweep.parameters[analysis.arm]["values"]
            if analysis.baseline not in values:
                raise _error(source, f"{here}.baseline", f"{analysis.baseline!r} is not a value "
                             f"of {analysis.arm}; allowed: {', '.join(map(str, values))}")
            need_metrics("metrics", analysis.metrics)
            for name in analysis.by or []:
                need_param("by", name)
        elif isinstance(analysis, TimeseriesAnalysis):
            if kept_series is None:
                raise _error(source, f"{here}.kind", "a timeseries analysis needs "
                             "`metrics.timeseries` to keep daily series")
            need_param("by", analysis.by)
            need_param("facet", analysis.facet)
            if kept_series.columns != "all":
                for name in analysis.columns or []:
                    if name not in kept_series.columns:
                        raise _error(source, f"{here}.columns", f"{name!r} is not a kept series; "
                                     f"allowed: {', '.join(kept_series.columns)}")
        elif isinstance(analysis, HeatmapAnalysis):
            need_param("x", analysis.x)
            need_param("y", analysis.y)
            need_param("facet", analysis.facet)
            need_metrics("metrics", analysis.metrics)
            if analysis.contrast is not None:
                need_param("contrast.arm", analysis.contrast.arm, values=True)
                values = exp.sweep.parameters[analysis.contrast.arm]["values"]
                if analysis.contrast.baseline not in values:
                    raise _error(source, f"{here}.contrast.baseline",
                                 f"{analysis.contrast.baseline!r}; allowed: "
                                 f"{', '.join(map(str, values))}")
        elif isinstance(analysis, SensitivityAnalysis):
            if exp.sampler is None or exp.sampler.kind not in ("sobol", "morris"):
                raise _error(source, f"{here}.kind", "sensitivity needs `sampler.kind: sobol` "
                             "or `morris`")
            need_metrics("metrics", analysis.metrics)
        elif isinstance(analysis, DiscoveryAnalysis):
            need_metrics("metric", [analysis.metric])
        elif isinstance(analysis, CalibrationAnalysis):
            if exp.calibration is None:
                raise _error(source, f"{here}.kind", "a calibration analysis needs a "
                             "`calibration:` block with targets")


def _probe_values(spec: dict[str, Any], method: str) -> list[Any]:
    """Values of a parameter worth validating against the scenario: every listed value, or
    the ends and middle of what the design can propose (a grid's enumeration, or the
    distribution's support)."""
    from sweeps.params import HyperParameter

    from model.sweep.design import grid_values, unit_value

    parameter = HyperParameter("probe", spec)
    if "values" in spec:
        return list(spec["values"])
    if method == "grid" or parameter.type == HyperParameter.CONSTANT:
        values = grid_values(parameter)
        return [values[i] for i in sorted({0, len(values) // 2, len(values) - 1}) if values]
    probes = []
    for q in (0.0, 0.5, 1.0):
        value = unit_value(parameter, q)
        if isinstance(value, float) and not math.isfinite(value):
            continue
        probes.append(value)
    return probes


def _check_against_scenario(exp: Experiment, source: str) -> None:
    path = exp.scenario_path
    if not path.is_file():
        raise _error(source, "scenario", f"{exp.scenario}: no such file (resolved to {path})")
    try:
        load_scenario(path)
    except ScenarioError as err:  # the scenario itself, before anything the experiment adds
        raise _error(source, "scenario", str(err)) from None
    try:
        load_scenario(path, exp.overrides)
    except ScenarioError as err:
        raise _error(source, "overrides", str(err)) from None
    for name in exp.parameter_names:
        for value in _probe_values(exp.sweep.parameters[name], exp.sweep.method):
            try:
                load_scenario(path, {**exp.overrides, name: value})
            except ScenarioError as err:
                raise _error(source, f"sweep.parameters.{name}",
                             f"value {value!r} is rejected by the scenario: {err}") from None
