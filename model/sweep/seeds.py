"""Where every random number of an experiment comes from.

An experiment has one integer ``seed``. Everything random is derived from it with numpy's
``SeedSequence`` (never Python's ``hash()``, which is salted per process), each use in its
own spawn-key subtree so that adding proposals or replications never shifts another stream:

- replication ``k`` of *every* configuration runs with the seed
  ``SeedSequence(seed, spawn_key=(REPLICATIONS, k))``: common random numbers, so that two
  arms of a comparison differ by their parameters only and the comparison is paired;
- proposal ``i`` of a random or bayes sweep seeds the ``sweeps`` engine from
  ``SeedSequence(seed, spawn_key=(PROPOSALS, i))``;
- a structured design (Latin hypercube, Sobol, Morris) draws from
  ``SeedSequence(seed, spawn_key=(DESIGN,))``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

REPLICATIONS = 0
"""Spawn-key subtree of the replication seeds."""
PROPOSALS = 1
"""Spawn-key subtree of the sweep engine's proposals."""
DESIGN = 2
"""Spawn-key subtree of structured designs (Latin hypercube, Sobol, Morris)."""


def _draw_uint32(seed: int, *key: int) -> int:
    sequence = np.random.SeedSequence(seed, spawn_key=tuple(key))
    return int(sequence.generate_state(1, np.uint32)[0])


def replication_seed(experiment_seed: int, replication: int) -> int:
    """The model seed of replication ``replication``, the same in every arm (a 32-bit int)."""
    return _draw_uint32(experiment_seed, REPLICATIONS, replication)


def proposal_seed(experiment_seed: int, proposal: int) -> int:
    """The seed the sweep engine is given before it proposes configuration ``proposal``."""
    return _draw_uint32(experiment_seed, PROPOSALS, proposal)


def design_rng(experiment_seed: int) -> np.random.Generator:
    """A generator for structured designs (Latin hypercube, Sobol scrambling, Morris)."""
    return np.random.default_rng(np.random.SeedSequence(experiment_seed, spawn_key=(DESIGN,)))


def design_seed(experiment_seed: int) -> int:
    """An integer seed for libraries (SALib) that take one rather than a Generator."""
    return _draw_uint32(experiment_seed, DESIGN)


@contextmanager
def preserved_global_state() -> Iterator[None]:
    """Restore numpy's and Python's global random state afterwards, whatever drew from it."""
    numpy_state = np.random.get_state()
    python_state = random.getstate()
    try:
        yield
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)


@contextmanager
def seeded_global_state(seed: int) -> Iterator[None]:
    """Seed numpy's and Python's global random state, and restore both afterwards.

    The ``sweeps`` engine draws from global state: bayes search from ``np.random``, random
    search from Python's ``random`` (``HyperParameter.sample``). Seeding both before each
    proposal makes a sweep reproducible; restoring them keeps the caller's streams intact.
    """
    with preserved_global_state():
        np.random.seed(seed)
        random.seed(seed)
        yield
