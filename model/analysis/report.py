"""`run.py report OUTDIR`: run an experiment's analyses on its store, write tables and figures.

Writes into ``OUTDIR/report`` (or ``dest``): ``runs.csv|parquet`` (every run),
``configurations.csv|parquet`` (mean and interval per configuration and metric), one set of
tables and PNG + SVG figures per analysis listed in the experiment file, and a README.md
saying what each file shows. An analysis that cannot run on these results (e.g. too few
finished runs) is listed in the README with the reason, and the others still run.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pandas as pd

from model.analysis import figures
from model.analysis.calibration import calibration_fit, calibration_trace
from model.analysis.discovery import scenario_discovery
from model.analysis.labels import label, value_label
from model.analysis.paired import paired_differences
from model.analysis.sensitivity import sensitivity_indices
from model.analysis.tables import (
    AnalysisError,
    Results,
    configuration_summary,
    heatmap_table,
    load_results,
    select,
    timeseries_bands,
)
from model.atomic import atomic_write_csv, atomic_write_parquet, atomic_write_text
from model.sweep.experiment import (
    CalibrationAnalysis,
    DiscoveryAnalysis,
    HeatmapAnalysis,
    PairedAnalysis,
    SensitivityAnalysis,
    TimeseriesAnalysis,
)


class _Writer:
    """Writes tables (CSV + Parquet) and figures (PNG + SVG), and notes each for the README."""

    def __init__(self, dest: Path):
        self.dest = dest
        self.files: list[Path] = []
        self.notes: list[str] = []

    def table(self, frame: pd.DataFrame, stem: str, what: str) -> None:
        csv, parquet = self.dest / f"{stem}.csv", self.dest / f"{stem}.parquet"
        atomic_write_csv(csv, frame)
        atomic_write_parquet(parquet, frame)
        self.files += [csv, parquet]
        self.notes.append(f"- `{stem}.csv` / `.parquet`: {what}")

    def figure(self, figure: Any, stem: str, what: str) -> None:
        self.files += figures.save(figure, self.dest / stem)
        self.notes.append(f"- `{stem}.png` / `.svg`: {what}")

    def skipped(self, name: str, reason: str) -> None:
        self.notes.append(f"- **{name} skipped**: {reason}")
        print(f"report: {name} skipped: {reason}", file=sys.stderr)


def write_report(out_dir: str | Path, dest: str | Path | None = None) -> list[Path]:
    """Analyse the store in ``out_dir``; return the files written."""
    results = load_results(out_dir)
    exp = results.experiment
    writer = _Writer(Path(dest) if dest is not None else Path(out_dir) / "report")
    writer.dest.mkdir(parents=True, exist_ok=True)
    finished = results.finished
    writer.table(results.summary, "runs", "every run: identifiers, seed, swept parameters, "
                 "kept metrics, status, timings (failed runs have empty metrics and an error)")
    if finished.empty:
        writer.skipped("all analyses", "no run has finished")
    else:
        writer.table(configuration_summary(results), "configurations",
                     "per configuration and metric: runs, mean, sd and 95% interval over "
                     "replications")
        for index, analysis in enumerate(exp.analyses):
            stem = f"{index + 1:02d}-{analysis.kind}"
            try:
                _ANALYSES[type(analysis)](results, analysis, writer, stem)
            except AnalysisError as err:
                writer.skipped(f"analysis {index + 1} ({analysis.kind})", str(err))
    _write_readme(results, writer)
    return writer.files


def _title(analysis: Any, default: str) -> str:
    return analysis.title or default


def _paired(results: Results, a: PairedAnalysis, writer: _Writer, stem: str) -> None:
    exp = results.experiment
    runs = select(results.finished, a.where)
    by = a.by if a.by is not None else [p for p in exp.varied_parameters if p != a.arm
                                         and p not in a.where]
    metrics = a.metrics or exp.summary_metrics
    table = paired_differences(runs, a.arm, a.baseline, metrics, by=by, confidence=a.confidence)
    if table.empty:
        raise AnalysisError("no pairs: no replication finished in both arms")
    # Name the arms compared, not the parameter: "One-vote veto vs Comprehensive assessment".
    others = [v for v in exp.sweep.parameters[a.arm].get("values", []) if v != a.baseline]
    arms = ", ".join(value_label(a.arm, v, exp.labels) for v in others) or label(a.arm, exp.labels)
    writer.table(table, stem, f"paired differences ({arms} vs "
                 f"{value_label(a.arm, a.baseline, exp.labels)}): mean difference, "
                 f"{a.confidence:.0%} interval, effect size d_z, p-value, and the half-width "
                 "an unpaired comparison would have had")
    title = _title(a, f"{exp.name}: paired comparison of {label(a.arm, exp.labels).lower()}")
    writer.figure(figures.paired_figure(table, by, exp.labels, title), stem,
                  "forest plot of the paired differences")


def _timeseries(results: Results, a: TimeseriesAnalysis, writer: _Writer, stem: str) -> None:
    exp = results.experiment
    series = select(results.timeseries(), a.where)
    if series.empty:
        raise AnalysisError("no time series in the store")
    kept = exp.metrics.timeseries
    columns = a.columns or ([c for c in series.columns if c not in (
        "run_id", "config_id", "replication", "day", *exp.parameter_names)]
        if kept is None or kept.columns == "all" else kept.columns)
    bands = timeseries_bands(series, columns, by=a.by, facet=a.facet, confidence=a.confidence)
    writer.table(bands, stem, f"daily mean and {a.confidence:.0%} band over runs")
    title = _title(a, f"{exp.name}: daily series")
    writer.figure(figures.timeseries_figure(bands, a.by, a.facet, exp.labels, title), stem,
                  "time series with confidence bands")


def _heatmap(results: Results, a: HeatmapAnalysis, writer: _Writer, stem: str) -> None:
    exp = results.experiment
    runs = select(results.finished, a.where)
    for metric in a.metrics or exp.summary_metrics[:1]:
        name = f"{stem}-{metric}"
        if a.contrast is None:
            table = heatmap_table(runs, a.x, a.y, metric, facet=a.facet)
            what = f"mean {metric} per ({a.y}, {a.x}) cell"
            title = _title(a, f"{exp.name}: {label(metric, exp.labels)}")
        else:
            by = [k for k in (a.facet, a.y, a.x) if k is not None]
            diffs = paired_differences(runs, a.contrast.arm, a.contrast.baseline, [metric],
                                       by=by)
            table = diffs.rename(columns={"mean_difference": "value"})
            if a.facet is None and diffs["arm"].nunique() > 1:
                table["arm_facet"] = table["arm"]
            what = (f"paired difference in {metric} ({a.contrast.arm} − "
                    f"{a.contrast.baseline}) per cell")
            title = _title(a, f"{exp.name}: {label(metric, exp.labels)}, "
                           f"{_arms(table, a.contrast.arm, exp.labels)} − "
                           f"{value_label(a.contrast.arm, a.contrast.baseline, exp.labels)}"
                           " (paired, same seeds)")
        if table.empty:
            raise AnalysisError(f"no finished runs for the heatmap of {metric}")
        facet = a.facet or ("arm_facet" if "arm_facet" in table else None)
        writer.table(table, name, what)
        writer.figure(figures.heatmap_figure(table, a.x, a.y, facet, metric, exp.labels, title,
                                             contrast=a.contrast is not None), name,
                      f"heatmap of {what}")


def _arms(table: pd.DataFrame, arm: str, labels: dict[str, str]) -> str:
    return ", ".join(value_label(arm, v, labels) for v in dict.fromkeys(table["arm"]))


def _sensitivity(results: Results, a: SensitivityAnalysis, writer: _Writer, stem: str) -> None:
    exp = results.experiment
    table = sensitivity_indices(results, a.metrics, confidence=a.confidence,
                                resamples=a.resamples)
    writer.table(table, stem, f"{exp.sampler.kind} sensitivity indices with "  # type: ignore[union-attr]
                 f"{a.confidence:.0%} bootstrap intervals")
    title = _title(a, f"{exp.name}: which parameters drive the outcomes")
    writer.figure(figures.sensitivity_figure(table, exp.labels, title), stem,
                  "sensitivity indices per parameter")


def _discovery(results: Results, a: DiscoveryAnalysis, writer: _Writer, stem: str) -> None:
    exp = results.experiment
    runs = select(results.finished, a.where)
    cases = runs.groupby("config_id").agg(
        {**{p: "first" for p in exp.parameter_names}, a.metric: "mean"}).reset_index()
    found = scenario_discovery(cases, exp.varied_parameters, a.metric, quantile=a.quantile,
                               direction=a.direction, threshold=a.threshold,
                               min_density=a.min_density, max_boxes=a.max_boxes,
                               peel_alpha=a.peel_alpha)
    rule = (f"{label(a.metric, exp.labels).lower()} "
            f"{'≥' if a.direction == 'above' else '≤'} {found.threshold:.3g}"
            + ("" if a.threshold is not None else
               f" ({'top' if a.direction == 'above' else 'bottom'} "
               f"{(1 - a.quantile if a.direction == 'above' else a.quantile):.0%} of "
               "configurations)")
            + f"; {found.cases_of_interest} of {found.cases} configurations")
    writer.table(found.boxes, stem, f"PRIM boxes for {rule}: coverage, density and the "
                 "limits of each restricted parameter")
    writer.table(found.trajectories, f"{stem}-trajectory", "PRIM peeling trajectories")
    title = _title(a, f"{exp.name}: where does this outcome occur?")
    writer.figure(figures.discovery_figure(found.boxes, found.trajectories, exp.labels, title,
                                           rule), stem, "PRIM trade-off and boxes")


def _calibration(results: Results, a: CalibrationAnalysis, writer: _Writer, stem: str) -> None:
    exp = results.experiment
    trace = calibration_trace(results)
    fit = calibration_fit(results, trace)
    writer.table(trace, f"{stem}-trace", "every proposal: parameters, target-metric means, "
                 "distance and best distance so far")
    writer.table(fit, f"{stem}-fit", "targets against the best configuration's simulated "
                 "values with 95% intervals")
    title = _title(a, f"{exp.name}: calibration to target statistics")
    writer.figure(figures.calibration_figure(trace, fit, exp.labels, title), stem,
                  "calibration trace and fit of the best configuration")


_ANALYSES = {
    PairedAnalysis: _paired,
    TimeseriesAnalysis: _timeseries,
    HeatmapAnalysis: _heatmap,
    SensitivityAnalysis: _sensitivity,
    DiscoveryAnalysis: _discovery,
    CalibrationAnalysis: _calibration,
}


def _write_readme(results: Results, writer: _Writer) -> None:
    exp = results.experiment
    summary = results.summary
    finished = int((summary["status"] == "finished").sum()) if len(summary) else 0
    failed = len(summary) - finished
    lines = [f"# Report: {exp.name}", "", exp.description.strip(), "",
             f"Base scenario `{Path(exp.scenario).name}`, {exp.replications} replication(s) "
             f"per configuration with common random numbers (replication k uses the same "
             f"seed in every configuration), experiment seed {exp.seed}. "
             f"{finished} run(s) finished, {failed} failed.", "", "## Files", "",
             *writer.notes, ""]
    path = writer.dest / "README.md"
    atomic_write_text(path, "\n".join(lines))
    writer.files.append(path)
