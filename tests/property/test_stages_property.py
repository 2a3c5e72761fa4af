"""Staged plans (IR version 2), as properties: render → parse is unchanged on KQL, SPL and SQL,
and the three renderings return the same rows in the sandbox.

The plans come from `stage_strategies.staged_plans`: a random first part, then steps, top per
group, windows, expansions and joins over what the stages before them output. The round trip
compares canonical forms (`dialects.roundtrip.canonical`, stages included); execution compares
the plan's own result (the reference) with the KQL and SPL texts parsed back and executed, and
the SQL text executed as written — as `test_execution_property` does for one-stage plans, with
the same documented differences left out (PostgreSQL's NULLs first in a descending sort on a
stored column; rows tied on a hidden sort key compared unordered).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from lexiquery.catalog.model import Platform
from lexiquery.dialects import parse, render
from lexiquery.dialects.roundtrip import plan_diff, same_plan
from lexiquery.ir import QueryPlan, Step

from .stage_strategies import staged_plans
from .strategies import CATALOG, PHASES, plan_json, source_of
from .test_execution_property import POOL, ROWS, run_all

sandbox = pytest.importorskip("lexiquery.engine.sandbox")
results = pytest.importorskip("lexiquery.engine.results")

pytestmark = pytest.mark.slow

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)
EXAMPLES = 60
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, phases=PHASES,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


def check_round_trip(plan: QueryPlan, platform: Platform) -> None:
    source = source_of(plan)
    text = render(plan, source, platform, catalog=CATALOG)
    context = f"\n--- plan\n{plan_json(plan)}\n--- {platform.value}\n{text}"
    parsed = parse(text, platform, CATALOG)
    assert parsed.source.id == plan.source, f"read back as {parsed.source.id}{context}"
    assert not parsed.unsupported, \
        f"unsupported issues: {[i.message for i in parsed.unsupported]}{context}"
    assert same_plan(parsed.plan, plan, source, platform), \
        "plan differs after the round trip:\n  " + \
        "\n  ".join(plan_diff(plan, parsed.plan, source, platform)) + context


@SETTINGS
@given(staged_plans())
def test_kql_round_trip_of_staged_plans(plan: QueryPlan) -> None:
    check_round_trip(plan, Platform.kql)


@SETTINGS
@given(staged_plans())
def test_spl_round_trip_of_staged_plans(plan: QueryPlan) -> None:
    check_round_trip(plan, Platform.spl)


@SETTINGS
@given(staged_plans())
def test_sql_round_trip_of_staged_plans(plan: QueryPlan) -> None:
    check_round_trip(plan, Platform.sql)


@pytest.fixture(scope="module")
def box() -> Any:
    return sandbox.Sandbox(CATALOG, rows_per_source=ROWS, seed=0, now=NOW)


def _last_sort(plan: QueryPlan) -> list[Any]:
    """The sort keys that order the final rows (the last stage that sorts, if nothing after it
    changes the rows' order), and whether some of them are on stored columns."""
    for stage in reversed(plan.stages):
        if isinstance(stage, Step) and stage.sort:
            return list(stage.sort)
        if not (isinstance(stage, Step) and not stage.aggregation):
            return []
    return list(plan.sort)


def check_same_rows(box: Any, plan: QueryPlan) -> None:
    sets, context = run_all(box, plan)
    if any(s.descending for s in _last_sort(plan)):
        del sets["sql"]  # PostgreSQL sorts NULLs first when descending (documented)
    ir = sets["ir"]
    if ir.ordered and ir.sort_columns is None:
        sets = {k: dataclasses.replace(r, ordered=False) for k, r in sets.items()}
        last = plan.stages[-1]
        if isinstance(last, Step) and last.limit is not None and len(ir.rows) >= last.limit:
            counts = {k: len(r.rows) for k, r in sets.items()}
            assert len(set(counts.values())) == 1, f"row counts differ: {counts}\n{context}"
            return
    cmp = results.compare_results(sets)
    if not cmp.identical:
        raise AssertionError("results differ:\n  " + "\n  ".join(map(str, cmp.differences))
                             + "\n" + context)


@SETTINGS
@given(plan=staged_plans(pool=POOL))
def test_staged_renderings_return_the_same_rows(box: Any, plan: QueryPlan) -> None:
    check_same_rows(box, plan)
