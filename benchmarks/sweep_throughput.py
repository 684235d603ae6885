"""Sweep throughput on scenarios/demo.yaml: runs per minute with 1 and 2 worker processes,
and the run store's per-run cost (Parquet row + time series + JSON manifest, written by the
worker that ran the run) as a share of the run's own time.

    .venv/bin/python benchmarks/sweep_throughput.py [--replications 8] [--years 1] [--rounds 3]

Both sweeps are timed after the same untimed warm-up, which starts the fork server that
imports the model for the workers: it lives as long as this process, so without it the
first sweep timed would pay that one-off start-up alone and the second would not. The
start-up is printed on its own line: a `run.py sweep` command pays it once, whatever the
number of runs and workers.

Prints figures only; nothing here asserts a timing (machines differ).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from model.sweep import (  # noqa: E402
    RunStore,
    execute_run,
    experiment_from_dict,
    run_experiment,
    run_model,
    run_specs,
    static_design,
)


def benchmark_experiment(replications: int, years: float):
    return experiment_from_dict({
        "name": "throughput",
        "scenario": str(ROOT / "scenarios" / "demo.yaml"),
        "years": years,
        "seed": 1,
        "replications": replications,
        "sweep": {"method": "grid", "parameters": {
            "regime.name": {"values": ["veto", "comprehensive"]}}},
        "metrics": {"timeseries": {"columns": ["backlog", "petitions_true", "trust_mean"],
                                   "every": 1}},
    }, source="benchmark")


WARM_UP_YEARS = 0.05
"""Simulated years of the warm-up sweep's runs: short, and long enough for every daily step."""


def warm_up() -> float:
    """Run a two-run sweep, untimed by the caller, and return its wall seconds: the first
    time in a process, the sweep machinery's start-up (fork server, model import, this
    process's own lazy imports); afterwards, a fraction of a second."""
    experiment = benchmark_experiment(1, WARM_UP_YEARS)
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        run_experiment(experiment, out, workers=1, progress=False)
        return time.perf_counter() - started


def throughput(replications: int, years: float, workers: int) -> tuple[float, float]:
    """(runs per minute, mean run seconds) of a fresh sweep with this many workers, timed
    after a warm-up (see the module's docstring); the pool's own start-up is included."""
    warm_up()
    experiment = benchmark_experiment(replications, years)
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        result = run_experiment(experiment, out, workers=workers, progress=False)
        wall = time.perf_counter() - started
        assert result.complete, result.summary[result.summary["status"] != "finished"]
        mean_run = float(result.summary["duration_s"].mean())
    return 60 * result.total / wall, mean_run


def paired_rounds(replications: int, years: float, rounds: int) -> dict[str, list[float]]:
    """Runs per minute and mean run seconds with 1 and 2 workers, measured ``rounds`` times
    side by side, alternating which goes first. A shared VM's speed drifts by tens of percent
    over a minute; a ratio taken within one round cancels most of the drift, and the median
    over rounds is robust to a round that a neighbour disturbed."""
    out: dict[str, list[float]] = {"rate_1": [], "rate_2": [], "run_1": [], "run_2": [], "ratio": []}
    for i in range(rounds):
        rate = {}
        for workers in (1, 2) if i % 2 == 0 else (2, 1):
            rate[workers], mean_run = throughput(replications, years, workers)
            out[f"rate_{workers}"].append(rate[workers])
            out[f"run_{workers}"].append(mean_run)
        out["ratio"].append(rate[2] / rate[1])
    return out


def store_overhead(years: float, samples: int = 5, repeats: int = 20) -> tuple[float, float]:
    """(mean seconds to record one run in the store, mean seconds of the run itself)."""
    experiment = benchmark_experiment(samples, years)
    specs = run_specs(experiment, static_design(experiment))[:samples]
    outcomes = [execute_run(run_model, spec) for spec in specs]
    run_seconds = statistics.mean(o.duration_s for o in outcomes)
    with tempfile.TemporaryDirectory() as out:
        store = RunStore.create(out, experiment)
        started = time.perf_counter()
        for _ in range(repeats):
            for outcome in outcomes:
                store.write(outcome, experiment.name)
        write_seconds = (time.perf_counter() - started) / (repeats * len(outcomes))
    return write_seconds, run_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=8,
                        help="replications per regime (2 regimes)")
    parser.add_argument("--years", type=float, default=1.0, help="simulated years per run")
    parser.add_argument("--rounds", type=int, default=3, help="side-by-side 1- and 2-worker measurements")
    args = parser.parse_args()
    runs = 2 * args.replications
    print(f"demo.yaml, {args.years:g} simulated year(s) per run, {runs} runs per sweep; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"  start-up, once per process: {warm_up():.2f} s (fork server importing the "
          "model, a two-run sweep)")
    rounds = paired_rounds(args.replications, args.years, args.rounds)
    for i, ratio in enumerate(rounds["ratio"]):
        print(f"  round {i + 1}: 1 worker {rounds['rate_1'][i]:6.1f} runs/minute (mean run "
              f"{rounds['run_1'][i]:.3f} s), 2 workers {rounds['rate_2'][i]:6.1f} (mean run "
              f"{rounds['run_2'][i]:.3f} s): {ratio:.2f}x")
    print(f"  2 workers vs 1: median {statistics.median(rounds['ratio']):.2f}x over {args.rounds} round(s) "
          "(process-pool start-up included)")
    write_seconds, run_seconds = store_overhead(args.years)
    print(f"  store + manifest per run: {1000 * write_seconds:.1f} ms = "
          f"{100 * write_seconds / run_seconds:.1f}% of a {run_seconds:.3f} s run "
          "(Parquet row, daily time series, JSON manifest, each written atomically by the "
          "worker)")
    print(f"  load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
