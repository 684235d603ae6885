"""Runs for the validation suite: one simulation, observed closely, turned into flat metrics.

The validation facts need observables a plain ``run_scenario`` summary does not carry: what
happened to a petitioner *after* an interception (Minzner 2006), at which rung deferred cases
were finally closed, how many incidents each village settled itself (Tsai 2007), the cadres'
utilisation of handling hours (queueing theory). ``simulate`` therefore steps the
``GovernanceModel`` itself, keeps the closed-incident log, watches the residents' petition
counters day by day, and returns one flat dict of numbers per run. ``run_many`` runs many
``ValidationRun`` s on local processes and caches them, so facts that share an arm (the
comprehensive baseline, the veto arm) do not simulate it twice.

A run is a pure function of (scenario file, overrides, seed, years, code version).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from model.incidents import ASSOCIATION, COUNTY, GRID, RESOLVED, TOWNSHIP, VILLAGE
from model.scenario import LEVELS, TASKS, Scenario, load_scenario

LOAD_KEY = "_load"
"""Pseudo-override: multiply every incident kind's arrival rate (a load sweep, fact 5)."""
AUTHORITY_KEY = "_authority_up"
"""Pseudo-override: move the authority of these kinds up to the township (fact 6)."""
COUNTY_KINDS_DEFAULT = ("land_demolition", "environment", "illegal_construction", "medical_dispute")
VILLAGE_TYPES = ("A", "B", "C", "D")


@dataclass(frozen=True)
class ValidationRun:
    """One simulation: a scenario file, dotted overrides, a seed and a horizon."""

    scenario: str
    overrides: tuple[tuple[str, Any], ...]
    seed: int
    years: float

    @classmethod
    def make(cls, scenario: str | Path, overrides: dict[str, Any], seed: int, years: float) -> ValidationRun:
        items = tuple(sorted((k, _freeze(v)) for k, v in overrides.items()))
        return cls(str(scenario), items, int(seed), float(years))

    @property
    def key(self) -> str:
        """Cache key: the run and the code that computes it, so a persisted cache never
        answers for a changed model or changed metric definitions."""
        return json.dumps(
            [run_version(), self.scenario, [[k, _thaw(v)] for k, v in self.overrides], self.seed, self.years]
        )


@lru_cache(maxsize=1)
def run_version() -> str:
    """The model's code version plus a hash of this module, which derives the metrics."""
    from model.version import code_version

    return f"{code_version()}/{hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:8]}"


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("__list__", *(_freeze(v) for v in value))
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, tuple) and value and value[0] == "__list__":
        return [_thaw(v) for v in value[1:]]
    if isinstance(value, tuple):
        return {k: _thaw(v) for k, v in value}
    return value


def build_scenario(run: ValidationRun) -> Scenario:
    """The scenario of a run, with the pseudo-overrides expanded into real fields.

    Dotted overrides inside the keyed tables (``associations.elderly.success``,
    ``incidents.land_demolition.rate``) are merged into the scenario's full table, so one
    field can change without dropping the other entries.
    """
    return build_scenario_from(run.scenario, {k: _thaw(v) for k, v in run.overrides})


KEYED_TABLES = ("associations", "incidents")


def build_scenario_from(path: str | Path, overrides: dict[str, Any]) -> Scenario:
    overrides = dict(overrides)
    load = float(overrides.pop(LOAD_KEY, 1.0))
    raised = list(overrides.pop(AUTHORITY_KEY, []))
    keyed = {k: overrides.pop(k) for k in list(overrides) if k.split(".")[0] in KEYED_TABLES and k.count(".") >= 2}
    if load != 1.0 or raised or keyed:
        base = load_scenario(path, overrides)
        tables = {
            "incidents": {name: k.model_dump() for name, k in base.incidents.items()},
            "associations": {name: a.model_dump() for name, a in base.associations.items()},
        }
        for k in tables["incidents"].values():
            k["rate"] *= load
        for name in raised:
            tables["incidents"][name]["authority"] = "township"
        for dotted, value in keyed.items():
            table, entry, fieldname = dotted.split(".", 2)
            tables[table][entry][fieldname] = value
        overrides.update(tables)
    return load_scenario(path, overrides)


def simulate(run: ValidationRun) -> dict[str, float]:
    """Run one simulation and return every metric the validation facts read (flat floats)."""
    from model.simulation import GovernanceModel

    scenario = build_scenario(run)
    model = GovernanceModel(scenario, seed=run.seed, keep_incident_log=True)
    days = int(round(run.years * 365))
    r = model.residents
    n = len(r)
    first_day = np.full(n, -1, dtype=np.int64)
    first_intercepted = np.zeros(n, dtype=bool)
    later_escalated = np.zeros(n)
    later_petitions = np.zeros(n)
    prev_pet, prev_int, prev_skip = r.petitions.copy(), r.intercepted.copy(), r.skip_level_petitions.copy()
    nv, h = model.n_villages, TASKS.index("handling")
    available = np.zeros(len(LEVELS))  # handling hours offered at each rung, summed over days
    for _ in range(days):
        day = model.day
        model.step()
        available[VILLAGE] += model.task_hours[:nv, h].sum()
        available[TOWNSHIP] += model.task_hours[nv:, h].sum()
        available[COUNTY] += model.county_capacity.sum()
        available[GRID] += model.grid_workers.sum() * scenario.grid.hours_per_day * (1.0 - scenario.grid.patrol_share)
        new_pet = r.petitions - prev_pet
        if new_pet.any():
            petitioned = np.flatnonzero(new_pet)
            new_int = (r.intercepted - prev_int)[petitioned] > 0
            new_skip = (r.skip_level_petitions - prev_skip)[petitioned]
            first = first_day[petitioned] < 0
            fresh = petitioned[first]
            first_day[fresh] = day
            first_intercepted[fresh] = new_int[first]
            again = petitioned[~first]
            later_petitions[again] += new_pet[again]
            later_escalated[again] += new_skip[~first]
            prev_pet, prev_int, prev_skip = r.petitions.copy(), r.intercepted.copy(), r.skip_level_petitions.copy()
    summary = model.collector.summary()
    out: dict[str, float] = {}
    _flatten(summary, "", out)
    out.update(_derived(model, summary, days))
    for level in (VILLAGE, GRID, TOWNSHIP, COUNTY):
        used = model.stats[f"handling_hours_{LEVELS[level]}"]
        out[f"utilisation_{LEVELS[level]}"] = used / available[level] if available[level] > 0 else float("nan")
    cadre_used = model.stats["handling_hours_village"] + model.stats["handling_hours_township"]
    out["utilisation_cadres"] = cadre_used / max(available[VILLAGE] + available[TOWNSHIP], 1e-9)
    ts = model.collector.timeseries()
    arrivals_per_day = summary["incidents_total"] / max(days, 1)
    # Little's law (L = λW): mean time in the system from the mean open backlog, which counts
    # the cases still waiting (the mean over resolved cases alone hides them).
    out["littles_wait_days"] = float(ts["backlog"].mean() + ts["hidden"].mean()) / max(arrivals_per_day, 1e-9)
    out["backlog_mean"] = float(ts["backlog"].mean())
    out["hidden_mean"] = float(ts["hidden"].mean())
    out["petition_gap"] = float(summary["petitions_true"] - summary["petitions_reported"])
    out.update(_escalation(first_day, first_intercepted, later_escalated, later_petitions, days))
    out.update(_log_metrics(model))
    out.update(_village_metrics(model))
    return out


VALIDATION_METRICS = "a metric of the validation runs"
"""How messages name the metrics ``simulate`` reports (``metric_names``)."""


def metric_names(scenario: str | Path) -> list[str]:
    """Every metric a validation run of this scenario reports (``simulate``'s keys, sorted).

    They have no declared list (the summary builds its own), so, as the sweep learns its
    summary's names (``model.sweep.runs.model_outputs``), a run of ``OUTPUT_PROBE_DAYS``
    tells: fact and calibration files are checked against it before any run, where a
    misspelt name used to read as NaN and fail a fact as if the model had."""
    return list(_probe_metric_names(str(Path(scenario).resolve())))


@lru_cache(maxsize=8)
def _probe_metric_names(scenario: str) -> tuple[str, ...]:
    from model.sweep.runs import OUTPUT_PROBE_DAYS

    with warnings.catch_warnings():
        # One day leaves some groups empty; numpy warns of their means, and only names matter.
        warnings.simplefilter("ignore", RuntimeWarning)
        metrics = simulate(ValidationRun.make(scenario, {}, 0, OUTPUT_PROBE_DAYS / 365))
    return tuple(sorted(metrics))


def _flatten(d: dict[str, Any], prefix: str, out: dict[str, float]) -> None:
    for k, v in d.items():
        if isinstance(v, dict):
            _flatten(v, f"{prefix}{k}.", out)
        elif isinstance(v, bool | int | float | np.integer | np.floating):
            out[f"{prefix}{k}"] = float(v)


def _derived(model: Any, summary: dict[str, Any], days: int) -> dict[str, float]:
    st, hours = model.stats, summary["cadre_hours_share"]
    h = np.array([hours[t] for t in TASKS])
    handling_available = float(model.collector.hours_total[TASKS.index("handling")])
    handling_used = st["handling_hours_village"] + st["handling_hours_township"]
    found = st["discovered_by_grid"] + st["discovered_by_associations"]
    township_posts = model.staff.role == 1
    return {
        "service_share": hours["handling"] + hours["patrol"],
        "service_to_stability": (hours["handling"] + hours["patrol"]) / max(hours["stability"], 1e-6),
        "patrol_to_stability": hours["patrol"] / max(hours["stability"], 1e-6),
        "hours_entropy": summary["cadre_hours_entropy"],
        "hours_top_share": float(h.max()),
        "utilisation": handling_used / max(handling_available, 1e-9),
        "discovered_by_patrols_share": found / max(found + st["reported_by_residents"], 1.0),
        "debt_per_village": float(model.ledger.debt[: model.n_villages].mean()),
        "debt_per_township": float(model.ledger.debt[model.n_villages :].mean()),
        "township_staff_on_post_per_township": float((model.staff.on_post & township_posts).sum() / model.n_townships),
        "township_fill_rate_end": float((model.staff.on_post & township_posts).sum() / max(township_posts.sum(), 1)),
        "households_per_grid_worker": float(model.households.sum() / max(model.grid_workers.sum(), 1e-9)),
        "petition_rate_per_10k_year": st["petitions_true"] / (len(model.residents) / 1e4) / (days / 365.0),
        "petition_rate_reported_per_10k_year": st["petitions_registered"]
        / (len(model.residents) / 1e4)
        / (days / 365.0),
    }


def _escalation(
    first_day: np.ndarray, first_intercepted: np.ndarray, escalated: np.ndarray, petitions: np.ndarray, days: int
) -> dict[str, float]:
    """Later skip-level / collective petitions per petitioner-year, by the fate of the first
    petition: intercepted, or registered (Minzner 2006: blocked grievances move up)."""
    out: dict[str, float] = {}
    petitioners = first_day >= 0
    for name, group in (
        ("intercepted", petitioners & first_intercepted),
        ("registered", petitioners & ~first_intercepted),
    ):
        exposure = float((days - first_day[group]).sum()) / 365.0
        out[f"petitioners_first_{name}"] = float(group.sum())
        out[f"later_escalated_per_year_after_{name}"] = (
            float(escalated[group].sum()) / exposure if exposure > 0 else float("nan")
        )
        out[f"later_petitions_per_year_after_{name}"] = (
            float(petitions[group].sum()) / exposure if exposure > 0 else float("nan")
        )
    return out


def _log_metrics(model: Any) -> dict[str, float]:
    """Closed-incident log: where deferred cases ended, how fast each kind closed."""
    rec = model.log.records()
    out: dict[str, float] = {}
    names = model.kind_names
    ordinary = rec["petition"] == 0
    resolved = ordinary & (rec["state"] == RESOLVED)
    # Kinds a village may close itself: a close above the village is an escalation.
    local_kinds = np.flatnonzero(model.kind_authority[:-1] <= VILLAGE)
    # Deferred (promised) cases vs never-deferred ones: share closed above the rung that had
    # the authority to close them, the never-deferred share reweighted to the deferred kind mix.
    deferred = ordinary & (rec["deferrals"] > 0)
    never = ordinary & (rec["deferrals"] == 0)
    above = rec["level"] > model.kind_authority[np.minimum(rec["kind"], len(names) - 1)]
    kinds_d = rec["kind"][deferred]
    if len(kinds_d):
        w = np.bincount(kinds_d, minlength=len(names)) / len(kinds_d)
        share_nd = np.array(
            [
                above[never & (rec["kind"] == k)].mean() if (never & (rec["kind"] == k)).any() else 0.0
                for k in range(len(names))
            ]
        )
        out["deferred_closed_above_authority_share"] = float(above[deferred].mean())
        out["undeferred_closed_above_authority_share"] = float((w * share_nd).sum())
    else:
        out["deferred_closed_above_authority_share"] = float("nan")
        out["undeferred_closed_above_authority_share"] = float("nan")
    out["deferred_cases"] = float(deferred.sum())
    wait = (rec["closed"] - rec["created"]).astype(float)
    minor = np.flatnonzero(model.kind_authority[:-1] <= ASSOCIATION)
    in_minor = resolved & np.isin(rec["kind"], minor)
    out["minor_settled_lowest_share"] = (
        float((rec["level"][in_minor] <= ASSOCIATION).mean()) if in_minor.any() else float("nan")
    )
    county_kinds = [names.index(k) for k in COUNTY_KINDS_DEFAULT if k in names]
    in_county = resolved & np.isin(rec["kind"], county_kinds)
    out["county_kinds_days_to_resolve"] = float(wait[in_county].mean()) if in_county.any() else float("nan")
    out["county_kinds_resolved"] = float(in_county.sum())
    lk = resolved & np.isin(rec["kind"], local_kinds)
    out["local_kinds_days_to_resolve"] = float(wait[lk].mean()) if lk.any() else float("nan")
    out["local_kinds_above_village_share"] = float((rec["level"][lk] > VILLAGE).mean()) if lk.any() else float("nan")
    out["resolved_above_village_share"] = (
        float((rec["level"][resolved] > VILLAGE).mean()) if resolved.any() else float("nan")
    )
    for level in range(len(LEVELS)):
        out[f"resolved_at_{LEVELS[level]}_share"] = (
            float((rec["level"][resolved] == level).mean()) if resolved.any() else 0.0
        )
    return out


def _village_metrics(model: Any) -> dict[str, float]:
    """By village type (002): share of incidents settled by villagers themselves, collective
    petitions per village-year (registered ones: the log does not mark collective records)."""
    rec = model.log.records()
    resolved = (rec["petition"] == 0) & (rec["state"] == RESOLVED)
    v = rec["village"][resolved]
    self_settled = rec["level"][resolved] <= ASSOCIATION
    n_v = model.n_villages
    total = np.bincount(v, minlength=n_v).astype(float)
    local = np.bincount(v, weights=self_settled.astype(float), minlength=n_v)
    share = np.where(total > 0, local / np.maximum(total, 1), np.nan)
    types = np.array([a.vtype for a in model.village_agents])
    evals = model.county_office.evaluations
    coll = np.zeros(n_v)
    years = 0
    for row in evals:
        if row["kind"] == "village":
            coll[row["unit"]] += row["collective_petitions_true"]
            years = max(years, row["year"] + 1)
    coll /= max(years, 1)
    pop = model.unit_population[:n_v]
    pet = np.bincount(model.residents.village, weights=model.residents.petitions, minlength=n_v)
    out: dict[str, float] = {}
    for t in VILLAGE_TYPES:
        m = types == t
        out[f"self_settled_share_{t}"] = float(np.nanmean(share[m])) if m.any() else float("nan")
        out[f"collective_per_village_year_{t}"] = float(coll[m].mean()) if m.any() else float("nan")
        out[f"petitions_per_1k_{t}"] = float(pet[m].sum() / pop[m].sum() * 1000) if m.any() else float("nan")
        out[f"villages_{t}"] = float(m.sum())
    # Kind-standardised: type C's extra disputes (anomie) are the easiest to settle locally,
    # so raw shares mix composition with capacity; compare like with like.
    kinds = rec["kind"][resolved]
    n_k = len(model.kind_names)
    w = np.bincount(kinds, minlength=n_k) / max(len(kinds), 1)
    vt = types[v] if len(v) else np.array([], dtype=str)
    for group, members in (("AD", ("A", "D")), ("BC", ("B", "C")), *((t, (t,)) for t in VILLAGE_TYPES)):
        g = np.isin(vt, members)
        tot = np.bincount(kinds[g], minlength=n_k)
        loc = np.bincount(kinds[g], weights=self_settled[g].astype(float), minlength=n_k)
        ok = tot > 0
        out[f"self_settled_std_{group}"] = (
            float((w[ok] * loc[ok] / tot[ok]).sum() / max(w[ok].sum(), 1e-12)) if ok.any() else float("nan")
        )
    ad, bc = np.isin(types, ["A", "D"]), np.isin(types, ["B", "C"])
    out["self_settled_share_AD"] = float(np.nanmean(share[ad])) if ad.any() else float("nan")
    out["self_settled_share_BC"] = float(np.nanmean(share[bc])) if bc.any() else float("nan")
    a, other = types == "A", types != "A"
    out["collective_per_village_year_A"] = float(coll[a].mean()) if a.any() else float("nan")
    out["collective_per_village_year_notA"] = float(coll[other].mean()) if other.any() else float("nan")
    return out


def _worker(run: ValidationRun) -> tuple[str, dict[str, float] | str]:
    try:
        return run.key, simulate(run)
    except Exception as exc:  # a failing run is reported, not fatal
        import traceback

        return run.key, f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"


@dataclass
class RunCache:
    """Finished runs by key, optionally persisted as JSON lines, one line per run.

    A run killed while its line was being appended leaves that line cut short. Reading skips
    a damaged line (and says how many on stderr) and keeps the others, so the finished runs
    still resume; appending starts a new line after a cut one."""

    path: Path | None = None
    results: dict[str, dict[str, float]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    skipped: int = 0
    """Damaged lines ignored when the file was read; their runs are simulated again."""
    _cut_short: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.path is None or not self.path.is_file():
            return
        text = self.path.read_bytes().decode("utf-8", errors="replace")
        for line in text.splitlines():
            entry = _cached_run(line)
            if entry is not None:
                self.results[entry[0]] = entry[1]
            elif line.strip():
                self.skipped += 1
        self._cut_short = bool(text) and not text.endswith("\n")
        if self.skipped:
            print(
                f"warning: {self.path}: skipped {self.skipped} damaged line{'s' if self.skipped > 1 else ''} and "
                f"kept {len(self.results)} runs (a run stopped while its line was written leaves it cut short; "
                "a run on no whole line is simulated again)",
                file=sys.stderr,
            )

    def store(self, key: str, metrics: dict[str, float]) -> None:
        self.results[key] = metrics
        if self.path is not None:
            line = json.dumps([key, metrics]) + "\n"
            if self._cut_short:  # not onto the end of a cut line, which would damage this one too
                line, self._cut_short = "\n" + line, False
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Unbuffered: the whole line goes in one write(2) at the end of the file (O_APPEND)
            # as the run is stored, not in pieces that a kill could separate.
            with self.path.open("ab", buffering=0) as fh:
                fh.write(line.encode("utf-8"))


def _cached_run(line: str) -> tuple[str, dict[str, float]] | None:
    """A cache line as (key, metrics), or None if it is damaged."""
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str) and isinstance(entry[1], dict):
        return entry[0], entry[1]
    return None


def run_many(
    runs: Iterable[ValidationRun],
    cache: RunCache | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RunCache:
    """Run every not-yet-cached run on local processes; return the cache."""
    cache = cache or RunCache()
    todo = list(dict.fromkeys(r for r in runs if r.key not in cache.results))
    workers = workers or max(1, min(len(todo), os.cpu_count() or 1))
    if not todo:
        return cache
    if workers == 1:
        done = map(_worker, todo)
        for i, (key, res) in enumerate(done, 1):
            _keep(cache, key, res)
            if progress:
                progress(i, len(todo))
        return cache
    with ProcessPoolExecutor(max_workers=workers) as pool:
        # Longest first so the pool drains evenly.
        todo.sort(key=lambda r: -r.years)
        for i, (key, res) in enumerate(pool.map(_worker, todo, chunksize=1), 1):
            _keep(cache, key, res)
            if progress:
                progress(i, len(todo))
    return cache


def _keep(cache: RunCache, key: str, res: dict[str, float] | str) -> None:
    if isinstance(res, str):
        cache.errors[key] = res
    else:
        cache.store(key, res)


__all__ = ["RunCache", "ValidationRun", "build_scenario", "metric_names", "run_many", "simulate"]
