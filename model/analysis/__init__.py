"""Analysis of experiment results: tidy tables, paired comparisons, sensitivity, scenario
discovery, calibration, and figures for readers who have not seen the code.

In a notebook::

    from model.analysis import load_results, paired_differences
    results = load_results("runs/veto_vs_comprehensive")
    paired_differences(results.finished, arm="regime.name", baseline="comprehensive",
                       metrics=["petitions_reported", "hidden_grievance"],
                       by=["staffing.fill_rate"])
"""

from model.analysis.calibration import calibration_fit, calibration_trace
from model.analysis.discovery import Discovery, scenario_discovery
from model.analysis.labels import label, value_label
from model.analysis.paired import paired_differences
from model.analysis.report import write_report
from model.analysis.sensitivity import sensitivity_indices
from model.analysis.tables import (
    AnalysisError,
    Results,
    configuration_summary,
    heatmap_table,
    load_results,
    mean_ci,
    select,
    timeseries_bands,
)

__all__ = [
    "AnalysisError",
    "Discovery",
    "Results",
    "calibration_fit",
    "calibration_trace",
    "configuration_summary",
    "heatmap_table",
    "label",
    "load_results",
    "mean_ci",
    "paired_differences",
    "scenario_discovery",
    "select",
    "sensitivity_indices",
    "timeseries_bands",
    "value_label",
    "write_report",
]
