"""Fiscal rules: transfers, earmarks, matching funds 配套资金, debt with interest, and
"funds follow tasks" 费随事转 (essays 000, 001, 003).

Townships have no revenue of their own: all money comes through the county budget (001).
The ``Ledger`` holds every unit's money as numpy columns and keeps the books so that, for
each unit, spent = received + borrowed - repaid - (balance_end - balance_start) holds
exactly (a tested identity). The county's own spending (its departments, its share of
projects, funds that follow tasks, audits) is tracked separately.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from model.scenario import MONEY_USES, Scenario

SPENDING_PURPOSES = ("resolution", "projects", "interception", "interest")
COUNTY_PURPOSES = ("departments", "projects", "funds_follow_tasks", "audits", "services")


class Ledger:
    def __init__(self, n_units: int) -> None:
        self.envelope = np.zeros((len(MONEY_USES), n_units))  # discretionary money by use
        self.earmarked = np.zeros(n_units)  # projects only
        self.debt = np.zeros(n_units)
        self.received = np.zeros(n_units)
        self.borrowed = np.zeros(n_units)
        self.repaid = np.zeros(n_units)
        self.spent = np.zeros((len(SPENDING_PURPOSES), n_units))
        self.county_spent = np.zeros(len(COUNTY_PURPOSES))
        self.start_balance = np.zeros(n_units)

    def balance(self) -> np.ndarray:
        return self.envelope.sum(axis=0) + self.earmarked

    def spend(self, purpose: str, units: np.ndarray, amounts: np.ndarray) -> None:
        np.add.at(self.spent[SPENDING_PURPOSES.index(purpose)], units, amounts)

    def draw(
        self, use: str, units: np.ndarray, amounts: np.ndarray, purpose: str | None = None, borrow: bool = False
    ) -> None:
        """Pay ``amounts`` from a use's envelope; with ``borrow``, any shortfall becomes debt."""
        env = self.envelope[MONEY_USES.index(use)]
        need = np.bincount(units, weights=amounts, minlength=len(env))
        short = np.maximum(need - env, 0.0)
        if np.count_nonzero(short):  # cheaper than .any() on a few units (docs/performance.md)
            if not borrow:
                raise ValueError("draw beyond the envelope without borrowing")
            self.debt += short
            self.borrowed += short
            env += short
        env -= need
        self.spend(purpose or use, units, amounts)

    def county(self, purpose: str, amount: float) -> None:
        self.county_spent[COUNTY_PURPOSES.index(purpose)] += amount

    def repool(self, shares: np.ndarray) -> None:
        """Money is fungible: re-split the free balance by the new money shares (units × uses)."""
        free = self.envelope.sum(axis=0)
        self.envelope = (shares * free[:, None]).T.copy()


class FiscalRule(ABC):
    name: ClassVar[str]

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario

    @abstractmethod
    def daily_income(self, ledger: Ledger, population: np.ndarray, money_shares: np.ndarray) -> None:
        """Credit the day's transfers to every unit."""

    @abstractmethod
    def daily_interest(self, ledger: Ledger) -> None:
        """Charge interest on debt."""

    @abstractmethod
    def year_end(self, ledger: Ledger) -> None:
        """Repay debt from surplus."""


FISCAL_RULES: dict[str, type[FiscalRule]] = {}


def register(cls: type[FiscalRule]) -> type[FiscalRule]:
    FISCAL_RULES[cls.name] = cls
    return cls


@register
class CountyBudget(FiscalRule):
    """Per-resident transfers split between villages and their township, part earmarked."""

    name = "county_budget"

    def __init__(self, scenario: Scenario, township_of: np.ndarray) -> None:
        super().__init__(scenario)
        self.township_of = township_of
        self.years_seen = 1.0
        # Units are the villages, then the townships; each township's population is its
        # villages'. So the transfer for one resident is split between the two levels.
        kept = scenario.fiscal.township_share
        self.level_share = np.concatenate(
            [np.full(len(township_of), 1.0 - kept), np.full(int(township_of.max()) + 1, kept)]
        )

    def daily_income(self, ledger: Ledger, population: np.ndarray, money_shares: np.ndarray) -> None:
        f = self.scenario.fiscal
        income = f.transfer_per_resident * population * self.level_share / 365.0
        free = income * (1.0 - f.earmark_share)
        ledger.received += income
        ledger.earmarked += income * f.earmark_share
        ledger.envelope += (money_shares * free[:, None]).T

    def daily_interest(self, ledger: Ledger) -> None:
        interest = ledger.debt * self.scenario.fiscal.interest_rate / 365.0
        if np.count_nonzero(interest) == 0:
            return
        free = ledger.envelope.sum(axis=0)
        paid = np.minimum(interest, free)
        # Pay interest pro rata from every envelope; what cannot be paid is capitalised.
        scale = np.where(free > 0, 1.0 - paid / np.maximum(free, 1e-12), 1.0)
        ledger.envelope *= scale[None, :]
        ledger.spent[SPENDING_PURPOSES.index("interest")] += paid
        capitalised = interest - paid
        ledger.debt += capitalised
        ledger.borrowed += capitalised
        ledger.spent[SPENDING_PURPOSES.index("interest")] += capitalised

    def year_end(self, ledger: Ledger) -> None:
        # Keep three months of free balance as a reserve; repay debt with the rest.
        free = ledger.envelope.sum(axis=0)
        reserve = 0.25 * ledger.received / max(1.0, self.years_seen)
        repay = np.clip(np.minimum(free - reserve, ledger.debt), 0.0, None)
        scale = np.where(free > 0, 1.0 - repay / np.maximum(free, 1e-12), 1.0)
        ledger.envelope *= scale[None, :]
        ledger.debt -= repay
        ledger.repaid += repay
        self.years_seen += 1


def make_fiscal(scenario: Scenario, township_of: np.ndarray) -> FiscalRule:
    return FISCAL_RULES[scenario.fiscal.rule](scenario, township_of)
