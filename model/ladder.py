"""The escalation ladder (Beicai, 002): self / neighbour point → association → village
committee → grid → township platform → county department.

Each rung handles what it has the authority to close and reports the rest up, a day per
rung (a silo delay at the township without a command centre, 001). Each queue (a village, an
association, a township platform or the pooled command centre, a county department) is worked
up to the hours its people give to handling that day, first come, first served, except that
a scored unit may give a share of its hours to the cases that can still make the response
target before those already past it (``mixed_serve``; the share is the unit's choice,
cadres.py). A finished case is resolved only if its money can be paid, by the unit, or by
the county when funds follow tasks 费随事转 (000, 001). Everything is vectorised over cases.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from model.incidents import (
    ASSOCIATION,
    COUNTY,
    DEFERRED,
    GRID,
    OPEN,
    SELF,
    TOWNSHIP,
    VILLAGE,
)
from model.numeric import clip

if TYPE_CHECKING:
    from model.simulation import GovernanceModel


def group_start(groups_sorted: np.ndarray) -> np.ndarray:
    """For each element of a sorted array, the index where its run of equal groups starts."""
    # Called ten times a day on short arrays, so per-call overhead is the cost: each element's
    # own index where a run starts, 0 elsewhere, and a running maximum carries the last start
    # forward (three numpy calls; integer indices, so exactly the starts as before).
    start = np.arange(len(groups_sorted))
    start[1:][groups_sorted[1:] == groups_sorted[:-1]] = 0
    return np.maximum.accumulate(start)


def groupwise_cumsum(groups_sorted: np.ndarray, values: np.ndarray, starts: np.ndarray | None = None) -> np.ndarray:
    """Cumulative sum of ``values`` restarting at each new group (groups must be sorted);
    ``starts`` is ``group_start(groups_sorted)`` where the caller already has it."""
    cum = values.cumsum()  # the method: np.cumsum adds a Python wrapper around the same sum
    first = group_start(groups_sorted) if starts is None else starts
    return cum - (cum[first] - values[first])


RADIX_MIN = 1500
"""Below this many cases lexsort's fixed cost is lower than the radix passes' (measured: equal
at ~1,000, lexsort 3x faster at 200, radix 8x faster at 10,000)."""


def stable_order(*keys: np.ndarray) -> np.ndarray:
    """Indices that sort by the last key, ties by the one before, and so on, ties at the end in
    index order: ``np.lexsort(keys)``. A key whose values span fewer than 2^16 (days, units,
    queues, flags) is sorted as 16-bit integers, for which numpy's stable sort is a radix sort:
    five times faster than lexsort's merge sorts on the ~100k cases an overloaded county keeps
    queued (docs/performance.md). Wider keys fall back to a stable comparison sort, and short
    arrays (a demo day's queues) go to lexsort itself."""
    if len(keys[0]) < RADIX_MIN:
        return np.lexsort(keys)
    order = None
    for key in keys:
        k = key if order is None else key[order]
        if k.dtype == np.bool_:
            k = k.view(np.uint8)
        elif len(k):
            lo = int(k.min())
            if int(k.max()) - lo < 1 << 16:
                k = (k - lo).astype(np.uint16)
        step = np.argsort(k, kind="stable")
        order = step if order is None else order[step]
    assert order is not None, "stable_order needs at least one key"
    return order


def rank_in_group(groups_sorted: np.ndarray) -> np.ndarray:
    """Position of each element within its run of equal groups (groups must be sorted)."""
    return np.arange(len(groups_sorted)) - group_start(groups_sorted)


def serve_in_order(
    groups: np.ndarray, order: np.ndarray, need: np.ndarray, capacity: np.ndarray, starts: np.ndarray | None = None
) -> np.ndarray:
    """Hours each case gets when each group's ``capacity`` goes to its cases in ``order``
    (which must list each group's cases together); ``starts`` as in ``groupwise_cumsum``."""
    g = groups[order]
    n = need[order]
    before = groupwise_cumsum(g, n, starts) - n
    alloc = clip(capacity[g] - before, 0.0, n)
    out = np.empty_like(alloc)
    out[order] = alloc
    return out


def fifo_serve(
    groups: np.ndarray, order_key: np.ndarray, need: np.ndarray, capacity: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Give each group's ``capacity`` to its cases first-come-first-served.

    Returns (allocated per case, order) where order sorts cases by (group, order_key).
    """
    order = stable_order(order_key, groups)
    return serve_in_order(groups, order, need, capacity), order


def mixed_serve(
    groups: np.ndarray,
    arrived: np.ndarray,
    late: np.ndarray,
    need: np.ndarray,
    capacity: np.ndarray,
    deadline_share: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Serve each queue with two disciplines: ``deadline_share`` of its hours go first to the
    cases not yet ``late`` (oldest first), then to the late ones; the rest of its hours, and
    whatever the first part left unused, go first come, first served.

    Returns (allocated per case, first-come order). With a zero share this is ``fifo_serve``.
    """
    if np.count_nonzero(deadline_share) == 0:  # .any() costs three times more (performance.md)
        return fifo_serve(groups, arrived, need, capacity)
    order = stable_order(arrived, groups)
    queue = groups[order]
    # The same queues with the cases still within the target first: a stable sort of the
    # first-come order by (queue, late), so each part stays oldest first.
    deadline_order = order[stable_order(queue.astype(np.int64) * 2 + late[order])]
    # That sort moves cases only within their queue, so both orders have each queue at the
    # same positions: the queues' starts are found once for the two passes.
    starts = group_start(queue)
    first = serve_in_order(groups, deadline_order, need, capacity * deadline_share, starts)
    used = np.bincount(groups, weights=first, minlength=len(capacity))
    rest = serve_in_order(groups, order, need - first, np.maximum(capacity - used, 0.0), starts)
    return first + rest, order


HEAD_MIN = RADIX_MIN
"""Queues at least this long are cut to their heads before they are served (``queue_heads``):
a demo's or a calibrated county's queues are shorter and are served whole, as before."""


def ahead_by_day(groups: np.ndarray, days: np.ndarray, n_groups: int) -> Callable[..., np.ndarray] | None:
    """A function giving, for each case, the sum of ``weights`` (default 1) over the cases of
    its group on earlier days: a histogram per (group, day) and its running sum, so no sort.
    None where the groups span so many days that the histogram would cost more than a sort."""
    first_day = int(days.min())
    span = int(days.max()) - first_day + 1
    if n_groups * span > 8 * len(groups):
        return None
    cell = groups.astype(np.int64, copy=False) * span + (days - first_day)

    def ahead(weights: np.ndarray | None = None) -> np.ndarray:
        per_day = np.bincount(cell, weights=weights, minlength=n_groups * span).reshape(n_groups, span)
        return (np.cumsum(per_day, axis=1) - per_day).ravel()[cell]

    return ahead


def queue_heads(
    groups: np.ndarray,
    arrived: np.ndarray,
    late: np.ndarray,
    need: np.ndarray,
    capacity: np.ndarray,
    deadline_share: np.ndarray,
) -> np.ndarray | None:
    """Which cases ``mixed_serve`` can give hours to today, or finds finished (indices of a
    superset), found without sorting; None where ``ahead_by_day`` declines.

    A case gets first-come hours only if the cases of its queue that arrived on earlier days
    need less than the queue's hours (the deadline-first part only lowers what is left to
    need), and deadline-first hours only if the cases ahead of it in that order need less than
    that part's hours. In an overloaded county a queue holds months of cases and a day's hours
    reach the first few, so serving only these heads spares two sorts and the passes over all
    the rest (docs/performance.md, "Queue heads"). The sums ahead of a case are taken per
    arrival day, in a different order from ``serve_in_order``'s, so the comparison allows for
    rounding."""
    n_groups = len(capacity)
    ahead = ahead_by_day(groups, arrived, n_groups)
    if ahead is None:
        return None
    hours = capacity[groups]
    slack = 1e-6 * (1.0 + hours)
    reach = hours + slack
    if not deadline_share.any():
        return ((ahead(need) < reach) | (need <= 1e-9)).nonzero()[0]
    on_time = np.where(late, 0.0, need)
    ahead_on_time, ahead_late = ahead(on_time), ahead(need - on_time)
    head = (ahead_on_time + ahead_late < reach) | (need <= 1e-9)
    part = (capacity * deadline_share)[groups] + slack
    on_time_total = np.bincount(groups, weights=on_time, minlength=n_groups)[groups]
    head |= np.where(late, on_time_total + ahead_late, ahead_on_time) < part
    return head.nonzero()[0]


class Ladder:
    """Routes and serves incidents; owns no state beyond what the model holds."""

    def __init__(self, model: GovernanceModel) -> None:
        self.m = model
        s = model.spec
        self.authority = model.kind_authority  # rank of the lowest level that may close a kind
        self.platform = model.kind_platform
        self.assoc = model.kind_association  # association index or -1
        self.mediable = model.kind_mediable & s.neighbour_points.enabled
        self.grid_on = s.grid.enabled
        self._associations_on = bool(model.association_enabled.any())  # fixed at build
        # A property of each kind alone, so computed once rather than on every move.
        a = self.assoc
        exists = (a >= 0) & model.association_enabled[np.maximum(a, 0)]
        self._association_tries = exists & (
            (self.authority <= ASSOCIATION) | (model.association_beyond[np.maximum(a, 0)] > 0)
        )
        # So is the rung a case enters on, after a failed neighbour-point mediation or before.
        entry = np.full(len(self.authority), VILLAGE, dtype=np.int8)
        entry[self._association_tries] = ASSOCIATION
        self._entry_past_neighbour_point = entry.copy()
        entry[self.mediable] = SELF
        self._entry = entry

    # ---- routing -----------------------------------------------------------------------
    def entry_level(self, kinds: np.ndarray, neighbour_points: bool = True) -> np.ndarray:
        """The rung a newly known case starts on (above the neighbour point if it failed there)."""
        # By kind from the tables built once (village, else association, else neighbour
        # point): one gather instead of np.full and two masked writes, two to three times a day.
        return (self._entry if neighbour_points else self._entry_past_neighbour_point)[kinds]

    def association_can_try(self, kinds: np.ndarray) -> np.ndarray:
        """Whether a case of each kind goes to its village's association first: it has the
        authority, or the association mediates beyond authority (Fengqiao, 004)."""
        return self._association_tries[kinds]

    def next_level(self, levels: np.ndarray) -> np.ndarray:
        """The rung above: the grid is skipped where there is none."""
        up = levels + 1
        up[(up == ASSOCIATION)] = ASSOCIATION if self._associations_on else VILLAGE
        if not self.grid_on:
            up[up == GRID] = TOWNSHIP
        return np.minimum(up, COUNTY).astype(np.int8)

    def move(self, rows: np.ndarray, levels: np.ndarray, delay: np.ndarray | int) -> None:
        """Put cases on new rungs; count them as received by the unit that now owns them."""
        m, b = self.m, self.m.book
        if len(rows) == 0:
            return
        old = b.level[rows]
        b.level[rows] = levels
        peak = b.peak_level[rows]
        first_time_up = (levels >= TOWNSHIP) & (peak < TOWNSHIP)
        m.stats["reached_township"] += np.count_nonzero(first_time_up)
        b.peak_level[rows] = np.maximum(peak, levels)
        b.arrived[rows] = m.day
        b.ready[rows] = m.day + delay
        b.hours_done[rows] = 0.0
        on_books = b.unit_arrived[rows] >= 0
        entering_village = (levels >= VILLAGE) & (levels <= GRID) & ((old < VILLAGE) | ~b.known[rows] | ~on_books)
        entering_township = (levels == TOWNSHIP) & (old != TOWNSHIP)
        village = b.village[rows]
        township = m.township_unit[village]
        # A case a village had on its books (not a broken promise, which is a new complaint).
        handed_up = entering_township & (old >= VILLAGE) & (old <= GRID) & on_books
        # np.count_nonzero: .any() costs three times more on these few cases (performance.md).
        if np.count_nonzero(handed_up):
            m.counters.add("handed_up", township[handed_up])
        for mask, units in ((entering_village, village), (entering_township, township)):
            if np.count_nonzero(mask):
                m.counters.add("received", units[mask])
                b.unit_arrived[rows[mask]] = m.day

    def refer_up(self, rows: np.ndarray) -> None:
        """Report cases up one rung; leaving a unit counts as 'referred' (disposed) there."""
        m, b = self.m, self.m.book
        if len(rows) == 0:
            return
        old = b.level[rows]
        new = self.next_level(old)
        leaving = ((old == VILLAGE) | (old == GRID)) & (new >= TOWNSHIP) | ((old == TOWNSHIP) & (new == COUNTY))
        if np.count_nonzero(leaving):
            lr = rows[leaving]
            units = np.where(b.level[lr] == TOWNSHIP, m.township_unit[b.village[lr]], b.village[lr])
            timely = ~m.past_target(lr)
            m.counters.add("referred", units)
            m.counters.add("referred_timely", units[timely])
        delay = np.ones(len(rows), dtype=np.int32)
        to_township = new == TOWNSHIP
        delay[to_township] = m.township_delay
        self.move(rows, new, delay)

    # ---- one day on the ladder --------------------------------------------------------
    def step(self) -> None:
        m, b = self.m, self.m.book
        ready = (b.state == OPEN) & b.known & (b.ready <= m.day)
        # mask.nonzero()[0] and np.count_nonzero: np.flatnonzero and bool .sum() cost several
        # times more in wrappers than the work on a day's few hundred cases (docs/performance.md).
        # Mediating and referring change only the cases they act on (no rows are added in
        # between), so only those need ``ready`` again: a referral with no dispatch delay is
        # ready on its new rung today.
        def act(action: Callable[[np.ndarray], None], mask: np.ndarray) -> None:
            rows = mask.nonzero()[0]
            if len(rows) == 0:  # both actions do nothing without cases, and nothing changed
                return
            action(rows)
            ready[rows] = (b.state[rows] == OPEN) & b.known[rows] & (b.ready[rows] <= m.day)

        act(self.mediate_at_neighbour_points, ready & (b.level == SELF))
        # Each rung reports up what it lacks the authority to close, the township too
        # (001: "see it but can't manage it"); one rung a day.
        authority = self.authority[b.kind]
        mediated = (b.level == ASSOCIATION) & self.association_can_try(b.kind)
        act(self.refer_up, ready & (authority > b.level) & (b.level >= ASSOCIATION) & ~mediated)
        # Each rung serves the cases it holds now: a case it passes up today (a failed
        # mediation, a finished case its unit cannot pay for) waits for tomorrow on the next.
        level_now = b.level.copy()
        self.serve_associations((ready & mediated).nonzero()[0])
        # The cases each rung may close, one mask per rung over the book: cheaper than
        # splitting one list of them, which in an overloaded county holds ~100k cases.
        servable = ready & (authority <= level_now)
        for level in (VILLAGE, GRID, TOWNSHIP, COUNTY):
            self.serve_level(level, (servable & (level_now == level)).nonzero()[0])
        self.residents_go_higher()

    def residents_go_higher(self) -> None:
        """A resident kept waiting too long on a low rung takes the case to the next one
        (001, 002: unresolved matters are carried upward); distrust shortens patience."""
        m, b = self.m, self.m.book
        low = (b.state == OPEN) & b.known & (b.level >= ASSOCIATION) & (b.level <= GRID) & (b.petition == 0)
        # Patience is at least half of patience_days (trust >= 0): only cases older than that
        # need their resident's trust looked up, a few of an overloaded county's many.
        low &= (m.day - b.arrived) > 0.5 * m.spec.residents.patience_days
        rows = low.nonzero()[0]
        if len(rows) == 0:
            return
        patience = m.spec.residents.patience_days * (0.5 + m.residents.trust[b.resident[rows]])
        waited = (m.day - b.arrived[rows]) > patience
        # Cases whose work is done but await money are the unit's to refer, not the resident's.
        waited &= b.hours_done[rows] < b.hours_needed[rows] - 1e-9
        gone = rows[waited]
        if len(gone):
            m.stats["escalated_by_residents"] += len(gone)
            self.move(gone, self.next_level(b.level[gone]), 1)

    def mediate_at_neighbour_points(self, rows: np.ndarray) -> None:
        if len(rows) == 0:
            return
        m, b, s = self.m, self.m.book, self.m.spec.neighbour_points
        p = clip(
            s.success + s.cohesion_bonus * m.memory[b.village[rows]] - s.cohesion_bonus * m.anomie[b.village[rows]],
            0,
            1,
        )
        ok = m.streams["mediation"].random(len(rows)) < p
        b.mediated[rows] = True
        m.stats["mediation_attempts"] += len(rows)
        m.stats["mediation_successes"] += np.count_nonzero(ok)
        m.stats["neighbour_point_attempts"] += len(rows)
        m.stats["neighbour_point_successes"] += np.count_nonzero(ok)
        m.resolve(rows[ok])
        failed = rows[~ok]
        self.move(failed, self.entry_level(b.kind[failed], neighbour_points=False), 1)

    def serve_associations(self, rows: np.ndarray) -> None:
        if len(rows) == 0:
            return
        m, b = self.m, self.m.book
        n_v = m.n_villages
        groups = self.assoc[b.kind[rows]].astype(np.int64) * n_v + b.village[rows]
        need = b.hours_needed[rows] - b.hours_done[rows]
        alloc, _ = fifo_serve(groups, b.arrived[rows], need, m.association_hours.ravel())
        b.hours_done[rows] += alloc
        m.hours_used_handling(ASSOCIATION, rows, alloc)
        done = rows[b.hours_done[rows] >= b.hours_needed[rows] - 1e-9]
        if len(done) == 0:
            return
        a = self.assoc[b.kind[done]]
        beyond = self.authority[b.kind[done]] > ASSOCIATION
        success = m.association_success[a] * np.where(beyond, m.association_beyond[a], 1.0)
        ok = m.streams["mediation"].random(len(done)) < success
        b.mediated[done] = True
        m.stats["mediation_attempts"] += len(done)
        m.stats["mediation_successes"] += np.count_nonzero(ok)
        m.resolve(done[ok])
        self.move(done[~ok], np.full(len(done) - np.count_nonzero(ok), VILLAGE, dtype=np.int8), 1)

    def serve_level(self, level: int, rows: np.ndarray) -> None:
        if len(rows) == 0:
            return
        m, b = self.m, self.m.book
        groups, capacity = m.handling_queues(level, rows)
        need = b.hours_needed[rows] - b.hours_done[rows]
        share = m.deadline_first_shares(level, rows, groups, len(capacity))
        arrived, late = b.arrived[rows], m.past_target(rows)
        head = queue_heads(groups, arrived, late, need, capacity, share) if len(rows) >= HEAD_MIN else None
        if head is not None:
            rows, groups, need, arrived, late = rows[head], groups[head], need[head], arrived[head], late[head]
        alloc, order = mixed_serve(groups, arrived, late, need, capacity, share)
        b.hours_done[rows] += alloc
        m.hours_used_handling(level, rows, alloc)
        finished = b.hours_done[rows] >= b.hours_needed[rows] - 1e-9
        done = rows[order][finished[order]]  # queue order, so money goes first-come first-served
        if len(done) == 0:
            return
        paid = m.pay_for_cases(level, done)
        m.resolve(done[paid])
        unpaid = done[~paid]
        # A village that cannot pay reports up to the township, which may (000: 事权多财权少).
        if len(unpaid):  # most days every finished case is paid for
            self.refer_up(unpaid[(b.level[unpaid] == VILLAGE) | (b.level[unpaid] == GRID)])

    def returning_promises(self) -> None:
        """Deferred cases come back, worse (000: 胡乱许愿 → disputes later, a vicious circle)."""
        m, b = self.m, self.m.book
        due = ((b.state == DEFERRED) & (b.ready <= m.day)).nonzero()[0]
        if len(due) == 0:
            return
        rules = m.spec.cadres
        b.state[due] = OPEN
        b.severity[due] *= rules.promise_severity_factor
        b.hours_done[due] = 0.0
        res, case = m.affected(due)
        r = m.residents
        np.add.at(r.grievance, res, (m.spec.residents.grievance_broken_promise * m.weight(due))[case])
        r.trust[res] = np.maximum(r.trust[res] - m.spec.residents.trust_loss_broken_promise, 0.0)
        m.stats["promises_broken"] += len(due)
        # A broken promise is taken one rung higher than where it was made (Minzner 2006),
        # and is a new complaint on that unit's books (it was counted disposed when promised).
        b.unit_arrived[due] = -1
        self.move(due, self.next_level(b.level[due]), 0)
