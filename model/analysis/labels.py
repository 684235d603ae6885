"""Reader-facing names for metrics, parameters and values, used on every figure.

A figure is read by people who have not seen the code: axes say "Petitions in official
reports (count)", not ``petitions_reported``. An experiment file's ``labels:`` table overrides
these (keys are metric or parameter names, or ``parameter=value`` for a value). Labels are in
English only: matplotlib's default fonts have no Chinese glyphs (one-vote veto is 一票否决,
funds follow tasks 费随事转).
"""

from __future__ import annotations

from typing import Any

METRIC_LABELS = {
    "incidents_total": "Incidents arising (count)",
    "incidents_resolved": "Incidents resolved (count)",
    "resolution_rate": "Share of incidents resolved",
    "mean_days_to_resolve": "Mean days to resolve an incident",
    "backlog_end": "Open incidents at the end (backlog)",
    "backlog": "Open incidents (backlog)",
    "disposal_rate": "Disposal rate (reported, Beicai)",
    "timeliness_rate": "Timeliness rate (reported, Beicai)",
    "closure_rate": "Closure rate (reported, Beicai)",
    "satisfaction_rate": "Satisfaction rate (Beicai)",
    "petitions_true": "Petitions actually made (count)",
    "petitions_reported": "Petitions in official reports (count)",
    "skip_level_petitions_true": "Skip-level petitions actually made (count)",
    "skip_level_petitions_reported": "Skip-level petitions reported (count)",
    "interceptions": "Petitioners intercepted (count)",
    "interception_spending": "Spending on interception (yuan)",
    "concealed_incidents": "Incidents concealed from reports (count)",
    "concealment_detected": "Concealments uncovered by audits (count)",
    "deferred_promises": "Cases deferred with a promise (count)",
    "spending_total": "Total spending (yuan)",
    "debt_end": "Debt of villages and townships at the end (yuan)",
    "staff_on_post_mean": "Staff on post (mean)",
    "cadre_turnover": "Cadre turnover (quits per year)",
    "trust_mean_end": "Residents' mean trust in government at the end (0-1)",
    "trust_mean": "Residents' mean trust in government (0-1)",
    "grievance_mean_end": "Residents' mean grievance at the end",
    "grievance_mean": "Residents' mean grievance",
    "hidden_grievance": "Hidden grievance (mean grievance of residents with unresolved "
                        "or concealed issues)",
    "interceptions_daily": "Petitioners intercepted per day",
    "calibration_distance": "Distance to the target statistics (lower is better)",
}

PARAMETER_LABELS = {
    "regime.name": "Assessment regime",
    "staffing.fill_rate": "Township staffing: share of quota filled",
    "staffing.unable_share": "Share of staff unable to work",
    "staffing.quit_hazard": "Cadres' base annual quit probability",
    "staffing.recruitment_lag_days": "Days to fill a vacancy",
    "fiscal.transfer_per_resident": "County transfer per resident (yuan/year)",
    "fiscal.funds_follow_tasks": "Funds follow tasks",
    "fiscal.matching_share": "Matching-fund share demanded",
    "fiscal.borrowing": "Units may borrow",
    "cadres.rationality": "Cadres' responsiveness to the score (softmax intensity)",
    "cadres.learning_rate": "Cadres' learning from last evaluation",
    "cadres.forecast_noise": "Cadres' uncertainty about indicators",
    "residents.petition_threshold": "Grievance threshold for petitioning",
    "residents.petition_prob": "Daily petition probability above the threshold",
    "residents.trust_loss_intercepted": "Trust lost when intercepted",
    "residents.skip_level_trust": "Trust below which petitions skip levels",
    "neighbour_points.success": "Neighbour-point mediation success probability",
    "associations.harmony.success": "Harmony association mediation success probability",
    "regime.audit_rate": "Annual probability of a data audit",
    "burden.paperwork_hours_per_staff": "Paperwork hours demanded per staff per day",
}

VALUE_LABELS = {
    ("regime.name", "veto"): "One-vote veto",
    ("regime.name", "comprehensive"): "Comprehensive assessment",
    ("regime.name", "consultative"): "Consultative assessment",
}


def label(name: str, overrides: dict[str, str] | None = None) -> str:
    """The reader-facing name of a metric or parameter."""
    if overrides and name in overrides:
        return overrides[name]
    if name in METRIC_LABELS:
        return METRIC_LABELS[name]
    if name in PARAMETER_LABELS:
        return PARAMETER_LABELS[name]
    if name.startswith("cadre_hours_share."):
        return f"Share of cadre hours on {name.split('.', 1)[1]}"
    return name.replace("_", " ").replace(".", ": ").capitalize()


def value_label(parameter: str, value: Any, overrides: dict[str, str] | None = None) -> str:
    """The reader-facing name of a parameter's value (``veto`` → ``One-vote veto``)."""
    key = f"{parameter}={value}"
    if overrides and key in overrides:
        return overrides[key]
    if (parameter, value) in VALUE_LABELS:
        return VALUE_LABELS[(parameter, value)]
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
