"""Associations 社会组织 and neighbour mediation points 睦邻点.

Cixi (000) has three in every village: the harmony-promotion association 和谐促进会
(deliberation and mediation between old and new residents), the elderly association
老年人协会 ("elderly serve elderly") and the environmental volunteers 环保志愿者协会
(monitor pollution sources). Yicheng (004) adds neighbour points that mediate disputes among
neighbours. Each association settles the incident kinds tagged with its name at the lowest
level, and detects hidden cases of those kinds; the government may buy their services
(政府购买服务, 000, 002), adding paid hours.
"""

from __future__ import annotations

import mesa
import numpy as np

from model.scenario import ASSOCIATION_KINDS, AssociationRules


class Association(mesa.Agent):
    """One association of one kind in one village."""

    def __init__(self, model: mesa.Model, village: int, kind: str, rules: AssociationRules) -> None:
        super().__init__(model)
        self.village = village
        self.kind = kind
        self.rules = rules

    @property
    def members(self) -> int:
        r = self.model.residents
        sl = slice(int(r.village_start[self.village]), int(r.village_start[self.village + 1]))
        return int(r.members_of(self.kind)[sl].sum())

    @property
    def volunteer_hours(self) -> float:
        return float(self.model.association_hours[ASSOCIATION_KINDS.index(self.kind), self.village])


class NeighbourPoint(mesa.Agent):
    """A neighbour mediation point 睦邻点 (004): mediates mediable disputes the day they arise."""

    def __init__(self, model: mesa.Model, village: int) -> None:
        super().__init__(model)
        self.village = village


def association_hours(
    members: np.ndarray, enabled: np.ndarray, rules: list[AssociationRules], purchased: np.ndarray
) -> np.ndarray:
    """Daily hours of each association kind in each village: volunteers plus purchased hours."""
    per_member = np.array([r.volunteer_hours_per_member for r in rules])[:, None]
    return (members * per_member + purchased[None, :]) * enabled[:, None]
