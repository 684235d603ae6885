"""Solara components of the dashboard page: each is called with the current model and
redrawn when Mesa's ``update_counter`` ticks (after Step, during Play, on Reset).

A component remembers the model it last drew; when Reset builds a new one, the old run is
kept as the grey "previous run" line, so moving a lever and pressing Reset shows its effect
against what came before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import solara
from mesa.visualization.utils import update_counter

from model.dashboard import figures
from model.dashboard.measures import VILLAGE_MEASURES, headline, run_frame

if TYPE_CHECKING:
    from model.dashboard.levers import DashboardModel


def use_previous_run(model: DashboardModel) -> DashboardModel | None:
    """The model this component showed before the current one (None on first draw)."""
    current = solara.use_ref(None)
    previous = solara.use_ref(None)
    if current.current is not model:
        previous.current, current.current = current.current, model
    return previous.current


@solara.component
def Headline(model: DashboardModel) -> None:
    """True and reported numbers side by side, with the levers that produced them."""
    update_counter.get()
    years = model.day / 365
    rows = headline(model)
    table = "\n".join(f"| {r['measure']} | {r['true']} | {r['reported']} | {r['note']} |" for r in rows)
    with solara.Column(style={"padding": "4px 8px", "overflow": "auto"}):
        solara.Markdown(
            f"**Day {model.day}** ({years:.1f} of {model.horizon / 365:g} years) &nbsp; · &nbsp; {model.label}\n\n"
            "| | true | reported | |\n|---|---:|---:|---|\n" + table,
            style={"font-size": "13px"},
        )


@solara.component
def VillageMap(model: DashboardModel) -> None:
    """The villages coloured by a measure the trainer picks."""
    update_counter.get()
    measure = solara.use_reactive("backlog")
    with solara.Column(style={"padding": "0 8px"}):
        solara.Select(
            label="Colour villages by",
            value=measure,
            values=list(VILLAGE_MEASURES),
            dense=True,
            style={"max-width": "260px"},
        )
        fig = figures.village_map_figure(model, measure.value)
        solara.FigureMatplotlib(fig, dependencies=[id(model), model.day, measure.value], format="png")


def _trend_component(name: str, draw) -> solara.core.Component:
    @solara.component
    def Trend(model: DashboardModel) -> None:
        update_counter.get()
        previous = use_previous_run(model)
        frame = run_frame(model)
        prev = run_frame(previous) if previous is not None else None
        fig = draw(frame, model.horizon, prev)
        solara.FigureMatplotlib(fig, dependencies=[id(model), model.day, id(previous)], format="png")

    Trend.__name__ = f"{name.title()}Trend"
    return Trend


@solara.component
def RatesTrend(model: DashboardModel) -> None:
    """Beicai's closure and satisfaction rates, true vs reported."""
    update_counter.get()
    previous = use_previous_run(model)
    prev = previous.rates_frame() if previous is not None else None
    fig = figures.rates_figure(model.rates_frame(), model.horizon, prev)
    solara.FigureMatplotlib(fig, dependencies=[id(model), model.day, id(previous)], format="png")


TRENDS = {name: _trend_component(name, draw) for name, draw in figures.TREND_FIGURES.items()}


def page_components() -> list:
    """Tiles in reading order: numbers, map, then the charts the veto story needs."""
    return [
        Headline,
        VillageMap,
        TRENDS["petitions"],
        TRENDS["backlog"],
        TRENDS["stability"],
        RatesTrend,
        TRENDS["hours"],
        TRENDS["residents"],
    ]


GRID_STYLE = "display: grid; grid-template-columns: repeat(auto-fill, minmax(440px, 1fr)); gap: 12px; padding: 12px;"
TILE_STYLE = {
    "background": "white",
    "border-radius": "6px",
    "box-shadow": "0 1px 3px rgba(0,0,0,0.2)",
    "min-height": "300px",
}


@solara.component
def Tiles(model: DashboardModel) -> None:
    """Every tile, in a grid that wraps to the window's width."""
    with solara.v.Html(tag="div", style_=GRID_STYLE, class_="gov-tiles"):
        for tile in page_components():
            with solara.Column(style=TILE_STYLE, classes=["gov-tile"]):
                tile(model)


__all__ = ["Headline", "RatesTrend", "TRENDS", "Tiles", "VillageMap", "page_components"]
