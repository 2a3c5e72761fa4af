"""Golden files: each plan in `cases.CASES` rendered for KQL, SPL and every SQL dialect, compared
with the reviewed text in `golden/`. Regenerate after a deliberate change with
``LEXIQUERY_UPDATE_GOLDEN=1 pytest tests/dialects`` and review the diff before committing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlglot

from lexiquery.catalog.model import Platform
from lexiquery.dialects import SQL_DIALECTS, render
from lexiquery.errors import PlanError
from lexiquery.ir import QueryPlan

from .cases import CASES, TEST_SOURCE

GOLDEN = Path(__file__).with_name("golden")
UPDATE = os.environ.get("LEXIQUERY_UPDATE_GOLDEN") == "1"
TARGETS = ["kql", "spl", *(f"sql.{d}" for d in SQL_DIALECTS)]


def _render(plan: QueryPlan, target: str) -> str:
    if target.startswith("sql."):
        try:
            return render(plan, TEST_SOURCE, Platform.sql, sql_dialect=target[4:])
        except PlanError as e:  # a dialect that cannot express the plan: the error is golden
            return f"-- PlanError: {e.issues[0]['code']}: {e.message}"
    return render(plan, TEST_SOURCE, Platform(target))


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str) -> None:
    plan = QueryPlan.model_validate({"source": "events", **CASES[case]})
    path = GOLDEN / f"{case}.txt"
    text = "".join(f"### {t}\n{_render(plan, t)}\n\n" for t in TARGETS)
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}: run with LEXIQUERY_UPDATE_GOLDEN=1 and review"
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("dialect", SQL_DIALECTS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_sql_parses_back_in_its_dialect(case: str, dialect: str) -> None:
    plan = QueryPlan.model_validate({"source": "events", **CASES[case]})
    try:
        text = render(plan, TEST_SOURCE, Platform.sql, sql_dialect=dialect)
    except PlanError as e:
        assert e.issues[0]["code"] == "unsupported"
        return
    parsed = sqlglot.parse(text, read=dialect)
    assert len(parsed) == 1 and parsed[0] is not None


def test_rendering_is_deterministic() -> None:
    for case, body in CASES.items():
        plan = QueryPlan.model_validate({"source": "events", **body})
        for t in TARGETS:
            assert _render(plan, t) == _render(QueryPlan.model_validate_json(
                plan.model_dump_json()), t), case
