"""Every golden plan (tests/dialects/cases.py) on sample data: the SQL the renderer writes for
six dialects, transpiled and executed, gives execute_plan's rows — except where the platforms
really differ, listed below with the reason (each such pair must still differ, so the list
stays true)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from lexiquery.catalog.builtin import builtin_catalog
from lexiquery.catalog.model import Platform
from lexiquery.dialects import render
from lexiquery.engine.results import compare_results
from lexiquery.engine.sandbox import Sandbox
from lexiquery.errors import PlanError
from lexiquery.ir import QueryPlan

from .conftest import NOW

sys.path.insert(0, str(Path(__file__).parents[1]))
from dialects.cases import CASES, SOURCES, plan_body  # noqa: E402

DIALECTS = ["postgres", "tsql", "snowflake", "bigquery", "mysql", "sqlite"]
pytestmark = pytest.mark.slow  # 73 plans x 6 dialects: tens of seconds on a busy machine
NULLS_FIRST_DESC = ("a descending sort on a stored column keeps the dialect's NULL placement "
                    "(first in PostgreSQL and Snowflake, last in DuckDB) — see dialects/sql.py")
APPROX = "BigQuery's APPROX_QUANTILES is approximate (DuckDB runs it as approx_quantile)"
KNOWN = {("multi_key_sort", "postgres"): NULLS_FIRST_DESC,
         ("multi_key_sort_limit", "postgres"): NULLS_FIRST_DESC,
         ("multi_key_sort", "snowflake"): NULLS_FIRST_DESC,
         ("multi_key_sort_limit", "snowflake"): NULLS_FIRST_DESC,
         ("percentile", "bigquery"): APPROX, ("percentile_decimal", "bigquery"): APPROX}


@pytest.fixture(scope="module")
def sb() -> Sandbox:
    catalog = builtin_catalog()
    catalog.add(SOURCES["events"])
    with Sandbox(catalog, now=NOW, rows_per_source=300) as sandbox:
        yield sandbox


@pytest.mark.parametrize("name", list(CASES))
def test_golden_sql_runs_as_the_plan(sb: Sandbox, name: str) -> None:
    body = plan_body(name)
    plan, source = QueryPlan.model_validate(body), SOURCES[body["source"]]
    expected = sb.execute_plan(plan, source)
    wrong: list[str] = []
    for dialect in DIALECTS:
        try:
            sql = render(plan, source, Platform.sql, sql_dialect=dialect)
        except PlanError:
            continue  # the dialect cannot express the plan, and the renderer says so
        got = sb.execute_sql(sql, dialect, source)
        cmp = compare_results({"plan": expected, dialect: got})
        if (name, dialect) in KNOWN:
            if cmp.identical:
                wrong.append(f"{dialect}: no longer differs: {KNOWN[name, dialect]}")
        elif not cmp.identical:
            wrong.append(f"{dialect}: " + "; ".join(cmp.differences[:3]) + "\n" + got.query)
    assert not wrong, "\n".join(wrong)
