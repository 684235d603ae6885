"""Matplotlib figures for the dashboard and the notebooks (no pyplot: thread-safe, Agg-free).

Each function takes plain data (a ``GovernanceModel`` or the frames ``measures`` builds) and
returns a ``matplotlib.figure.Figure`` small enough for one dashboard tile (about 420×300
pixels). Figure text is English only: a machine without CJK fonts (CI) would draw boxes;
the Chinese terms sit in the page's HTML and the notebooks' prose. Solid lines are true values, dashed lines what the reports say; a thin grey line is
the previous run, so a trainer sees what a lever changed.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from model.dashboard.measures import VILLAGE_MEASURES, village_values
from model.scenario import TASKS

if TYPE_CHECKING:
    from model.simulation import GovernanceModel

TILE = (4.8, 3.3)
"""Figure size in inches of one dashboard tile."""
DPI = 90
MAP_FLOOR = {"grievance": 0.1}
"""Least top of the map colour scale, so an all-zero map is pale rather than noise."""
MARGINS = {"left": 0.12, "right": 0.97, "top": 0.9, "bottom": 0.14}
TRUE_STYLE = {"lw": 2.0}
REPORTED_STYLE = {"lw": 2.0, "ls": "--"}
PREVIOUS_STYLE = {"lw": 1.0, "color": "0.65"}
TASK_COLOURS = {
    "handling": "#2b8cbe",
    "patrol": "#7bccc4",
    "paperwork": "#fdae6b",
    "escort": "#fd8d3c",
    "stability": "#d7301f",
    "reporting": "#7f0000",
    "promising": "#bcbddc",
}


def _tile(title: str) -> tuple[Figure, object]:
    fig = Figure(figsize=TILE, dpi=DPI)
    # Fixed margins: constrained layout would triple the time to draw a tile.
    fig.subplots_adjust(**MARGINS)
    ax = fig.subplots()
    ax.set_title(title, fontsize=9, loc="left")
    ax.tick_params(labelsize=7)
    # Few ticks: building tick artists is most of the cost of a redraw.
    ax.xaxis.set_major_locator(MaxNLocator(4))
    ax.yaxis.set_major_locator(MaxNLocator(4))
    ax.grid(alpha=0.3)
    return fig, ax


def _days_axis(ax, horizon: int) -> None:
    ax.set_xlim(0, max(horizon, 1))
    ax.set_xlabel("day", fontsize=8)


def village_map_figure(model: GovernanceModel, measure: str = "backlog") -> Figure:
    """The villages as a grid of squares coloured by ``measure``; each labelled with its
    index and A/B/C/D type (002) while there is room."""
    info = VILLAGE_MEASURES[measure]
    values = village_values(model, measure)
    n = len(values)
    cols = math.ceil(math.sqrt(n * 1.5))
    rows = math.ceil(n / cols)
    grid = np.full((rows, cols), np.nan)
    grid.flat[:n] = values
    fig = Figure(figsize=TILE, dpi=DPI)
    fig.subplots_adjust(left=0.02, right=0.98, top=0.9, bottom=0.03)
    ax = fig.subplots()
    floor = MAP_FLOOR.get(measure, 1.0)
    lo, hi = (0.0, 1.0) if measure == "trust" else (0.0, max(float(np.nanmax(values)) if n else 0.0, floor))
    image = ax.imshow(grid, cmap=info.colormap, norm=Normalize(lo, hi), aspect="equal")
    if n <= 60:
        types = [v.vtype for v in model.village_agents]
        for i in range(n):
            r, c = divmod(i, cols)
            shade = (values[i] - lo) / (hi - lo) if hi > lo else 0.0
            dark = shade > 0.6 if measure != "trust" else (shade < 0.25 or shade > 0.75)
            ax.text(
                c,
                r,
                f"{i} {types[i]}\n{values[i]:.2g}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if dark else "black",
            )
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"Villages: {info.label}", fontsize=9, loc="left")
    cbar = fig.colorbar(image, ax=ax, shrink=0.8)
    cbar.ax.tick_params(labelsize=7)
    return fig


def petitions_figure(frame: pd.DataFrame, horizon: int, previous: pd.DataFrame | None = None) -> Figure:
    """Cumulative petitions 信访 and skip-level petitions 越级上访, true vs registered."""
    fig, ax = _tile("Petitions so far: true (solid) vs reported (dashed)")
    if previous is not None:
        ax.plot(previous["day"], previous["cum_petitions_true"], **PREVIOUS_STYLE, label="previous run, true")
    ax.plot(frame["day"], frame["cum_petitions_true"], color="C3", **TRUE_STYLE, label="petitions, true")
    ax.plot(frame["day"], frame["cum_petitions_registered"], color="C3", **REPORTED_STYLE, label="petitions, reported")
    ax.plot(frame["day"], frame["cum_skip_level_true"], color="C4", **TRUE_STYLE, label="skip-level, true")
    ax.plot(
        frame["day"], frame["cum_skip_level_registered"], color="C4", **REPORTED_STYLE, label="skip-level, reported"
    )
    _days_axis(ax, horizon)
    ax.legend(fontsize=7, loc="upper left")
    return fig


def backlog_figure(frame: pd.DataFrame, horizon: int, previous: pd.DataFrame | None = None) -> Figure:
    """Open cases on the books vs all unresolved cases (hidden, deferred, concealed too)."""
    fig, ax = _tile("Unresolved cases: all (solid) vs on the books (dashed)")
    if previous is not None:
        ax.plot(previous["day"], previous["unresolved_true"], **PREVIOUS_STYLE, label="previous run, all")
    ax.plot(frame["day"], frame["unresolved_true"], color="C0", **TRUE_STYLE, label="all unresolved")
    ax.plot(frame["day"], frame["backlog"], color="C0", **REPORTED_STYLE, label="backlog on the books")
    ax.fill_between(frame["day"], frame["backlog"], frame["unresolved_true"], color="C0", alpha=0.12)
    _days_axis(ax, horizon)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7, loc="upper left")
    return fig


def stability_figure(frame: pd.DataFrame, horizon: int, previous: pd.DataFrame | None = None) -> Figure:
    """What keeps the reported numbers down (000): interceptions 截访, promises 许愿,
    concealment 瞒报, and the money spent intercepting."""
    spent = float(frame["cum_interception_spending"].iloc[-1]) if len(frame) else 0.0
    fig, ax = _tile(f"Stability work so far (interception: {spent:,.0f} yuan)")
    if previous is not None:
        ax.plot(previous["day"], previous["cum_interceptions"], **PREVIOUS_STYLE, label="previous run, interceptions")
    ax.plot(frame["day"], frame["cum_interceptions"], color="C3", **TRUE_STYLE, label="interceptions")
    ax.plot(frame["day"], frame["cum_promises"], color="C1", **TRUE_STYLE, label="promises (deferred cases)")
    ax.plot(frame["day"], frame["cum_concealments"], color="C5", **TRUE_STYLE, label="cases concealed")
    _days_axis(ax, horizon)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7, loc="upper left")
    return fig


def rates_figure(rates: pd.DataFrame, horizon: int, previous: pd.DataFrame | None = None) -> Figure:
    """Beicai's closure and satisfaction rates (002) since day 0, true vs reported."""
    fig, ax = _tile("Closure and satisfaction rates: true vs reported")
    if previous is not None and len(previous):
        ax.plot(previous["day"], previous["closure_rate"], **PREVIOUS_STYLE, label="previous run, closure")
    if len(rates):
        ax.plot(rates["day"], rates["closure_rate"], color="C2", **TRUE_STYLE, label="closure, true")
        ax.plot(rates["day"], rates["closure_rate_reported"], color="C2", **REPORTED_STYLE, label="closure, reported")
        ax.plot(rates["day"], rates["satisfaction_rate"], color="C9", **TRUE_STYLE, label="satisfaction")
    _days_axis(ax, horizon)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.legend(fontsize=7, loc="lower right")
    return fig


def hours_figure(frame: pd.DataFrame, horizon: int, previous: pd.DataFrame | None = None) -> Figure:
    """How cadres split their hours (weekly shares): the burden of paperwork, escorts and
    stability maintenance crowds out handling cases (001)."""
    fig, ax = _tile("Cadre hours by task (share)")
    cols = [f"hours_{t}" for t in TASKS]
    if len(frame):
        weekly = frame[["day", *cols]].groupby(frame["day"] // 7).mean()
        total = weekly[cols].sum(axis=1).replace(0, np.nan)
        shares = weekly[cols].div(total, axis=0).fillna(0.0)
        ax.stackplot(
            weekly["day"],
            *(shares[c] for c in cols),
            labels=list(TASKS),
            colors=[TASK_COLOURS[t] for t in TASKS],
        )
    if previous is not None and len(previous):
        prev_share = previous["hours_handling"] / previous[cols].sum(axis=1).replace(0, np.nan)
        # Dark grey, not the other tiles' light grey: it must show on the coloured stack
        # and on the white ground past the current day.
        ax.plot(previous["day"], prev_share, color="0.2", lw=1.2, ls=":", label="previous run,\nhandling")
    _days_axis(ax, horizon)
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    # The legend sits right of the plot, in room made for it, so the task names are readable.
    fig.subplots_adjust(right=0.70)
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig


def residents_figure(frame: pd.DataFrame, horizon: int, previous: pd.DataFrame | None = None) -> Figure:
    """Residents' mean trust and the share whose grievance is past the petition threshold."""
    fig, ax = _tile("Residents: trust and share aggrieved")
    if previous is not None:
        ax.plot(previous["day"], previous["trust_mean"], **PREVIOUS_STYLE, label="previous run, trust")
    ax.plot(frame["day"], frame["trust_mean"], color="C2", **TRUE_STYLE, label="mean trust")
    ax.plot(frame["day"], frame["aggrieved_share"], color="C3", **TRUE_STYLE, label="share aggrieved")
    _days_axis(ax, horizon)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7, loc="center left")
    return fig


TREND_FIGURES = {
    "petitions": petitions_figure,
    "backlog": backlog_figure,
    "stability": stability_figure,
    "hours": hours_figure,
    "residents": residents_figure,
}
"""Trend tiles drawn from ``measures.run_frame`` (rates_figure takes the rates history)."""
