"""Grid workers 网格员 (essays 002, 003).

Wuxi: one worker per 300 households (003); Beicai: patrols fixed in time, place and duty,
and everyone in the grid is an informant (002). Grid workers are employed by the township,
assigned to villages in proportion to households; they spend ``grid.patrol_share`` of their
hours patrolling (discovering hidden cases before residents escalate) and the rest handling
what the village passes up to the grid.
"""

from __future__ import annotations

import mesa
import numpy as np

from model.scenario import GridRules


class GridWorker(mesa.Agent):
    def __init__(self, model: mesa.Model, village: int) -> None:
        super().__init__(model)
        self.village = village


def workers_per_village(households: np.ndarray, rules: GridRules) -> np.ndarray:
    """Fractional workers per village, so grid size scales smoothly (households / size)."""
    if not rules.enabled:
        return np.zeros(len(households))
    return households / rules.households_per_worker


def discovery_hazard(patrol_hours: np.ndarray, households: np.ndarray, rules: GridRules) -> np.ndarray:
    """Daily probability that patrols find a given hidden case in each village."""
    per_100 = patrol_hours / np.maximum(households / 100.0, 1e-9)
    return 1.0 - np.exp(-rules.discovery_per_patrol_hour * per_100)
