"""Golden files: each plan in `cases.CASES` rendered for KQL, SPL and every SQL dialect, compared
with the reviewed text in `golden/<case>.txt` (the plan as JSON first, then one section per
target). Regenerate after a deliberate change with ``LEXIQUERY_UPDATE_GOLDEN=1 pytest
tests/dialects`` and review the diff by eye before committing: a golden is what an expert would
accept, not merely what the code printed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import sqlglot

from lexiquery.agents.validator import is_valid, validate_query
from lexiquery.catalog.model import Platform
from lexiquery.dialects import SQL_DIALECTS, render
from lexiquery.dialects.guard import check_read_only
from lexiquery.dialects.sql.render import build_select
from lexiquery.errors import PlanError
from lexiquery.ir import Condition, MetricFn, Operator, QueryPlan, iter_conditions

from .cases import CASES, SOURCES, plan_body

GOLDEN = Path(__file__).with_name("golden")
UPDATE = os.environ.get("LEXIQUERY_UPDATE_GOLDEN") == "1"
TARGETS = ["kql", "spl", *(f"sql.{d}" for d in SQL_DIALECTS)]


def _plan(case: str) -> QueryPlan:
    return QueryPlan.model_validate(plan_body(case))


def _render(case: str, target: str) -> str:
    plan = _plan(case)
    source = SOURCES[plan.source]
    if target.startswith("sql."):
        try:
            return render(plan, source, Platform.sql, sql_dialect=target[4:])
        except PlanError as e:  # a dialect that cannot express the plan: the error is golden
            return f"-- PlanError {e.issues[0]['code']}: {e.message}"
    return render(plan, source, Platform(target))


def golden_text(case: str) -> str:
    sections = [f"### plan\n{json.dumps(plan_body(case), indent=2, ensure_ascii=False)}\n"]
    sections += [f"### {t}\n{_render(case, t)}\n" for t in TARGETS]
    return "\n".join(sections)


@pytest.mark.parametrize("case", list(CASES))
def test_golden(case: str) -> None:
    path = GOLDEN / f"{case}.txt"
    text = golden_text(case)
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden {path.name}: run with LEXIQUERY_UPDATE_GOLDEN=1 and review"
    assert text == path.read_text(encoding="utf-8")


def test_every_golden_file_has_a_case() -> None:
    orphans = sorted(p.stem for p in GOLDEN.glob("*.txt") if p.stem not in CASES)
    assert not orphans, f"golden files without a case (delete them): {orphans}"


def test_the_cases_cover_the_ir() -> None:
    plans = [_plan(c) for c in CASES]
    conditions: list[Condition] = [
        cond for p in plans for cond in iter_conditions(p.filters) + iter_conditions(p.having)]
    assert {cond.op for cond in conditions} == set(Operator)
    assert {m.fn for p in plans if p.aggregation for m in p.aggregation.metrics} == set(MetricFn)
    assert len(CASES) >= 25


@pytest.mark.parametrize("dialect", SQL_DIALECTS)
@pytest.mark.parametrize("case", list(CASES))
def test_sql_parses_back_in_its_dialect(case: str, dialect: str) -> None:
    plan = _plan(case)
    try:
        text = render(plan, SOURCES[plan.source], Platform.sql, sql_dialect=dialect)
    except PlanError as e:
        assert e.issues[0]["code"] == "unsupported"
        return
    parsed = sqlglot.parse(text, read=dialect)
    assert len(parsed) == 1 and isinstance(parsed[0], sqlglot.exp.Select)
    assert check_read_only("sql", text, sql_dialect=dialect) == []


@pytest.mark.parametrize("case", list(CASES))
def test_kql_and_spl_pass_the_validator(case: str) -> None:
    plan = _plan(case)
    source = SOURCES[plan.source]
    for platform in (Platform.kql, Platform.spl):
        issues = validate_query(plan, source, platform, render(plan, source, platform))
        assert is_valid(issues), (platform, issues)


@pytest.mark.parametrize("case", list(CASES))
def test_neutral_tree_transpiles_everywhere(case: str) -> None:
    """`build_select` without a dialect holds generic nodes sqlglot can write for any target."""
    plan = _plan(case)
    tree = build_select(plan, SOURCES[plan.source])
    assert isinstance(tree, sqlglot.exp.Select)
    for dialect in SQL_DIALECTS:
        assert tree.sql(dialect=dialect)


def test_rendering_is_deterministic() -> None:
    for case in CASES:
        plan = _plan(case)
        again = QueryPlan.model_validate_json(plan.model_dump_json())
        source = SOURCES[plan.source]
        for p in (Platform.kql, Platform.spl):
            assert render(plan, source, p) == render(again, source, p), case
        for d in SQL_DIALECTS:
            try:
                first = render(plan, source, Platform.sql, sql_dialect=d)
            except PlanError:
                continue
            assert first == render(again, source, Platform.sql, sql_dialect=d), (case, d)
