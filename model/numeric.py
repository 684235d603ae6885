"""numpy's ``clip`` without its Python wrappers, for the daily loop's short arrays.

``np.clip(a, lo, hi)`` on an array goes through ``fromnumeric.clip``, ``ndarray.clip`` and
``_methods._clip`` before it calls the ``clip`` ufunc; on a demo day's arrays of a few dozen
cases those wrappers cost more than the clipping (about 1.5 of 2.5 µs, some twenty calls a
day). Calling the ufunc is the very computation ``np.clip`` ends in, so every result is
bit-identical, signed zeros included (docs/performance.md).
"""

from __future__ import annotations

from numpy._core.umath import clip  # the ufunc itself (numpy 1.26 and 2.x both have this path)

__all__ = ["clip"]
