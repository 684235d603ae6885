"""Figures for a reader who has not seen the code: labelled axes, units, what the bands are.

Every function takes a tidy table from the analysis modules and returns a matplotlib
``Figure`` built without pyplot (so no global backend is touched: files are rendered with
Agg, and a notebook shows the returned figure as it is).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from model.analysis.labels import label, value_label
from model.atomic import atomic_save_figure

PANEL_WIDTH = 5.0
PANEL_HEIGHT = 3.4
"""Inches per panel: readable on a slide and on paper."""


def _wrap(text: str, width: int = 110) -> str:
    """Wrap each line of a title so it fits above the panels."""
    return "\n".join(textwrap.fill(line, width) for line in text.split("\n"))


def _grid(n: int, columns: int = 3) -> tuple[int, int]:
    cols = min(n, columns)
    return math.ceil(n / cols), cols


def save(figure: Figure, stem: Path) -> list[Path]:
    """Write ``stem.png`` and ``stem.svg``; return both paths."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for suffix in (".png", ".svg"):
        path = stem.with_suffix(suffix)
        atomic_save_figure(figure, path, dpi=150, bbox_inches="tight")
        paths.append(path)
    return paths


def timeseries_figure(bands: pd.DataFrame, by: str | None, facet: str | None,
                      labels: dict[str, str], title: str) -> Figure:
    """One panel per series (rows) and facet value (columns): mean line and CI band per arm."""
    series = list(dict.fromkeys(bands["series"]))
    facets = list(dict.fromkeys(bands[facet])) if facet else [None]
    rows, cols = len(series), len(facets)
    figure = Figure(figsize=(PANEL_WIDTH * cols, PANEL_HEIGHT * rows), layout="constrained")
    axes = np.atleast_2d(figure.subplots(rows, cols, squeeze=False, sharex=True))
    confidence = float(bands["confidence"].iloc[0])
    for i, name in enumerate(series):
        for j, facet_value in enumerate(facets):
            ax = axes[i, j]
            part = bands[bands["series"] == name]
            if facet:
                part = part[part[facet] == facet_value]
                ax.set_title(f"{label(facet, labels)}: {value_label(facet, facet_value, labels)}",
                             fontsize=9)
            groups = part.groupby(by, sort=True) if by else [(None, part)]
            for value, group in groups:
                value = value[0] if isinstance(value, tuple) else value
                name_of = value_label(by, value, labels) if by else "all runs"
                line, = ax.plot(group["day"], group["mean"], label=name_of, lw=1.5)
                ax.fill_between(group["day"], group["ci_low"], group["ci_high"], alpha=0.2,
                                color=line.get_color(), lw=0)
            ax.set_ylabel(label(name, labels), fontsize=8)
            if i == rows - 1:
                ax.set_xlabel("Simulated day")
            ax.grid(alpha=0.3)
    handles, names = axes[0, 0].get_legend_handles_labels()
    if handles:
        figure.legend(handles, names, loc="outside lower center", ncols=min(len(names), 4),
                      title=label(by, labels) if by else None, fontsize=8)
    figure.suptitle(_wrap(f"{title}\nLines: mean over runs; bands: {confidence:.0%} confidence "
                    "interval of the mean"), fontsize=10)
    return figure


def paired_figure(table: pd.DataFrame, by: Sequence[str], labels: dict[str, str],
                  title: str) -> Figure:
    """Forest plot: paired mean difference (arm − baseline) with its interval, per group."""
    metrics = list(dict.fromkeys(table["metric"]))
    rows, cols = _grid(len(metrics), 2)
    groups = table.drop_duplicates([*by, "arm"])[[*by, "arm"]]
    height = max(PANEL_HEIGHT, 0.28 * len(groups) + 1.5)
    figure = Figure(figsize=(PANEL_WIDTH * 1.3 * cols, height * rows), layout="constrained")
    axes = np.atleast_1d(figure.subplots(rows, cols, squeeze=False).ravel())
    arm_parameter = table["arm_parameter"].iloc[0]
    baseline = table["baseline"].iloc[0]
    confidence = float(table["confidence"].iloc[0])
    for ax, metric in zip(axes, metrics, strict=False):
        part = table[table["metric"] == metric].reset_index(drop=True)
        ypos = np.arange(len(part))[::-1]
        err = np.vstack([part["mean_difference"] - part["ci_low"],
                         part["ci_high"] - part["mean_difference"]])
        ax.errorbar(part["mean_difference"], ypos, xerr=err, fmt="o", color="#1f4e79",
                    ecolor="#1f4e79", capsize=3, ms=4)
        ax.axvline(0, color="grey", lw=1, ls="--")
        names = []
        for record in part.to_dict("records"):
            pieces = [value_label(arm_parameter, record["arm"], labels)] if len(
                set(part["arm"])) > 1 else []
            pieces += [f"{label(b, labels).split(':')[0]} = {value_label(b, record[b], labels)}"
                       for b in by]
            names.append("; ".join(pieces) or value_label(arm_parameter, record["arm"], labels))
        ax.set_yticks(ypos, names, fontsize=7)
        ax.set_xlabel(f"Difference in {label(metric, labels).lower()}", fontsize=8)
        ax.grid(axis="x", alpha=0.3)
    for ax in axes[len(metrics):]:
        ax.set_visible(False)
    arms = ", ".join(value_label(arm_parameter, a, labels) for a in dict.fromkeys(table["arm"]))
    n = int(table["n_pairs"].min())
    figure.suptitle(_wrap(
        f"{title}\nPaired difference {arms} − {value_label(arm_parameter, baseline, labels)} "
        f"(same seeds in both arms; dots: mean of ≥{n} paired differences; bars: "
        f"{confidence:.0%} confidence interval; right of the dashed line = higher under "
        f"{arms})", 130), fontsize=9)
    return figure


def heatmap_figure(table: pd.DataFrame, x: str, y: str, facet: str | None, metric: str,
                   labels: dict[str, str], title: str, contrast: bool) -> Figure:
    """A heatmap per facet value: cell colour and number = mean (or paired difference)."""
    facets = list(dict.fromkeys(table[facet])) if facet else [None]
    figure = Figure(figsize=(PANEL_WIDTH * len(facets) + 1, PANEL_HEIGHT + 0.8),
                    layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(facets), squeeze=False).ravel())
    values = table["value"].to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    if contrast:
        bound = float(np.max(np.abs(finite))) if len(finite) else 1.0
        vmin, vmax, cmap = -bound, bound, "RdBu_r"
    else:
        vmin, vmax = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
        cmap = "viridis"
    image = None
    xs = sorted(table[x].unique())
    ys = sorted(table[y].unique())
    for ax, facet_value in zip(axes, facets, strict=True):
        part = table if facet is None else table[table[facet] == facet_value]
        grid = part.pivot_table(index=y, columns=x, values="value", aggfunc="mean").reindex(
            index=ys, columns=xs)
        image = ax.imshow(grid.to_numpy(dtype=float), origin="lower", cmap=cmap, vmin=vmin,
                          vmax=vmax, aspect="auto")
        for (i, j), v in np.ndenumerate(grid.to_numpy(dtype=float)):
            if np.isfinite(v):
                ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize=7,
                        color="black" if contrast or v > (vmin + vmax) / 2 else "white")
        ax.set_xticks(range(len(xs)), [value_label(x, v, labels) for v in xs], fontsize=7)
        ax.set_yticks(range(len(ys)), [value_label(y, v, labels) for v in ys], fontsize=7)
        ax.set_xlabel(label(x, labels), fontsize=8)
        ax.set_ylabel(label(y, labels), fontsize=8)
        if facet:
            ax.set_title(f"{label(facet, labels)}: {value_label(facet, facet_value, labels)}",
                         fontsize=9)
    if image is not None:
        colorbar = figure.colorbar(image, ax=list(axes), shrink=0.9)
        text = (label(metric, labels) if not contrast
                else f"Paired difference in {label(metric, labels).lower()}")
        colorbar.set_label(textwrap.fill(text, 50), fontsize=8)
    what = ("Cells: mean paired difference over replications (same seeds in both arms)"
            if contrast else "Cells: mean over runs")
    figure.suptitle(_wrap(f"{title}\n{what}", 90), fontsize=10)
    return figure


def sensitivity_figure(table: pd.DataFrame, labels: dict[str, str], title: str) -> Figure:
    """Sobol S1/ST or Morris mu* per parameter, with intervals, one panel per metric."""
    metrics = list(dict.fromkeys(table["metric"]))
    rows, cols = _grid(len(metrics), 2)
    parameters = list(dict.fromkeys(table["parameter"]))
    height = max(PANEL_HEIGHT, 0.35 * len(parameters) + 1.5)
    figure = Figure(figsize=(PANEL_WIDTH * 1.4 * cols, height * rows), layout="constrained")
    axes = np.atleast_1d(figure.subplots(rows, cols, squeeze=False).ravel())
    method = table["method"].iloc[0]
    confidence = float(table["confidence"].iloc[0])
    names = [label(p, labels) for p in parameters]
    ypos = np.arange(len(parameters))[::-1]
    for ax, metric in zip(axes, metrics, strict=False):
        part = table[table["metric"] == metric].set_index("parameter").reindex(parameters)
        if method == "sobol":
            for offset, (key, colour, name) in zip((0.18, -0.18), (
                    ("S1", "#1f77b4", "First order S1 (alone)"),
                    ("ST", "#d62728", "Total ST (with interactions)")), strict=True):
                err = np.vstack([part[key] - part[f"{key}_ci_low"],
                                 part[f"{key}_ci_high"] - part[key]]).clip(min=0)
                ax.barh(ypos + offset, part[key], height=0.34, xerr=err, color=colour,
                        label=name, capsize=2)
            ax.set_xlabel("Share of output variance", fontsize=8)
        else:
            err = np.vstack([part["mu_star"] - part["mu_star_ci_low"],
                             part["mu_star_ci_high"] - part["mu_star"]]).clip(min=0)
            ax.barh(ypos, part["mu_star"], height=0.6, xerr=err, color="#1f77b4",
                    label="μ* (overall influence)", capsize=2)
            ax.plot(part["sigma"], ypos, "D", color="#d62728", ms=4,
                    label="σ (non-linearity / interactions)")
            ax.set_xlabel("Elementary effect, output units per full parameter range",
                          fontsize=8)
        ax.set_yticks(ypos, names, fontsize=7)
        ax.set_title(label(metric, labels), fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    for ax in axes[len(metrics):]:
        ax.set_visible(False)
    handles, names_ = axes[0].get_legend_handles_labels()
    figure.legend(handles, names_, loc="outside lower center", ncols=2, fontsize=8)
    what = "Sobol indices" if method == "sobol" else "Morris elementary effects"
    figure.suptitle(_wrap(f"{title}\n{what}; bars: {confidence:.0%} bootstrap confidence "
                          "intervals"), fontsize=10)
    return figure


def calibration_figure(trace: pd.DataFrame, fit: pd.DataFrame, labels: dict[str, str],
                       title: str) -> Figure:
    """Left: distance per proposal and best so far. Right: targets vs the best configuration."""
    figure = Figure(figsize=(PANEL_WIDTH * 2.2, PANEL_HEIGHT + 0.6), layout="constrained")
    left, right = figure.subplots(1, 2)
    left.plot(trace["proposal"], trace["distance"], "o", ms=4, alpha=0.6,
              label="Proposed configuration")
    left.step(trace["proposal"], trace["best_so_far"], where="post", color="#d62728",
              label="Best so far")
    positive = trace["distance"].dropna()
    if len(positive) and (positive > 0).all():
        left.set_yscale("log")
    left.set_xlabel("Proposal (in the order the Bayesian search made them)")
    left.set_ylabel(label("calibration_distance", labels), fontsize=8)
    left.legend(fontsize=8)
    left.grid(alpha=0.3)
    ypos = np.arange(len(fit))[::-1]
    scale = fit["scale"].to_numpy()
    miss = fit["miss_in_scales"].to_numpy()
    err = np.vstack([(fit["simulated_mean"] - fit["ci_low"]) / scale,
                     (fit["ci_high"] - fit["simulated_mean"]) / scale])
    right.errorbar(miss, ypos, xerr=np.nan_to_num(err), fmt="o", capsize=3)
    right.axvline(0, color="grey", ls="--", lw=1)
    right.axvspan(-1, 1, color="green", alpha=0.08, label="Within one tolerance")
    right.set_yticks(ypos, [f"{label(m, labels)}\n(target {t:g})" for m, t in
                            zip(fit["metric"], fit["target"], strict=True)], fontsize=7)
    right.set_xlabel("Simulated − target, in tolerances (scale)")
    right.set_title(f"Best configuration (proposal {int(fit['proposal'].iloc[0])})", fontsize=9)
    right.legend(fontsize=8)
    right.grid(axis="x", alpha=0.3)
    figure.suptitle(_wrap(title), fontsize=10)
    return figure


def discovery_figure(boxes: pd.DataFrame, trajectories: pd.DataFrame,
                     labels: dict[str, str], title: str, outcome_text: str) -> Figure:
    """Left: PRIM peeling trade-off (coverage vs density). Right: the chosen boxes' limits
    as a share of each parameter's range."""
    figure = Figure(figsize=(PANEL_WIDTH * 2.2, PANEL_HEIGHT + 0.8), layout="constrained")
    left, right = figure.subplots(1, 2)
    for number, part in trajectories.groupby("box"):
        points = left.scatter(part["coverage"], part["density"], c=part["res_dim"], s=14,
                              cmap="viridis", label=f"Box {number} peeling steps")
        chosen = part[part["chosen"]]
        left.scatter(chosen["coverage"], chosen["density"], s=90, facecolors="none",
                     edgecolors="red", label=f"Box {number} chosen")
    if len(trajectories):
        figure.colorbar(points, ax=left).set_label("Parameters restricted", fontsize=8)
    left.set_xlabel("Coverage (share of cases of interest inside the box)", fontsize=8)
    left.set_ylabel("Density (share of cases inside that are of interest)", fontsize=8)
    left.legend(fontsize=7)
    left.grid(alpha=0.3)
    restricted = boxes[boxes["parameter"] != "(none)"].reset_index(drop=True)
    ypos = np.arange(len(restricted))[::-1]
    for y, record in zip(ypos, restricted.to_dict("records"), strict=True):
        colour = f"C{record['box'] - 1}"
        if record["values"]:  # a category restriction: the values kept
            right.barh(y, 1.0, color=colour, alpha=0.25, hatch="//")
            right.text(1.02, y, f"= {record['values']}", va="center", fontsize=7)
            continue
        span = (record["full_upper"] - record["full_lower"]) or 1.0
        low = (record["lower"] - record["full_lower"]) / span
        high = (record["upper"] - record["full_lower"]) / span
        right.barh(y, high - low, left=low, color=colour, alpha=0.7)
        right.text(1.02, y, f"{record['lower']:.3g} – {record['upper']:.3g}", va="center",
                   fontsize=7)
    right.set_xlim(0, 1.3)
    right.set_yticks(ypos, [f"Box {r['box']}: {label(r['parameter'], labels)}"
                            for r in restricted.to_dict("records")], fontsize=7)
    right.set_xlabel("Share of the sampled range (0 = lowest value sampled); hatched: "
                     "categories kept", fontsize=8)
    summaries = "; ".join(f"box {b}: coverage {g['coverage'].iloc[0]:.2f}, density "
                          f"{g['density'].iloc[0]:.2f}" for b, g in boxes.groupby("box"))
    right.set_title(summaries, fontsize=8)
    figure.suptitle(_wrap(f"{title}\nCases of interest: {outcome_text}"), fontsize=10)
    return figure
