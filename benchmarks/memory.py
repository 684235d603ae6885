"""Peak resident memory of one run, measured in a fresh process.

``peak_rss(scenario, years)`` starts ``python -m benchmarks.memory`` in a subprocess, which
runs the scenario with ``run_scenario`` defaults (``keep_incident_log=False``: closed
incidents are streamed to the collectors, not kept) and reports its own ``ru_maxrss``. A
fresh process per horizon keeps one measurement from inheriting another's peak.

    python -m benchmarks.memory scenarios/county.yaml --years 5
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _current_rss_mib() -> float:
    """Current RSS (MiB), from /proc (Linux)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class _RssSampler(threading.Thread):
    """Highest current RSS seen while a run is under way (sampled every 20 ms): the run's own
    peak, which ``ru_maxrss`` hides when importing the stack peaked higher."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = _current_rss_mib()
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(0.02):
            self.peak = max(self.peak, _current_rss_mib())

    def stop(self) -> float:
        self._stop_event.set()
        self.join()
        self.peak = max(self.peak, _current_rss_mib())
        return self.peak


def peak_rss(scenario: str | Path, years: float, seed: int = 1) -> dict[str, float]:
    """Peak RSS (MiB) of a fresh process running ``scenario`` for ``years``."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.memory",
            str(scenario),
            "--years",
            str(years),
            "--seed",
            str(seed),
            "--json",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description="Peak RSS of one run (this process).")
    parser.add_argument("scenario")
    parser.add_argument("--years", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    # Not ru_maxrss: Linux carries the high-water mark across exec, so a child started by a
    # large parent (python -m benchmarks, after the dashboard redraw) reported the parent's
    # size. Sampling /proc from here on sees only this process.
    whole = _RssSampler()
    whole.start()
    from model import load_scenario, run_scenario

    scenario = load_scenario(args.scenario)
    before_run = _current_rss_mib()
    sampler = _RssSampler()
    sampler.start()
    t0 = time.perf_counter()
    run_scenario(scenario, seed=args.seed, years=args.years)
    seconds = time.perf_counter() - t0
    run_peak = sampler.stop()
    result = {
        "years": args.years,
        "peak_rss_mib": max(whole.stop(), run_peak),
        "rss_before_run_mib": before_run,
        "run_peak_rss_mib": run_peak,
        "run_increment_mib": run_peak - before_run,
        "seconds": seconds,
    }
    print(json.dumps(result) if args.json else result)


if __name__ == "__main__":
    main()
