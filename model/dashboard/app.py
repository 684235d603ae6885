"""The dashboard page: ``solara run model/dashboard/app.py`` serves ``Page``.

``python run.py dashboard SCENARIO`` sets ``GOV_DASHBOARD_SCENARIO`` and runs this file.
Mesa's SolaraViz draws the sidebar: Reset / Play / Step, the play and render intervals and
the trainers' levers (a lever takes effect when Reset rebuilds the model). One Step
advances ``render_interval`` days (a week by default) and redraws every tile once.

The tiles are laid out here, in a plain CSS grid, rather than in SolaraViz's draggable grid:
that grid's front-end (vue-grid-layout) fails to load under Vue 3, which the installed
ipyvue 3 uses ("GlobalVue.use is not a function"), and leaves the page empty.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # the server draws PNGs; no display

import solara  # noqa: E402
from mesa.visualization import SolaraViz  # noqa: E402

from model.dashboard.components import Tiles  # noqa: E402
from model.dashboard.levers import DashboardModel, model_params, scenario_path_from_env  # noqa: E402

PLAY_INTERVAL_MS = 50
DAYS_PER_RENDER = 7
"""A week per Step and per redraw while playing."""


def start_values(params: dict[str, object]) -> dict[str, object]:
    """The keyword arguments the controls start at (their ``value``s and the fixed ones)."""
    return {k: (v["value"] if isinstance(v, dict) else v) for k, v in params.items()}


@solara.component
def Dashboard(scenario_path: str | None = None, levers: dict[str, object] | None = None) -> None:
    """SolaraViz's sidebar and controls, and the tiles, over one model per session."""
    params = solara.use_memo(lambda: model_params(scenario_path, **(levers or {})), [])
    model = solara.use_reactive(solara.use_memo(lambda: DashboardModel(**start_values(params)), []))
    SolaraViz(
        model,
        components=[],
        model_params=params,
        name=f"Grass-roots governance: {model.value.spec.name}",
        play_interval=PLAY_INTERVAL_MS,
        render_interval=DAYS_PER_RENDER,
    )
    Tiles(model.value)


def make_page(scenario_path: str | None = None, **levers: object):
    """The page as an element: display it in Jupyter, or return it from a Solara ``Page``."""
    return Dashboard(scenario_path=scenario_path, levers=levers)


@solara.component
def Page() -> None:
    Dashboard(scenario_path=scenario_path_from_env())
