"""Runbooks and known errors change the generated queries, with citations — and only when they
apply. Every test asks through the real journey (`lexiquery.ask`) with real stored runbooks."""

from __future__ import annotations

from pathlib import Path

import pytest

from lexiquery import ask
from lexiquery.config import get_settings
from lexiquery.ir import Condition, Operator
from lexiquery.knowledge.store import ProcedureStore

from .sops import BRUTE_FORCE, DNS, INJECTION, LOCKOUT


@pytest.fixture
def runbooks(tmp_path: Path) -> None:
    with ProcedureStore(get_settings()) as s:
        for name, text in (("sop-017.md", BRUTE_FORCE), ("rb-042.md", LOCKOUT),
                           ("dns.md", DNS), ("sop-099.md", INJECTION)):
            (tmp_path / name).write_text(text)
            s.add_file(tmp_path / name)


def _conditions(plan) -> list[Condition]:  # type: ignore[no-untyped-def]
    return [f for f in plan.filters if isinstance(f, Condition)]


def test_the_sop_definition_of_failed_replaces_the_catalogs(runbooks: None) -> None:
    a = ask("failed sign-ins per user in the last 24 hours", sample_check=False)
    cond = [c for c in _conditions(a.plan) if c.field == "result_code"]
    assert len(cond) == 1 and cond[0].op is Operator.in_
    assert sorted(map(str, cond[0].value)) == ["50053", "50126"]
    assert a.knowledge is not None and a.knowledge.mode == "bm25"
    assert any("SOP-017" in c and "50126" in c and "50053" in c for c in a.knowledge.changes)
    assert a.citations and a.citations[0].label == "SOP-017"
    assert all(c.chunk_id.startswith(c.document_id) for c in a.citations)
    assert any("SOP-017" in line for line in a.understanding)
    kql = next(q for q in a.queries if q.platform == "kql")
    assert "50126" in kql.query and "50053" in kql.query and kql.valid
    # The question gave its own window and did not ask for escalations: neither is imposed.
    assert a.plan.time_range.start.amount == 24 and not a.plan.having
    # ... and the runbook's threshold is named in a note, not listed as a change.
    assert any("not applied" in n for n in a.notes)
    assert not any("not applied" in c for c in a.knowledge.changes)


def test_no_sop_leaves_the_plan_alone(runbooks: None) -> None:
    a = ask("failed sign-ins per user in the last 24 hours", sample_check=False, sop=False)
    assert [(c.field, c.op, c.value) for c in _conditions(a.plan)] == \
        [("result_code", Operator.ne, "0")]
    assert a.citations == [] and a.knowledge is not None and a.knowledge.mode == "off"


def test_escalation_question_gets_the_sop_threshold_and_window(runbooks: None) -> None:
    a = ask("which accounts should be escalated for failed sign-ins", sample_check=False)
    agg = a.plan.aggregation
    assert agg is not None and agg.time_bucket is not None
    assert (agg.time_bucket.amount, agg.time_bucket.unit.value) == (5, "minute")
    (having,) = a.plan.having
    assert having.op is Operator.gt and having.value == 10
    assert a.plan.time_range is not None and a.plan.time_range.start.amount == 24
    used = {u for c in a.citations for u in c.used_for}
    assert "threshold" in used and "time window" in used
    assert all(q.valid for q in a.queries), [q.issues for q in a.queries]


def test_the_runbook_query_is_adapted_not_ignored(runbooks: None) -> None:
    a = ask("account lockouts per host", sample_check=False)
    assert a.plan.source == "windows_security_events"
    assert any(c.field == "event_id" and c.value == 4740 for c in _conditions(a.plan))
    assert a.plan.aggregation is not None and a.plan.aggregation.group_by == ["host"]
    assert a.plan.time_range is not None and a.plan.time_range.start.amount == 7
    # The runbook's meaning of "lockout" is used; its query's grouping by user is not (the
    # question groups by host).
    changes = " | ".join(a.knowledge.changes)
    assert "RB-042" in changes and "4740" in changes
    assert any("definition of lockout" in u for c in a.citations for u in c.used_for)


def test_an_unrelated_runbook_changes_nothing(runbooks: None) -> None:
    plain = ask("dns queries per client", sample_check=False, sop=False)
    a = ask("dns queries per client", sample_check=False)
    assert a.plan == plain.plan and a.citations == [] and a.knowledge.changes == []


def test_injected_instructions_are_inert(runbooks: None) -> None:
    a = ask("web server http 500 errors per host", sample_check=False)
    assert all("SOP-099" != c.label for c in a.citations)
    for q in a.queries:
        assert "delete" not in q.query.lower() and ".drop" not in q.query.lower()


def test_a_known_error_code_becomes_the_filter_and_is_explained() -> None:
    a = ask("sign-ins with error AADSTS50105 today", sample_check=False)
    assert any(c.field == "result_code" and str(c.value) == "50105" for c in _conditions(a.plan))
    (note,) = [n for n in a.knowledge.known_errors if n.code.endswith("50105")]
    assert note.applied and note.found_in == "question" and note.meaning
    assert not [i for i in a.issues if i.code == "ambiguous"]
    assert all(q.valid for q in a.queries)


def test_a_code_the_question_explains_itself_is_not_doubled() -> None:
    a = ask("windows event 4740 per host", sample_check=False)
    conds = [c for c in _conditions(a.plan) if c.field == "event_id"]
    assert len(conds) == 1 and conds[0].value == 4740
    assert any(n.code == "4740" and n.applied for n in a.knowledge.known_errors)


def test_the_answer_says_when_no_runbooks_are_stored() -> None:
    a = ask("failed sign-ins per user", sample_check=False)
    assert a.knowledge.mode == "bm25" and "no runbooks" in (a.knowledge.note or "")
    assert not (get_settings().sop_dir / "sop.db").exists(), "asking never creates a store"


def test_hybrid_search_serves_the_journey_when_ollama_answers(fake_ollama, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """fake_ollama stands in for a real Ollama serving nomic-embed-text (tests/ollama_server.py)."""
    (tmp_path / "sop-017.md").write_text(BRUTE_FORCE)
    with ProcedureStore(get_settings()) as s:
        assert s.add_file(tmp_path / "sop-017.md").document.embedded
    a = ask("failed sign-ins per user in the last 24 hours", sample_check=False)
    assert a.knowledge.mode == "hybrid" and a.citations[0].label == "SOP-017"
    queries = [t for b in fake_ollama.embed_requests() for t in b["input"]
               if t.startswith("search_query: ")]
    assert queries == ["search_query: failed sign-ins per user in the last 24 hours"]


def test_an_unreadable_store_costs_the_runbooks_not_the_answer(data_dir: Path) -> None:
    (data_dir / "sop").mkdir(parents=True)
    (data_dir / "sop" / "sop.db").write_bytes(b"this is not a database" * 100)
    a = ask("failed sign-ins per user", sample_check=False)
    assert a.queries and a.knowledge.mode == "bm25"
    assert "could not be" in (a.knowledge.note or "")


def test_a_named_code_narrows_a_broad_concept_on_its_field() -> None:
    """"failing" reads as the concept result_code != 0; the code the question names is the
    narrower truth and replaces it (both together would only be redundant)."""
    a = ask("sign-ins failing with AADSTS50076 today", sample_check=False)
    conds = [c for c in _conditions(a.plan) if c.field == "result_code"]
    assert [(c.op, c.value) for c in conds] == [(Operator.eq, "50076")]
    assert not any("could not tell which field" in n for n in a.notes)
    assert any("replaces the broader condition" in c for c in a.knowledge.changes)


def test_two_codes_on_one_field_become_one_in_filter() -> None:
    a = ask("sign-ins with AADSTS50126 or AADSTS50053 in the last hour", sample_check=False)
    conds = [c for c in _conditions(a.plan) if c.field == "result_code"]
    assert len(conds) == 1, conds
    assert conds[0].op in (Operator.in_, Operator.eq)
    assert all(n.applied for n in a.knowledge.known_errors if n.code.startswith("AADSTS"))


def test_context_is_searched_with_the_question() -> None:
    plain = ask("sign-ins per user today", sample_check=False)
    a = ask("sign-ins per user today", sample_check=False, context="the user saw AADSTS50053")
    assert plain.knowledge.known_errors == []
    assert any(n.code == "AADSTS50053" and n.applied for n in a.knowledge.known_errors)
    assert a.question == "sign-ins per user today"


def test_an_adapted_example_keeps_the_questions_order_and_threshold(runbooks: None) -> None:
    """SOP-017's query counts per user; "top 5" must still sort by that count before the limit,
    and "more than 3" must become the threshold (named as the example names its count)."""
    a = ask("top 5 users with failed sign-ins in the last day", sample_check=False)
    assert a.plan.limit == 5 and a.plan.sort and a.plan.sort[0].descending
    assert a.plan.sort[0].field in a.plan.aggregation.output_names()
    b = ask("users with more than 3 failed sign-ins in the last day", sample_check=False)
    (having,) = b.plan.having
    assert having.value == 3 and having.field in b.plan.aggregation.output_names()
    assert all(q.valid for q in a.queries + b.queries)
