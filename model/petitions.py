"""Petitions 信访, skip-level petitions 越级上访, collective petitions, and what cadres do
about them: interception 截访, promises 许愿 and concealment 瞒报 (essays 000, 001, 002).

A resident petitions when grievance crosses a threshold that distrust lowers and cohesion-
driven self-help raises (001, 002); below ``skip_level_trust`` the petition skips the
township (001); when enough residents of one village petition on one day they go together,
and strongly remembering, undivided villages (type A) need fewer to do so (002; Tsai 2007).
Township and village stability hours, and interception money, stop petitions before they are
registered; stopped petitioners keep their grievance and lose trust (000; Minzner 2006).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from model.incidents import CONCEALED, COUNTY, DEFERRED, GRID, INTERCEPTED, OPEN, TOWNSHIP, VILLAGE
from model.ladder import HEAD_MIN, ahead_by_day, rank_in_group, stable_order
from model.scenario import LEVELS, TASKS

if TYPE_CHECKING:
    from model.simulation import GovernanceModel

STABILITY, REPORTING, PROMISING = (TASKS.index(t) for t in ("stability", "reporting", "promising"))
CREDIT_DAYS = 30
"""Banked hours for interception, reporting and promises cap at a month's worth."""


def new_petitions(m: GovernanceModel) -> None:
    """Residents above threshold petition; collective groups form; interception happens."""
    r, rules, rng = m.residents, m.spec.residents, m.streams["petitions"]
    # Everyone who could go or come along: past half the lowest possible threshold, and past
    # their cooldown (in an overloaded county most of the aggrieved have just been,
    # docs/performance.md). Usually about 1% of residents are aggrieved and the cooldown is
    # looked up for them only; in an overloaded county (30%) testing everyone for both is
    # cheaper. Either way: the same residents, in the same order.
    aggrieved = r.grievance > 0.5 * m.min_petition_threshold
    if np.count_nonzero(aggrieved) > len(aggrieved) // 16:
        candidates = (aggrieved & (m.day - r.last_petition_day >= rules.petition_cooldown_days)).nonzero()[0]
    else:
        aggrieved = aggrieved.nonzero()[0]
        candidates = aggrieved[m.day - r.last_petition_day[aggrieved] >= rules.petition_cooldown_days]
    if len(candidates) == 0:
        return
    thr = rules.petition_threshold * (0.5 + r.trust[candidates]) * (1.0 + m.self_help * m.memory[r.village[candidates]])
    eligible = candidates[r.grievance[candidates] > thr]
    if len(eligible) == 0:
        return
    who = eligible[rng.random(len(eligible)) < rules.petition_prob]
    if len(who) == 0:
        return
    # Collective petitions: when one resident goes, aggrieved neighbours (half the grievance
    # it takes each of them to go alone) come along if the village has enough of them to act
    # together; memory without division (type A) needs fewest (002; Tsai 2007).
    sympathisers = candidates[r.grievance[candidates] > 0.5 * thr]
    aggrieved = np.bincount(r.village[sympathisers], minlength=m.n_villages)
    need = rules.collective_min / np.maximum(m.mobilisation, 0.05)
    going = np.bincount(r.village[who], minlength=m.n_villages) > 0
    collective_village = going & (aggrieved >= need)
    who = np.union1d(who, sympathisers[collective_village[r.village[sympathisers]]])
    r.last_petition_day[who] = m.day
    village = r.village[who]
    in_group = collective_village[village]
    singles = who[~in_group]
    skip = r.trust[singles] < rules.skip_level_trust
    rows = []
    if len(singles):
        rows.append(
            m.book.add(
                kind=np.full(len(singles), m.petition_kind),
                village=r.village[singles],
                resident=singles,
                severity=r.grievance[singles] / 10.0,
                created=m.day,
                level=np.where(skip, COUNTY, TOWNSHIP),
                state=OPEN,
                hours_needed=rules.petition_hours,
                money=rules.petition_money,
                arrived=m.day,
                ready=m.day + 1,
                petition=np.where(skip, 2, 1),
                unit_arrived=m.day,
            )
        )
    collective = np.flatnonzero(collective_village)
    if len(collective):
        # One record per village, in village order, added together (an overloaded county
        # has dozens a day; one append each cost more than the rest of the petitioning).
        groups = [who[village == v] for v in collective]
        rows.append(
            m.book.add(
                kind=np.full(len(collective), m.petition_kind),
                village=collective,
                resident=[members[0] for members in groups],
                people=[len(members) for members in groups],
                severity=[r.grievance[members].sum() / 10.0 for members in groups],
                created=m.day,
                level=COUNTY,
                state=OPEN,
                hours_needed=[rules.petition_hours * np.sqrt(len(members)) for members in groups],
                money=[rules.petition_money * len(members) for members in groups],
                arrived=m.day,
                ready=m.day + 1,
                petition=2,
                collective=True,
                unit_arrived=m.day,
            )
        )
    np.add.at(r.petitions, who, 1)
    np.add.at(r.skip_level_petitions, who[in_group], 1)
    np.add.at(r.skip_level_petitions, singles[skip], 1)
    rows = np.concatenate(rows)
    m.book.peak_level[rows] = m.book.level[rows]
    m.stats["reached_township"] += len(rows)
    m.stats["petitions_true"] += len(rows)
    m.stats["skip_level_true"] += int((m.book.petition[rows] == 2).sum())
    m.stats["collective_true"] += int(m.book.collective[rows].sum())
    intercept(m, rows)
    register(m, rows[m.book.state[rows] == OPEN])


def intercept(m: GovernanceModel, rows: np.ndarray) -> None:
    """Stop petitioners while stability hours and interception money last (000: 不惜功本)."""
    b, rules = m.book, m.spec.cadres
    order = rows[m.streams["interception"].permutation(len(rows))]
    village = b.village[order]
    township = m.township_unit[village]
    hours = rules.hours_per_interception * b.people[order]
    cost = (
        rules.interception_cost * b.people[order] * np.where(b.petition[order] == 2, rules.skip_level_cost_factor, 1.0)
    )
    credit = m.credit[STABILITY]
    stopped = []
    # The village's watchers go if it has the hours and the money, else the township's; the
    # unit that sends them pays ("send people to watch... at great cost in manpower, material
    # and money" 耗费大量人力、物力和财力, 000). Few petitions a day: a plain loop reads best.
    for row, v, t, h, c in zip(order, village, township, hours, cost, strict=True):
        if credit[v] >= h and m.can_spend_interception(v, c):
            watchers = v
        elif credit[t] >= h and m.can_spend_interception(t, c):
            watchers = t
        else:
            continue
        credit[watchers] -= h
        m.ledger.draw("interception", np.array([watchers]), np.array([c]), borrow=m.spec.fiscal.borrowing)
        stopped.append(row)
    if not stopped:
        return
    stopped = np.array(stopped)
    b.state[stopped] = INTERCEPTED
    r, rr = m.residents, m.spec.residents
    res = b.resident[stopped]
    np.add.at(r.intercepted, res, 1)
    np.add.at(r.grievance, res, rr.grievance_intercepted)
    r.trust[res] = np.maximum(r.trust[res] - rr.trust_loss_intercepted, 0.0)
    m.stats["interceptions"] += len(stopped)
    m.stats["interception_spending"] += float(cost[np.isin(order, stopped)].sum())


def register(m: GovernanceModel, rows: np.ndarray) -> None:
    """Petitions that got through are registered: skip-level ones by the county, which the
    township cannot hide; ordinary ones by the township, which may keep them off the books."""
    if len(rows) == 0:
        return
    b = m.book
    village = b.village[rows]
    township = m.township_unit[village]
    ordinary = b.petition[rows] == 1
    hide = np.zeros(len(rows), dtype=bool)
    cost = m.spec.cadres.hours_per_concealment
    if m.prefers_hiding_petitions[township].any():
        for i in np.flatnonzero(ordinary & m.prefers_hiding_petitions[township]):
            t = township[i]
            if m.credit[REPORTING, t] >= cost:
                m.credit[REPORTING, t] -= cost
                hide[i] = True
    hidden = rows[hide]
    b.state[hidden] = CONCEALED
    b.on_books[hidden] = False
    b.concealed_day[hidden] = m.day
    m.counters.add("petitions_hidden", township[hide])
    m.stats["petitions_concealed"] += len(hidden)
    shown = ~hide
    for units in (village[shown], township[shown]):
        m.counters.add("petitions_registered", units)
    skip = shown & (b.petition[rows] == 2)
    for units in (village[skip], township[skip]):
        m.counters.add("skip_level_registered", units)
    coll = shown & b.collective[rows]
    for units in (village[coll], township[coll]):
        m.counters.add("collective_registered", units)
    # A registered ordinary petition is a case on the township's books (Beicai rates, 002).
    m.counters.add("received", township[shown & ordinary])
    m.stats["petitions_registered"] += int(shown.sum())
    m.stats["skip_level_registered"] += int(skip.sum())


def stuck_cases(m: GovernanceModel, levels: tuple[int, ...]) -> np.ndarray:
    """Known open non-petition cases at these levels that will miss the response target: on
    their last day within it, or past it. Placating or hiding a case on its last day counts
    as a timely disposal, and cadres scored on timeliness know it (000, 001)."""
    b = m.book
    # A table by level, looked up once: the same mask as one comparison per level joined by
    # logical_or.reduce, which first stacks them into a new array (np.isin costs 10x more).
    wanted = np.zeros(len(LEVELS), dtype=bool)
    wanted[list(levels)] = True
    mask = (b.state == OPEN) & b.known & (b.petition == 0) & wanted.take(b.level)
    mask &= (m.day - b.unit_arrived) >= m.response_target
    return mask.nonzero()[0]


def owner_units(m: GovernanceModel, rows: np.ndarray) -> np.ndarray:
    b = m.book
    village = b.village[rows]
    return np.where(b.level[rows] == TOWNSHIP, m.township_unit[village], village)


def spend_credit_on(m: GovernanceModel, task: int, rows: np.ndarray, hours_each: float) -> np.ndarray:
    """The oldest cases each unit can afford from its banked hours of ``task``."""
    if len(rows) == 0:
        return rows
    capacity = np.floor(m.credit[task] / hours_each)
    # Only units that can afford a case compete; dropping the others first keeps the sort
    # small when a saturated county has most of its open cases stuck. A case's owner is its
    # village or its township, so the cases of villages where neither can afford one go
    # first, before their owners are looked up (an overloaded county's promise hours
    # reach 8% of ~65k stuck cases).
    can = capacity >= 1
    either = can[: m.n_villages] | can[m.township_unit]
    if not either.all():
        rows = rows[either[m.book.village[rows]]]
    units = owner_units(m, rows)
    affordable = capacity[units] >= 1
    rows, units = rows[affordable], units[affordable]
    if len(rows) == 0:  # no unit has the hours today (half the demo's days): nothing to rank
        return rows
    arrived = m.book.unit_arrived[rows]
    # A unit's banked hours reach its few oldest cases: sort only the cases with fewer than
    # ``capacity`` of their unit's cases on earlier days, which include every case chosen and
    # all cases ahead of it, so ranks and choices are exactly those of sorting all.
    ahead = ahead_by_day(units, arrived, len(capacity)) if len(rows) >= HEAD_MIN else None
    if ahead is not None:
        head = (ahead() < capacity[units]).nonzero()[0]
        rows, units, arrived = rows[head], units[head], arrived[head]
    order = stable_order(arrived, units)
    u = units[order]
    rank = rank_in_group(u)
    chosen = order[rank < capacity[u]]
    np.subtract.at(m.credit[task], units[chosen], hours_each)
    return rows[chosen]


def make_promises(m: GovernanceModel) -> np.ndarray:
    """Placate stuck cases with promises: disposed in reports now, back later (000). Returns
    the stuck cases left open, which is what ``conceal_cases`` would find next."""
    rules = m.spec.cadres
    stuck = stuck_cases(m, (VILLAGE, GRID, TOWNSHIP))
    rows = spend_credit_on(m, PROMISING, stuck, rules.hours_per_promise)
    if len(rows) == 0:
        return stuck
    b = m.book
    units = owner_units(m, rows)
    timely = ~m.past_target(rows)
    m.counters.add("promised", units)
    m.counters.add("promised_timely", units[timely])
    b.state[rows] = DEFERRED
    b.ready[rows] = m.day + rules.promise_days
    b.deferrals[rows] += 1
    relief = 0.5 * m.spec.residents.resolution_relief * b.severity[rows]
    res, case = m.affected(rows)
    m.residents.grievance[res] = np.maximum(m.residents.grievance[res] - relief[case], 0.0)
    m.stats["promises"] += len(rows)
    return stuck[b.state[stuck] == OPEN]


def conceal_cases(m: GovernanceModel, stuck: np.ndarray | None = None) -> None:
    """Report stuck cases as closed when there is no money to close them (000: 瞒天过海);
    ``stuck`` saves finding them again when ``make_promises`` has just done so."""
    rules = m.spec.cadres
    if stuck is None:
        stuck = stuck_cases(m, (VILLAGE, GRID, TOWNSHIP))
    rows = spend_credit_on(m, REPORTING, stuck, rules.hours_per_concealment)
    if len(rows) == 0:
        return
    b = m.book
    m.counters.add("concealed", owner_units(m, rows))
    b.state[rows] = CONCEALED
    b.on_books[rows] = False
    b.concealed_day[rows] = m.day
    m.stats["concealments"] += len(rows)
