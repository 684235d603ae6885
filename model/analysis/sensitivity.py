"""Global sensitivity of the model's outputs to its parameters (SALib).

The design is the experiment's ``sampler`` (Sobol / Saltelli or Morris trajectories) in the
unit cube; each configuration's output is the mean over its replications, which share seeds
across configurations (common random numbers), so that the indices measure the parameters
and not the noise of different draws.

- Sobol (Saltelli 2010): first-order S1 (share of output variance due to a parameter alone)
  and total ST (including all its interactions), with bootstrap confidence intervals.
- Morris (Campolongo et al. 2007): mu* (mean absolute elementary effect: overall influence)
  and sigma (spread of effects: non-linearity or interactions), mu* with a bootstrap interval.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from model.analysis.tables import AnalysisError, Results
from model.sweep import seeds
from model.sweep.design import salib_problem
from model.sweep.store import UNIT_PREFIX


def configuration_means(results: Results, metrics: Sequence[str]) -> pd.DataFrame:
    """Replication mean of each metric per configuration, in design order."""
    ids = results.design["config_id"].to_numpy()
    means = results.finished.groupby("config_id")[list(metrics)].mean().reindex(ids)
    return means


def sensitivity_indices(results: Results, metrics: Sequence[str] | None = None,
                        confidence: float = 0.95, resamples: int = 1000) -> pd.DataFrame:
    """Sobol or Morris indices (per the experiment's sampler) for each metric, tidy.

    Sobol rows: metric, parameter, S1, S1_ci_low, S1_ci_high, ST, ST_ci_low, ST_ci_high.
    Morris rows: metric, parameter, mu, mu_star, mu_star_ci_low, mu_star_ci_high, sigma.
    """
    exp = results.experiment
    if exp.sampler is None or exp.sampler.kind not in ("sobol", "morris"):
        raise AnalysisError("sensitivity needs an experiment with `sampler.kind: sobol` or "
                            "`morris`")
    metrics = list(metrics or exp.summary_metrics)
    problem = salib_problem(exp)
    means = configuration_means(results, metrics)
    missing = means.index[means.isna().any(axis=1)].tolist()
    if missing:
        raise AnalysisError(f"sensitivity: {len(missing)} configuration(s) have no finished "
                            f"run (e.g. config_id {missing[:5]}); re-run the sweep to finish "
                            "them, or inspect their failures in manifest/")
    seed = seeds.design_seed(exp.seed)
    rows = []
    for metric in metrics:
        y = means[metric].to_numpy(dtype=float)
        if exp.sampler.kind == "sobol":
            from SALib.analyze import sobol

            # SALib 1.5.1 calls pd.unique on the names, which pandas 3 refuses for a list.
            array_names = {**problem, "names": np.array(problem["names"], dtype=object)}
            si = sobol.analyze(array_names, y, calc_second_order=exp.sampler.second_order,
                               num_resamples=resamples, conf_level=confidence, seed=seed)
            for i, name in enumerate(problem["names"]):
                rows.append({"metric": metric, "parameter": name, "method": "sobol",
                             "S1": si["S1"][i], "S1_ci_low": si["S1"][i] - si["S1_conf"][i],
                             "S1_ci_high": si["S1"][i] + si["S1_conf"][i],
                             "ST": si["ST"][i], "ST_ci_low": si["ST"][i] - si["ST_conf"][i],
                             "ST_ci_high": si["ST"][i] + si["ST_conf"][i],
                             "confidence": confidence, "variance": float(np.var(y))})
        else:
            from SALib.analyze import morris

            x = results.design[[f"{UNIT_PREFIX}{n}" for n in problem["names"]]].to_numpy()
            si = morris.analyze(problem, x, y, num_resamples=resamples, conf_level=confidence,
                                num_levels=exp.sampler.levels, seed=seed)
            for i, name in enumerate(problem["names"]):
                rows.append({"metric": metric, "parameter": name, "method": "morris",
                             "mu": si["mu"][i], "mu_star": si["mu_star"][i],
                             "mu_star_ci_low": si["mu_star"][i] - si["mu_star_conf"][i],
                             "mu_star_ci_high": si["mu_star"][i] + si["mu_star_conf"][i],
                             "sigma": si["sigma"][i], "confidence": confidence})
    return pd.DataFrame(rows)
