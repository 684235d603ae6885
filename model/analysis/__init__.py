"""Analysis of experiment results: tidy tables, paired comparisons, sensitivity, scenario
discovery, calibration, and figures for readers who have not seen the code.

In a notebook::

    from model.analysis import load_results, paired_differences
    results = load_results("runs/veto_vs_comprehensive")
    paired_differences(results.finished, arm="regime.name", baseline="comprehensive",
                       metrics=["petitions_reported", "hidden_grievance"],
                       by=["staffing.fill_rate"])
"""

from model.lazy import lazy_exports

# Lazy (PEP 562): `run.py validate` must not pay for importing every subsystem.
_EXPORTS = {
    "calibration_fit": "model.analysis.calibration",
    "calibration_trace": "model.analysis.calibration",
    "Discovery": "model.analysis.discovery",
    "scenario_discovery": "model.analysis.discovery",
    "label": "model.analysis.labels",
    "value_label": "model.analysis.labels",
    "paired_differences": "model.analysis.paired",
    "write_report": "model.analysis.report",
    "sensitivity_indices": "model.analysis.sensitivity",
    "AnalysisError": "model.analysis.tables",
    "Results": "model.analysis.tables",
    "configuration_summary": "model.analysis.tables",
    "heatmap_table": "model.analysis.tables",
    "load_results": "model.analysis.tables",
    "mean_ci": "model.analysis.tables",
    "select": "model.analysis.tables",
    "timeseries_bands": "model.analysis.tables",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
