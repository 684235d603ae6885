"""Shared fixtures: small worlds in a few lines, and a cache of paired runs.

Behaviour tests compare *arms* (a scenario plus overrides) over the same seeds (common
random numbers), so each comparison is paired. Runs are cached for the whole session and
computed on two processes, because several tests read the same arms.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from model import load_scenario, run_scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"


def _key(path: str, overrides: dict) -> tuple[str, str]:
    return path, json.dumps(overrides, sort_keys=True)


def _run(job: tuple[str, str, int, float]) -> dict:
    path, overrides, seed, years = job
    result = run_scenario(load_scenario(path, json.loads(overrides)), seed=seed, years=years)
    summary = dict(result.summary)
    summary["backlog_mean"] = float(result.timeseries["backlog"].mean())
    return summary


class PairedRuns:
    """``runs.metric(arm, "backlog_end")`` → one value per seed, seeds shared by all arms."""

    def __init__(self, seeds: list[int], years: float) -> None:
        self.seeds, self.years = seeds, years
        self._cache: dict[tuple, list[dict]] = {}

    def prefetch(self, arms: list[tuple[str, dict]]) -> None:
        jobs, keys = [], []
        for path, overrides in arms:
            key = _key(path, overrides)
            if key not in self._cache and key not in keys:
                keys.append(key)
                jobs += [(str(SCENARIOS / path), key[1], s, self.years) for s in self.seeds]
        if not jobs:
            return
        workers = min(2, os.cpu_count() or 1)
        with ProcessPoolExecutor(workers) as pool:
            results = list(pool.map(_run, jobs))
        n = len(self.seeds)
        for i, key in enumerate(keys):
            self._cache[key] = results[i * n : (i + 1) * n]

    def summaries(self, path: str, overrides: dict | None = None) -> list[dict]:
        overrides = overrides or {}
        self.prefetch([(path, overrides)])
        return self._cache[_key(path, overrides)]

    def metric(self, path: str, name: str, overrides: dict | None = None) -> np.ndarray:
        values = []
        for s in self.summaries(path, overrides):
            v = s
            for part in name.split("."):
                v = v[part]
            values.append(float(v))
        return np.array(values)


@pytest.fixture(scope="session")
def paired_runs() -> PairedRuns:
    """Eight seeds, two simulated years of the demo township: the behaviour claims' sample."""
    return PairedRuns(seeds=list(range(1, 9)), years=2.0)


@pytest.fixture(scope="session")
def lever_runs() -> PairedRuns:
    """Five seeds, one simulated year: enough to show that a lever moves its output."""
    return PairedRuns(seeds=list(range(101, 106)), years=1.0)


@pytest.fixture
def demo():
    return load_scenario(SCENARIOS / "demo.yaml")
