"""The trainers' levers, and the model the dashboard rebuilds when they move.

SolaraViz re-creates the model by calling its class with the controls' values as keyword
arguments, so ``DashboardModel`` takes each lever as a keyword and turns them into scenario
overrides before ``GovernanceModel.__init__``. Nothing here changes the simulation: a
dashboard run equals ``run.py run SCENARIO --set ...`` with the same overrides and seed.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import pandas as pd

from model.dashboard.measures import RATE_NAMES, rates_now
from model.dashboard.paths import DEFAULT_SCENARIO, REPO, SCENARIO_ENV  # noqa: F401  (re-exported)
from model.regimes import REGIMES
from model.scenario import INDICATORS, Scenario, load_scenario
from model.simulation import GovernanceModel

REGIME_LABELS = {
    "veto": "one-vote veto 一票否决",
    "comprehensive": "comprehensive assessment 综合绩效评估",
    "consultative": "consultative 减压多予",
}
"""Plain-language names for the regime menu; unknown registered regimes show their key."""

INDICATOR_LABELS = {
    "petition_rate": "petitions per 10,000 residents",
    "skip_level_rate": "skip-level petitions per 10,000 residents",
    "collective_petitions": "collective petitions",
}
"""The indicators a trainer may put under the veto, by plain name. Essay 000's veto is on
petitions and stability 信访维稳; these are counts, lower is better, and the veto's default
threshold (3 a year) is on their scale. A rate such as closure (at most 1) would fail every
unit against that threshold, so it is left to scenario files, which set a threshold to match."""
VETOABLE = tuple(INDICATOR_LABELS)

DEVOLVABLE = ("illegal_construction", "environment")
"""Kinds devolved to the township when 'devolve authority' 权随责走 is on (001: villages
'see it but can't manage it')."""


RATE_COLUMNS = [k for name in RATE_NAMES for k in (name, f"{name}_reported")]


def scenario_path_from_env() -> str:
    return os.environ.get(SCENARIO_ENV) or DEFAULT_SCENARIO


def _key(choice: str, labels: dict[str, str]) -> str:
    """A menu shows plain names; the model takes the key. Either is accepted."""
    return {label: key for key, label in labels.items()}.get(choice, choice)


def one_indicator_regimes() -> list[str]:
    """Registered regimes that score one chosen indicator (a veto, or a researcher's own)."""
    return [name for name in sorted(REGIMES) if "indicator" in REGIMES[name].Params.model_fields]


def lever_overrides(
    regime: str,
    vetoed_indicator: str,
    fill_rate: float,
    funds_follow_tasks: bool,
    transfer_per_resident: float | None = None,
    devolve_authority: bool = False,
    devolvable: tuple[str, ...] = DEVOLVABLE,
) -> dict[str, Any]:
    """Scenario overrides (dotted keys, as ``load_scenario`` takes them) for the levers."""
    regime = _key(regime, REGIME_LABELS)
    vetoed_indicator = _key(vetoed_indicator, INDICATOR_LABELS)
    overrides: dict[str, Any] = {
        "regime.name": regime,
        "staffing.fill_rate": float(fill_rate),
        "fiscal.funds_follow_tasks": bool(funds_follow_tasks),
    }
    # Ask the regime, not its name: any registered regime that scores one chosen indicator
    # (a veto, or a researcher's own) takes the trainer's choice.
    if "indicator" in REGIMES[regime].Params.model_fields:
        overrides["regime.indicator"] = vetoed_indicator
    if transfer_per_resident is not None:
        overrides["fiscal.transfer_per_resident"] = float(transfer_per_resident)
    if devolve_authority:
        overrides["staffing.devolved_kinds"] = list(devolvable)
    return overrides


def build_scenario(scenario_path: str | None, **levers: Any) -> Scenario:
    """Load the scenario and apply the levers; a regime switch drops the old regime's keys."""
    from model.scenario import apply_overrides, resolve_extends, scenario_from_dict

    path = scenario_path or scenario_path_from_env()
    data = resolve_extends(Path(path))
    base = scenario_from_dict(data, source=str(path))
    kinds = tuple(k for k in DEVOLVABLE if k in base.incidents)
    overrides = lever_overrides(devolvable=kinds, **levers)
    if data.get("regime", {}).get("name") != overrides["regime.name"]:
        # veto.yaml's `threshold` means nothing to comprehensive assessment: start clean.
        data["regime"] = {}
    return scenario_from_dict(apply_overrides(data, overrides), source=str(path))


class DashboardModel(GovernanceModel):
    """``GovernanceModel`` built from a scenario file plus the trainers' levers.

    The run stops at the scenario's horizon (``years``), so Play halts by itself.
    """

    def __init__(
        self,
        regime: str = "veto",
        vetoed_indicator: str = "petition_rate",
        fill_rate: float = 0.9,
        funds_follow_tasks: bool = False,
        transfer_per_resident: float = 120.0,
        devolve_authority: bool = False,
        seed: int = 1,
        scenario_path: str | None = None,
    ) -> None:
        self.levers = {
            "regime": _key(regime, REGIME_LABELS),
            "vetoed_indicator": _key(vetoed_indicator, INDICATOR_LABELS),
            "fill_rate": float(fill_rate),
            "funds_follow_tasks": bool(funds_follow_tasks),
            "transfer_per_resident": float(transfer_per_resident),
            "devolve_authority": bool(devolve_authority),
        }
        self.scenario_path = scenario_path or scenario_path_from_env()
        super().__init__(build_scenario(self.scenario_path, **self.levers), seed=int(seed))
        self.horizon = self.spec.days
        self.rate_history: list[dict[str, float]] = []

    @property
    def label(self) -> str:
        """The levers in a few words, for legends: 'veto on petition_rate, fill 68%, …'."""
        lv = self.levers
        scores_one = "indicator" in REGIMES[lv["regime"]].Params.model_fields
        regime = lv["regime"] + (f" on {lv['vetoed_indicator']}" if scores_one else "")
        funds = "funds follow tasks" if lv["funds_follow_tasks"] else "funds don't follow"
        extra = ", authority devolved" if lv["devolve_authority"] else ""
        return (
            f"{regime}, fill {lv['fill_rate']:.0%}, {funds}, {lv['transfer_per_resident']:.0f} yuan/resident"
            f"{extra}, seed {self.seed}"
        )

    def step(self) -> None:
        super().step()
        self.rate_history.append({"day": self.day - 1, **rates_now(self)})
        self.running = self.day < self.horizon

    def rates_frame(self) -> pd.DataFrame:
        """Beicai's four rates (002), true and reported, as they stood at the end of each day."""
        return pd.DataFrame(self.rate_history, columns=["day", *RATE_COLUMNS])


def model_params(scenario_path: str | None = None, **defaults: Any) -> dict[str, Any]:
    """SolaraViz controls: each key is a ``DashboardModel`` keyword argument."""
    path = scenario_path or scenario_path_from_env()
    base = load_scenario(path)
    start = {
        "regime": base.regime.name if base.regime.name in REGIMES else "veto",
        "vetoed_indicator": (base.regime.model_extra or {}).get("indicator", "petition_rate"),
        "fill_rate": base.staffing.fill_rate,
        "funds_follow_tasks": base.fiscal.funds_follow_tasks,
        "transfer_per_resident": base.fiscal.transfer_per_resident,
        "devolve_authority": False,
        "seed": base.seed,
    }
    start.update(defaults)
    vetoable = [i for i in dict.fromkeys([*VETOABLE, start["vetoed_indicator"]]) if i in INDICATORS]
    scoring_one = " / ".join(REGIME_LABELS.get(name, name) for name in one_indicator_regimes())
    return {
        "regime": {
            "type": "Select",
            "value": REGIME_LABELS.get(start["regime"], start["regime"]),
            "values": [REGIME_LABELS.get(name, name) for name in sorted(REGIMES)],
            "label": "Assessment regime",
        },
        "vetoed_indicator": {
            "type": "Select",
            "value": INDICATOR_LABELS.get(start["vetoed_indicator"], start["vetoed_indicator"]),
            "values": [INDICATOR_LABELS.get(i, i) for i in vetoable],
            "label": f"What the {scoring_one} is on" if scoring_one else "Scored indicator",
        },
        "fill_rate": {
            "type": "SliderFloat",
            "value": float(start["fill_rate"]),
            "min": 0.4,
            "max": 1.0,
            "step": 0.02,
            "label": "Staff fill rate",
        },
        "funds_follow_tasks": {
            "type": "Checkbox",
            "value": bool(start["funds_follow_tasks"]),
            "label": "Funds follow tasks 费随事转",
        },
        "transfer_per_resident": {
            # Float, and the scenario's own value until moved, so a dashboard run is the
            # scenario's run (calibrated.yaml's 286.2 is not on the slider's steps).
            "type": "SliderFloat",
            "value": float(start["transfer_per_resident"]),
            "min": 0.0,
            "max": float(max(300, 50 * math.ceil(start["transfer_per_resident"] / 50))),
            "step": 10.0,
            "label": "Transfer ¥/resident",
        },
        "devolve_authority": {
            "type": "Checkbox",
            "value": bool(start["devolve_authority"]),
            "label": "Devolve authority to the township 权随责走",
        },
        "seed": {"type": "SliderInt", "value": int(start["seed"]), "min": 1, "max": 20, "step": 1, "label": "Seed"},
        "scenario_path": path,
    }
