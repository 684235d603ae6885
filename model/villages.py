"""Villages 村 and the A/B/C/D typology of essay 002.

Villages differ along two axes: collective memory (cohesion) and economic differentiation.
A strong memory + low differentiation: villagers unite quickly (collective petitions);
B weak + low: atomised, apathetic, policies fail to land; C weak + high: anomic, disputes
spread; D strong + high: positive, self-organising. The axes are drawn per village around
its type's centre and turned into the modifiers the rest of the model uses.
"""

from __future__ import annotations

import mesa
import numpy as np

from model.scenario import Scenario

TYPES = ("A", "B", "C", "D")
TYPE_CENTRES = {"A": (0.8, 0.2), "B": (0.2, 0.2), "C": (0.2, 0.8), "D": (0.8, 0.8)}
"""(collective memory, economic differentiation) at the centre of each type (002)."""
AXIS_SD = 0.05


class Village(mesa.Agent):
    """A village 村 with its committee 村委会: the unit that village cadres work for."""

    def __init__(
        self, model: mesa.Model, index: int, township: int, vtype: str, memory: float, differentiation: float
    ) -> None:
        super().__init__(model)
        self.index = index
        self.township = township
        self.vtype = vtype
        self.memory = memory
        self.differentiation = differentiation

    @property
    def mobilisation(self) -> float:
        """How fast villagers act together against misconduct: type A highest (002; Tsai 2007)."""
        return self.memory * (1.0 - self.differentiation)

    @property
    def apathy(self) -> float:
        """Atomised indifference: type B highest (002)."""
        return (1.0 - self.memory) * (1.0 - self.differentiation)

    @property
    def anomie(self) -> float:
        """Normlessness that lets disputes spread: type C highest (002)."""
        return (1.0 - self.memory) * self.differentiation

    @property
    def self_organisation(self) -> float:
        """Positive self-organisation: type D highest (002)."""
        return self.memory * self.differentiation

    @property
    def residents(self) -> range:
        start = self.model.residents.village_start
        return range(int(start[self.index]), int(start[self.index + 1]))

    @property
    def population(self) -> int:
        return len(self.residents)

    @property
    def hours_split(self) -> dict[str, float]:
        from model.scenario import TASKS

        return dict(zip(TASKS, self.model.decisions.shares[self.index].tolist(), strict=True))


def draw_types(scenario: Scenario, n: int, rng: np.random.Generator) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Type, memory and differentiation of ``n`` villages (shares from ``county.typology_mix``)."""
    mix = scenario.county.typology_mix
    p = np.array([mix.get(t, 0.0) for t in TYPES])
    types = [TYPES[i] for i in rng.choice(len(TYPES), size=n, p=p / p.sum())]
    centres = np.array([TYPE_CENTRES[t] for t in types])
    axes = np.clip(centres + rng.normal(0.0, AXIS_SD, size=centres.shape), 0.0, 1.0)
    return types, axes[:, 0], axes[:, 1]


def draw_sizes(scenario: Scenario, n: int, rng: np.random.Generator) -> np.ndarray:
    c = scenario.county
    if c.village_size_cv == 0:
        return np.full(n, c.residents_per_village, dtype=np.int64)
    sigma = np.sqrt(np.log1p(c.village_size_cv**2))
    sizes = rng.lognormal(np.log(c.residents_per_village) - sigma**2 / 2, sigma, n)
    return np.maximum(np.round(sizes), 50).astype(np.int64)
