"""Schema narrowing and the schema graph: which sources and fields a prompt carries."""

from __future__ import annotations

import json

from questions import QUESTIONS

from lexiquery.catalog.builtin import builtin_catalog
from lexiquery.catalog.graph import entity_fields, join_hints, schema_graph
from lexiquery.catalog.model import Catalog
from lexiquery.errors import QuestionError
from lexiquery.ir import QueryPlan
from lexiquery.nl.examples import compact, plan_text
from lexiquery.nl.narrow import full_text, narrow
from lexiquery.nl.rules import parse_question


def test_graph_links_fields_to_sources_and_entities() -> None:
    catalog = builtin_catalog()
    g = schema_graph(catalog)
    assert schema_graph(catalog) is g  # built once per catalog
    assert g.edges[("source", "signin_logs"), ("field", "signin_logs", "user")]["kind"] == "has"
    e = g.edges[("field", "signin_logs", "src_ip"), ("field", "firewall_events", "src_ip")]
    assert e == {"kind": "entity", "entity": "ip"}
    assert not g.has_edge(("field", "signin_logs", "user"), ("field", "signin_logs", "user_id"))
    assert "src_ip" in entity_fields(g, "signin_logs") and "time" not in entity_fields(g, "signin_logs")
    hints = join_hints(g, "signin_logs", ["windows_security_events"])
    assert ("src_ip", "windows_security_events", "src_ip", "ip") in hints
    # A new catalog object is a new graph.
    other = Catalog([catalog.get("dns_events")])  # type: ignore[list-item]
    assert schema_graph(other) is not g and len(schema_graph(other)) == 1 + len(
        catalog.get("dns_events").fields)  # type: ignore[union-attr]


def test_narrowing_keeps_the_question_source_and_its_touched_fields() -> None:
    catalog = builtin_catalog()
    n = narrow("top 10 users with failed sign-ins from 10.0.0.1 in the last 24 hours",
               catalog, max_sources=3)
    assert n.sources[0] == "signin_logs" and len(n.sources) <= 3
    assert {"user", "result_code"} <= set(n.touched["signin_logs"])
    kept = n.fields["signin_logs"]
    assert {"time", "user", "src_ip", "result_code"} <= set(kept)
    assert "correlation_id" not in kept  # neither touched nor a key field
    assert "source signin_logs:" in n.text
    assert "failed sign-in: " in n.text and '"result_code"' in n.text  # concepts, as filters
    assert "more fields not needed" in n.text
    for other in set(catalog.ids()) - set(n.sources):
        assert f"source {other}:" not in n.text


def test_max_sources_and_hint() -> None:
    catalog = builtin_catalog()
    q = "failed logons by user"
    assert len(narrow(q, catalog, max_sources=1).sources) == 1
    n = narrow(q, catalog, max_sources=2, hint="heartbeat")
    assert n.sources[0] == "heartbeat" and len(n.sources) <= 2


def test_nothing_specific_still_gives_one_source() -> None:
    n = narrow("hello there", builtin_catalog(), max_sources=3)
    assert len(n.sources) == 1 and n.text


def test_narrowed_text_is_much_smaller_than_the_full_catalog() -> None:
    catalog = builtin_catalog()
    full = full_text(catalog)
    for sid in catalog.ids():
        assert f"source {sid}:" in full
    sizes = [len(narrow(q, catalog, max_sources=3).text) for q, _ in QUESTIONS[:40]]
    assert max(sizes) < len(full) / 2
    assert narrow("dns nxdomain", catalog).text == narrow("dns nxdomain", catalog).text


def test_compact_plans_read_back_the_same() -> None:
    """The prompt's plans (examples, concepts) keep every `kind`: an and/or filter read back
    from compact JSON is the same filter, for every golden question's rules plan."""
    catalog = builtin_catalog()
    n = 0
    for q, _ in QUESTIONS:
        try:
            plan = parse_question(q, catalog).plan.model_copy(update={"issues": []})
        except QuestionError:
            continue
        assert QueryPlan.model_validate_json(plan_text(plan)) == plan, q
        n += 1
    assert n > 100
    rdp = catalog.get("windows_security_events").concept("rdp logon")  # type: ignore[union-attr]
    assert rdp is not None
    data = [compact(f) for f in rdp.filters]
    assert json.loads(json.dumps(data)) == data
