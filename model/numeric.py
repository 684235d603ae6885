"""numpy's ``clip`` without its Python wrappers, for the daily loop's short arrays.

``np.clip(a, lo, hi)`` on an array goes through ``fromnumeric.clip``, ``ndarray.clip`` and
``_methods._clip`` before it calls the ``clip`` ufunc; on a demo day's arrays of a few dozen
cases those wrappers cost more than the clipping (about 1.5 of 2.5 µs, some twenty calls a
day). Calling the ufunc is the very computation ``np.clip`` ends in, so every result is
bit-identical, signed zeros included (docs/performance.md).
"""

from __future__ import annotations

try:  # the ufunc itself; a private path, so fall back to the older one if it moves
    from numpy._core.umath import clip
except ImportError:  # pragma: no cover - numpy releases without the numpy._core shim
    from numpy.core.umath import clip

__all__ = ["clip"]
