"""What a run reports: a daily time series and a summary, true and reported side by side.

The daily series is kept in a preallocated numpy array (one row per day), which is much
faster than a Mesa ``DataCollector`` calling a reporter per column per day, and turned into
a pandas DataFrame at the end. Event columns are counts on the day; state columns are
levels at the end of the day. Summary metric names are stable: sweeps, notebooks and the
regression checks read them (README "Outputs").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from model.fiscal import COUNTY_PURPOSES, SPENDING_PURPOSES
from model.incidents import CONCEALED, DEFERRED, LOGGED, OPEN
from model.indicators import beicai_rates
from model.scenario import LEVELS, PLATFORMS, TASKS, ModelDiverged

if TYPE_CHECKING:
    from model.simulation import GovernanceModel

EVENT_COLUMNS = (
    "incidents_total",
    "incidents_resolved",
    "petitions_true",
    "petitions_registered",
    "petitions_concealed",
    "skip_level_true",
    "skip_level_registered",
    "collective_true",
    "interceptions",
    "interception_spending",
    "promises",
    "promises_broken",
    "concealments",
    "concealment_detected",
    "escalated_by_residents",
    "resolved_locally",
    "discovered_by_grid",
    "discovered_by_associations",
    "reported_by_residents",
)
STATE_COLUMNS = (
    "backlog",
    "hidden",
    "deferred",
    "concealed_pending",
    *(f"open_{lv}" for lv in LEVELS),
    "spending_total",
    "debt_total",
    "staff_on_post",
    "trust_mean",
    "grievance_mean",
    "aggrieved_share",
    *(f"hours_{t}" for t in TASKS),
)


def spread(shares: np.ndarray) -> float:
    """Normalised Shannon entropy of a split (1 = even over every part, 0 = all on one)."""
    nz = shares[shares > 0]
    return float(-(nz * np.log(nz)).sum() / np.log(len(shares)))


class Collector:
    def __init__(self, model: GovernanceModel, days: int) -> None:
        self.m = model
        self.columns = (*EVENT_COLUMNS, *STATE_COLUMNS)
        self.data = np.zeros((days, len(self.columns)))
        self.rows = 0
        self.hours_total = np.zeros(len(TASKS))
        self.hours_by_unit_kind = np.zeros(2)  # villages, townships
        self.staff_days = 0.0
        self._last = np.zeros(len(EVENT_COLUMNS))

    def collect(self) -> None:
        m, b = self.m, self.m.book
        if self.rows >= len(self.data):
            self.data = np.vstack([self.data, np.zeros_like(self.data)])
        cumulative = np.array([m.stats[c] for c in EVENT_COLUMNS], dtype=float)
        events = cumulative - self._last
        self._last = cumulative
        # Every count below from one bincount over (state, known, level): a boolean gather of
        # the levels costs more than the count itself over an overloaded county's ~200k rows.
        key = b.state * np.int8(2 * len(LEVELS)) + b.known * np.int8(len(LEVELS)) + b.level
        book = np.bincount(key, minlength=(LOGGED + 1) * 2 * len(LEVELS)).reshape(LOGGED + 1, 2, len(LEVELS))
        levels = book[OPEN, 1]
        hours = m.task_hours.sum(axis=0)
        self.hours_total += hours
        self.hours_by_unit_kind += (m.task_hours[: m.n_villages].sum(), m.task_hours[m.n_villages :].sum())
        staff = m.staff.on_post_count()
        self.staff_days += staff
        g = m.residents.grievance
        state = [
            int(levels.sum()),
            int(book[OPEN, 0].sum()),
            int(book[DEFERRED].sum()),
            int(book[CONCEALED].sum()),
            *levels.tolist(),
            float(m.ledger.spent.sum() + m.ledger.county_spent.sum()),
            float(m.ledger.debt.sum()),
            staff,
            float(m.residents.trust.mean()),
            float(g.mean()),
            np.count_nonzero(g > m.spec.residents.petition_threshold) / len(g),  # 3x faster than bool .mean()
            *hours.tolist(),
        ]
        row = np.concatenate([events, state])
        if not np.isfinite(row).all():
            self._diverged(row)
        self.data[self.rows] = row
        self.rows += 1

    def _diverged(self, row: np.ndarray) -> None:
        bad = [name for name, value in zip(self.columns, row, strict=True) if not np.isfinite(value)]
        hint = ""
        if "grievance_mean" in bad:
            hint = (
                " (grievance: open cases and petitions hurt residents faster than "
                "residents.grievance_decay lets it fade; residents.grievance_per_severity, "
                "petition_threshold, petition_cooldown_days and collective_min set that loop)"
            )
        raise ModelDiverged(
            f"day {self.m.day}: {', '.join(bad)} is no longer a finite number: this scenario's "
            f"parameters take it past the range of floating point (a loop without bound, or values "
            f"too large to add up){hint}; the run is stopped rather than report inf or NaN"
        )

    def timeseries(self) -> pd.DataFrame:
        df = pd.DataFrame(self.data[: self.rows], columns=list(self.columns))
        df.insert(0, "day", np.arange(self.rows))
        return df

    def summary(self) -> dict[str, object]:
        """The run's summary metrics (names are stable; see README 'Outputs')."""
        m, st = self.m, self.m.stats
        states = m.state_counts()
        total = st["incidents_total"]
        resolved = st["incidents_resolved"]
        # The county as one unit: every counter summed over units and the whole run.
        totals = m.counters.totals[:, None]
        rates_true = {k: float(v[0]) for k, v in beicai_rates(totals, False, 0.0, county=True).items()}
        rates_rep = {k: float(v[0]) for k, v in beicai_rates(totals, True, 0.0, county=True).items()}
        b = m.book
        known_open = int(((b.state == OPEN) & b.known).sum())
        spent = {p: float(m.ledger.spent[i].sum()) for i, p in enumerate(SPENDING_PURPOSES)}
        spent.update({f"county_{p}": float(m.ledger.county_spent[i]) for i, p in enumerate(COUNTY_PURPOSES)})
        shares = self.hours_total / max(self.hours_total.sum(), 1e-9)
        years = max(self.rows / 365.0, 1e-9)
        staff_mean = self.staff_days / max(self.rows, 1)
        departures = m.staffing.quits + m.staffing.dismissals
        hidden_mask = ((b.state == OPEN) & ~b.known) | (b.state == CONCEALED) | (b.state == DEFERRED)
        hidden_res = np.unique(m.affected(hidden_mask.nonzero()[0])[0])
        r = m.residents
        summary: dict[str, object] = {
            "incidents_total": int(total),
            "incidents_resolved": int(resolved),
            "resolution_rate": resolved / total if total else 0.0,
            "mean_days_to_resolve": st["days_to_resolve_sum"] / resolved if resolved else 0.0,
            "mean_days_to_resolve_by_level": {
                lv: float(m.wait_by_level[i] / m.resolved_by_level[i]) if m.resolved_by_level[i] else 0.0
                for i, lv in enumerate(LEVELS)
            },
            "mean_days_on_books_when_late": (
                st["late_days_on_books_sum"] / st["resolved_late"] if st["resolved_late"] else 0.0
            ),
            "backlog_end": known_open,
            "hidden_end": int(((b.state == OPEN) & ~b.known).sum()),
            **{
                f"{k}": rates_true[k] for k in ("disposal_rate", "timeliness_rate", "closure_rate", "satisfaction_rate")
            },
            **{
                f"{k}_reported": rates_rep[k]
                for k in ("disposal_rate", "timeliness_rate", "closure_rate", "satisfaction_rate")
            },
            "petitions_true": int(st["petitions_true"]),
            "petitions_reported": int(st["petitions_registered"]),
            "skip_level_petitions_true": int(st["skip_level_true"]),
            "skip_level_petitions_reported": int(st["skip_level_registered"]),
            "collective_petitions": int(st["collective_true"]),
            "interceptions": int(st["interceptions"]),
            "interception_spending": float(st["interception_spending"]),
            "concealed_incidents": int(st["concealments"] + st["petitions_concealed"]),
            "concealment_detected": int(st["concealment_detected"]),
            "deferred_promises": int(st["promises"]),
            "promises_broken": int(st["promises_broken"]),
            "escalated_by_residents": int(st["escalated_by_residents"]),
            "spending_total": float(m.ledger.spent.sum() + m.ledger.county_spent.sum()),
            "spending_by_purpose": spent,
            "debt_end": float(m.ledger.debt.sum()),
            "cadre_hours_share": dict(zip(TASKS, shares.tolist(), strict=True)),
            "cadre_hours_entropy": spread(shares),
            "staff_on_post_mean": staff_mean,
            "cadre_turnover": departures / max(staff_mean * years, 1e-9),
            "trust_mean_end": float(r.trust.mean()),
            "grievance_mean_end": float(r.grievance.mean()),
            "hidden_grievance": float(r.grievance[hidden_res].sum() / len(r) * 1000.0),
            "local_settlement_share": st["resolved_locally"] / resolved if resolved else 0.0,
            "township_share": st["reached_township"] / max(total + st["petitions_true"], 1),
            "mediation_success": st["disputes_settled_by_mediation"] / st["disputes_mediated"]
            if st["disputes_mediated"]
            else 0.0,
            "mediation_attempt_success": st["mediation_successes"] / st["mediation_attempts"]
            if st["mediation_attempts"]
            else 0.0,
            "neighbour_point_success": st["neighbour_point_successes"] / st["neighbour_point_attempts"]
            if st["neighbour_point_attempts"]
            else 0.0,
            "cadre_hours_by_unit": dict(zip(("village", "township"), self.hours_by_unit_kind.tolist(), strict=True)),
            "handling_hours_by_level": {lv: float(st[f"handling_hours_{lv}"]) for lv in LEVELS},
            "cadre_handling_hours_by_duty": dict(zip(PLATFORMS, m.cadre_duty_hours.tolist(), strict=True)),
            "discovered_by_grid": int(st["discovered_by_grid"]),
            "discovered_by_associations": int(st["discovered_by_associations"]),
            "reported_by_residents": int(st["reported_by_residents"]),
            "evaluations_failed": int(st["evaluations_failed"]),
            "projects": int(st["projects"]),
            "residents": len(r),
            "villages": m.n_villages,
            "days": self.rows,
            "states": states,
        }
        return summary
