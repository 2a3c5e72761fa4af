"""The built-in catalog: complete, consistent, and every concept renders on every platform."""

from __future__ import annotations

import pytest

from lexiquery.dialects.name_check import check_names
from lexiquery.catalog.builtin import builtin_catalog
from lexiquery.catalog.model import Platform
from lexiquery.dialects import render
from lexiquery.ir import QueryPlan, iter_conditions

CAT = builtin_catalog()
REQUIRED = {"signin_logs", "windows_security_events", "syslog", "azure_activity", "audit_logs",
            "office_activity", "dns_events", "firewall_events", "process_creation",
            "web_requests", "heartbeat", "perf_counters"}
CODE_FIELDS = {"event_id", "logon_type", "status", "result_code", "action", "severity",
               "dest_port", "operation", "query_type", "counter"}


def test_at_least_the_required_sources() -> None:
    assert len(CAT) >= 12 and REQUIRED <= set(CAT.ids())


@pytest.mark.parametrize("source_id", sorted(CAT.ids()))
def test_source_is_complete(source_id: str) -> None:
    src = CAT.get(source_id)
    assert src is not None
    assert src.description and src.synonyms and src.time_field == "time"
    assert set(src.bindings.platforms()) == set(Platform), "bound on KQL, SPL and SQL"
    for p in Platform:
        assert src.column(p, "time"), f"time not bound on {p.value}"
    for f in src.fields:
        assert f.description, f"{f.name} has no description"
        if f.name in CODE_FIELDS and f.type.value != "datetime":
            assert f.known_values or f.name in {"status", "operation"}, f.name
    for name in src.default_fields:
        assert src.field(name) is not None


@pytest.mark.parametrize("source_id", sorted(CAT.ids()))
def test_every_concept_is_valid_and_renders_everywhere(source_id: str) -> None:
    src = CAT.get(source_id)
    assert src is not None
    for concept in src.concepts:
        plan = QueryPlan(source=src.id, filters=concept.filters)
        assert check_names(plan, src) == [], concept.name
        for cond in iter_conditions(concept.filters):
            f = src.field(cond.field)
            assert f is not None
            values = cond.value if isinstance(cond.value, list) else [cond.value]
            if f.type.numeric:
                assert all(isinstance(v, (int, float)) for v in values), concept.name
        for p in src.bindings.platforms():
            if all(src.column(p, c.field) for c in iter_conditions(concept.filters)):
                assert render(plan, src, p)


def test_concept_names_unique_within_a_source() -> None:
    for src in CAT:
        names = [c.name for c in src.concepts]
        assert len(names) == len(set(names)), src.id
