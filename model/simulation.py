"""The Mesa model of a county: one step is one day (DESIGN.md).

``GovernanceModel.step`` is the daily schedule, to be read aloud:

    staff come and go, money arrives, cadres re-split their hours (monthly);
    incidents arise; promised cases come back; hidden cases are discovered;
    the ladder mediates, handles, refers up and resolves;
    residents petition and cadres intercept; cadres make promises and conceal;
    grievance and trust move; indicators are counted; once a year the county evaluates.

Residents and incidents are arrays (residents.py, incidents.py); villages, cadres, grid
workers, associations, township offices and county offices are Mesa agents (their
decisions vectorised across units in cadres.py).
"""

from __future__ import annotations

import mesa
import numpy as np

from model import ladder as ladder_mod
from model import petitions
from model.associations import Association, NeighbourPoint, association_hours
from model.cadres import CadreDecisions, TownshipStaff, VillageCadre
from model.collectors import Collector
from model.fiscal import Ledger, make_fiscal
from model.grid import GridWorker, discovery_hazard, workers_per_village
from model.incidents import (
    ASSOCIATION,
    CONCEALED,
    COUNTY,
    GRID,
    INTERCEPTED,
    LOGGED,
    OPEN,
    RESOLVED,
    SELF,
    TOWNSHIP,
    VILLAGE,
    IncidentBook,
    IncidentLog,
)
from model.indicators import UnitCounters
from model.numeric import clip
from model.offices import CommandCentre, CountyDepartment, CountyOffice, Platform, TownshipOffice
from model.regimes import make_regime
from model.residents import Residents
from model.scenario import ASSOCIATION_KINDS, LEVELS, MONEY_USES, PLATFORMS, TASKS, Scenario
from model.staffing import make_staffing
from model.streams import Streams
from model.villages import Village, draw_sizes, draw_types

T = {t: i for i, t in enumerate(TASKS)}
M = {u: i for i, u in enumerate(MONEY_USES)}
YEAR = 365


class GovernanceModel(mesa.Model):
    """A county's grass-roots governance, day by day, under one assessment regime."""

    def __init__(self, scenario: Scenario, seed: int | None = None, keep_incident_log: bool = True) -> None:
        seed = scenario.seed if seed is None else int(seed)
        super().__init__(rng=seed)
        self.spec = s = scenario
        self.seed = seed
        self.streams = Streams(seed)
        self.day = 0
        self.stats: dict[str, float] = dict.fromkeys(STAT_NAMES, 0)
        self._build_villages()
        self._build_incident_kinds()
        self._build_associations()
        self._build_offices()
        self.regime = make_regime(s.regime)
        self.fiscal = make_fiscal(s, self.township_of)
        self.staffing = make_staffing(s)
        self.staff = self.staffing.build(self.n_villages, self.township_of, self.streams["staffing"])
        for slot in range(len(self.staff.unit)):
            # A seconded township cadre serves as a village's secretary (001): a village cadre.
            (VillageCadre if self.staff.unit[slot] < self.n_villages else TownshipStaff)(self, slot)
        self.ledger = Ledger(self.n_units)
        self.ledger.debt[: self.n_villages] = s.fiscal.initial_village_debt
        self.ledger.debt[self.n_villages :] = s.fiscal.initial_township_debt
        self.decisions = CadreDecisions(self.n_units, s.cadres)
        self.counters = UnitCounters(self.n_units, self.unit_population)
        self.credit = np.zeros((len(TASKS), self.n_units))
        self.prefers_hiding_petitions = np.zeros(self.n_units, dtype=bool)
        self.blamed = np.zeros(self.n_units)
        self.projects = np.zeros(self.n_villages)
        self.resolved_by_level = np.zeros(len(LEVELS))
        self.cadre_duty_hours = np.zeros(len(PLATFORMS))
        self.wait_by_level = np.zeros(len(LEVELS))
        self.last_project_day = np.full(self.n_villages, -YEAR)
        self.book = IncidentBook()
        self.log = IncidentLog(keep=keep_incident_log)
        self.ladder = ladder_mod.Ladder(self)
        self.response_target = s.burden.response_target_days
        self.township_delay = (
            s.township.dispatch_delay_days if s.township.command_centre else s.township.silo_delay_days
        )
        self.collector = Collector(self, s.days)
        self._refresh_hours()
        self.ledger.start_balance = self.ledger.balance().copy()

    # ---- building the world -----------------------------------------------------------
    def _build_villages(self) -> None:
        s, rng = self.spec, self.streams["population"]
        self.n_townships = s.county.townships
        self.n_villages = s.county.townships * s.county.villages_per_township
        self.n_units = self.n_villages + self.n_townships
        self.township_of = np.repeat(np.arange(self.n_townships), s.county.villages_per_township)
        self.township_unit = self.n_villages + self.township_of
        types, memory, differentiation = draw_types(s, self.n_villages, self.streams["typology"])
        self.memory, self.differentiation = memory, differentiation
        self.mobilisation = memory * (1 - differentiation)
        self.apathy = (1 - memory) * (1 - differentiation)
        self.anomie = (1 - memory) * differentiation
        self.self_help = s.typology.self_help
        sizes = draw_sizes(s, self.n_villages, rng)
        boost = 1.0 + s.typology.membership_boost * memory * differentiation
        self.residents = Residents.generate(s, sizes, boost, rng)
        self.village_agents = [
            Village(self, v, int(self.township_of[v]), types[v], float(memory[v]), float(differentiation[v]))
            for v in range(self.n_villages)
        ]
        self.households = sizes / s.county.household_size
        # Each village's township's households (fixed: residents do not move), for patrols.
        self.township_households = np.bincount(self.township_of, weights=self.households)[self.township_of]
        pop = sizes.astype(float)
        self.unit_population = np.concatenate([pop, np.bincount(self.township_of, weights=pop)])
        # The lowest threshold anyone has: no trust, and self-help never lowers it (typology).
        self.min_petition_threshold = s.residents.petition_threshold * 0.5

    def _build_incident_kinds(self) -> None:
        s = self.spec
        kinds = list(s.incidents.values())
        self.kind_names = [*s.incidents.keys(), "petition"]
        self.petition_kind = len(kinds)
        rank = {name: i for i, name in enumerate(LEVELS)}
        authority = [rank[k.authority] for k in kinds]
        for name in s.staffing.devolved_kinds:  # 权随责走 (001): devolution to the township
            i = self.kind_names.index(name)
            authority[i] = min(authority[i], TOWNSHIP)
        self.kind_authority = np.array([*authority, TOWNSHIP], dtype=np.int8)
        self.kind_platform = np.array([PLATFORMS.index(k.platform) for k in kinds] + [PLATFORMS.index("governance")])
        self.kind_association = np.array(
            [ASSOCIATION_KINDS.index(k.association) if k.association != "none" else -1 for k in kinds] + [-1]
        )
        self.kind_mediable = np.array([k.mediable for k in kinds] + [False])
        self.kind_rate = np.array([k.rate for k in kinds]) / 1000.0 / YEAR
        self.kind_severity = np.array([k.severity for k in kinds])
        self.kind_hours = np.array([k.hours for k in kinds])
        self.kind_money = np.array([k.money for k in kinds])
        self.kind_hidden = np.array([k.hidden_share for k in kinds])
        self.kind_report = np.array([k.report_prob for k in kinds] + [1.0])
        self.kind_growth = np.array([k.growth for k in kinds] + [0.0])
        self.kind_grows = self.kind_growth > 0  # looked up daily for every open case
        self.kind_affected = np.array([k.affected for k in kinds] + [1], dtype=np.int32)
        self.kind_dispute = np.array([k.mediable or k.association == "harmony" for k in kinds])
        names = list(s.incidents.keys())
        self.kind_infrastructure = np.array([n in ("public_works", "service_request") for n in names])
        # Incidents expected per village and kind a day before projects: fixed at build (the
        # population does not move), so not recomputed daily. Anomie breeds disputes (typology).
        pop = self.unit_population[: self.n_villages]
        self.base_arrival_rates = pop[:, None] * self.kind_rate[None, :]
        self.base_arrival_rates[:, self.kind_dispute] *= (1.0 + s.typology.anomie_disputes * self.anomie)[:, None]

    def _build_associations(self) -> None:
        s = self.spec
        rules = [s.associations[k] for k in ASSOCIATION_KINDS]
        self.association_enabled = np.array([r.enabled for r in rules])
        self.association_success = np.array([r.success for r in rules])
        self.association_detection = np.array([r.detection for r in rules])
        self.association_beyond = np.array([r.mediates_beyond_authority for r in rules])
        members = np.stack(
            [
                np.bincount(self.residents.village, weights=self.residents.members_of(k), minlength=self.n_villages)
                for k in ASSOCIATION_KINDS
            ]
        )
        # The chance a kind's association finds a hidden case of it daily (0 if none or off),
        # and each village's willingness to report (apathy, typology): fixed at build, so
        # discover_hidden_cases looks them up instead of recomputing them per case daily.
        a = self.kind_association
        self.kind_association_detection = np.where(
            a >= 0, (self.association_detection * self.association_enabled)[np.maximum(a, 0)], 0.0
        )
        self.reporting_willingness = 1.0 - s.typology.apathy_reporting * self.apathy
        n_enabled = max(int(self.association_enabled.sum()), 1)
        purchased = np.full(
            self.n_villages, s.fiscal.purchase_of_services / s.fiscal.service_hour_price / YEAR / n_enabled
        )
        self.association_hours = association_hours(members, self.association_enabled, rules, purchased)
        # The county buys the hours 政府购买服务 (000, 002) and pays for them every day.
        self.service_purchase_per_day = (
            s.fiscal.purchase_of_services * self.n_villages / YEAR if self.association_enabled.any() else 0.0
        )
        for v in range(self.n_villages):
            for k, kind in enumerate(ASSOCIATION_KINDS):
                if self.association_enabled[k]:
                    Association(self, v, kind, rules[k])
            if s.neighbour_points.enabled:
                NeighbourPoint(self, v)
        self.grid_workers = workers_per_village(self.households, s.grid)
        for v in range(self.n_villages):
            for _ in range(int(np.ceil(self.grid_workers[v]))):
                GridWorker(self, v)

    def _build_offices(self) -> None:
        s = self.spec
        self.townships = [TownshipOffice(self, t) for t in range(self.n_townships)]
        for t in range(self.n_townships):
            CommandCentre(self, t, s.township.command_centre)
            for p in PLATFORMS:
                Platform(self, t, p)
        self.county_departments = [CountyDepartment(self, p) for p in PLATFORMS]
        self.county_office = CountyOffice(self)
        county_hours = s.township.county_hours_per_day * self.residents.village.size / 1e5
        self.county_capacity = county_hours * np.array([s.township.platform_shares[p] for p in PLATFORMS])

    # ---- the day ------------------------------------------------------------------------
    def step(self) -> None:
        """One day."""
        if self.day % self.spec.cadres.decision_interval_days == 0:
            self.staff_come_and_go()
            self.cadres_allocate()
            self.fund_projects()
        self.fiscal.daily_income(self.ledger, self.unit_population, self.decisions.money_shares)
        self.fiscal.daily_interest(self.ledger)
        if self.service_purchase_per_day:
            self.ledger.county("services", self.service_purchase_per_day)
        self.bank_hours()
        self.incidents_arise()
        self.ladder.returning_promises()
        self.discover_hidden_cases()
        self.ladder.step()
        petitions.new_petitions(self)
        petitions.conceal_cases(self, petitions.make_promises(self))
        self.grievance_and_trust()
        self.counters.end_day()
        self.collector.collect()
        if (self.day + 1) % YEAR == 0:
            self.county_office.evaluate_year()
        self.close_books()
        self.day += 1

    def run(self, days: int | None = None) -> None:
        for _ in range(self.spec.days if days is None else days):
            self.step()
        self.book.compact()  # after a run the book holds what is not closed, nothing else

    # ---- staffing and decisions -------------------------------------------------------------
    def staff_come_and_go(self) -> None:
        if self.day == 0:
            return
        demand = self.paperwork_demand + self.escort_demand
        overload = np.clip(demand / np.maximum(self.unit_hours, 1e-9), 0, 5)
        self.staffing.monthly(
            self.staff,
            self.day,
            self.spec.cadres.decision_interval_days,
            overload,
            self.blamed,
            self.streams["staffing"],
        )
        self._refresh_hours()

    def _refresh_hours(self) -> None:
        s = self.spec
        self.unit_hours = self.staff.hours_per_unit(self.n_units, s.cadres.hours_per_day)
        staff = self.unit_hours / s.cadres.hours_per_day
        per_staff = np.full(self.n_units, s.burden.paperwork_hours_per_staff)
        if s.burden.village_task_cap is not None:  # Taicang "two lists" (002)
            per_staff[: self.n_villages] = np.minimum(per_staff[: self.n_villages], s.burden.village_task_cap)
        self.paperwork_demand = per_staff * staff
        escort = s.burden.inspections_per_year * s.burden.escort_hours_per_inspection / YEAR
        self.escort_demand = np.where(np.arange(self.n_units) < self.n_villages, 0.25 * escort, escort)

    def cadres_allocate(self) -> None:
        """Every unit re-splits hours and money in response to the regime's scoring."""
        forecast = self.counters.indicators("ema", reported=True)
        if self.counters.days_seen == 0:
            forecast = {k: np.full(self.n_units, 1.0 if k not in NEUTRAL_ZERO else 0.0) for k in forecast}
        need = self.money_needed_by_unit()
        env = self.ledger.envelope[M["resolution"]]
        affordability = np.where(need > 0, np.minimum(env / np.maximum(need, 1e-9), 1.0), 1.0)
        if self.spec.fiscal.funds_follow_tasks:
            affordability[:] = 1.0
        task_feasible = np.ones((self.n_units, len(TASKS)))
        task_feasible[:, T["handling"]] = affordability
        # Interception needs money; with none left it is worthless, and concealment, which
        # needs none, is what remains (000: "when there is no money, they falsify").
        # Free interception (cost 0, a scenario's choice) needs no money: fully feasible.
        cost = self.spec.cadres.interception_cost
        if cost > 0:
            task_feasible[:, T["stability"]] = np.minimum(self.interception_money() / (10.0 * cost), 1.0)
        money_feasible = np.ones((self.n_units, len(MONEY_USES)))
        money_feasible[:, M["resolution"]] = 1.0 - affordability + 0.1
        money_feasible[:, M["interception"]] = np.minimum(1.0, 4 * self.decisions.shares[:, T["stability"]])
        self.decisions.allocate(self.regime, forecast, self.spec.evaluation, task_feasible, money_feasible)
        self.ledger.repool(self.decisions.money_shares)
        grad = self.decisions.last_gradient
        per_petition = -grad[:, 4] * 1e4 / np.maximum(self.unit_population, 1)
        per_case = grad[:, 2] / np.maximum(self.counters.ema[0] * YEAR, 1.0)
        self.prefers_hiding_petitions = per_petition > per_case

    def money_needed_by_unit(self) -> np.ndarray:
        b = self.book
        rows = np.flatnonzero((b.state == OPEN) & b.known & (b.level >= VILLAGE) & (b.level <= TOWNSHIP))
        return np.bincount(self.owner_of_level(rows), weights=b.money[rows], minlength=self.n_units)

    def owner_of_level(self, rows: np.ndarray) -> np.ndarray:
        b = self.book
        return self.owner_from(b.level[rows], b.village[rows])

    def owner_from(self, level: np.ndarray, village: np.ndarray) -> np.ndarray:
        """``owner_of_level`` from the cases' levels and villages, where they are gathered already."""
        return np.where(level >= TOWNSHIP, self.township_unit[village], village)

    def owner_at_level(self, level: int, rows: np.ndarray) -> np.ndarray:
        """``owner_of_level`` for cases that are all on rung ``level``, as a rung's queue is:
        the same units (village for its own rungs, township above) without a test per case."""
        village = self.book.village[rows]
        return self.township_unit[village] if level >= TOWNSHIP else village

    def bank_hours(self) -> None:
        """Split today's hours by task; bank the discretionary ones; count proof-of-work."""
        hours = self.decisions.shares * self.unit_hours[:, None]
        self.task_hours = hours
        cap = CREDIT_DAYS * hours
        for t in (T["stability"], T["reporting"], T["promising"]):
            self.credit[t] = np.minimum(self.credit[t] + hours[:, t], cap[:, t])
        self.counters.add_each("paperwork_demand", self.paperwork_demand)
        self.counters.add_each("paperwork_done", np.minimum(hours[:, T["paperwork"]], self.paperwork_demand))
        self.counters.add_each("escort_demand", self.escort_demand)
        self.counters.add_each("escort_done", np.minimum(hours[:, T["escort"]], self.escort_demand))

    # ---- incidents -----------------------------------------------------------------------
    def incidents_arise(self) -> None:
        s, rng = self.spec, self.streams["arrivals"]
        pop = self.unit_population[: self.n_villages]
        lam = self.base_arrival_rates.copy()
        per_1000 = self.projects * 1000.0 / np.maximum(pop, 1.0)
        lam[:, self.kind_infrastructure] /= (1.0 + s.fiscal.project_effect * per_1000)[:, None]
        counts = rng.poisson(lam).ravel()
        if np.count_nonzero(counts) == 0:
            return
        cell = np.arange(counts.size).repeat(counts)  # the method: np.repeat adds a wrapper
        n_kinds = lam.shape[1]
        village, kind = (cell // n_kinds).astype(np.int32), (cell % n_kinds).astype(np.int16)
        n = len(cell)
        draws = self.streams["incident_sizes"]
        known = rng.random(n) >= self.kind_hidden[kind]
        rows = self.book.add(
            kind=kind,
            village=village,
            resident=self.residents.pick_in_villages(village, rng),
            people=np.minimum(self.kind_affected[kind], self.residents.sizes()[village]),
            severity=self.kind_severity[kind] * draws.gamma(2.0, 0.5, n),
            created=self.day,
            level=SELF,
            state=OPEN,
            known=known,
            hours_needed=self.kind_hours[kind] * draws.gamma(2.0, 0.5, n),
            money=self.kind_money[kind] * draws.gamma(2.0, 0.5, n),
            arrived=self.day,
            ready=self.day,
        )
        self.stats["incidents_total"] += n
        k = rows[known]
        self.ladder.move(k, self.ladder.entry_level(self.book.kind[k]), 0)

    def discover_hidden_cases(self) -> None:
        """Residents report, grid patrols and associations find hidden cases (002, 000)."""
        b, s, rng = self.book, self.spec, self.streams["discovery"]
        rows = ((b.state == OPEN) & ~b.known).nonzero()[0]  # cheaper than np.flatnonzero (performance.md)
        if len(rows) == 0:
            return
        v, k = b.village[rows], b.kind[rows]
        p_resident = self.kind_report[k] * self.reporting_willingness[v]
        patrol = (
            self.grid_workers * s.grid.hours_per_day * s.grid.patrol_share
            + self.task_hours[: self.n_villages, T["patrol"]]
            + self.task_hours[self.township_unit, T["patrol"]] * self.households / self.township_households
        )
        p_grid = discovery_hazard(patrol, self.households, s.grid)[v]
        p_assoc = self.kind_association_detection[k]
        u = rng.random(len(rows))
        by_grid = u < p_grid
        by_assoc = ~by_grid & (u < p_grid + (1 - p_grid) * p_assoc)
        p_any = 1 - (1 - p_grid) * (1 - p_assoc) * (1 - p_resident)
        by_resident = ~by_grid & ~by_assoc & (u < p_any)
        for mask, level_fn, stat in (
            (
                by_grid,
                lambda r: np.full(len(r), GRID if s.grid.enabled else VILLAGE, dtype=np.int8),
                "discovered_by_grid",
            ),
            (
                by_assoc,
                lambda r: np.where(self.kind_authority[b.kind[r]] <= ASSOCIATION, ASSOCIATION, VILLAGE).astype(np.int8),
                "discovered_by_associations",
            ),
            (by_resident, lambda r: self.ladder.entry_level(b.kind[r]), "reported_by_residents"),
        ):
            found = rows[mask]
            if len(found):
                b.known[found] = True
                self.ladder.move(found, level_fn(found), 0)
                self.stats[stat] += len(found)
        # The discovery rate (002: grids are assessed on 问题发现): of the hidden cases that
        # came to light today, the share patrols found before associations or residents did.
        for units in (v, self.township_unit[v]):
            self.counters.add("hidden_found", units[by_grid | by_assoc | by_resident])
            self.counters.add("hidden_found_by_patrol", units[by_grid])

    def handling_queues(self, level: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Queue of each case at a level, and each queue's handling hours today."""
        b, s = self.book, self.spec
        v = b.village[rows].astype(np.int64, copy=False)  # intp already: no copy
        handling = self.task_hours[:, T["handling"]]
        if level == VILLAGE:
            return v, handling[: self.n_villages]
        if level == GRID:
            return v, self.grid_workers * s.grid.hours_per_day * (1.0 - s.grid.patrol_share)
        if level == TOWNSHIP:
            t = self.township_of[v]
            if s.township.command_centre:
                return t, handling[self.n_villages :]
            shares = np.array([s.township.platform_shares[p] for p in PLATFORMS])
            cap = (handling[self.n_villages :, None] * shares[None, :]).ravel()
            return t * len(PLATFORMS) + self.kind_platform[b.kind[rows]], cap
        return self.kind_platform[b.kind[rows]].astype(np.int64), self.county_capacity

    def deadline_first_shares(self, level: int, rows: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
        """Share of each queue's hours today that its unit gives to deadline-first service, a
        choice the unit makes from the regime's scoring (cadres.py; Bevan & Hood 2006), capped
        by ``cadres.deadline_first_cap``, for ``rows`` on rung ``level`` (a rung's queue). A
        village's cases on the grid are on the village's books, so the village's choice
        applies; county departments are not scored: 0."""
        share = np.zeros(n_groups)
        cap = self.spec.cadres.deadline_first_cap
        if level == COUNTY or cap == 0 or len(rows) == 0:
            return share
        share[groups] = cap * self.decisions.deadline_first[self.owner_at_level(level, rows)]
        return share

    def past_target(self, rows: np.ndarray) -> np.ndarray:
        """Whether each case has been on its unit's books longer than the response target."""
        return (self.day - self.book.unit_arrived[rows]) > self.response_target

    def hours_used_handling(self, level: int, rows: np.ndarray, alloc: np.ndarray) -> None:
        """Book the hours a rung worked on ``rows`` today; a village's or township's also by
        the duty (township platform, 001) of the case they served."""
        self.stats[HANDLING_HOURS[level]] += float(alloc.sum())
        if level == VILLAGE or level == TOWNSHIP:
            duty = self.kind_platform[self.book.kind[rows]]
            self.cadre_duty_hours += np.bincount(duty, weights=alloc, minlength=len(PLATFORMS))

    def pay_for_cases(self, level: int, rows: np.ndarray) -> np.ndarray:
        """Which finished cases can be paid for today (in queue order); pays for them."""
        b, led = self.book, self.ledger
        money = b.money[rows]
        if level == COUNTY:
            led.county("departments", float(money.sum()))
            return np.ones(len(rows), dtype=bool)
        if self.spec.fiscal.funds_follow_tasks:  # 费随事转: the money comes with the task
            led.county("funds_follow_tasks", float(money.sum()))
            return np.ones(len(rows), dtype=bool)
        payer = self.owner_at_level(level, rows)  # the rung's cases, not yet moved
        env = led.envelope[M["resolution"]]
        order = ladder_mod.stable_order(payer)
        payer_in_order = payer[order]
        cum = ladder_mod.groupwise_cumsum(payer_in_order, money[order])
        ok = np.empty(len(rows), dtype=bool)
        ok[order] = cum <= env[payer_in_order] + 1e-9
        if np.count_nonzero(ok):  # cheaper than .any() on a few cases (performance.md)
            led.draw("resolution", payer[ok], money[ok])
        return ok

    def resolve(self, rows: np.ndarray) -> None:
        """Close cases as resolved; residents judge the result (Beicai satisfaction, 002)."""
        if len(rows) == 0:
            return
        b, r, rules = self.book, self.residents, self.spec.residents
        wait = self.day - b.created[rows]
        p_sat = rules.satisfaction_base * np.exp(-wait / rules.satisfaction_wait_days) * 0.7 ** b.deferrals[rows]
        satisfied = self.streams["satisfaction"].random(len(rows)) < p_sat
        b.state[rows] = RESOLVED
        b.satisfied[rows] = satisfied
        res, case = self.affected(rows)
        # An unsatisfying settlement relieves little of the grievance (Beicai satisfaction, 002).
        relief = rules.resolution_relief * b.severity[rows] * np.where(satisfied, 1.0, rules.unsatisfied_relief)
        r.grievance[res] = np.maximum(r.grievance[res] - relief[case], 0.0)
        trust_change = np.where(satisfied, rules.trust_gain_satisfied, -rules.trust_loss_unsatisfied)
        r.trust[res] = clip(r.trust[res] + trust_change[case], 0, 1)
        # Resolving changes states, not levels or villages: gather them once for every use below.
        level, village = b.level[rows], b.village[rows]
        on_books = (level >= VILLAGE) & (level <= TOWNSHIP)
        units = self.owner_from(level, village)[on_books]
        on_books_days = (self.day - b.unit_arrived[rows])[on_books]
        timely = on_books_days <= self.response_target
        self.counters.add("resolved", units)
        self.counters.add("resolved_timely", units[timely])
        # What a timeliness rate does not see: how long the cases that missed it waited.
        self.stats["resolved_late"] += len(timely) - np.count_nonzero(timely)
        self.stats["late_days_on_books_sum"] += float(on_books_days[~timely].sum())
        self.counters.add("satisfied", units[satisfied[on_books]])
        ordinary = b.petition[rows] == 0
        ordinary_wait = wait[ordinary]
        # np.count_nonzero: a bool .sum() costs several times more on a few cases (performance.md).
        self.stats["incidents_resolved"] += np.count_nonzero(ordinary)
        self.stats["days_to_resolve_sum"] += float(ordinary_wait.sum())
        self.stats["resolved_satisfied"] += np.count_nonzero(satisfied)
        self.stats["resolved_all"] += len(rows)
        self.stats["resolved_locally"] += np.count_nonzero(ordinary & (level <= ASSOCIATION))
        levels = level[ordinary]
        self.resolved_by_level += np.bincount(levels, minlength=len(LEVELS))
        self.wait_by_level += np.bincount(levels, weights=ordinary_wait, minlength=len(LEVELS))

    def affected(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The residents each case hurts, and for each the index of its case in ``rows``.

        A case hurts its resident; a shared case (``people`` > 1: a land acquisition
        touching a villagers' group, pollution reaching the neighbours) hurts the ``people``
        residents from its resident on, wrapping within the village. A collective petition
        is carried by its first petitioner, weighted by ``weight``.
        """
        b = self.book
        people = b.people[rows]
        # Most days no case hurts more than one resident: then the span below is all ones,
        # and one test on ``people`` spares building it (count_nonzero: cheaper than .any()).
        if np.count_nonzero(people > 1):
            span = np.where(b.petition[rows] == 0, people, 1)
            if np.count_nonzero(span > 1):
                return self.residents.run_from(b.resident[rows], span)
        return b.resident[rows], np.arange(len(rows))

    def weight(self, rows: np.ndarray) -> np.ndarray:
        """How many residents' worth of grievance one affected resident carries: a collective
        petition's people on its first petitioner, 1 otherwise."""
        b = self.book
        return np.where(b.petition[rows] == 0, 1, b.people[rows])

    def borrowing_room(self) -> np.ndarray:
        """Yuan each unit may still borrow under the debt limit (0 if borrowing is off)."""
        f = self.spec.fiscal
        if not f.borrowing:
            return np.zeros(self.n_units)
        return np.maximum(f.debt_limit_per_resident * self.unit_population - self.ledger.debt, 0.0)

    def interception_money(self) -> np.ndarray:
        """Money each unit could put into interception now: its envelope plus borrowing room."""
        return self.ledger.envelope[M["interception"]] + self.borrowing_room()

    def can_spend_interception(self, unit: int, cost: float) -> bool:
        return bool(self.interception_money()[unit] >= cost)

    def fund_projects(self) -> None:
        """Public works with matching funds 配套资金 (001): a village whose residents are
        waiting for roads or canals builds one project a year, the county paying its share
        only if the village matches; a village short of cash borrows the match (001: 305
        villages owe 170M yuan). The project settles the waiting public-works cases."""
        f, led, b = self.spec.fiscal, self.ledger, self.book
        if self.day == 0 or "public_works" not in self.kind_names:
            return
        works = (b.state == OPEN) & b.known & (b.kind == self.kind_names.index("public_works"))
        demand = np.bincount(b.village[works], minlength=self.n_villages)
        match = f.matching_share * f.project_cost
        v = np.arange(self.n_villages)
        available = led.envelope[M["projects"], v] + led.earmarked[v]
        due = (demand > 0) & (self.day - self.last_project_day >= YEAR)
        go = due & ((available >= match) | (self.borrowing_room()[: self.n_villages] >= match - available))
        for village in np.flatnonzero(go):
            from_earmark = min(led.earmarked[village], match)
            led.earmarked[village] -= from_earmark
            led.spend("projects", np.array([village]), np.array([from_earmark]))
            rest = match - from_earmark
            if rest > 0:
                led.draw("projects", np.array([village]), np.array([rest]), borrow=f.borrowing)
            led.county("projects", (1.0 - f.matching_share) * f.project_cost)
            self.projects[village] += 1
            self.last_project_day[village] = self.day
            self.stats["projects"] += 1
            settled = np.flatnonzero(works & (b.village == village))
            self.resolve(settled)

    # ---- residents ------------------------------------------------------------------------
    def grievance_and_trust(self) -> None:
        b, r, rules = self.book, self.residents, self.spec.residents
        r.grievance *= 1.0 - rules.grievance_decay
        hurting = ((b.state == OPEN) | (b.state == CONCEALED)).nonzero()[0]
        if len(hurting):
            res, case = self.affected(hurting)
            np.add.at(r.grievance, res, (rules.grievance_per_severity * b.severity[hurting] * self.weight(hurting))[case])
            # Only kinds that grow change, and cases above the cap (a returned promise) are
            # brought down to it; for the rest the update below would leave the value as it is.
            changing = self.kind_grows[b.kind]
            changing |= b.severity > SEVERITY_CAP
            grow = ((b.state == OPEN) & (b.petition == 0) & changing).nonzero()[0]
            b.severity[grow] = np.minimum(b.severity[grow] * (1.0 + self.kind_growth[b.kind[grow]]), SEVERITY_CAP)

    def close_books(self) -> None:
        """Stream closed records to the log; concealed ones stay until the year's audit."""
        b = self.book
        year_end = (self.day + 1) % YEAR == 0
        closed = (b.state == RESOLVED) | (b.state == INTERCEPTED) | ((b.state == CONCEALED) & year_end)
        if np.count_nonzero(closed):
            rows = closed.nonzero()[0]
            self.count_mediated_disputes(rows)
            self.log.append(b, rows, self.day, satisfied=b.satisfied[rows])
            b.mark_logged(rows)
        # Compacting copies every open row, and an overloaded county closes a few hundred of
        # its ~200k open cases a day: compact when the logged rows are a sixteenth of the book
        # (docs/performance.md, "Lazy compaction").
        b.compact(min_share=1 / 16)

    def count_mediated_disputes(self, closed: np.ndarray) -> None:
        """Mediation success per dispute, as Wuxi counts it (003: 20,322 disputes mediated,
        99.74% settled): a dispute that went to mediation is settled if it closed inside the
        three-level platform (neighbour point or association, village office, town centre)
        rather than at a county department, or off the books."""
        b = self.book
        mediated = closed[b.mediated[closed]]
        if len(mediated) == 0:
            return
        settled = (b.state[mediated] == RESOLVED) & (b.level[mediated] <= TOWNSHIP)
        self.stats["disputes_mediated"] += len(mediated)
        self.stats["disputes_settled_by_mediation"] += np.count_nonzero(settled)

    # ---- reading the model ------------------------------------------------------------------
    def resident(self, rid: int) -> dict[str, object]:
        """A resident's attributes and incident history (open and closed)."""
        info = self.residents.get(rid)
        b = self.book
        open_rows = np.flatnonzero((b.resident == rid) & (b.state != LOGGED))
        history = [
            {
                "id": int(b.id[i]),
                "kind": self.kind_names[b.kind[i]],
                "created": int(b.created[i]),
                "state": STATE_NAMES[b.state[i]],
                "level": LEVELS[b.level[i]],
                "closed": None,
            }
            for i in open_rows
        ]
        for rec in self.log.for_resident(rid):
            history.append(
                {
                    "id": int(rec["id"]),
                    "kind": self.kind_names[rec["kind"]],
                    "created": int(rec["created"]),
                    "state": STATE_NAMES[rec["state"]],
                    "level": LEVELS[rec["level"]],
                    "closed": int(rec["closed"]),
                }
            )
        info["incidents"] = sorted(history, key=lambda h: h["id"])
        return info

    def state_counts(self) -> dict[str, int]:
        """Every record ever created, by its current state (open book + closed log)."""
        counts = self.log.count_by_state.copy()
        state = self.book.state
        np.add.at(counts, state[state != LOGGED], 1)
        return dict(zip(STATE_NAMES, counts.tolist(), strict=True))


from model.incidents import STATES as STATE_NAMES  # noqa: E402
from model.petitions import CREDIT_DAYS  # noqa: E402

SEVERITY_CAP = 20.0
"""Severity stops growing at 20× a typical case: no grievance grows without bound."""
HANDLING_HOURS = tuple(f"handling_hours_{lv}" for lv in LEVELS)
"""The stat each rung's handling hours are booked to, by level (no string built per call)."""
NEUTRAL_ZERO = {"petition_rate", "skip_level_rate", "collective_petitions", "concealment_detected_share"}
STAT_NAMES = (
    "incidents_total",
    "incidents_resolved",
    "days_to_resolve_sum",
    "resolved_late",
    "late_days_on_books_sum",
    "resolved_satisfied",
    "resolved_all",
    "resolved_locally",
    "reached_township",
    "mediation_attempts",
    "mediation_successes",
    "neighbour_point_attempts",
    "neighbour_point_successes",
    "disputes_mediated",
    "disputes_settled_by_mediation",
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
    "evaluations_failed",
    "projects",
    "discovered_by_grid",
    "discovered_by_associations",
    "reported_by_residents",
    *(f"handling_hours_{lv}" for lv in LEVELS),
)
