"""Township offices 乡镇 with their command centre 指挥中心 and four platforms 四个平台, county
departments 县直部门, and the county office that evaluates, audits, inspects and funds.

Township: unified acceptance, dispatch, supervision, feedback and assessment; what exceeds
its authority goes up to the county (001). With the command centre on, the township's
handling hours form one pooled queue; off, each platform serves its own queue with a fixed
share of hours and cases take ``silo_delay_days`` to find the right office.
County departments hold the powers that cannot be devolved (~74 items in Guiyang, 001).
The county office runs the annual evaluation under the scenario's regime (regimes.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from model.incidents import CONCEALED, OPEN
from model.scenario import PLATFORMS

if TYPE_CHECKING:
    from model.simulation import GovernanceModel


class TownshipOffice(mesa.Agent):
    """A township / street office: an evaluated unit with staff, money and a command centre."""

    def __init__(self, model: GovernanceModel, index: int) -> None:
        super().__init__(model)
        self.index = index

    @property
    def unit(self) -> int:
        return self.model.n_villages + self.index

    @property
    def villages(self) -> list[int]:
        return [int(v) for v in np.flatnonzero(self.model.township_of == self.index)]


class Platform(mesa.Agent):
    """One of the township's four platforms (001)."""

    def __init__(self, model: GovernanceModel, township: int, name: str) -> None:
        super().__init__(model)
        self.township = township
        self.name = name


class CommandCentre(mesa.Agent):
    """The township's command centre: routes cases by kind to platforms (001)."""

    def __init__(self, model: GovernanceModel, township: int, pooled: bool) -> None:
        super().__init__(model)
        self.township = township
        self.pooled = pooled

    def platform_of(self, kind: int) -> str:
        return PLATFORMS[int(self.model.kind_platform[kind])]


class CountyDepartment(mesa.Agent):
    """A county department holding powers the township lacks (001)."""

    def __init__(self, model: GovernanceModel, platform: str) -> None:
        super().__init__(model)
        self.platform = platform


class CountyOffice(mesa.Agent):
    """Sets the regime, audits data, evaluates every unit once a year and applies sanctions."""

    def __init__(self, model: GovernanceModel) -> None:
        super().__init__(model)
        self.evaluations: list[dict[str, object]] = []

    def audit(self) -> None:
        """Audit some units' data; each concealed record is found with a probability (000)."""
        m, b = self.model, self.model.book
        rng = m.streams["audits"]
        rules = m.spec.evaluation
        rate = m.regime.audit_rate
        audited = rng.random(m.n_units) < rate
        m.ledger.county("audits", float(audited.sum()) * rules.audit_cost)
        rows = np.flatnonzero(b.state == CONCEALED)
        if len(rows) == 0:
            return
        owner = np.where(b.petition[rows] == 1, m.township_unit[b.village[rows]], m.owner_of_level(rows))
        found = audited[owner] & (rng.random(len(rows)) < rules.audit_detection)
        found_rows = rows[found]
        m.counters.add("detected", owner[found], to_ytd=True)
        m.stats["concealment_detected"] += len(found_rows)
        # Found records go back on the books and into the queue where they were hidden.
        pet = b.petition[found_rows] == 1
        m.counters.add("petitions_registered", m.township_unit[b.village[found_rows[pet]]], to_ytd=True)
        b.state[found_rows] = OPEN
        b.on_books[found_rows] = True
        b.ready[found_rows] = m.day

    def evaluate_year(self) -> None:
        """Audit, score reported indicators, sanction, and let every unit learn."""
        m = self.model
        self.audit()
        reported = m.counters.indicators("ytd", reported=True)
        true = m.counters.indicators("ytd", reported=False)
        ev = m.regime.evaluate(reported)
        rng = m.streams["sanctions"]
        dismissed = np.flatnonzero(rng.random(m.n_units) < ev.dismissal_prob)
        m.staffing.dismiss(m.staff, dismissed, m.day, rng)
        m.blamed = (~np.asarray(ev.passed, dtype=bool)).astype(float)
        year = m.day // 365
        for u in range(m.n_units):
            row = {
                "year": year,
                "unit": u,
                "kind": "village" if u < m.n_villages else "township",
                "score": float(ev.score[u]),
                "passed": bool(ev.passed[u]),
                "dismissed": bool(u in set(dismissed.tolist())),
            }
            row.update({f"{k}_reported": float(v[u]) for k, v in reported.items()})
            row.update({f"{k}_true": float(v[u]) for k, v in true.items()})
            self.evaluations.append(row)
        m.stats["evaluations_failed"] += int((~np.asarray(ev.passed, dtype=bool)).sum())
        m.decisions.learn(m.regime, reported, m.spec.evaluation)
        m.counters.reset_year()
        m.fiscal.year_end(m.ledger)
