"""The queue order used by every rung, checked against numpy's own lexicographic sort.

``ladder.stable_order`` replaces ``np.lexsort`` for speed (radix sorts of 16-bit keys); the
model's outputs depend on the exact order of ties, so it must agree element for element,
including for the key types the model passes (days, units, flags) and for keys too wide to
radix-sort.
"""

import numpy as np
import pytest

from model.ladder import rank_in_group, stable_order


@pytest.mark.parametrize("seed", range(5))
def test_stable_order_is_lexsort(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 2000))
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
