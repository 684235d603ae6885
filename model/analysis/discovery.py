"""Scenario discovery: where in parameter space does an outcome of interest occur?

PRIM (the patient rule induction method, Friedman & Fisher 1999), as implemented in the EMA
Workbench and used in scenario discovery (Bryant & Lempert 2010), peels the parameter space
toward a box that holds many cases of interest (coverage: share of all cases of interest
inside the box) and few others (density: share of cases inside the box that are of
interest). Each configuration of a random or Latin-hypercube sweep is one case, its outcome
the mean over its replications.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from model.analysis.tables import AnalysisError


@contextlib.contextmanager
def _numpy_bool_alias() -> Iterator[None]:
    # ema_workbench 3.0 uses `np.bool`, which numpy 1.24-1.26 lacks (numpy 2 restored it as
    # an alias of np.bool_). The project pins numpy<2 for the `sweeps` engine, so provide
    # the alias while PRIM runs and remove it afterwards.
    added = "bool" not in np.__dict__
    if added:
        np.bool = np.bool_  # type: ignore[attr-defined]
    try:
        yield
    finally:
        if added:
            del np.bool  # type: ignore[attr-defined]


@dataclass
class Discovery:
    """PRIM's answer: the boxes (one row per restricted parameter) and peeling trajectories."""

    boxes: pd.DataFrame
    trajectories: pd.DataFrame
    threshold: float
    cases: int
    cases_of_interest: int


def scenario_discovery(cases: pd.DataFrame, parameters: Sequence[str], outcome: str,
                       quantile: float = 0.9, direction: str = "above",
                       threshold: float | None = None, min_density: float = 0.8,
                       max_boxes: int = 2, peel_alpha: float = 0.05) -> Discovery:
    """Boxes of parameter space where ``outcome`` is beyond its ``quantile`` (or ``threshold``).

    ``cases``: one row per configuration with the parameter columns and the outcome. For
    each box, the point of the peeling trajectory with the largest coverage whose density
    reaches ``min_density`` is chosen (the densest point if none reaches it).
    """
    with warnings.catch_warnings():  # "ipyparallel not installed": we use no evaluator
        warnings.simplefilter("ignore", UserWarning)
        from ema_workbench.analysis import prim
        from ema_workbench.analysis import scenario_discovery_util as sdu

    data = cases.dropna(subset=[outcome]).reset_index(drop=True)
    varied = [p for p in parameters if data[p].nunique() > 1]
    if len(data) < 10 or not varied:
        raise AnalysisError(f"scenario discovery needs at least 10 configurations and a "
                            f"varied parameter (got {len(data)} and {len(varied)})")
    y = data[outcome].to_numpy(dtype=float)
    cut = float(threshold if threshold is not None else np.quantile(y, quantile))
    interest = y >= cut if direction == "above" else y <= cut
    if interest.sum() == 0 or interest.all():
        raise AnalysisError(f"scenario discovery: {int(interest.sum())} of {len(y)} cases are "
                            f"of interest at threshold {cut:g}; nothing to separate")
    x = data[varied].copy()
    for column in x.columns:  # PRIM reads numbers as ranges, anything else as categories
        if x[column].dtype == bool or not pd.api.types.is_numeric_dtype(x[column]):
            x[column] = x[column].astype(str).astype(object)
        elif pd.api.types.is_integer_dtype(x[column]):
            x[column] = x[column].astype("int64")
        else:
            x[column] = x[column].astype("float64")
    box_rows, trajectory_rows = [], []
    logging.getLogger("EMA").setLevel(logging.WARNING)
    with _numpy_bool_alias():
        algorithm = prim.Prim(x, interest, peel_alpha=peel_alpha)
        for number in range(1, max_boxes + 1):
            box = algorithm.find_box()
            if box is None:
                break
            trajectory = box.peeling_trajectory.reset_index(drop=True)
            dense = trajectory[trajectory["density"] >= min_density]
            chosen = int(dense["coverage"].idxmax() if len(dense)
                         else trajectory["density"].idxmax())
            box.select(chosen)
            limits = box.box_lims[chosen]
            restricted = list(sdu._determine_restricted_dims(limits, box.box_lims[0]))
            stats = trajectory.iloc[chosen]
            common = {"box": number, "coverage": float(stats["coverage"]),
                      "density": float(stats["density"]), "mass": float(stats["mass"]),
                      "restricted": int(stats["res_dim"])}
            for parameter in restricted or ["(none)"]:
                row = dict(common, parameter=parameter, lower=np.nan, upper=np.nan,
                           values="", full_lower=np.nan, full_upper=np.nan)
                if parameter in limits:
                    low, high = limits[parameter].iloc[0], limits[parameter].iloc[1]
                    if isinstance(low, set):
                        row["values"] = ", ".join(sorted(map(str, low)))
                    else:
                        row.update(lower=float(low), upper=float(high),
                                   full_lower=float(box.box_lims[0][parameter].iloc[0]),
                                   full_upper=float(box.box_lims[0][parameter].iloc[1]))
                box_rows.append(row)
            part = trajectory[["coverage", "density", "mass", "res_dim"]].copy()
            part.insert(0, "step", range(len(part)))
            part.insert(0, "box", number)
            part["chosen"] = part["step"] == chosen
            trajectory_rows.append(part)
    return Discovery(pd.DataFrame(box_rows),
                     pd.concat(trajectory_rows, ignore_index=True) if trajectory_rows
                     else pd.DataFrame(), cut, len(y), int(interest.sum()))
