"""Staffing rules: quotas 编制, fill rate, staff unable to work, pay, quitting, recruitment,
secondment and dismissal (essay 001).

The roster is one row per *post* (village cadre or township staff), as numpy columns; the
Mesa agents in model/cadres.py are views of its rows. A staffing rule is a registered class
with ``build`` (create the roster) and ``monthly`` (quits and refills); sanctions call
``dismiss``. Turnover feeds back into the hours each unit has (claim 7 of DOMAIN.md).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from model.scenario import Scenario

VILLAGE_ROLE, TOWNSHIP_ROLE = 0, 1


@dataclass
class Roster:
    unit: np.ndarray  # int32: the village or township unit the post serves
    role: np.ndarray  # int8: VILLAGE_ROLE or TOWNSHIP_ROLE
    on_post: np.ndarray  # bool: filled
    able: np.ndarray  # bool: able to work (001: ~10% unable)
    seconded: np.ndarray  # bool: a township cadre serving as village secretary (001)
    refill_day: np.ndarray  # int32: day a vacancy will be filled (-1 if none pending)

    def hours_per_unit(self, n_units: int, hours_per_day: float) -> np.ndarray:
        working = self.on_post & self.able
        return np.bincount(self.unit[working], minlength=n_units) * hours_per_day

    def on_post_count(self) -> int:
        return int(self.on_post.sum())


class StaffingRule(ABC):
    name: ClassVar[str]

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.quits = 0
        self.dismissals = 0

    @abstractmethod
    def build(self, n_villages: int, township_of: np.ndarray, rng: np.random.Generator) -> Roster:
        """Create the posts at the start of a run."""

    @abstractmethod
    def monthly(
        self, roster: Roster, day: int, days: int, overload: np.ndarray, blamed: np.ndarray, rng: np.random.Generator
    ) -> None:
        """Quits over ``days`` days and refills of vacancies whose lag is over."""

    def pay_shortfall(self, roster: Roster) -> np.ndarray:
        """Each post's pay below the outside option, as a share of it (0 when paid enough)."""
        s = self.scenario.staffing
        pay = np.where(roster.role == VILLAGE_ROLE, s.village_pay, s.township_pay)
        return np.maximum(0.0, (s.reference_pay - pay) / s.reference_pay)

    def recruitment_lag(self, roster: Roster) -> np.ndarray:
        """Days to fill each post once vacant: low pay thins the candidate pool (001)."""
        s = self.scenario.staffing
        lag = s.recruitment_lag_days * (1.0 + s.recruitment_pay_elasticity * self.pay_shortfall(roster))
        return np.round(lag).astype(np.int32)

    def dismiss(self, roster: Roster, units: np.ndarray, day: int, rng: np.random.Generator) -> None:
        """Sanction: one post of each unit in ``units`` is vacated (leadership dismissed)."""
        lag = self.recruitment_lag(roster)
        for u in units:
            filled = np.flatnonzero((roster.unit == u) & roster.on_post)
            if len(filled):
                slot = filled[0]
                roster.on_post[slot] = False
                roster.refill_day[slot] = day + lag[slot]
                self.dismissals += 1


STAFFING_RULES: dict[str, type[StaffingRule]] = {}


def register(cls: type[StaffingRule]) -> type[StaffingRule]:
    STAFFING_RULES[cls.name] = cls
    return cls


@register
class Establishment(StaffingRule):
    """Posts by quota, filled to the fill rate; quitting rises with low pay, burden and blame."""

    name = "establishment"

    def build(self, n_villages: int, township_of: np.ndarray, rng: np.random.Generator) -> Roster:
        s, cadres = self.scenario.staffing, self.scenario.cadres
        n_townships = int(township_of.max()) + 1
        units, roles, seconded = [], [], []
        for v in range(n_villages):
            units += [v] * cadres.per_village
            roles += [VILLAGE_ROLE] * cadres.per_village
            seconded += [False] * cadres.per_village
        for t in range(n_townships):
            units += [n_villages + t] * s.township_quota
            roles += [TOWNSHIP_ROLE] * s.township_quota
            seconded += [False] * s.township_quota
        unit = np.array(units, dtype=np.int32)
        role = np.array(roles, dtype=np.int8)
        on_post = np.ones(len(unit), dtype=bool)
        # Township posts are filled only to the fill rate (Guiyang: 68 of 99, 001).
        for t in range(n_townships):
            posts = np.flatnonzero(unit == n_villages + t)
            on_post[posts[int(round(s.fill_rate * len(posts))) :]] = False
        able = rng.random(len(unit)) >= s.unable_share
        # Secondment (001): a township cadre moves to serve as a village's secretary.
        sec = np.array(seconded)
        chosen = np.flatnonzero(rng.random(n_villages) < s.seconded_share)
        for v in chosen:
            t_posts = np.flatnonzero((unit == n_villages + township_of[v]) & on_post & ~sec)
            if len(t_posts):
                slot = t_posts[-1]
                unit[slot], sec[slot] = v, True
        return Roster(unit, role, on_post, able, sec, np.full(len(unit), -1, dtype=np.int32))

    def monthly(
        self, roster: Roster, day: int, days: int, overload: np.ndarray, blamed: np.ndarray, rng: np.random.Generator
    ) -> None:
        s = self.scenario.staffing
        hazard = (
            s.quit_hazard
            * (1.0 + s.pay_elasticity * self.pay_shortfall(roster))
            * (1.0 + s.burden_elasticity * overload[roster.unit])
            * (1.0 + s.blame_elasticity * blamed[roster.unit])
        )
        p_quit = 1.0 - np.exp(-hazard * days / 365.0)
        # One draw of each kind per post every month, used or not: two scenarios on the same
        # seed then see the same draws (common random numbers), so a higher hazard quits a
        # superset of the posts rather than a different set.
        quit_draws = rng.random(len(p_quit))
        able_draws = rng.random(len(p_quit))
        quits = roster.on_post & (quit_draws < p_quit)
        self.quits += int(quits.sum())
        roster.on_post[quits] = False
        roster.refill_day[quits] = day + self.recruitment_lag(roster)[quits]
        due = ~roster.on_post & (roster.refill_day >= 0) & (roster.refill_day <= day)
        roster.on_post[due] = True
        roster.refill_day[due] = -1
        roster.able[due] = able_draws[due] >= s.unable_share


def make_staffing(scenario: Scenario) -> StaffingRule:
    return STAFFING_RULES[scenario.staffing.rule](scenario)
