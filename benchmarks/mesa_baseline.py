"""The yardstick of issue 4: a trivial Mesa model stepping one Python object per resident.

Each agent does one random update a day (``shuffle_do("step")`` over all agents), which is
the least a one-object-per-resident Mesa model pays before doing anything useful. Stepping
300k agents for 365 days takes minutes, so it is measured on a sample (by default 100k
agents for 20 days after a warm-up day) and extrapolated linearly to agent-days; the result
says so.

    python -m benchmarks.mesa_baseline --agents 100000 --days 20
"""

from __future__ import annotations

import argparse
import time

import mesa
import numpy as np


class Resident(mesa.Agent):
    """One resident, one random update a day."""

    def __init__(self, model: mesa.Model) -> None:
        super().__init__(model)
        self.grievance = 0.0

    def step(self) -> None:
        self.grievance += self.model.random.random()


class TrivialModel(mesa.Model):
    def __init__(self, n_agents: int, seed: int = 1) -> None:
        super().__init__(rng=seed)
        Resident.create_agents(self, n_agents)

    def step(self) -> None:
        self.agents.shuffle_do("step")


def measure(n_agents: int = 100_000, days: int = 20, warmup: int = 1, seed: int = 1) -> dict[str, float]:
    """Agent-steps per second of the trivial model (median over the measured days), in wall
    time and in CPU time of this process."""
    model = TrivialModel(n_agents, seed)
    for _ in range(warmup):
        model.step()
    per_day, cpu_per_day = [], []
    for _ in range(days):
        t0, c0 = time.perf_counter(), time.process_time()
        model.step()
        per_day.append(time.perf_counter() - t0)
        cpu_per_day.append(time.process_time() - c0)
    median_day = float(np.median(per_day))
    median_cpu_day = float(np.median(cpu_per_day))
    return {
        "agents": n_agents,
        "days": days,
        "warmup_days": warmup,
        "seconds_per_day_median": median_day,
        "agent_steps_per_second": n_agents / median_day,
        "cpu_seconds_per_day_median": median_cpu_day,
        "agent_steps_per_cpu_second": n_agents / median_cpu_day,
    }


def extrapolate(rate: float, agents: int, days: int) -> float:
    """Seconds the trivial model would take for ``agents`` × ``days`` (linear in agent-days)."""
    return agents * days / rate


def main() -> None:
    parser = argparse.ArgumentParser(description="Trivial Mesa baseline (agent-steps per second).")
    parser.add_argument("--agents", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=20)
    args = parser.parse_args()
    r = measure(args.agents, args.days)
    print(f"{r['agent_steps_per_second'] / 1e6:.2f}M agent-steps/s ({args.agents} agents, {args.days} days)")


if __name__ == "__main__":
    main()
