"""What the dashboard shows, as plain numbers: per-village measures and the headline
pairs of true and reported values (DESIGN.md: the gaps are first-class outputs).

Everything here reads a ``GovernanceModel`` and returns numpy arrays or dicts, so tests and
notebooks can use it without Solara.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from model.incidents import CONCEALED, DEFERRED, OPEN

if TYPE_CHECKING:
    from model.simulation import GovernanceModel

PER_1000 = 1000.0


@dataclass(frozen=True)
class VillageMeasure:
    key: str
    label: str
    colormap: str
    """matplotlib colormap: red means worse for every measure."""


VILLAGE_MEASURES = {
    m.key: m
    for m in (
        VillageMeasure("backlog", "open cases on the books per 1,000 residents", "Reds"),
        VillageMeasure("hidden", "hidden, deferred or concealed cases per 1,000 residents", "Purples"),
        VillageMeasure("petitions", "petitions so far per 1,000 residents (true)", "Oranges"),
        VillageMeasure("trust", "mean trust in local government (0-1)", "RdYlGn"),
        VillageMeasure("grievance", "mean grievance", "YlOrRd"),
    )
}


def village_values(model: GovernanceModel, measure: str) -> np.ndarray:
    """One value per village for ``measure`` (a key of ``VILLAGE_MEASURES``)."""
    n, b, r = model.n_villages, model.book, model.residents
    size = np.maximum(r.sizes(), 1)
    if measure == "backlog":
        rows = (b.state == OPEN) & b.known
        return np.bincount(b.village[rows], minlength=n)[:n] * PER_1000 / size
    if measure == "hidden":
        rows = ((b.state == OPEN) & ~b.known) | (b.state == DEFERRED) | (b.state == CONCEALED)
        return np.bincount(b.village[rows], minlength=n)[:n] * PER_1000 / size
    if measure == "petitions":
        return np.bincount(r.village, weights=r.petitions, minlength=n) * PER_1000 / size
    if measure == "trust":
        return r.per_village_mean(r.trust)
    if measure == "grievance":
        return r.per_village_mean(r.grievance)
    raise ValueError(f"unknown village measure {measure!r}; allowed: {', '.join(VILLAGE_MEASURES)}")


BURDEN_TASKS = ("paperwork", "escort", "stability", "reporting", "promising")
"""Hours that do not serve residents directly: proof-of-work 处处留痕, escorting
inspections (001), watching petitioners, managing reports, placating with promises (000)."""


def headline(model: GovernanceModel) -> list[dict[str, object]]:
    """Rows of (measure, true, reported, note) for the numbers trainers ask about first."""
    st, s = model.stats, model.collector.summary()
    b = model.book
    on_books = int(((b.state == OPEN) & b.known).sum())
    unresolved = int(((b.state == OPEN) | (b.state == DEFERRED) | (b.state == CONCEALED)).sum())
    hours = s["cadre_hours_share"]
    burden = sum(hours[t] for t in BURDEN_TASKS)
    return [
        _row("Petitions 信访", st["petitions_true"], st["petitions_registered"], "true vs registered"),
        _row(
            "Skip-level petitions 越级上访",
            st["skip_level_true"],
            st["skip_level_registered"],
            "true vs registered",
        ),
        _row("Unresolved cases now", unresolved, on_books, "all, incl. hidden / deferred / concealed vs on the books"),
        _pct("Closure rate 结案率", s["closure_rate"], s["closure_rate_reported"]),
        _pct("Satisfaction rate 满意率", s["satisfaction_rate"], s["satisfaction_rate_reported"]),
        _row("Interceptions 截访", st["interceptions"], None, f"{st['interception_spending']:,.0f} yuan spent"),
        _row("Promises 许愿 / concealed 瞒报", st["promises"], None, f"{s['concealed_incidents']:,} cases concealed"),
        {
            "measure": "Cadre hours not serving residents",
            "true": f"{burden:.0%}",
            "reported": "",
            "note": f"handling cases {hours['handling']:.0%}, stability {hours['stability']:.0%}",
        },
    ]


def _row(measure: str, true: float, reported: float | None, note: str) -> dict[str, object]:
    return {
        "measure": measure,
        "true": f"{int(true):,}",
        "reported": "" if reported is None else f"{int(reported):,}",
        "note": note,
    }


def _pct(measure: str, true: float, reported: float) -> dict[str, object]:
    return {"measure": measure, "true": f"{true:.0%}", "reported": f"{reported:.0%}", "note": "Beicai rate (002)"}


RATE_NAMES = ("disposal_rate", "timeliness_rate", "closure_rate", "satisfaction_rate")
"""Beicai's four rates 四率 (002), cumulative since day 0."""


def rates_now(model: GovernanceModel) -> dict[str, float]:
    """The four rates today, true and ``_reported``."""
    s = model.collector.summary()
    return {k: float(s[k]) for name in RATE_NAMES for k in (name, f"{name}_reported")}


def run_frame(model: GovernanceModel) -> pd.DataFrame:
    """The collector's daily series plus the cumulative series the charts draw."""
    ts = model.collector.timeseries()
    for col in (
        "petitions_true",
        "petitions_registered",
        "skip_level_true",
        "skip_level_registered",
        "interceptions",
        "interception_spending",
        "promises",
        "concealments",
    ):
        ts[f"cum_{col}"] = ts[col].cumsum()
    ts["unresolved_true"] = ts["backlog"] + ts["hidden"] + ts["deferred"] + ts["concealed_pending"]
    return ts
