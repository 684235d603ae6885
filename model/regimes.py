"""Assessment regimes: how the county scores a unit's *reported* indicators.

This module is where the one-vote veto 一票否决 is decided. A regime is a small class with a
``Params`` pydantic model and one method, ``evaluate``, that maps reported indicators to a
score, a pass / fail verdict, the share of bonus kept and the probability of dismissal.
Regimes differ *only* here: the cadres (model/cadres.py) respond to whatever a regime
scores, so interception, promises and concealment must emerge from that response.

``evaluate`` receives numpy arrays (any shape, broadcast together), so cadres can score many
hypothetical futures at once. Add a regime with::

    @register
    class MyRegime(AssessmentRegime):
        name = "mine"
        class Params(RegimeParams): ...
        def evaluate(self, x): ...
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from model.numeric import clip
from model.scenario import INDICATORS

HIGHER_IS_BETTER = {
    "disposal_rate",
    "timeliness_rate",
    "closure_rate",
    "satisfaction_rate",
    "proof_of_work",
    "inspection_score",
    "discovery_rate",
}
"""The rest (petition rates, collective petitions) are better when lower."""

Indicators = dict[str, np.ndarray]


@dataclass
class Evaluation:
    """The verdict on one or many units (arrays broadcast over units / scenarios)."""

    score: np.ndarray
    passed: np.ndarray
    bonus_kept: np.ndarray
    dismissal_prob: np.ndarray


class RegimeParams(BaseModel):
    # inf and nan pass one-sided bounds and cannot be written back to scenario.json.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    audit_rate: float = Field(0.0, ge=0, le=1, description="Probability a unit's data are audited each year.")
    audit_penalty: float = Field(0.0, ge=0, le=100, description="Score lost per unit share of records found concealed.")
    petition_scale: float = Field(
        5.0, gt=0, description="Petitions per 10k residents per year at which petition goodness halves."
    )


def goodness(name: str, value: np.ndarray, petition_scale: float) -> np.ndarray:
    """Map an indicator to [0, 1], 1 being best, so weighted sums are comparable."""
    if name in HIGHER_IS_BETTER:
        return clip(value, 0.0, 1.0)
    if name == "collective_petitions":
        return 1.0 / (1.0 + np.maximum(value, 0.0))
    return 1.0 / (1.0 + np.maximum(value, 0.0) / petition_scale)


def _check_weights(weights: dict[str, float]) -> dict[str, float]:
    for key, w in weights.items():
        if key not in INDICATORS:
            raise ValueError(f"unknown indicator {key!r}; allowed: {', '.join(INDICATORS)}")
        if w < 0:
            raise ValueError(f"weight of {key!r} must be >= 0")
    total = sum(weights.values())
    if total <= 0:
        raise ValueError("weights must not all be zero")
    if not math.isfinite(total):
        raise ValueError(
            "weights so large that their sum overflows; allowed: non-negative numbers with a "
            "finite sum (they are normalised: 1, 2, 3 weigh as 0.1, 0.2, 0.3)"
        )
    return weights


class AssessmentRegime(ABC):
    """Base class: subclasses set ``name``, ``Params`` and ``evaluate``."""

    name: ClassVar[str]
    Params: ClassVar[type[RegimeParams]] = RegimeParams

    def __init__(self, params: RegimeParams) -> None:
        self.params = params

    @property
    def audit_rate(self) -> float:
        return self.params.audit_rate

    def weighted(self, x: Indicators, weights: dict[str, float]) -> np.ndarray:
        total = sum(weights.values())
        score = sum(w * goodness(k, x[k], self.params.petition_scale) for k, w in weights.items())
        return score / total

    def concealment_penalty(self, x: Indicators) -> np.ndarray:
        return self.params.audit_penalty * x.get("concealment_detected_share", 0.0)

    @abstractmethod
    def evaluate(self, x: Indicators) -> Evaluation:
        """Score reported indicators (arrays broadcast together)."""


REGIMES: dict[str, type[AssessmentRegime]] = {}


def register(cls: type[AssessmentRegime]) -> type[AssessmentRegime]:
    """Add a regime to the registry under ``cls.name`` so scenarios can name it."""
    REGIMES[cls.name] = cls
    return cls


def make_regime(spec: BaseModel) -> AssessmentRegime:
    """Build the regime a scenario's ``regime:`` table names."""
    cls = REGIMES[spec.name]
    return cls(cls.Params(**(spec.model_extra or {})))


class VetoParams(RegimeParams):
    indicator: str = Field(
        "petition_rate", description="The vetoed indicator (000: mass petitions, births, demolition)."
    )
    threshold: float = Field(
        3.0, ge=0, description="Value above which (lower-is-better) or below which the unit fails."
    )
    dismissal_prob: float = Field(0.3, ge=0, le=1, description="Probability the leadership is dismissed on a veto.")
    routine_weights: dict[str, float] = Field(
        default_factory=lambda: {
            "proof_of_work": 0.3,
            "inspection_score": 0.3,
            "disposal_rate": 0.2,
            "closure_rate": 0.2,
        },
        description="Weights of the routine target-responsibility items scored when the veto is passed.",
    )

    @field_validator("indicator")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in INDICATORS:
            raise ValueError(f"unknown indicator {v!r}; allowed: {', '.join(INDICATORS)}")
        return v

    @field_validator("routine_weights")
    @classmethod
    def _weights(cls, v: dict[str, float]) -> dict[str, float]:
        return _check_weights(v)

    @model_validator(mode="after")
    def _threshold_on_the_indicator_scale(self) -> VetoParams:
        # A rate fails the veto below the threshold and is at most 1: with the default
        # threshold (3, a petition count) every unit would fail whatever its cadres did.
        if self.indicator in HIGHER_IS_BETTER and self.threshold > 1:
            raise ValueError(
                f"threshold {self.threshold:g} is above the largest value of {self.indicator!r} (a share, at "
                f"most 1), so every unit would fail; allowed: 0 to 1 for a rate"
            )
        return self


@register
class OneVoteVeto(AssessmentRegime):
    """One-vote veto 一票否决 (000): one item fails → the whole evaluation fails."""

    name = "veto"
    Params = VetoParams

    def evaluate(self, x: Indicators) -> Evaluation:
        p: VetoParams = self.params
        value = x[p.indicator]
        vetoed = value < p.threshold if p.indicator in HIGHER_IS_BETTER else value > p.threshold
        routine = clip(self.weighted(x, p.routine_weights) - self.concealment_penalty(x), 0, 1)
        score = np.where(vetoed, 0.0, routine)
        passed = ~vetoed
        return Evaluation(score, passed, score, np.where(vetoed, p.dismissal_prob, 0.0))


class ComprehensiveParams(RegimeParams):
    audit_rate: float = Field(0.3, ge=0, le=1, description="Probability of a data-quality audit per unit per year.")
    audit_penalty: float = Field(3.0, ge=0, le=100, description="Score lost per unit share of records found concealed.")
    weights: dict[str, float] = Field(
        default_factory=lambda: {
            # Several factors with weights, derived from the post's duties (000); the four
            # Beicai rates (002) carry most of the weight.
            "disposal_rate": 0.15,
            "timeliness_rate": 0.15,
            "closure_rate": 0.15,
            "satisfaction_rate": 0.2,
            "petition_rate": 0.1,
            "skip_level_rate": 0.05,
            "proof_of_work": 0.1,
            "inspection_score": 0.1,
        },
        description="Indicator weights (any non-negative numbers; normalised).",
    )
    pass_mark: float = Field(0.6, ge=0, le=1, description="Score below which the unit fails.")
    fail_dismissal_prob: float = Field(0.05, ge=0, le=1, description="Probability of dismissal on failing.")

    @field_validator("weights")
    @classmethod
    def _weights(cls, v: dict[str, float]) -> dict[str, float]:
        return _check_weights(v)


@register
class ComprehensiveAssessment(AssessmentRegime):
    """Comprehensive performance assessment 综合绩效评估 (000), with data-quality audits."""

    name = "comprehensive"
    Params = ComprehensiveParams

    def evaluate(self, x: Indicators) -> Evaluation:
        p: ComprehensiveParams = self.params
        score = clip(self.weighted(x, p.weights) - self.concealment_penalty(x), 0.0, 1.0)
        passed = score >= p.pass_mark
        return Evaluation(score, passed, score, np.where(passed, 0.0, p.fail_dismissal_prob))


class ConsultativeParams(ComprehensiveParams):
    weights: dict[str, float] = Field(
        default_factory=lambda: {
            # "Reduce pressure, give more" 减压多予 (000): consultative rather than pressure
            # administration; residents' satisfaction and real closure count most.
            "satisfaction_rate": 0.4,
            "closure_rate": 0.2,
            "timeliness_rate": 0.1,
            "disposal_rate": 0.1,
            "proof_of_work": 0.1,
            "inspection_score": 0.1,
        },
        description="Indicator weights (any non-negative numbers; normalised).",
    )
    pass_mark: float = Field(0.5, ge=0, le=1, description="Score below which the unit fails.")
    fail_dismissal_prob: float = Field(0.0, ge=0, le=1, description="Probability of dismissal on failing.")


@register
class ConsultativeAssessment(ComprehensiveAssessment):
    """Consultative assessment for 减压多予 (000); pair it with light burden and funds_follow_tasks."""

    name = "consultative"
    Params = ConsultativeParams
