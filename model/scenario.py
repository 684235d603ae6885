"""Scenario files: the schema of a county, its villages and its rules, and how to load one.

A scenario is YAML validated by pydantic. Every field carries its unit, default, allowed
range and, where it comes from one, the source essay (``../shared/seeds``):

- 000 Cixi associations and the one-vote veto 一票否决 essay,
- 001 township burdens, staffing and debt ("a thousand threads above, one needle below"),
- 002 Taicang / Beicai grid governance and the A/B/C/D village typology,
- 003 Wuxi mediation statistics and grid size,
- 004 Yicheng neighbour points 睦邻点.

``load_scenario(path, overrides)`` returns a validated ``Scenario`` or raises
``ScenarioError`` with one line naming the file, the field and what is allowed.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

LEVELS = ("self", "association", "village", "grid", "township", "county")
"""The escalation ladder (Beicai, 002): self / neighbour point → association → village
committee → grid → township platform → county department."""

PLATFORMS = ("governance", "market", "enforcement", "services")
"""The township's four platforms 四个平台 (001): comprehensive governance, market
supervision, comprehensive law enforcement, convenience services."""

MAX_YEARS = 50
"""The longest horizon a run may simulate, in years."""

ASSOCIATION_KINDS = ("harmony", "elderly", "environment")
"""Cixi's three associations (000): harmony-promotion 和谐促进会, elderly 老年人协会,
environmental volunteers 环保志愿者协会."""

TASKS = ("handling", "patrol", "paperwork", "escort", "stability", "reporting", "promising")
"""How cadres spend their hours. handling: working on incidents; patrol: proactive discovery;
paperwork: proof-of-work 处处留痕 (001); escort: accompanying inspections (001); stability:
watching and intercepting petitioners (000); reporting: managing what is reported, including
concealment 瞒天过海 (000); promising: placating with promises 胡乱许愿 (000)."""

MONEY_USES = ("resolution", "projects", "interception")
"""How a unit's discretionary money is split (000, 001)."""

QUEUE_DISCIPLINES = ("first_come", "deadline_first")
"""In what order a unit works its handling queue. first_come: the longest-waiting case first.
deadline_first: cases that can still make the response target first, the ones already past it
after them, so that what the timeliness rate counts gets done in time (Bevan & Hood 2006,
"hitting the target and missing the point")."""

INDICATORS = (
    "disposal_rate",
    "timeliness_rate",
    "closure_rate",
    "satisfaction_rate",
    "petition_rate",
    "skip_level_rate",
    "collective_petitions",
    "proof_of_work",
    "inspection_score",
    "discovery_rate",
)
"""Indicators an assessment regime may score, always on *reported* values. The four rates
are Beicai's (002); petition rates are per 10,000 residents per year; proof_of_work and
inspection_score are the share of demanded paperwork / escort hours actually done (001)."""


def shares_sum_to_one(mix: dict[str, float]) -> dict[str, float]:
    """A mix of shares: none negative, summing to 1."""
    total = sum(mix.values())
    if any(v < 0 for v in mix.values()) or abs(total - 1.0) > 1e-6:
        raise ValueError(f"shares must be non-negative and sum to 1 (got {total:g})")
    return mix


def at_least_one_day(years: float) -> float:
    """``years`` unchanged if it spans at least one day. The model steps in whole days (a
    run's ``days`` rounds), so a shorter horizon would run no day at all and report the rates
    of an empty run as 0."""
    if years * 365 < 1:
        raise ValueError(f"shorter than one day (got {years!r}); allowed: 1/365 (one day) or more, up to {MAX_YEARS}")
    return years


Years = Annotated[float, Field(gt=0, le=MAX_YEARS), AfterValidator(at_least_one_day)]
"""A simulated horizon in years: at least one day, at most MAX_YEARS. Scenarios,
experiments, validation facts and the essay calibration share it, so a horizon one file
accepts the others do too."""


class ScenarioError(ValueError):
    """A scenario (or experiment) file is invalid; the message names file, field, allowed."""


class ModelDiverged(RuntimeError):
    """A valid scenario whose run left the finite numbers: its parameters feed a loop that
    grows without bound (e.g. petitions that hurt their petitioners faster than grievance
    fades) or values too large to add up. The run stops with this, naming the day and the
    series, instead of reporting inf or NaN; a sweep records the run as failed with the
    message."""


class FieldError(ValueError):
    """A check across fields that knows which field is wrong: ``field`` is dotted, relative to
    where the check runs, so the one-line message names it instead of the table holding it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class _Strict(BaseModel):
    # inf and nan pass every one-sided bound (`ge=0`) and cannot be written back to JSON
    # (scenario.json would hold null), so no scenario number may be either.
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


def _fraction(default: float, description: str) -> Any:
    return Field(default, ge=0.0, le=1.0, description=description)


class IncidentKind(_Strict):
    rate: float = Field(
        ..., ge=0, le=365_000, description="Arrivals per 1,000 residents per year (at most one a resident a day)."
    )
    severity: float = Field(1.0, gt=0, description="Mean initial severity (grievance units).")
    hours: float = Field(..., gt=0, description="Mean work hours to resolve.")
    money: float = Field(0.0, ge=0, description="Mean money (yuan) needed to resolve.")
    authority: Literal["self", "association", "village", "grid", "township", "county"] = Field(
        "village", description="Lowest level with the authority to close it (001: 'see it but can't manage it')."
    )
    platform: Literal["governance", "market", "enforcement", "services"] = Field(
        "governance", description="Township platform the command centre dispatches it to (001)."
    )
    association: Literal["harmony", "elderly", "environment", "none"] = Field(
        "none", description="Association kind that mediates or detects it (000)."
    )
    mediable: bool = Field(False, description="Neighbour points can try to mediate it (003, 004).")
    hidden_share: float = _fraction(
        0.0, "Share that arise unreported and must be discovered (002: patrols, informants)."
    )
    report_prob: float = _fraction(0.05, "Daily probability that the resident reports a hidden case.")
    growth: float = Field(0.01, ge=0, le=0.2, description="Daily relative severity growth while unresolved.")
    affected: int = Field(
        1,
        ge=1,
        le=1000,
        description="Residents one case hurts: a land acquisition takes the land of a villagers' group, "
        "pollution reaches the neighbours (001: such cases turn into collective petitions).",
    )


def _default_kinds() -> dict[str, IncidentKind]:
    # Kinds named in essays 001, 003 and 004. Rates are per 1,000 residents per year and are the
    # calibration knobs (docs/ODD.md); hours and money reflect the essays' relative scale:
    # neighbour disputes are small and mediable (003: 99.74% mediated in Wuxi), land and
    # illegal construction need county powers (001: ~74 non-devolvable items in Guiyang).
    k = IncidentKind
    return {
        "neighbour_dispute": k(
            rate=15,
            severity=1.0,
            hours=6,
            money=0,
            authority="self",
            platform="governance",
            association="harmony",
            mediable=True,
            report_prob=0.3,
        ),
        "land_demolition": k(
            rate=2,
            severity=3.0,
            hours=60,
            money=20000,
            authority="county",
            platform="governance",
            growth=0.015,
            report_prob=0.3,
            # A villagers' group 村民小组 of ~10 households loses land together (assumption:
            # the essays name the cases, 001, not their size).
            affected=30,
        ),
        "labour_wage": k(
            rate=5,
            severity=2.0,
            hours=40,
            money=3000,
            authority="township",
            platform="market",
            association="harmony",
            report_prob=0.3,
        ),
        "elderly_care": k(
            rate=15,
            severity=1.0,
            hours=8,
            money=500,
            authority="association",
            platform="services",
            association="elderly",
            hidden_share=0.5,
            report_prob=0.03,
        ),
        "environment": k(
            rate=4,
            severity=1.5,
            hours=30,
            money=5000,
            authority="county",
            platform="enforcement",
            association="environment",
            hidden_share=0.6,
            report_prob=0.02,
            growth=0.02,
            affected=10,  # the households next to a polluting workshop (assumption)
        ),
        "illegal_construction": k(
            rate=3,
            severity=1.5,
            hours=40,
            money=2000,
            authority="county",
            platform="enforcement",
            hidden_share=0.5,
            report_prob=0.02,
            growth=0.02,
        ),
        "public_works": k(
            rate=6, severity=1.2, hours=40, money=20000, authority="township", platform="services", report_prob=0.2
        ),
        # Everyday services 便民服务 (certificates, subsidies, insurance): about one request per
        # household a year. The rate is set so that village cadres use ~60% of the hours
        # they give to handling under the demo's comprehensive assessment: essay 001 describes
        # the lowest level as stretched (上面千条线下面一根针, "a thousand threads above, one
        # needle below"), and its claims that shortfalls and paperwork lengthen waiting need
        # cadre time to bind (docs/ODD.md, "Workload").
        "service_request": k(
            rate=400, severity=0.5, hours=6, money=100, authority="village", platform="services", report_prob=0.5
        ),
        "medical_dispute": k(
            rate=1,
            severity=2.5,
            hours=40,
            money=8000,
            authority="county",
            platform="governance",
            association="harmony",
            report_prob=0.5,
        ),
    }


class CountySpec(_Strict):
    townships: int = Field(1, ge=1, le=500, description="Townships / streets in the county.")
    villages_per_township: int = Field(10, ge=1, le=200, description="Villages per township.")
    residents_per_village: int = Field(
        1500, ge=50, le=50000, description="Mean residents per village (county: 300k-600k residents assumed)."
    )
    village_size_cv: float = Field(
        0.3, ge=0, le=2, description="Coefficient of variation of village size (log-normal)."
    )
    household_size: float = Field(3.0, ge=1, le=10, description="Residents per household (for grid size).")
    migrant_share: float = _fraction(0.3, "Share of migrants 外来人口 (Cixi ≈ 0.5, 000).")
    age_mix: dict[Literal["child", "adult", "elderly"], float] = Field(
        default_factory=lambda: {"child": 0.2, "adult": 0.6, "elderly": 0.2},
        description="Shares of age groups (left-behind '386199' population, 001).",
    )
    typology_mix: dict[Literal["A", "B", "C", "D"], float] = Field(
        default_factory=lambda: {"A": 0.25, "B": 0.25, "C": 0.25, "D": 0.25},
        description="Shares of village types (002): A strong memory + low differentiation, "
        "B weak + low, C weak + high, D strong + high.",
    )

    @field_validator("age_mix", "typology_mix")
    @classmethod
    def _sums_to_one(cls, mix: dict[str, float]) -> dict[str, float]:
        return shares_sum_to_one(mix)


class ResidentRules(_Strict):
    trust_mean: float = _fraction(0.6, "Initial mean trust in local government.")
    trust_sd: float = Field(0.15, ge=0, le=0.5, description="Initial sd of trust.")
    grievance_per_severity: float = Field(
        0.05, ge=0, le=1, description="Grievance added per day per unit severity of an open incident."
    )
    grievance_decay: float = Field(0.01, ge=0, le=1, description="Daily relative decay of grievance.")
    resolution_relief: float = Field(
        2.0, ge=0, description="Grievance removed per unit severity when an incident is resolved."
    )
    unsatisfied_relief: float = _fraction(0.3, "Share of the relief an unsatisfying settlement brings.")
    patience_days: float = Field(
        30,
        gt=0,
        le=3650,
        description="Days a resident of average trust waits on a low rung before taking the case higher (001, 002).",
    )
    petition_threshold: float = Field(
        2.0,
        gt=0,
        description="Grievance above which a resident with full trust petitions; "
        "distrust lowers it, cohesion-driven self-help raises it (001, 002).",
    )
    petition_prob: float = _fraction(0.02, "Daily probability of petitioning once above threshold.")
    petition_cooldown_days: int = Field(60, ge=1, le=3650, description="Days before the same resident petitions again.")
    skip_level_trust: float = _fraction(0.35, "Below this trust a petition skips levels 越级上访 (001).")
    collective_min: int = Field(
        5,
        ge=2,
        le=1000,
        description="Aggrieved residents (past half their own petition threshold) a fully mobilised "
        "village needs for a collective petition when one of them goes; less mobilised villages "
        "need more: collective_min / mobilisation (002, Tsai 2007).",
    )
    trust_gain_satisfied: float = Field(
        0.03, ge=0, le=1, description="Trust gained when an incident is resolved to satisfaction."
    )
    trust_loss_unsatisfied: float = Field(
        0.02, ge=0, le=1, description="Trust lost when resolved without satisfaction."
    )
    trust_loss_intercepted: float = Field(
        0.10, ge=0, le=1, description="Trust lost when a petition is intercepted (000)."
    )
    trust_loss_broken_promise: float = Field(0.08, ge=0, le=1, description="Trust lost when a promise is broken (000).")
    grievance_intercepted: float = Field(
        2.0, ge=0, description="Grievance added by an interception (000; Minzner 2006)."
    )
    grievance_broken_promise: float = Field(
        1.5, ge=0, description="Grievance added when a deferred case returns (000)."
    )
    satisfaction_base: float = _fraction(0.95, "Probability of satisfaction with a prompt resolution.")
    satisfaction_wait_days: float = Field(60, gt=0, description="Waiting days that cut satisfaction odds by e.")
    petition_hours: float = Field(8, gt=0, description="Staff hours to handle one registered petition.")
    petition_money: float = Field(3000, ge=0, description="Money to settle one petitioner's grievance (yuan).")
    association_membership: float = _fraction(
        0.15, "Share of residents in some association (Taicang: 18 organisations per 10k, 002)."
    )


class TypologyRules(_Strict):
    """How the A/B/C/D village axes (002) act on behaviour."""

    self_help: float = Field(
        0.5, ge=0, le=10, description="Petition threshold rise per unit of collective memory (self-help first, 002)."
    )
    anomie_disputes: float = Field(
        0.5, ge=0, le=10, description="Dispute arrival rise per unit of anomie (type C, 002)."
    )
    apathy_reporting: float = Field(
        0.5, ge=0, le=1, description="Cut in residents' reporting of hidden cases per unit of apathy (type B, 002)."
    )
    membership_boost: float = Field(
        1.0, ge=0, le=10, description="Association membership rise per unit of self-organisation (type D, 002)."
    )


class AssociationRules(_Strict):
    enabled: bool = Field(
        True, description="Whether this association exists in every village (Cixi: every village, 000)."
    )
    volunteer_hours_per_member: float = Field(0.05, ge=0, le=8, description="Volunteer hours per member per day.")
    success: float = _fraction(0.9, "Probability a mediation / service attempt settles the case.")
    mediates_beyond_authority: float = _fraction(
        0.0,
        "Success multiplier when mediating cases of its kind whose formal authority lies higher: a settlement needs agreement, "
        "not power (Fengqiao experience, 004; Cixi harmony associations, 000); weak on systemic problems (004).",
    )
    detection: float = _fraction(
        0.02,
        "Daily probability per hidden case of its kind that members detect it (000: environmental volunteers monitor pollution).",
    )


def _default_associations() -> dict[str, AssociationRules]:
    return {
        "harmony": AssociationRules(success=0.9, detection=0.01, mediates_beyond_authority=0.5),
        "elderly": AssociationRules(success=0.9, detection=0.03),
        "environment": AssociationRules(success=0.5, detection=0.04),
    }


class NeighbourPoints(_Strict):
    enabled: bool = Field(True, description="Neighbour mediation points 睦邻点 (Yicheng, 004).")
    success: float = _fraction(
        0.85, "Probability a mediable case is settled at the point (Wuxi 99.74% overall local success, 003)."
    )
    cohesion_bonus: float = Field(
        0.1, ge=0, le=1, description="Extra success in cohesive (high-memory) villages (002)."
    )


class GridRules(_Strict):
    enabled: bool = Field(True, description="Grid management 网格化管理 (002, 003).")
    households_per_worker: float = Field(
        300, ge=20, le=5000, description="Households per grid worker (Wuxi: 300, 003)."
    )
    hours_per_day: float = Field(8, gt=0, le=16, description="Working hours per grid worker per day.")
    patrol_share: float = _fraction(0.4, "Share of grid hours on patrol, fixed in time, place and duty (Beicai, 002).")
    discovery_per_patrol_hour: float = Field(
        0.004, ge=0, le=1, description="Hazard of discovering a given hidden case per patrol hour per 100 households."
    )


class TownshipRules(_Strict):
    command_centre: bool = Field(
        True,
        description="Unified acceptance and dispatch by the command centre 指挥中心 (001): "
        "pooled capacity across the four platforms; off = siloed platforms.",
    )
    dispatch_delay_days: int = Field(
        0, ge=0, le=30, description="Days from acceptance to a platform with a command centre."
    )
    silo_delay_days: int = Field(2, ge=0, le=30, description="Days to reach the right office without one.")
    platform_shares: dict[Literal["governance", "market", "enforcement", "services"], float] = Field(
        default_factory=lambda: {"governance": 0.35, "market": 0.15, "enforcement": 0.25, "services": 0.25},
        description="Share of township handling hours on each platform (all four, summing to 1).",
    )
    county_hours_per_day: float = Field(
        400, gt=0, description="County departments' handling hours per day per 100k residents."
    )

    @field_validator("platform_shares")
    @classmethod
    def _every_platform(cls, shares: dict[str, float]) -> dict[str, float]:
        """Every platform needs its share: township and county hours are split over all four."""
        missing = [p for p in PLATFORMS if p not in shares]
        if missing:
            raise ValueError(f"missing platform(s) {', '.join(missing)}; give a share for each of {', '.join(PLATFORMS)}")
        return shares_sum_to_one(shares)


ACTIONS = {
    "beliefs": TASKS,
    "task_priors": TASKS,
    "money_beliefs": MONEY_USES,
    "money_priors": MONEY_USES,
    "queue_beliefs": QUEUE_DISCIPLINES,
    "queue_priors": QUEUE_DISCIPLINES,
}
"""What the keys of each of CadreRules' belief and prior tables may be."""


class CadreRules(_Strict):
    per_village: int = Field(3, ge=1, le=20, description="Village cadres per (merged) village (3-5, 001).")
    hours_per_day: float = Field(8, gt=0, le=16, description="Working hours per cadre per day.")
    decision_interval_days: int = Field(30, ge=1, le=365, description="Days between re-allocations of hours and money.")
    rationality: float = Field(
        30.0, ge=0, le=1000, description="Softmax intensity of choice on expected score (bounded rationality)."
    )
    learning_rate: float = _fraction(0.5, "Weight of last evaluation's lesson in attention to indicators.")
    forecast_noise: float = Field(
        0.15, ge=0, le=2, description="Cadres' relative uncertainty about year-end indicators."
    )
    hours_per_interception: float = Field(
        40, gt=0, description="Staff hours to stop one petitioner (000: staff sent to stations, docks, Beijing)."
    )
    hours_per_concealment: float = Field(3, gt=0, description="Staff hours to keep one case off the books (000).")
    hours_per_promise: float = Field(1, gt=0, description="Staff hours to placate one case with a promise (000).")
    promise_days: int = Field(
        120, ge=1, le=3650, description="Days until a promised case returns (000: disputes later)."
    )
    promise_severity_factor: float = Field(
        1.5, ge=1, le=10, description="Severity multiplier when a promise returns (000: vicious circle)."
    )
    beliefs: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {
            # Cadres' mental model: relative effect of a full share of hours on each task on
            # each indicator (sign and scale), as the essays describe practice (000, 001).
            "handling": {
                "disposal_rate": 1.0,
                "timeliness_rate": 1.0,
                "closure_rate": 1.0,
                "satisfaction_rate": 0.5,
                "petition_rate": -0.3,
                "skip_level_rate": -0.3,
            },
            "patrol": {"discovery_rate": 1.0, "timeliness_rate": 0.3, "petition_rate": -0.1},
            "paperwork": {"proof_of_work": 1.0},
            "escort": {"inspection_score": 1.0},
            "stability": {"petition_rate": -1.0, "skip_level_rate": -1.0, "collective_petitions": -1.0},
            "reporting": {
                "petition_rate": -0.6,
                "closure_rate": 0.4,
                "disposal_rate": 0.4,
                "concealment_detected_share": 0.3,
            },
            "promising": {"disposal_rate": 0.5, "timeliness_rate": 0.5, "petition_rate": -0.4},
        },
        description="Task → indicator → believed effect of a full share of hours (same under every regime: only scoring differs).",
    )
    money_beliefs: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {
            "resolution": {"closure_rate": 0.8, "disposal_rate": 0.5, "satisfaction_rate": 0.5, "petition_rate": -0.3},
            "projects": {"satisfaction_rate": 0.3, "petition_rate": -0.2, "skip_level_rate": -0.1},
            "interception": {"petition_rate": -1.0, "skip_level_rate": -1.0, "collective_petitions": -1.0},
        },
        description="Money use → indicator → believed effect of a full share of the budget.",
    )
    queue_beliefs: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {
            # Serving the longest-waiting first is what residents expect: it keeps waits short
            # for everyone, so fewer give up on the rung and take the case higher (001, 002).
            # Serving first what can still make the target is what the timeliness rate counts
            # (Bevan & Hood 2006). Assumed magnitudes, like the task beliefs above.
            "first_come": {"satisfaction_rate": 0.3, "petition_rate": -0.3, "skip_level_rate": -0.3},
            "deadline_first": {"timeliness_rate": 1.0},
        },
        description="Queue discipline → indicator → believed effect of working the handling queue that way.",
    )
    queue_priors: dict[str, float] = Field(
        default_factory=lambda: {"first_come": 0.02, "deadline_first": 0.0},
        description="Norms on queue disciplines, in score units: first come, first served is the duty.",
    )
    deadline_first_cap: float = _fraction(
        1.0,
        "Most of its handling hours a unit may give to deadline-first service; 0 holds every unit to "
        "first come, first served (a platform that dispatches strictly in order of arrival).",
    )
    task_priors: dict[str, float] = Field(
        default_factory=lambda: {
            "handling": 0.05,
            "patrol": 0.0,
            "paperwork": 0.0,
            "escort": 0.0,
            "stability": -0.05,
            "reporting": -0.15,
            "promising": -0.08,
        },
        description="Duty and ethics norms, in score units, added to each task's value under every regime: "
        "concealment and empty promises carry a moral cost (000).",
    )
    money_priors: dict[str, float] = Field(
        default_factory=lambda: {"resolution": 0.05, "projects": 0.02, "interception": -0.05},
        description="Norms on money uses, in score units.",
    )
    min_share: float = Field(0.0, ge=0, le=0.14, description="Least share of hours / money any task keeps.")
    adjustment: float = _fraction(0.5, "Share of the way moved each decision from the old split to the new target.")
    interception_cost: float = Field(3000, ge=0, description="Money per intercepted petitioner (travel, lodging; 000).")
    skip_level_cost_factor: float = Field(
        4, ge=1, le=100, description="Interception cost multiplier for skip-level petitions (Beijing, 000)."
    )

    @field_validator("beliefs", "money_beliefs", "queue_beliefs")
    @classmethod
    def _known_keys(cls, beliefs: dict[str, dict[str, float]], info: Any) -> dict[str, dict[str, float]]:
        actions = ACTIONS[info.field_name]
        allowed = (*INDICATORS, "concealment_detected_share")
        for action, effects in beliefs.items():
            if action not in actions:
                raise ValueError(f"unknown key {action!r}; allowed: {', '.join(actions)}")
            for ind in effects:
                if ind not in allowed:
                    raise ValueError(f"unknown indicator {ind!r}; allowed: {', '.join(allowed)}")
        return beliefs

    @field_validator("task_priors", "money_priors", "queue_priors")
    @classmethod
    def _known_actions(cls, priors: dict[str, float], info: Any) -> dict[str, float]:
        actions = ACTIONS[info.field_name]
        for action in priors:
            if action not in actions:
                raise ValueError(f"unknown key {action!r}; allowed: {', '.join(actions)}")
        return priors


class BurdenRules(_Strict):
    paperwork_hours_per_staff: float = Field(
        3.0, ge=0, le=16, description="Proof-of-work hours demanded per staff per day 处处留痕 (001)."
    )
    inspections_per_year: float = Field(
        24, ge=0, le=365, description="Inspections per township per year that cadres must escort (001)."
    )
    escort_hours_per_inspection: float = Field(40, ge=0, description="Staff hours to escort one inspection.")
    village_task_cap: float | None = Field(
        None,
        ge=0,
        le=16,
        description="Taicang 'two lists' 政社互动 cap on paperwork hours per village cadre per day (002); null = no cap.",
    )
    response_target_days: float = Field(
        3, gt=0, le=365, description="Response-time target for timeliness (Wuxi 15-minute circle ≈ same day, 003)."
    )


class EvaluationRules(_Strict):
    """What failing costs cadres and what an audit finds and costs (how often: `regime.audit_rate`)."""

    dismissal_cost: float = Field(3.0, ge=0, description="Career cost of dismissal relative to the annual bonus.")
    audit_detection: float = _fraction(0.5, "Probability an audit finds each concealed record.")
    audit_cost: float = Field(20000, ge=0, description="County cost of one audit (yuan).")


class RegimeSpec(_Strict):
    """The assessment regime: a registered name plus its parameters (see model/regimes.py)."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)
    name: str = Field("comprehensive", description="Registered regime name: see `python run.py regimes`.")

    @model_validator(mode="after")
    def _known_regime(self) -> RegimeSpec:
        from model.regimes import REGIMES

        if self.name not in REGIMES:
            raise ValueError(f"unknown regime {self.name!r}; allowed: {', '.join(sorted(REGIMES))}")
        params = REGIMES[self.name].Params
        try:
            _refuse_non_finite(params(**(self.model_extra or {})).model_dump())
        except ValidationError as err:
            first = err.errors()[0]
            if first["type"] != "extra_forbidden":
                raise
            # The schema cannot list a regime's parameters: they depend on its name.
            allowed = ", ".join(["name", *params.model_fields])
            raise ValueError(f"{first['loc'][0]!r} is not a parameter of regime {self.name!r}; allowed: {allowed}") from None
        return self


def _refuse_non_finite(data: dict[str, Any], prefix: str = "") -> None:
    """Refuse inf and nan among a regime's parameters, as `_Strict` does for the rest of the
    scenario: regime parameter classes live in model/regimes.py, outside this schema."""
    for key, value in data.items():
        if isinstance(value, dict):
            _refuse_non_finite(value, f"{prefix}{key}.")
        elif isinstance(value, float) and not math.isfinite(value):
            raise FieldError(
                f"{prefix}{key}", f"Input should be a finite number (got {value!r}); allowed: a number, not inf or nan"
            )


class FiscalRules(_Strict):
    rule: Literal["county_budget"] = Field("county_budget", description="Registered fiscal rule (model/fiscal.py).")
    transfer_per_resident: float = Field(
        120,
        ge=0,
        description=(
            "Annual county transfer per resident (yuan), split between the village and its township by "
            "`township_share`; townships have no revenue of their own (001)."
        ),
    )
    township_share: float = _fraction(
        0.5,
        "Share of each resident's transfer that goes to the township; the rest goes to the village "
        "(lower it for Wuxi's 'funds sink down' 经费下沉, 003).",
    )
    earmark_share: float = _fraction(0.3, "Share of transfers earmarked for projects only.")
    funds_follow_tasks: bool = Field(
        False, description="费随事转 (000, 001): each case referred down or devolved brings its money."
    )
    matching_share: float = _fraction(
        0.3, "Share of a project's cost the village / township must match 配套资金 (001)."
    )
    project_cost: float = Field(100000, gt=0, description="Cost of one public-works project (yuan).")
    project_effect: float = Field(
        0.15,
        ge=0,
        le=1,
        description="Relative cut in public-works and service-request arrivals per project per 1,000 residents.",
    )
    interest_rate: float = Field(0.06, ge=0, le=1, description="Annual interest on debt.")
    borrowing: bool = Field(
        True, description="Units may borrow for matching funds and interception (001: 305 villages owe 170M yuan)."
    )
    debt_limit_per_resident: float = Field(
        1000,
        ge=0,
        description="Most a village or township may owe per resident of its area; past it, no more borrowing (yuan).",
    )
    initial_village_debt: float = Field(0, ge=0, description="Debt per village at start (001: 500-600k average).")
    initial_township_debt: float = Field(0, ge=0, description="Debt per township at start (001: typically >1M).")
    purchase_of_services: float = Field(
        0, ge=0, description="Annual yuan per village buying association services 政府购买服务 (000, 002)."
    )
    service_hour_price: float = Field(30, gt=0, description="Yuan per purchased association hour.")


class StaffingRules(_Strict):
    rule: Literal["establishment"] = Field("establishment", description="Registered staffing rule (model/staffing.py).")
    township_quota: int = Field(30, ge=1, le=1000, description="Township staff quota 编制 (25-45 by size, 001).")
    fill_rate: float = _fraction(0.9, "Share of the quota filled (Guiyang: 68 of 99, 001).")
    unable_share: float = _fraction(0.1, "Share of staff unable to work (age, health: ~10%, 001).")
    seconded_share: float = _fraction(
        0.0, "Share of villages whose secretary is seconded from the township (52 villages, 001)."
    )
    village_pay: float = Field(30000, ge=0, description="Village cadre annual pay (25-35k yuan, 001).")
    township_pay: float = Field(60000, ge=0, description="Township staff annual pay (yuan).")
    reference_pay: float = Field(45000, gt=0, description="Outside option pay; below it quitting rises (001).")
    quit_hazard: float = Field(0.05, ge=0, le=1, description="Base annual quit probability.")
    pay_elasticity: float = Field(
        1.0, ge=0, le=10, description="Quit hazard multiplier per unit of relative pay shortfall."
    )
    burden_elasticity: float = Field(1.0, ge=0, le=10, description="Quit hazard multiplier per unit of overload.")
    blame_elasticity: float = Field(
        1.0, ge=0, le=10, description="Quit hazard multiplier after a failed evaluation (001)."
    )
    recruitment_lag_days: int = Field(
        180, ge=0, le=3650, description="Days to fill a vacancy at the reference pay (001: vetting 'four no-use' rules)."
    )
    recruitment_pay_elasticity: float = Field(
        1.0,
        ge=0,
        le=10,
        description="Recruitment lag multiplier per unit of relative pay shortfall (001: low pay and remoteness thin the candidate pool).",
    )
    devolved_kinds: list[str] = Field(
        default_factory=list, description="Kinds whose authority is devolved from county to township 权随责走 (001)."
    )


class Scenario(_Strict):
    name: str = Field(..., min_length=1, description="Scenario name, used in outputs.")
    description: str = Field("", description="What this scenario is for.")
    years: Years = Field(3, description="Simulated years (one step = one day; at least one day, 1/365).")
    seed: int = Field(1, ge=0, description="Default seed when none is given on the command line.")
    county: CountySpec = Field(default_factory=CountySpec)
    typology: TypologyRules = Field(default_factory=TypologyRules)
    incidents: dict[str, IncidentKind] = Field(default_factory=_default_kinds, description="Incident kinds (001, 003, 004).")
    residents: ResidentRules = Field(default_factory=ResidentRules)
    associations: dict[Literal["harmony", "elderly", "environment"], AssociationRules] = Field(
        default_factory=_default_associations
    )
    neighbour_points: NeighbourPoints = Field(default_factory=NeighbourPoints)
    grid: GridRules = Field(default_factory=GridRules)
    township: TownshipRules = Field(default_factory=TownshipRules)
    cadres: CadreRules = Field(default_factory=CadreRules)
    burden: BurdenRules = Field(default_factory=BurdenRules)
    evaluation: EvaluationRules = Field(default_factory=EvaluationRules)
    regime: RegimeSpec = Field(default_factory=RegimeSpec)
    fiscal: FiscalRules = Field(default_factory=FiscalRules)
    staffing: StaffingRules = Field(default_factory=StaffingRules)

    @model_validator(mode="after")
    def _cross_checks(self) -> Scenario:
        for kind in self.staffing.devolved_kinds:
            if kind not in self.incidents:
                raise FieldError(
                    "staffing.devolved_kinds", f"unknown kind {kind!r}; allowed: {', '.join(self.incidents)}"
                )
        if not self.incidents:
            raise FieldError("incidents", "at least one kind is required")
        if "petition" in self.incidents:
            raise FieldError("incidents", "'petition' is reserved for residents' petitions")
        return self

    @property
    def days(self) -> int:
        return int(round(self.years * 365))


def _table_default(data: dict[str, Any], path: list[str]) -> dict[str, Any]:
    """What a table the scenario data lacks starts as when an override reaches into it.

    A mapping with defaults (indicator weights, cadres' beliefs and priors, platform shares,
    incident kinds) starts as its defaults, so ``regime.weights.discovery_rate=0.1`` adds one
    weight instead of replacing all of them; a sub-model starts empty and fills itself in.
    Regime parameters are the named regime's (``regime.name`` in ``data``)."""
    from pydantic_core import PydanticUndefined

    from model.regimes import REGIMES

    node: Any = Scenario
    for key in path:
        if node is RegimeSpec:
            name = (data.get("regime") or {}).get("name", RegimeSpec.model_fields["name"].default)
            node = REGIMES[name].Params if isinstance(name, str) and name in REGIMES else None
        if isinstance(node, type) and issubclass(node, BaseModel):
            field = node.model_fields.get(key)
            if field is None:
                return {}
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                node = annotation
                continue
            node = field.default_factory() if field.default_factory is not None else field.default
            node = None if node is PydanticUndefined else node
        elif isinstance(node, dict):
            node = node.get(key)
        else:
            return {}
    if not isinstance(node, dict):
        return {}
    return {k: v.model_dump() if isinstance(v, BaseModel) else copy.deepcopy(v) for k, v in node.items()}


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any] | None) -> dict[str, Any]:
    """Return a copy of raw scenario data with dotted-key overrides applied.

    ``{"regime.name": "veto", "staffing.fill_rate": 0.68}``: intermediate tables are created
    when absent, so an override may set a field the file leaves at its default; a mapping
    starts as its defaults (``_table_default``). Shallower keys are applied first, so
    ``regime.name`` is known before ``regime.weights.x`` and a whole table before its entries.
    """
    out = copy.deepcopy(data)
    for dotted, value in sorted((overrides or {}).items(), key=lambda item: item[0].count(".")):
        node = out
        *parents, leaf = dotted.split(".")
        for depth, key in enumerate(parents):
            child = node.get(key)
            if child is None:
                child = node[key] = _table_default(out, parents[: depth + 1])
            if not isinstance(child, dict):
                raise ScenarioError(f"override {dotted!r}: {key!r} is not a table; allowed: a key of a table (see run.py schema)")
            node = child
        node[leaf] = value
    return out


def parse_override(text: str) -> tuple[str, Any]:
    """Parse ``dotted.key=value`` from the command line; the value is read as YAML."""
    if "=" not in text:
        raise ScenarioError(f"--set {text!r}: expected dotted.key=value")
    key, raw = text.split("=", 1)
    try:
        return key.strip(), load_yaml_text(raw)
    except DuplicateKeyError as err:
        raise ScenarioError(f"--set {text!r}: field '{key.strip()}.{err.field}': {err}") from None
    except yaml.YAMLError as err:
        raise ScenarioError(
            f"--set {text!r}: the value is not valid YAML ({_problem(err)}); "
            "allowed: a number, true/false, text, [a, list] or {a: table}"
        ) from None


def _allowed_fields(parent: tuple) -> list[str]:
    """Field names of the table at ``parent`` (a pydantic error location) in the schema."""
    model: Any = Scenario
    for part in parent:
        info = getattr(model, "model_fields", {}).get(part) if isinstance(part, str) else None
        if info is None:
            args = getattr(model, "__args__", ())  # dict[str, X]: step into X
            model = args[-1] if args else None
        else:
            model = info.annotation
        if model is None:
            return []
    return list(getattr(model, "model_fields", {}))


def _describe(err: ValidationError, source: str) -> str:
    first = err.errors()[0]
    loc = tuple(first["loc"])
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, FieldError):
        loc += tuple(cause.field.split("."))
    field = ".".join(str(p) for p in loc) or "(top level)"
    kind = first["type"]
    if kind == "finite_number":
        what = f"{first['msg']} (got {first.get('input')!r}); allowed: a number, not inf or nan"
    elif kind == "extra_forbidden":
        what = f"unknown field; allowed: {', '.join(_allowed_fields(first['loc'][:-1]))}"
    else:
        what = first["msg"].removeprefix("Value error, ")
        for key in ("ge", "gt", "le", "lt"):
            if key in first.get("ctx", {}):
                what = f"{first['msg']} (got {first.get('input')!r})"
                break
    more = f" (+{len(err.errors()) - 1} more)" if len(err.errors()) > 1 else ""
    return f"{source}: field '{field}': {what}{more}"


def scenario_from_dict(data: dict[str, Any], source: str = "<scenario>") -> Scenario:
    """Validate raw data as a Scenario, turning pydantic errors into one ScenarioError line."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: expected a YAML mapping at top level")
    data = dict(data)
    # Named tables merge over their defaults, so a file (or --set incidents.labour_wage.rate=9)
    # changes one field of one entry without restating the rest; `rate: 0` switches a kind off.
    for table, defaults in (("incidents", _default_kinds), ("associations", _default_associations)):
        if isinstance(data.get(table), dict):
            base = {k: v.model_dump() for k, v in defaults().items()}
            data[table] = deep_merge(base, data[table])
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(_describe(err, source)) from None


class DuplicateKeyError(yaml.YAMLError):
    """A key given twice in one YAML mapping; ``field`` is its dotted path."""

    def __init__(self, field: str, first_line: int, second_line: int) -> None:
        super().__init__(f"given twice (lines {first_line} and {second_line}); allowed: each key once")
        self.field = field


class UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping.

    YAML says keys are unique, but PyYAML keeps the last one silently, so ``years: 1`` …
    ``years: 2`` would run two years with nobody the wiser. Keys brought in by a ``<<`` merge
    may be overridden: that is what a merge is for."""

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        self._refuse_duplicates(node, (), set())
        return self.construct_document(node)

    def _refuse_duplicates(self, node: yaml.Node, path: tuple[str, ...], seen: set[int]) -> None:
        if id(node) in seen:  # an alias met again (aliases may even be recursive)
            return
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._refuse_duplicates(item, (*path, str(i)), seen)
        elif isinstance(node, yaml.MappingNode):
            lines: dict[Any, int] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self._key(key_node)
                line = key_node.start_mark.line + 1
                if key in lines:
                    raise DuplicateKeyError(".".join((*path, str(key))), lines[key], line)
                lines[key] = line
                self._refuse_duplicates(value_node, (*path, str(key)), seen)

    def _key(self, node: yaml.Node) -> Any:
        # Compared as constructed, so `1` and `1.0`, or `on` and `true`, are the same key; a
        # table or list as a key is unusual enough to count as distinct.
        return self.construct_object(node, deep=True) if isinstance(node, yaml.ScalarNode) else id(node)


def load_yaml_text(text: str) -> Any:
    """YAML text as data, refusing duplicate keys (``UniqueKeyLoader``)."""
    return yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 (a SafeLoader)


def _one_line(err: yaml.YAMLError) -> str:
    return " ".join(str(err).split())


def _problem(err: yaml.YAMLError) -> str:
    """What the parser met and where, without the quoted source it repeats."""
    problem, mark = getattr(err, "problem", None), getattr(err, "problem_mark", None)
    if problem is None:
        return _one_line(err)
    return f"{problem}, at character {mark.column + 1}" if mark is not None else problem


def read_yaml(path: str | Path) -> dict[str, Any]:
    """A scenario, experiment or fact file as data; anything unreadable is one ScenarioError line."""
    path = Path(path)
    if path.is_dir():
        raise ScenarioError(f"{path}: is a folder; allowed: a YAML file")
    if not path.is_file():
        raise ScenarioError(f"{path}: no such file")
    try:
        data = load_yaml_text(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise ScenarioError(
            f"{path}: not UTF-8 text (byte {err.start}); allowed: a file saved as UTF-8 (e.g. from GBK: "
            f"iconv -f GBK -t UTF-8)"
        ) from None
    except OSError as err:
        raise ScenarioError(f"{path}: cannot read it: {err.strerror}") from None
    except DuplicateKeyError as err:
        raise ScenarioError(f"{path}: field '{err.field}': {err}") from None
    except yaml.YAMLError as err:
        raise ScenarioError(f"{path}: not valid YAML: {_one_line(err)}") from None
    return data if data is not None else {}


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """``top`` over ``base``, table by table (lists and values are replaced whole)."""
    out = dict(base)
    for key, value in top.items():
        out[key] = deep_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def a_kind(kind: str) -> str:
    """``kind`` with its article, for messages: 'an experiment', 'a validation fact'."""
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


def file_kind(data: object) -> str:
    """What a YAML file is, from its top-level keys: a validation fact names its ``claims``,
    an experiment its ``sweep``, a calibration to the essays its ``targets``; anything else is
    read as a scenario."""
    if isinstance(data, dict) and "claims" in data:
        return "validation fact"
    if isinstance(data, dict) and "sweep" in data:
        return "experiment"
    if isinstance(data, dict) and "targets" in data:
        return "calibration"
    return "scenario"


def resolve_extends(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a scenario, merging it over the file its ``extends:`` names (relative to it)."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: expected a YAML mapping at top level")
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ScenarioError(f"{path}: field 'extends': expected a file name")
    parent_path = (path.parent / parent).resolve()
    if parent_path in seen:
        raise ScenarioError(f"{path}: field 'extends': circular reference to {parent}")
    if not parent_path.is_file():
        raise ScenarioError(f"{path}: field 'extends': {parent_path}: no such file; allowed: a scenario file, relative to this one")
    return deep_merge(resolve_extends(parent_path, (*seen, path.resolve())), data)


def load_scenario(path: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Load a scenario file (following ``extends:``), apply overrides, validate."""
    data = resolve_extends(Path(path))
    kind = file_kind(data)
    if kind != "scenario":
        run_it = {
            "experiment": f"python run.py sweep {path}",
            "validation fact": f"python run.py validate-model --dir {Path(path).parent} --facts {data.get('id')}",
            "calibration": "python run.py calibrate-essays",
        }[kind]
        raise ScenarioError(f"{path}: {a_kind(kind)} file, not a scenario; allowed: a scenario file; run it with: {run_it}")
    try:
        data = apply_overrides(data, overrides)
    except ScenarioError as err:  # name the file the override was applied to
        raise ScenarioError(f"{path}: {err}") from None
    return scenario_from_dict(data, source=str(path))
