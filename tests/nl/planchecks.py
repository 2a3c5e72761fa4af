"""Shared by the NL tests: the catalog and clock the golden questions run against, a check that a
plan only names what its source has, and a compact view of a plan for comparing with expected
partial plans."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


from lexiquery.catalog.builtin import builtin_catalog
from lexiquery.catalog.model import Catalog
from lexiquery.ir import QueryPlan, iter_conditions

NOW = datetime(2024, 6, 12, 15, 30, tzinfo=timezone.utc)  # a Wednesday


def golden_catalog() -> Catalog:
    """The built-in catalog the golden questions are written against."""
    return builtin_catalog()


# Parts of a plan every table row is compared on; a row that omits one expects it empty.
ALWAYS = ("source", "time_range", "filters", "aggregation", "having", "sort", "limit")
EMPTY: dict[str, Any] = {"time_range": None, "filters": [], "aggregation": None, "having": [],
                         "sort": [], "limit": None}


def assert_names_exist(plan: QueryPlan, catalog: Catalog) -> None:
    """Never invent a table or field: every name in the plan is the source's."""
    src = catalog.get(plan.source)
    assert src is not None, f"unknown source {plan.source!r}"
    fields = {f.name for f in src.fields}
    for c in iter_conditions(plan.filters):
        assert c.field in fields, c.field
    outputs = set(fields)
    if plan.aggregation is not None:
        for g in plan.aggregation.group_by:
            assert g in fields, g
        for m in plan.aggregation.metrics:
            assert m.field is None or m.field in fields, m.field
        outputs = set(plan.aggregation.output_names())
        if plan.aggregation.time_bucket is not None and src.time_field:
            outputs.add(src.time_field)
    for c in iter_conditions(plan.having):
        assert c.field in outputs, c.field
    for p in plan.project:
        assert p in fields, p
    for s in plan.sort:
        assert s.field in outputs, s.field


def view(plan: QueryPlan) -> dict[str, Any]:
    """The plan as compact JSON (defaults left out), plus issue codes."""
    d = plan.model_dump(mode="json", exclude_defaults=True)
    out = {k: d.get(k, EMPTY.get(k)) for k in ALWAYS}
    out["project"] = d.get("project", [])
    out["issues"] = sorted(i.code for i in plan.issues)
    out["unsupported"] = [i.message for i in plan.issues if i.code == "unsupported"]
    return out


def compare(plan: QueryPlan, expected: dict[str, Any], catalog: Catalog) -> list[str]:
    """Differences between `plan` and an expected partial plan, as readable lines."""
    got = view(plan)
    diffs: list[str] = []
    for key in ALWAYS:
        want = expected.get(key, EMPTY.get(key))
        if got[key] != want:
            diffs.append(f"{key}: got {got[key]!r}, expected {want!r}")
    if "project" in expected:
        want = expected["project"]
        if want == "default":
            src = catalog.get(plan.source)
            want = list(src.default_fields) if src else []
        if got["project"] != want:
            diffs.append(f"project: got {got['project']!r}, expected {want!r}")
    codes = expected.get("issues", ["unsupported"] * len(expected.get("unsupported", [])))
    if sorted(codes) != got["issues"]:
        diffs.append(f"issues: got {got['issues']!r}, expected {codes!r}")
    for what in expected.get("unsupported", []):
        if not any(what in m for m in got["unsupported"]):
            diffs.append(f"unsupported: no issue mentions {what!r} in {got['unsupported']!r}")
    return diffs
