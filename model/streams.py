"""Named random streams: one independent numpy Generator per model component.

Each stream is seeded from (run seed, crc32 of its name) through numpy's SeedSequence, so
adding a component (a new stream name) never changes the draws of the others: adding an
association does not reshuffle incident arrivals. This is the Starsim habit of per-module
streams; Mesa's own ``model.rng`` is seeded from the same run seed and left for Mesa's use
(agent shuffling).
"""

from __future__ import annotations

import zlib

import numpy as np


class Streams:
    """``streams["arrivals"]`` is the Generator of that component, created on first use."""

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self._streams: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        rng = self._streams.get(name)
        if rng is None:
            key = zlib.crc32(name.encode("utf-8"))
            rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(self.seed, spawn_key=(key,))))
            self._streams[name] = rng
        return rng
