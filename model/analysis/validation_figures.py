"""One figure per stylised fact: a panel per claim.

Paired and within-run claims show each seed's difference (dots), their mean and 95% bootstrap
interval (bar), and zero (the null); level claims show each seed's value against the
threshold; convexity claims show the runs and the fitted quadratic.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from model.atomic import atomic_save_figure  # noqa: E402

if TYPE_CHECKING:
    from model.analysis.validation import FactResult

PASS, FAIL = "#2a7f62", "#b23a48"


def _estimate_with_ci(ax, r, colour: str, **style) -> None:
    """The estimate and its 95% interval, beside the per-seed points."""
    ax.errorbar(
        [0.3],
        [r.estimate],
        yerr=[[r.estimate - r.ci_low], [r.ci_high - r.estimate]],
        fmt="o",
        color=colour,
        capsize=4,
        **style,
    )


def fact_figure(f: FactResult, path: Path) -> Path:
    claims = f.claims
    n = len(claims)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.3 * rows), squeeze=False)
    for ax, c in zip(axes.ravel(), claims, strict=False):
        r = c.result
        colour = PASS if r is not None and r.passed else FAIL
        title = c.claim.label if len(c.claim.label) < 48 else c.claim.label[:45] + "…"
        ax.set_title(title, fontsize=9)
        if r is None:
            ax.text(0.5, 0.5, c.skipped, ha="center", va="center", fontsize=8, wrap=True)
            ax.set_axis_off()
            continue
        if c.claim.kind in ("paired", "within"):
            d = np.array(c.data["arm"]) - np.array(c.data["base"])
            jitter = np.random.default_rng(0).uniform(-0.08, 0.08, len(d))
            ax.scatter(jitter, d, s=14, color="0.45", zorder=2)
            _estimate_with_ci(ax, r, colour, zorder=3)
            ax.axhline(0, color="0.2", lw=0.8, ls="--")
            ax.set_xlim(-0.4, 0.6)
            ax.set_xticks([])
            label = (
                f"{c.claim.arm} − {c.claim.base}"
                if c.claim.kind == "paired"
                else f"{c.claim.metric} − {c.claim.versus}"
            )
            ax.set_ylabel(f"Δ {c.claim.metric}" if c.claim.kind == "paired" else "within-run Δ", fontsize=8)
            ax.set_xlabel(label, fontsize=7)
        elif c.claim.kind == "level":
            v = np.array(c.data["values"])
            ax.scatter(np.random.default_rng(0).uniform(-0.08, 0.08, len(v)), v, s=14, color="0.45")
            _estimate_with_ci(ax, r, colour)
            ax.axhline(c.claim.threshold, color="0.2", lw=0.8, ls="--", label=f"threshold {c.claim.threshold:g}")
            ax.set_xlim(-0.4, 0.6)
            ax.set_xticks([])
            ax.set_ylabel(c.claim.metric, fontsize=8)
            ax.legend(fontsize=7, loc="lower right")
        else:
            x, y = np.array(c.data["x"]), np.array(c.data["y"])
            arms = np.array(c.data["arm"])
            for arm in dict.fromkeys(arms):
                m = arms == arm
                ax.scatter(x[m], y[m], s=12, label=arm)
            ok = np.isfinite(x) & np.isfinite(y)
            if ok.sum() >= 3:
                coef = np.polyfit(x[ok], y[ok], 2)
                grid = np.linspace(x[ok].min(), x[ok].max(), 100)
                ax.plot(grid, np.polyval(coef, grid), color=colour, lw=1.5)
                lin = np.polyfit(x[ok], y[ok], 1)
                ax.plot(grid, np.polyval(lin, grid), color="0.5", lw=0.8, ls=":")
            ax.set_xlabel(c.claim.x, fontsize=8)
            ax.set_ylabel(c.claim.metric, fontsize=8)
            ax.legend(fontsize=6, ncol=2)
        ax.tick_params(labelsize=7)
        ax.text(
            0.02,
            0.97,
            f"p_Holm={r.p_adjusted:.3g}\n{'pass' if r.passed else 'FAIL'}",
            transform=ax.transAxes,
            va="top",
            fontsize=7,
            color=colour,
        )
    for ax in axes.ravel()[n:]:
        ax.set_axis_off()
    fig.suptitle(f"Fact {f.fact.id}: {f.fact.title} — {f.verdict}", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_save_figure(fig, path, dpi=110)
    plt.close(fig)
    return path
