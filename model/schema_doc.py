"""Generate the scenario file reference (docs/scenario-format.md) from the pydantic schema,
so every field is documented once, beside its definition, and the docs cannot drift."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from model.scenario import Scenario


def _default(info: Any) -> str:
    if info.default_factory is not None:
        value = info.default_factory()
        if isinstance(value, dict) and value and all(isinstance(v, BaseModel) for v in value.values()):
            return "see below"
        if isinstance(value, BaseModel):
            return "see below"
        return f"`{value!r}`" if len(repr(value)) < 90 else "see `python run.py schema` defaults in model/scenario.py"
    if info.default is PydanticUndefined:
        return "**required**"
    return f"`{info.default!r}`"


def _bounds(info: Any) -> str:
    parts = []
    for meta in info.metadata:
        for key, sym in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
            if hasattr(meta, key) and getattr(meta, key) is not None:
                parts.append(f"{sym} {getattr(meta, key)}")
    return ", ".join(parts)


def _section(title: str, model: type[BaseModel], lines: list[str]) -> None:
    lines.append(f"\n## `{title}`\n")
    if model.__doc__ and not model.__doc__.startswith("!!!") and model.__module__ == "model.scenario":
        doc = model.__doc__.strip().splitlines()[0]
        if not doc.startswith("Usage docs"):
            lines.append(doc + "\n")
    lines.append("| field | type | default | allowed | meaning (source) |")
    lines.append("| --- | --- | --- | --- | --- |")
    for name, info in model.model_fields.items():
        ann = getattr(info.annotation, "__name__", None) or str(info.annotation).replace("typing.", "")
        lines.append(
            f"| `{name}` | {ann.replace('|', 'or')} | {_default(info)} | {_bounds(info)} | "
            f"{(info.description or '').replace('|', '/')} |"
        )


def scenario_reference() -> str:
    from model.regimes import REGIMES
    from model.scenario import (
        AssociationRules,
        BurdenRules,
        CadreRules,
        CountySpec,
        EvaluationRules,
        FiscalRules,
        GridRules,
        IncidentKind,
        NeighbourPoints,
        ResidentRules,
        StaffingRules,
        TownshipRules,
        TypologyRules,
    )

    lines = [
        "# Scenario file reference",
        "",
        "Generated from `model/scenario.py` by `python run.py schema --out docs/scenario-format.md`;",
        "a test checks it is current. Essay numbers refer to `../shared/seeds/` (000-004).",
    ]
    _section("top level", Scenario, lines)
    for title, model in (
        ("county", CountySpec),
        ("typology", TypologyRules),
        ("incidents.<kind>", IncidentKind),
        ("residents", ResidentRules),
        ("associations.<harmony|elderly|environment>", AssociationRules),
        ("neighbour_points", NeighbourPoints),
        ("grid", GridRules),
        ("township", TownshipRules),
        ("cadres", CadreRules),
        ("burden", BurdenRules),
        ("evaluation", EvaluationRules),
        ("fiscal", FiscalRules),
        ("staffing", StaffingRules),
    ):
        _section(title, model, lines)
    lines.append("\n## `regime`\n\n`name` picks a registered regime; the other keys are its parameters.\n")
    for name, cls in sorted(REGIMES.items()):
        _section(f"regime: name: {name}", cls.Params, lines)
    return "\n".join(lines) + "\n"
