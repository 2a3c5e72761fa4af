"""What the question states outright wins over the runbooks; the disagreement is a note with its
citation (issue 15). Runbook: SOP-017 from the faithfulness set (tests/faithful/runbooks)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lexiquery import ask
from lexiquery.config import get_settings
from lexiquery.ir import Condition, iter_conditions
from lexiquery.knowledge.store import ProcedureStore

SOP_017 = Path(__file__).resolve().parents[1] / "faithful" / "runbooks" / \
    "sop-017-entra-brute-force.md"


@pytest.fixture()
def sop_017(tmp_path: Path) -> None:
    with ProcedureStore(get_settings()) as s:
        s.add_file(SOP_017)


def _conds(plan) -> list[Condition]:  # type: ignore[no-untyped-def]
    return list(iter_conditions(plan.filters))


def test_a_source_the_question_names_is_kept_and_the_runbook_is_noted(sop_017: None) -> None:
    a = ask("accounts with more than 20 failed logons (4625) in the last hour",
            platforms=["kql"], sample_check=False, store=False)
    assert a.plan.source == "windows_security_events"
    assert any(c.field == "event_id" and c.value == 4625 for c in _conds(a.plan))
    notes = " ".join(a.notes)
    assert "SOP-017" in notes and "so it was kept" in notes


def test_a_measure_the_question_asks_for_is_kept(sop_017: None) -> None:
    a = ask("users who signed in from more than 3 distinct countries in the last 7 days",
            platforms=["kql"], sample_check=False, store=False)
    metrics = a.plan.aggregation.metrics  # type: ignore[union-attr]
    assert [(m.fn.value, m.field) for m in metrics] == [("count_distinct", "location")]
    assert not any(c.field == "result_code" for c in _conds(a.plan))
    # The runbook's query counts failures; its filter is named, not imposed.
    assert any("SOP-017" in n and "not applied" in n for n in a.notes)


def test_a_conflict_with_a_runbook_lowers_the_confidence(sop_017: None) -> None:
    """The question's words win, but a runbook that reads them otherwise is a reason to look
    twice: the same plan is shown less certain than without the runbook."""
    q = "count of failed sign-ins with result code 50057 per user in the last day"
    a = ask(q, platforms=["kql"], sample_check=False, store=False)
    b = ask(q, platforms=["kql"], sample_check=False, store=False, sop=False)
    assert any(c.field == "result_code" and str(c.value) == "50057" for c in _conds(a.plan))
    assert any("SOP-017" in n and "so it was kept" in n for n in a.notes)
    assert a.queries[0].confidence < b.queries[0].confidence


SOP_021 = SOP_017.parent / "sop-021-windows-logon-failures.md"


@pytest.fixture()
def sop_021(tmp_path: Path) -> None:
    with ProcedureStore(get_settings()) as s:
        s.add_file(SOP_021)


@pytest.mark.parametrize("question, value", [
    ("accounts with too many failed logons (4625) in the last 10 minutes", 15),
    ("source ips with an unusual number of failed logons (4625) in the last hour", 30),
])
def test_a_vague_amount_takes_the_runbook_threshold_for_that_entity(
        sop_021: None, question: str, value: int) -> None:
    """SOP-021's table has one threshold per account and another per source IP: the one for
    the entity the question counts per is used, with its citation."""
    a = ask(question, platforms=["kql"], sample_check=False, store=False)
    (having,) = a.plan.having
    assert having.op.value == "gt" and having.value == value
    assert any("SOP-021" in c and "kept only groups" in c for c in a.knowledge.changes)
    assert not any("gives no number" in n for n in a.notes)  # the runbook gave one


def test_without_a_vague_amount_the_threshold_is_only_mentioned(sop_021: None) -> None:
    a = ask("failed logons (4625) per source ip in the last hour", platforms=["kql"],
            sample_check=False, store=False)
    assert not a.plan.having
    assert any("SOP-021" in n and "not applied" in n for n in a.notes)
    # nor does the runbook's svc_ exclusion or its 48-hour look-back reach the plan
    assert "svc_" not in a.queries[0].query and a.plan.time_range.start.amount == 1


def test_a_term_the_runbook_defines_on_its_own_source_chooses_it(sop_021: None) -> None:
    """"unknown-user logons" reads as Entra sign-ins on words alone; SOP-021 defines the term as
    4625 events with sub status 0xC0000064, so the question is read there, and says why."""
    a = ask("unknown-user logons per source ip in the last 24 hours", platforms=["spl"],
            sample_check=False, store=False)
    assert a.plan.source == "windows_security_events"
    assert {(c.field, str(c.value).lower()) for c in _conds(a.plan)} >= {
        ("event_id", "4625"), ("sub_status", "0xc0000064")}
    assert any("SOP-021" in c and "Windows security events" in c for c in a.knowledge.changes)
    assert any(n.startswith("source chosen:") and "SOP-021" in n for n in a.notes)


@pytest.mark.parametrize("question, stated", [
    ("count of failed sign-ins with result code 50057 per user in the last day", {"result_code"}),
    ("failed sign-ins per app in the last 3 days", set()),  # "failed" is a concept: open
    ("sign-ins excluding result code 50074 in the last day", {"result_code"}),
])
def test_what_the_question_decides_is_known_with_or_without_the_reading_record(
        question: str, stated: set[str]) -> None:
    """The rules engine records the fields its words decide; for a plan written by the LLM the
    question is read again without the catalog's concepts — both agree."""
    from lexiquery.catalog.store import load_catalog
    from lexiquery.knowledge.precedence import fields_of, stated_fields
    from lexiquery.nl.rules import parse_question

    catalog = load_catalog(None, reference=False)
    parsed = parse_question(question, catalog)
    assert parsed.stated_fields is not None
    assert set(parsed.stated_fields) & fields_of(parsed.plan.filters) == stated
    assert stated_fields(question, catalog, parsed.plan) == stated
