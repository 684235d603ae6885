"""The vectorised kernels that were rewritten for speed, checked against the plain formulation
they replaced, element for element: the model's outputs depend on the exact order of ties and
on integer results (docs/performance.md).

- ``ladder.stable_order`` replaces ``np.lexsort`` (radix sorts of 16-bit keys), including for
  the key types the model passes (days, units, flags) and for keys too wide to radix-sort;
- ``Residents.run_from`` wraps a run at its village's end by one subtraction instead of a
  modulo per resident;
- ``ladder.queue_heads`` cuts a long queue to the cases a day's hours can reach: serving only
  those must give every case the hours serving the whole queue gives it; ``ahead_by_day``,
  on which it and ``petitions.spend_credit_on`` rest, must count and sum what is ahead of
  each case exactly as a loop over the cases would.
"""

import numpy as np
import pytest

from model.ladder import RADIX_MIN, ahead_by_day, mixed_serve, queue_heads, rank_in_group, stable_order
from model.residents import Residents
from model.scenario import load_scenario
from tests.conftest import SCENARIOS


@pytest.mark.parametrize("n", [0, 1, 200, RADIX_MIN - 1, RADIX_MIN, 5000])  # both sides of the lexsort cut-off
def test_stable_order_is_lexsort(n):
    rng = np.random.default_rng(n)
    days = rng.integers(-1, 40, n).astype(np.int32)  # unit_arrived is -1 off the books
    flags = rng.random(n) < 0.3
    groups = rng.integers(0, 25, n).astype(np.int64)
    wide = rng.integers(0, 1 << 40, n)  # spans more than 2^16: the comparison-sort path
    small = rng.integers(-128, 127, n).astype(np.int8)  # max - min overflows int8
    for keys in ((days,), (days, groups), (days, flags, groups), (wide, groups), (small, flags)):
        assert np.array_equal(stable_order(*keys), np.lexsort(keys))


def test_rank_in_group_counts_from_each_group_start():
    groups = np.array([0, 0, 0, 2, 5, 5, 7])
    assert rank_in_group(groups).tolist() == [0, 1, 2, 0, 0, 1, 0]
    assert rank_in_group(groups[:0]).tolist() == []


def test_run_from_matches_the_modulo_formula():
    rng = np.random.default_rng(3)
    residents = Residents.generate(load_scenario(SCENARIOS / "demo.yaml"), np.array([1, 5, 30, 2, 400]), np.ones(5), rng)
    first = rng.integers(0, len(residents), 500)
    village = residents.village[first]
    start, size = residents.village_start[village], residents.sizes()[village]
    span = 1 + (rng.random(500) * size).astype(np.int64)  # up to the whole village
    res, case = residents.run_from(first, span)
    offset = np.arange(len(case)) - np.repeat(np.cumsum(span) - span, span)
    expected = start[case] + (first[case] - start[case] + offset) % size[case]
    assert np.array_equal(case, np.repeat(np.arange(500), span))
    assert np.array_equal(res, expected)
    with pytest.raises(ValueError, match="longer than its village"):
        residents.run_from(first[:1], size[:1] + 1)


@pytest.mark.parametrize("load", [0.3, 3.0, 30.0])  # under capacity, a few days' work, a backlog of months
def test_serving_only_the_queue_heads_gives_every_case_the_same_hours(load):
    """``serve_level`` serves the heads of a long queue only. A case left out must get no hours
    and not be finished; a case kept must get what serving the whole queue gives it, up to
    the rounding of the cumulative sums (which run over fewer cases), whatever share of hours
    its unit gives to deadline-first service."""
    rng = np.random.default_rng(int(load * 10))
    n, n_groups = 20000, 40
    groups = rng.integers(0, n_groups, n)
    arrived = rng.integers(0, 200, n).astype(np.int32)
    late = arrived < 170
    need = rng.gamma(1.0, 8.0, n) * (rng.random(n) > 0.02)  # a few finished, waiting for money
    capacity = rng.gamma(2.0, 1.0, n_groups) * need.sum() / n_groups / load / 2.0
    capacity[3] = 0.0  # a queue with nobody to work it
    for share in (np.zeros(n_groups), rng.random(n_groups) * (rng.random(n_groups) < 0.7)):
        full, full_order = mixed_serve(groups, arrived, late, need, capacity, share)
        head = queue_heads(groups, arrived, late, need, capacity, share)
        assert head is not None
        alloc, order = mixed_serve(groups[head], arrived[head], late[head], need[head], capacity, share)
        left_out = np.setdiff1d(np.arange(n), head)
        assert not full[left_out].any() and (need[left_out] > 1e-9).all()
        np.testing.assert_allclose(alloc, full[head], rtol=1e-9, atol=1e-9)
        assert np.array_equal(head[order], full_order[np.isin(full_order, head)])  # same queue order
        if load >= 30:  # a day's hours reach ~1/30 of the work, twice over with deadline-first
            assert len(head) < n / 4, "a backlog's heads should be a small part of it"


def test_queue_heads_declines_when_the_queues_span_too_many_days():
    groups = np.array([0, 1])
    arrived = np.array([0, 5000], dtype=np.int32)
    z = np.zeros(2)
    assert queue_heads(groups, arrived, np.zeros(2, dtype=bool), np.ones(2), np.ones(2), z) is None


def test_ahead_by_day_counts_and_sums_the_earlier_cases_of_each_group():
    rng = np.random.default_rng(11)
    groups = rng.integers(0, 7, 3000)
    days = rng.integers(-1, 90, 3000).astype(np.int32)  # unit_arrived: -1 off the books
    weights = rng.random(3000)
    ahead = ahead_by_day(groups, days, 7)
    earlier = (groups[:, None] == groups[None, :]) & (days[None, :] < days[:, None])
    assert np.array_equal(ahead(), earlier.sum(axis=1))
    np.testing.assert_allclose(ahead(weights), earlier @ weights, rtol=1e-12)
