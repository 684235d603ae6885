"""The vectorised kernels that were rewritten for speed, checked against the plain formulation
they replaced, element for element: the model's outputs depend on the exact order of ties and
on integer results (docs/performance.md).

- ``ladder.stable_order`` replaces ``np.lexsort`` (radix sorts of 16-bit keys), including for
  the key types the model passes (days, units, flags) and for keys too wide to radix-sort;
- ``Residents.run_from`` wraps a run at its village's end by one subtraction instead of a
  modulo per resident.
"""

import numpy as np
import pytest

from model.ladder import RADIX_MIN, rank_in_group, stable_order
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
