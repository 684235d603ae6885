"""Village cadres 村干部 and township staff 乡镇干部: who they are and how they decide.

Individual cadres are Mesa agents (``VillageCadre``, ``TownshipStaff``) over the staff roster
in model/staffing.py. Decisions are taken per *unit* (a village committee or a township
office) by ``CadreDecisions``, vectorised over all units:

1. forecast the unit's *reported* indicators at year end (moving averages, indicators.py);
2. ask the regime (regimes.py) for the expected evaluation utility around that forecast,
   under the cadres' forecast uncertainty, and differentiate it numerically: which
   indicators are worth moving, and how much;
3. value each task (and each use of money) by the indicators the cadres *believe* it moves
   (``cadres.beliefs``, the same under every regime), scaled by what is feasible now
   (money for resolution, people for interception), plus duty / ethics norms
   (``cadres.task_priors``);
4. split hours and money by a softmax of those values (bounded rationality), moving part of
   the way from last month's split; the order in which the unit works its handling queue
   (first come, or what can still make the response target) is chosen the same way.

After each annual evaluation the unit learns where it lost score and pays that indicator more
attention next year. So a veto on petitions makes stability work, promises and concealment
pay exactly when the petition count nears the threshold, and only then; no code here knows
which regime is in force.
"""

from __future__ import annotations

import mesa
import numpy as np
from scipy.stats import norm

from model.numeric import clip
from model.regimes import HIGHER_IS_BETTER, AssessmentRegime
from model.scenario import INDICATORS, MONEY_USES, QUEUE_DISCIPLINES, TASKS, CadreRules, EvaluationRules

# Each column's forecast errors are a fixed permutation keyed by the column (``z`` below).
# discovery_rate came last and sits after concealment, so every other column kept its
# permutation and runs whose regime does not score discovery stayed bit-identical.
DECISION_INDICATORS = (
    *(name for name in INDICATORS if name != "discovery_rate"),
    "concealment_detected_share",
    "discovery_rate",
)
FORECAST_DRAWS = 24
"""Stratified draws of forecast error: enough to smooth a veto threshold into a gradient."""


class VillageCadre(mesa.Agent):
    """A village cadre 村干部 (3-5 per merged village, paid 25-35k yuan a year, 001)."""

    def __init__(self, model: mesa.Model, slot: int) -> None:
        super().__init__(model)
        self.slot = slot

    @property
    def village(self) -> int:
        return int(self.model.staff.unit[self.slot])

    @property
    def on_post(self) -> bool:
        return bool(self.model.staff.on_post[self.slot])

    @property
    def seconded(self) -> bool:
        return bool(self.model.staff.seconded[self.slot])


class TownshipStaff(mesa.Agent):
    """A member of township staff 乡镇编制 (quota 25-45, ~10% unable to work, 001)."""

    def __init__(self, model: mesa.Model, slot: int) -> None:
        super().__init__(model)
        self.slot = slot

    @property
    def township(self) -> int:
        return int(self.model.staff.unit[self.slot]) - self.model.n_villages

    @property
    def on_post(self) -> bool:
        return bool(self.model.staff.on_post[self.slot])

    @property
    def able(self) -> bool:
        return bool(self.model.staff.able[self.slot])


def expected_utility(regime: AssessmentRegime, x: dict[str, np.ndarray], rules: EvaluationRules) -> np.ndarray:
    """Evaluation utility in score units: bonus kept minus the expected cost of dismissal."""
    ev = regime.evaluate(x)
    return ev.bonus_kept - rules.dismissal_cost * ev.dismissal_prob


def _belief_matrix(actions: tuple[str, ...], table: dict[str, dict[str, float]]) -> np.ndarray:
    """(actions, decision indicators): the believed effect of each action on each indicator."""
    out = np.zeros((len(actions), len(DECISION_INDICATORS)))
    for a, action in enumerate(actions):
        for ind, b in table.get(action, {}).items():
            out[a, DECISION_INDICATORS.index(ind)] = b
    return out


def _perturb(name: str, x: np.ndarray, z: np.ndarray, noise: float) -> np.ndarray:
    """Forecast draws around ``x``: additive for rates, multiplicative for counts."""
    if name in HIGHER_IS_BETTER:
        return clip(x + 0.2 * noise * z, 0.0, 1.0)
    return np.maximum((x + 0.5) * np.exp(noise * z) - 0.5, 0.0)


class CadreDecisions:
    """Hours and money splits of every unit, and what each unit has learned."""

    def __init__(self, n_units: int, rules: CadreRules) -> None:
        self.rules = rules
        self.shares = np.full((n_units, len(TASKS)), 1.0 / len(TASKS))
        self.money_shares = np.full((n_units, len(MONEY_USES)), 1.0 / len(MONEY_USES))
        self.attention = np.zeros((n_units, len(DECISION_INDICATORS)))
        # Every unit starts by serving its queue first come, first served.
        self.queue_shares = np.zeros((n_units, len(QUEUE_DISCIPLINES)))
        self.queue_shares[:, QUEUE_DISCIPLINES.index("first_come")] = 1.0
        self.belief = _belief_matrix(TASKS, rules.beliefs)
        self.money_belief = _belief_matrix(MONEY_USES, rules.money_beliefs)
        self.queue_belief = _belief_matrix(QUEUE_DISCIPLINES, rules.queue_beliefs)
        self.task_prior = np.array([rules.task_priors.get(t, 0.0) for t in TASKS])
        self.last_gradient = np.zeros((n_units, len(DECISION_INDICATORS)))
        self.money_prior = np.array([rules.money_priors.get(m, 0.0) for m in MONEY_USES])
        self.queue_prior = np.array([rules.queue_priors.get(q, 0.0) for q in QUEUE_DISCIPLINES])
        k = np.arange(FORECAST_DRAWS)
        base = norm.ppf((k + 0.5) / FORECAST_DRAWS)
        # A fixed permutation per indicator decorrelates their forecast errors without
        # drawing random numbers: decisions stay a pure function of the state.
        self.z = np.stack([np.roll(base, 7 * i + i * i) for i in range(len(DECISION_INDICATORS))])

    def gradient(self, regime: AssessmentRegime, x: dict[str, np.ndarray], evaluation: EvaluationRules) -> np.ndarray:
        """d E[utility] / d indicator for every unit, shape (units, indicators)."""
        n_ind = len(DECISION_INDICATORS)
        noisy = {
            name: _perturb(name, x[name][None, :], self.z[i][:, None], self.rules.forecast_noise)
            for i, name in enumerate(DECISION_INDICATORS)
        }
        grads = np.zeros((len(next(iter(x.values()))), n_ind))
        for i, name in enumerate(DECISION_INDICATORS):
            step = 0.05 if name in HIGHER_IS_BETTER or name == "concealment_detected_share" else 0.25 * (x[name] + 1.0)
            up, down = dict(noisy), dict(noisy)
            up[name] = noisy[name] + step
            down[name] = np.maximum(noisy[name] - step, 0.0)
            width = (up[name] - down[name]).mean(axis=0)
            diff = expected_utility(regime, up, evaluation) - expected_utility(regime, down, evaluation)
            grads[:, i] = diff.mean(axis=0) / np.maximum(width, 1e-9)
        return grads

    def _effects(self, belief: np.ndarray, x: dict[str, np.ndarray]) -> np.ndarray:
        """Believed change of each indicator from a full share, with diminishing returns."""
        cols = []
        for i, name in enumerate(DECISION_INDICATORS):
            b = belief[:, i][None, :]
            value = x[name][:, None]
            if name in HIGHER_IS_BETTER:
                cols.append(np.where(b > 0, b * (1.0 - value), b * value))
            else:
                cols.append(np.where(b < 0, b * value, b * (value + 1.0)))
        return np.stack(cols, axis=2)  # (units, tasks, indicators)

    def allocate(
        self,
        regime: AssessmentRegime,
        x: dict[str, np.ndarray],
        evaluation: EvaluationRules,
        task_feasibility: np.ndarray,
        money_feasibility: np.ndarray,
    ) -> None:
        """Re-split hours and money for every unit (called every decision interval)."""
        x = dict(x)
        grads = self.gradient(regime, x, evaluation) * (1.0 + self.attention)
        self.last_gradient = grads
        # Concealment is only risky through audits; the audit rate is public knowledge.
        detect = regime.audit_rate * evaluation.audit_detection
        j = DECISION_INDICATORS.index("concealment_detected_share")
        grads[:, j] *= detect
        x["concealment_detected_share"] = np.zeros_like(x["disposal_rate"])
        task_value = np.einsum("uti,ui->ut", self._effects(self.belief, x), grads) * task_feasibility
        money_value = np.einsum("umi,ui->um", self._effects(self.money_belief, x), grads) * money_feasibility
        queue_value = np.einsum("uqi,ui->uq", self._effects(self.queue_belief, x), grads)
        self.shares = self._move(self.shares, task_value + self.task_prior)
        self.money_shares = self._move(self.money_shares, money_value + self.money_prior)
        self.queue_shares = self._move(self.queue_shares, queue_value + self.queue_prior)

    @property
    def deadline_first(self) -> np.ndarray:
        """Each unit's weight on working its queue deadline-first, in [0, 1]."""
        return self.queue_shares[:, QUEUE_DISCIPLINES.index("deadline_first")]

    def _move(self, old: np.ndarray, value: np.ndarray) -> np.ndarray:
        logits = self.rules.rationality * value
        logits -= logits.max(axis=1, keepdims=True)
        target = np.exp(logits)
        target /= target.sum(axis=1, keepdims=True)
        floor = self.rules.min_share
        target = floor + (1.0 - floor * target.shape[1]) * target
        return (1.0 - self.rules.adjustment) * old + self.rules.adjustment * target

    def learn(self, regime: AssessmentRegime, x: dict[str, np.ndarray], evaluation: EvaluationRules) -> None:
        """After an evaluation: attend next year to the indicators that cost the most score."""
        base = expected_utility(regime, x, evaluation)
        lessons = np.zeros_like(self.attention)
        for i, name in enumerate(DECISION_INDICATORS):
            best = dict(x)
            best[name] = np.ones_like(x[name]) if name in HIGHER_IS_BETTER else np.zeros_like(x[name])
            lessons[:, i] = np.maximum(expected_utility(regime, best, evaluation) - base, 0.0)
        total = lessons.sum(axis=1, keepdims=True)
        lesson_share = np.where(total > 0, lessons / np.maximum(total, 1e-12), 0.0)
        lr = self.rules.learning_rate
        self.attention = (1.0 - lr) * self.attention + lr * lesson_share
