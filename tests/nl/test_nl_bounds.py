"""Questions that ask for more than the platforms hold: time spans beyond 100 years and row
counts beyond a million are clamped with a note (and the answer's queries still run); a zero or
negative row count is a `QuestionError` that says so, never a silent top 10."""

from __future__ import annotations

import pytest
from planchecks import NOW, golden_catalog

import lexiquery
from lexiquery.errors import QuestionError
from lexiquery.ir import QueryPlan, RelativeTime, TimeUnit
from lexiquery.limits import MAX_LOOKBACK_DAYS, MAX_ROWS
from lexiquery.nl.preds import BAD_ROW_COUNT
from lexiquery.nl.rules import parse_question

CATALOG = golden_catalog()


def ask(question: str) -> tuple[QueryPlan, list[str]]:
    parsed = parse_question(question, CATALOG, now=NOW)
    return parsed.plan, parsed.notes


def start(plan: QueryPlan) -> object:
    assert plan.time_range is not None
    return plan.time_range.start


@pytest.mark.parametrize("question, amount, unit", [
    ("failed sign-ins in the last 99999999999 years", MAX_LOOKBACK_DAYS, TimeUnit.day),
    ("failed sign-ins in the past 99999999999999999999 days", MAX_LOOKBACK_DAYS, TimeUnit.day),
    ("sign-ins since 99999999999 weeks ago", MAX_LOOKBACK_DAYS // 7, TimeUnit.week),
    ("failed sign-ins last 9999999999h", MAX_LOOKBACK_DAYS * 24, TimeUnit.hour),
])
def test_time_ranges_are_clamped_with_a_note(question: str, amount: int, unit: TimeUnit) -> None:
    plan, notes = ask(question)
    assert start(plan) == RelativeTime(amount=amount, unit=unit)
    said = [n for n in notes if "clamped" in n]
    assert len(said) == 1 and "100 years" in said[0] and "9999999999" in said[0]
    assert not [i for i in plan.issues if i.code == "clamped"]  # said once, as a note


def test_a_span_within_bounds_is_untouched() -> None:
    plan, notes = ask("failed sign-ins in the last 50 years")
    assert start(plan) == RelativeTime(amount=50 * 365, unit=TimeUnit.day)
    assert not [n for n in notes if "clamped" in n]


def test_time_buckets_are_clamped_with_a_note() -> None:
    plan, notes = ask("failed sign-ins per 99999999999 weeks")
    bucket = plan.aggregation.time_bucket if plan.aggregation else None
    assert bucket is not None and (bucket.amount, bucket.unit) == (MAX_LOOKBACK_DAYS // 7, TimeUnit.week)
    assert any("clamped" in n for n in notes)


@pytest.mark.parametrize("question", [
    "top 99999999999999999999999 users by failed sign-ins",
    "failed sign-ins limit 99999999999999999999999",
    "show the last 99999999999999999 sign-ins",
])
def test_row_counts_are_clamped_with_a_note(question: str) -> None:
    plan, notes = ask(question)
    assert plan.limit == MAX_ROWS
    assert any("clamped to 1,000,000 rows" in n for n in notes), notes


@pytest.mark.parametrize("question, says", [
    ("top -5 users by failed sign-ins", '"top -5" asks for a negative number of rows'),
    ("top 0 users by failed sign-ins", '"top 0" asks for no rows'),
    ("failed sign-ins limit -3", '"limit -3" asks for a negative number of rows'),
    ("show the last 0 sign-ins", '"last 0" asks for no rows'),
])
def test_zero_or_negative_row_counts_are_question_errors(question: str, says: str) -> None:
    with pytest.raises(QuestionError) as e:
        ask(question)
    assert e.value.message == says and e.value.hint and "1 row or more" in e.value.hint
    assert e.value.closest_sources == ["signin_logs"]  # the source the question was about
    assert [i["code"] for i in e.value.issues] == [BAD_ROW_COUNT]


def test_runbooks_cannot_rescue_a_negative_row_count() -> None:
    """The planner lets runbooks name a source the question lacks; this is not that."""
    with pytest.raises(QuestionError, match="negative number of rows"):
        lexiquery.ask("top -5 users by failed sign-ins", store=False)


def test_a_number_before_top_that_is_a_value_is_left_alone() -> None:
    plan, _ = ask("sign-ins with result code 0 top users")
    assert plan.limit == 10


def test_the_answer_to_a_huge_span_runs_on_every_platform() -> None:
    """The reproduction: every query was invalid (a DuckDB INT32 conversion error)."""
    answer = lexiquery.ask("failed sign-ins in the last 99999999999 years", store=False)
    assert answer.queries and all(q.valid for q in answer.queries), [
        (q.platform, [i.message for i in q.issues]) for q in answer.queries]
    assert any("clamped" in n for n in answer.notes)


def test_the_answer_to_a_huge_top_n_round_trips() -> None:
    """The reproduction: a 23-digit top N broke the SQL round trip."""
    answer = lexiquery.ask("top 99999999999999999999999 users by failed sign-ins", store=False)
    assert answer.queries and all(q.valid for q in answer.queries)
    assert all(str(MAX_ROWS) in q.query for q in answer.queries)


@pytest.mark.parametrize("clamped, plain", [
    ("failed sign-ins in the last 99999999999 years", "failed sign-ins in the last 50 years"),
    ("top 99999999999 users by failed sign-ins", "top 10 users by failed sign-ins"),
])
def test_a_clamped_question_is_answered_less_confidently(clamped: str, plain: str) -> None:
    """The query does not do exactly what the question said: it must not look as certain."""
    low = parse_question(clamped, CATALOG, now=NOW).confidence
    high = parse_question(plain, CATALOG, now=NOW).confidence
    assert low <= high - 0.15, (low, high)
