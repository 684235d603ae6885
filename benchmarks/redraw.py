"""Time one full redraw of the dashboard page, as Solara does it after a Step.

Issue 5: the dashboard "must stay responsive on demo.yaml (a step of the demo renders in well
under a second)". After every Step each tile is redrawn: the headline table, the village map,
five trend charts and the rates chart, each drawn with the previous run's grey line and
rendered to PNG (what ``solara.FigureMatplotlib(format="png")`` sends to the browser). The
cost grows with the day (longer series), so it is measured at several days of a 3-year demo
run. Browser-side time (sending and showing eight PNGs) is not included.

    python benchmarks/redraw.py          # prints the table; python -m benchmarks includes it
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from model.dashboard import figures  # noqa: E402
from model.dashboard.levers import DashboardModel  # noqa: E402
from model.dashboard.measures import headline, run_frame  # noqa: E402

DEMO = ROOT / "scenarios" / "demo.yaml"


def redraw(model: DashboardModel, previous: DashboardModel) -> int:
    """Everything the page draws for one update; returns the bytes of PNG it made."""
    headline(model)
    frame, prev = run_frame(model), run_frame(previous)
    figs = [figures.village_map_figure(model, "backlog")]
    figs += [draw(frame, model.horizon, prev) for draw in figures.TREND_FIGURES.values()]
    figs.append(figures.rates_figure(model.rates_frame(), model.horizon, previous.rates_frame()))
    size = 0
    for fig in figs:
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        size += buf.tell()
    return size


def measure(days: tuple[int, ...] = (30, 365, 1095), repeats: int = 5) -> dict[str, Any]:
    """Median wall and CPU milliseconds of a full redraw at each day (the model is stepped
    there first; a previous run to the horizon supplies the grey lines)."""
    previous = DashboardModel(scenario_path=str(DEMO), seed=2)
    while previous.running:
        previous.step()
    model = DashboardModel(scenario_path=str(DEMO), seed=1)
    redraw(model, previous)  # warm-up: fonts, matplotlib caches
    rows = []
    for day in days:
        while model.day < min(day, model.horizon):
            model.step()
        wall, cpu = [], []
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            png = redraw(model, previous)
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        rows.append(
            {
                "day": model.day,
                "wall_ms": 1e3 * float(np.median(wall)),
                "cpu_ms": 1e3 * float(np.median(cpu)),
                "png_kib": png / 1024,
            }
        )
    return {"repeats": repeats, "charts": 2 + len(figures.TREND_FIGURES), "by_day": rows}


if __name__ == "__main__":
    result = measure()
    print(f"full dashboard redraw, demo.yaml, headline and {result['charts']} charts, median of {result['repeats']}:")
    for r in result["by_day"]:
        print(
            f"  day {r['day']:5d}: {r['wall_ms']:7.1f} ms wall, {r['cpu_ms']:7.1f} ms CPU, {r['png_kib']:.0f} KiB of PNG"
        )
