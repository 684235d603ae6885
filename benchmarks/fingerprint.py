"""A fingerprint of the model's outputs, to check that an optimisation changes nothing.

Runs demo.yaml (seeds 1-3, two years) and county.yaml (seed 1, one year) and prints one
SHA-256 over each run's ``summary.json`` bytes and its time series as CSV. The code version
is left out of the summary: it changes with every edit, the results must not.

    python -m benchmarks.fingerprint            # all runs
    python -m benchmarks.fingerprint --demo     # demo runs only (seconds)
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from model import load_scenario, run_scenario
from model.runner import summary_json

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
RUNS = (("demo.yaml", 1, 2), ("demo.yaml", 2, 2), ("demo.yaml", 3, 2), ("county.yaml", 1, 1))


def run_digest(scenario_file: str, seed: int, years: float) -> str:
    """SHA-256 of one run's summary.json bytes and time-series CSV."""
    result = run_scenario(load_scenario(SCENARIOS / scenario_file), seed=seed, years=years)
    summary = dict(result.summary)
    summary.pop("code_version", None)
    h = hashlib.sha256(summary_json(summary))
    h.update(result.timeseries.to_csv(index=False).encode("utf-8"))
    return h.hexdigest()


def fingerprint(demo_only: bool = False) -> tuple[str, dict[str, str]]:
    """The combined digest and the digest of each run."""
    runs = [r for r in RUNS if not demo_only or r[0] == "demo.yaml"]
    parts = {f"{f}:seed={s}:years={y}": run_digest(f, s, y) for f, s, y in runs}
    total = hashlib.sha256("".join(parts.values()).encode("ascii")).hexdigest()
    return total, parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", action="store_true", help="demo runs only")
    args = parser.parse_args()
    total, parts = fingerprint(args.demo)
    for name, digest in parts.items():
        print(f"{digest[:16]}  {name}")
    print(f"fingerprint {total}")


if __name__ == "__main__":
    main()
