"""Per-unit counters and the indicators computed from them, true and reported.

Units are the evaluated bodies: villages (index 0..V-1) then townships (V..V+T-1). Each
counter is a row of a (counters × units) array, kept twice: year-to-date (what the annual
evaluation scores) and an exponential moving average (what cadres forecast from). The gap
between reported and true indicators (promises and concealment counted as "closed", hidden
petitions not counted) is a first-class output (DESIGN.md).
"""

from __future__ import annotations

import numpy as np

from model.numeric import clip

COUNTERS = (
    "received",
    "resolved",
    "resolved_timely",
    "referred",
    "referred_timely",
    "promised",
    "promised_timely",
    "concealed",
    "satisfied",
    "petitions_registered",
    "petitions_hidden",
    "skip_level_registered",
    "collective_registered",
    "paperwork_done",
    "paperwork_demand",
    "escort_done",
    "escort_demand",
    "detected",
    "handed_up",  # a township's receipts of cases a village had on its books (referred or carried up)
    "hidden_found",  # hidden cases that came to light in the unit's villages, by anyone
    "hidden_found_by_patrol",  # ... of which patrols (grid workers', cadres') found first
)
C = {name: i for i, name in enumerate(COUNTERS)}
FORECAST_HALF_LIFE_DAYS = 60.0
"""Cadres weigh the last two months or so most when forecasting their year-end indicators."""


def _ratio(num: np.ndarray, den: np.ndarray, empty: float = 1.0) -> np.ndarray:
    """num / den in [0, 1] (moving averages of num and den can cross), ``empty`` where den = 0."""
    return np.where(den > 0, clip(num / np.maximum(den, 1e-12), 0.0, 1.0), empty)


def beicai_rates(c: np.ndarray, reported: bool, empty: float = 1.0, county: bool = False) -> dict[str, np.ndarray]:
    """Beicai's four rates (002) from counter rows ``c`` (counters × units, or counters × 1 for
    a whole county). Reported rates count promised and concealed cases as acted on and closed.

    Disposal and timeliness are per receipt and per action, so they sum over units. Closure is
    per case: a unit that hands a case up has not closed it, but with ``county`` (the county's
    own platform, counters summed over its units) a case a village handed to its township is
    one case, not two, and is closed once; counting it twice would hold the county's closure
    below 1 even if every case were settled."""
    g = lambda name: c[C[name]]  # noqa: E731
    fake = (g("promised") + g("concealed")) if reported else 0.0
    fake_timely = (g("promised_timely") + g("concealed")) if reported else 0.0
    acted = g("resolved") + g("referred") + fake
    cases = g("received") - g("handed_up") if county else g("received")
    return {
        "disposal_rate": _ratio(acted, g("received"), empty),
        "timeliness_rate": _ratio(g("resolved_timely") + g("referred_timely") + fake_timely, acted, empty),
        "closure_rate": _ratio(g("resolved") + fake, cases, empty),
        "satisfaction_rate": _ratio(g("satisfied"), g("resolved"), empty),
    }


class UnitCounters:
    def __init__(self, n_units: int, population: np.ndarray) -> None:
        self.ytd = np.zeros((len(COUNTERS), n_units))
        self.today = np.zeros_like(self.ytd)
        self.ema = np.zeros_like(self.ytd)
        self.population = population.astype(float)
        self.alpha = 1.0 - 0.5 ** (1.0 / FORECAST_HALF_LIFE_DAYS)
        self.days_in_year = 0
        self.days_seen = 0
        self.totals = np.zeros(len(COUNTERS))

    def add(self, name: str, units: np.ndarray, amount: np.ndarray | float = 1.0, to_ytd: bool = False) -> None:
        """Count events for units today (or, for year-end audits, straight into the year)."""
        if to_ytd:
            np.add.at(self.ytd[C[name]], units, amount)
            self.totals[C[name]] += np.sum(np.broadcast_to(amount, np.shape(units)))
        elif (amount.__class__ is float or np.ndim(amount) == 0) and amount == 1.0:
            # Counting events: bincount is several times faster than add.at on small arrays
            # and exact (sums of ones), so outputs stay bit-identical. The class test spares
            # np.ndim's wrapper on the default 1.0 (two dozen calls a day). No events, no
            # change: a count row holds sums of ones from +0.0, so adding zeros is the identity.
            if len(units):
                row = self.today[C[name]]
                row += np.bincount(units, minlength=len(row))
        else:
            np.add.at(self.today[C[name]], units, amount)

    def add_each(self, name: str, amounts: np.ndarray) -> None:
        """Count ``amounts[u]`` for every unit u today: what ``add(name, np.arange(n_units),
        amounts)`` does (each unit once, so the same additions), without ``np.add.at``."""
        self.today[C[name]] += amounts

    def end_day(self) -> None:
        self.totals += self.today.sum(axis=1)
        self.ytd += self.today
        if self.days_seen == 0:
            self.ema[:] = self.today
        self.ema += self.alpha * (self.today - self.ema)
        self.today[:] = 0.0
        self.days_in_year += 1
        self.days_seen += 1

    def reset_year(self) -> None:
        self.ytd[:] = 0.0
        self.days_in_year = 0

    def indicators(self, source: str = "ytd", reported: bool = True) -> dict[str, np.ndarray]:
        """Indicators per unit; ``source`` is "ytd" (evaluation) or "ema" (forecast)."""
        c = self.ytd if source == "ytd" else self.ema
        period_days = max(self.days_in_year, 1) if source == "ytd" else 1.0
        g = lambda name: c[C[name]]  # noqa: E731
        per_10k_year = 1e4 * 365.0 / period_days / np.maximum(self.population, 1.0)
        petitions = g("petitions_registered") + (0.0 if reported else g("petitions_hidden"))
        return {
            **beicai_rates(c, reported),
            "petition_rate": petitions * per_10k_year,
            "skip_level_rate": g("skip_level_registered") * per_10k_year,
            "collective_petitions": g("collective_registered") * 365.0 / period_days,
            "proof_of_work": np.clip(_ratio(g("paperwork_done"), g("paperwork_demand")), 0, 1),
            "inspection_score": np.clip(_ratio(g("escort_done"), g("escort_demand")), 0, 1),
            "discovery_rate": _ratio(g("hidden_found_by_patrol"), g("hidden_found")),
            "concealment_detected_share": _ratio(g("detected"), g("received"), empty=0.0),
        }
