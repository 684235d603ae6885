"""Residents 居民 / 村民: a structure of arrays, updated with vectorised operations.

A county holds some 300k-600k residents (an assumption of a mid-sized county; 001's Fang county
has 305 villages), far too many for one Python object each; like the
Covasim / Starsim family, each attribute is a numpy column indexed by resident id. Residents
are sorted by village, so ``village_start[v]:village_start[v+1]`` are the ids of village v.
A resident is still an individual: ``Residents.get(rid)`` reads all of its attributes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.scenario import ASSOCIATION_KINDS, Scenario

LOCAL, MIGRANT = 0, 1
AGE_GROUPS = ("child", "adult", "elderly")


@dataclass
class Residents:
    village: np.ndarray  # int32, village index
    origin: np.ndarray  # int8, LOCAL or MIGRANT (Cixi 1:1, 000)
    age_group: np.ndarray  # int8, index into AGE_GROUPS
    grievance: np.ndarray  # float64, accumulated unresolved grievance
    trust: np.ndarray  # float64 in [0, 1], trust in local government
    membership: np.ndarray  # uint8 bitmask over ASSOCIATION_KINDS
    petitions: np.ndarray  # int32, petitions made (true count)
    skip_level_petitions: np.ndarray  # int32
    intercepted: np.ndarray  # int32, times stopped by interception
    last_petition_day: np.ndarray  # int32, -large if never
    village_start: np.ndarray  # int64, offsets into the sorted ids, len = villages + 1

    @classmethod
    def generate(
        cls, scenario: Scenario, village_sizes: np.ndarray, membership_boost: np.ndarray, rng: np.random.Generator
    ) -> Residents:
        """Draw a population: ``village_sizes[v]`` residents in village v."""
        n = int(village_sizes.sum())
        county, rules = scenario.county, scenario.residents
        village = np.repeat(np.arange(len(village_sizes), dtype=np.intp), village_sizes)
        origin = (rng.random(n) < county.migrant_share).astype(np.int8)
        age_p = np.array([county.age_mix.get(a, 0.0) for a in AGE_GROUPS])
        age_group = rng.choice(len(AGE_GROUPS), size=n, p=age_p / age_p.sum()).astype(np.int8)
        trust = np.clip(rng.normal(rules.trust_mean, rules.trust_sd, n), 0.0, 1.0)
        membership = np.zeros(n, dtype=np.uint8)
        join_p = np.clip(rules.association_membership * membership_boost[village], 0, 1)
        for bit, _kind in enumerate(ASSOCIATION_KINDS):
            joins = rng.random(n) < join_p
            if _kind == "elderly":
                joins &= age_group == AGE_GROUPS.index("elderly")
            membership |= joins.astype(np.uint8) << bit
        start = np.zeros(len(village_sizes) + 1, dtype=np.int64)
        np.cumsum(village_sizes, out=start[1:])
        return cls(
            village=village,
            origin=origin,
            age_group=age_group,
            grievance=np.zeros(n),
            trust=trust,
            membership=membership,
            petitions=np.zeros(n, dtype=np.int32),
            skip_level_petitions=np.zeros(n, dtype=np.int32),
            intercepted=np.zeros(n, dtype=np.int32),
            last_petition_day=np.full(n, -(10**6), dtype=np.int32),
            village_start=start,
        )

    def __len__(self) -> int:
        return len(self.village)

    def sizes(self) -> np.ndarray:
        # The subtraction np.diff does, without its Python wrapper (called daily on ~10 villages).
        return self.village_start[1:] - self.village_start[:-1]

    def pick_in_villages(self, villages: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One uniformly drawn resident id in each of ``villages`` (vectorised)."""
        start = self.village_start[villages]
        size = self.village_start[villages + 1] - start
        return (start + (rng.random(len(villages)) * size).astype(np.int64)).astype(np.int64)

    def run_from(self, first: np.ndarray, span: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``span[i]`` residents from ``first[i]`` on, wrapping within the village, and for
        each the index i of the run it belongs to (vectorised). A run is at most its village's
        size, so it wraps at most once; the village arithmetic is done per run, not per
        resident (an overloaded county has ~100k open cases, some hurting 30 residents)."""
        # Array methods, not np.repeat / np.cumsum: the same kernels without a Python wrapper
        # each, on the few cases of a day. Most runs are one resident long, so every entry
        # starts as its run's first resident, and only the entries of longer runs get their
        # offset (an overloaded county repeats ~100k cases a day, a few hundred of them long).
        span = span.astype(np.intp, copy=False)  # repeat counts by any other type cost 3x
        case = np.arange(len(first)).repeat(span)
        res = first.repeat(span)
        multi = (span > 1).nonzero()[0]
        if len(multi) == 0:
            return res, case
        village = self.village[first[multi]]
        end = self.village_start[village + 1]
        size = end - self.village_start[village]
        multi_span = span[multi]
        if np.count_nonzero(multi_span > size):
            raise ValueError("a run of residents is longer than its village")
        # Where each long run starts in ``res``: its case's index plus the extra entries of
        # the long runs before it (runs of one add none).
        extra = (multi_span - 1).cumsum()
        starts = multi + (extra - (multi_span - 1))
        run = np.arange(len(multi)).repeat(multi_span)  # the long run of each of its entries
        offset = np.arange(len(run)) - (multi_span.cumsum() - multi_span)[run]
        entries = starts[run] + offset
        res[entries] += offset
        wrapped = res[entries] >= end[run]
        res[entries[wrapped]] -= size[run[wrapped]]
        return res, case

    def members_of(self, kind: str) -> np.ndarray:
        return (self.membership >> ASSOCIATION_KINDS.index(kind)) & 1

    def per_village_mean(self, values: np.ndarray) -> np.ndarray:
        return np.bincount(self.village, weights=values, minlength=len(self.village_start) - 1) / np.maximum(
            self.sizes(), 1
        )

    def get(self, rid: int) -> dict[str, object]:
        """All attributes of resident ``rid`` as plain Python values."""
        if not 0 <= rid < len(self):
            raise IndexError(f"resident id {rid} out of range 0..{len(self) - 1}")
        return {
            "id": int(rid),
            "village": int(self.village[rid]),
            "origin": "migrant" if self.origin[rid] == MIGRANT else "local",
            "age_group": AGE_GROUPS[int(self.age_group[rid])],
            "grievance": float(self.grievance[rid]),
            "trust": float(self.trust[rid]),
            "associations": [k for b, k in enumerate(ASSOCIATION_KINDS) if (self.membership[rid] >> b) & 1],
            "petitions": int(self.petitions[rid]),
            "skip_level_petitions": int(self.skip_level_petitions[rid]),
            "intercepted": int(self.intercepted[rid]),
        }
