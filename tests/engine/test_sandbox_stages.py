"""Staged plans (IR v2) in the sandbox, on the hand-made rows of tests/engine/conftest.py: every
expected result is computed here in Python from those rows, never read back from DuckDB; the
SQL text of the plan runs as written (`execute_sql`) with the same rows; hostile CTEs, joins and
subqueries are refused."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta
from typing import Any

import pytest

from lexiquery.catalog.model import Catalog, Platform
from lexiquery.dialects.sql.render import SQL_DIALECTS, render_sql
from lexiquery.engine.results import compare_results
from lexiquery.engine.sandbox import Sandbox
from lexiquery.errors import PlanError, QueryError
from lexiquery.ir import QueryPlan

from .conftest import NOW, SIGNIN_ROWS

# The rows as dicts, missing values as None (the CSV's empty cells).
ROWS = [dict(user=u or None, src_ip=ip or None, app=app, result_code=rc, location=loc or None,
             time=NOW - timedelta(hours=h)) for u, ip, app, rc, loc, h in SIGNIN_ROWS]


def f(name: str) -> dict[str, Any]:
    return {"kind": "field", "name": name}


def lit(v: Any) -> dict[str, Any]:
    return {"kind": "literal", "value": v}


def call(fn: str, *args: Any) -> dict[str, Any]:
    return {"kind": "call", "fn": fn, "args": list(args)}


def run(sb: Sandbox, catalog: Catalog, semantics: Platform | None = None, **body: Any) -> Any:
    plan = QueryPlan.model_validate({"source": "signin_logs", **body})
    return sb.execute_plan(plan, catalog.get(plan.source), semantics=semantics)


def unordered(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted(rows, key=repr)


# ---------------------------------------------------------------------- steps


def test_a_second_aggregation_counts_the_groups_of_the_first(sandbox: Sandbox,
                                                             catalog: Catalog) -> None:
    per_user = Counter(r["user"] for r in ROWS)
    busy = [u for u, n in per_user.items() if n >= 2]
    got = run(sandbox, catalog, aggregation={"metrics": [{"fn": "count"}], "group_by": ["user"]},
              stages=[{"kind": "step", "filters": [{"field": "event_count", "op": "ge",
                                                    "value": 2}],
                       "aggregation": {"metrics": [{"fn": "count", "alias": "users"},
                                                   {"fn": "max", "field": "event_count"}]}}])
    assert got.columns == ["users", "max_event_count"]
    assert got.rows == [(len(busy), max(per_user.values()))]


def test_extend_after_summarize_then_sort_and_take(sandbox: Sandbox, catalog: Catalog) -> None:
    per_app = Counter(r["app"] for r in ROWS)
    got = run(sandbox, catalog, aggregation={"metrics": [{"fn": "count"}], "group_by": ["app"]},
              stages=[{"kind": "step", "computed": [{"name": "twice", "expr": call(
                  "mul", f("event_count"), lit(2))}], "sort": [{"field": "twice",
                                                               "descending": True}],
                       "limit": 1}])
    app, n = per_app.most_common(1)[0]
    assert got.rows == [(app, n, 2 * n)]
    assert got.ordered and got.sort_columns == [2]


def test_spl_drops_missing_keys_in_a_later_step_too(sandbox: Sandbox, catalog: Catalog) -> None:
    body = dict(project=["user", "location"], stages=[{"kind": "step", "aggregation": {
        "metrics": [{"fn": "count"}], "group_by": ["location"]}}])
    counts = Counter(r["location"] for r in ROWS)
    sql = run(sandbox, catalog, **body)
    spl = run(sandbox, catalog, Platform.spl, **body)
    assert unordered(sql.rows) == unordered(list(counts.items()))
    assert unordered(spl.rows) == unordered([(k, n) for k, n in counts.items() if k is not None])


def test_kql_strings_are_never_null_in_a_later_step(sandbox: Sandbox, catalog: Catalog) -> None:
    body = dict(project=["user", "src_ip"], stages=[{"kind": "step", "filters": [
        {"field": "user", "op": "ne", "value": "bob@contoso.com"}], "aggregation": {
        "metrics": [{"fn": "count", "field": "src_ip"}]}}])
    # SQL: `user <> 'bob'` drops NULL users, count(src_ip) skips NULLs; KQL: "" is a user,
    # and count(src_ip) is countif(isnotempty(src_ip)) — the same number here.
    keep_sql = [r for r in ROWS if r["user"] is not None and r["user"] != "bob@contoso.com"]
    keep_kql = [r for r in ROWS if r["user"] != "bob@contoso.com"]
    assert run(sandbox, catalog, **body).rows == [(sum(r["src_ip"] is not None
                                                       for r in keep_sql),)]
    assert run(sandbox, catalog, Platform.kql, **body).rows == [
        (sum(r["src_ip"] is not None for r in keep_kql),)]


# ---------------------------------------------------------------------- other stages


def test_latest_sign_in_per_user(sandbox: Sandbox, catalog: Catalog) -> None:
    latest: dict[Any, dict[str, Any]] = {}
    for r in ROWS:
        if r["user"] not in latest or r["time"] > latest[r["user"]]["time"]:
            latest[r["user"]] = r
    got = run(sandbox, catalog, project=["user", "src_ip", "time"], stages=[
        {"kind": "top_per_group", "by": ["user"], "sort": [{"field": "time",
                                                             "descending": True}]}])
    assert got.columns == ["user", "src_ip", "time"]  # no row number column
    assert unordered(got.rows) == unordered([(u, r["src_ip"], r["time"])
                                             for u, r in latest.items()])


def test_two_earliest_per_location(sandbox: Sandbox, catalog: Catalog) -> None:
    by_loc: dict[Any, list[Any]] = defaultdict(list)
    for r in sorted(ROWS, key=lambda r: r["time"]):
        by_loc[r["location"]].append(r["time"])
    got = run(sandbox, catalog, project=["location", "time"], stages=[
        {"kind": "top_per_group", "by": ["location"], "sort": [{"field": "time"}], "n": 2}])
    assert unordered(got.rows) == unordered([(loc, t) for loc, ts in by_loc.items()
                                             for t in ts[:2]])


def test_window_counts_keep_every_row(sandbox: Sandbox, catalog: Catalog) -> None:
    per_user = Counter(r["user"] for r in ROWS)
    ips: dict[Any, set[Any]] = defaultdict(set)
    for r in ROWS:
        if r["src_ip"] is not None:
            ips[r["user"]].add(r["src_ip"])
    got = run(sandbox, catalog, project=["user", "src_ip"], stages=[
        {"kind": "window", "by": ["user"], "metrics": [
            {"fn": "count", "alias": "n"}, {"fn": "count_distinct", "field": "src_ip",
                                            "alias": "ips"}]}])
    assert got.columns == ["user", "src_ip", "n", "ips"]
    assert unordered(got.rows) == unordered([(r["user"], r["src_ip"], per_user[r["user"]],
                                              len(ips[r["user"]])) for r in ROWS])


def test_window_over_all_rows(sandbox: Sandbox, catalog: Catalog) -> None:
    got = run(sandbox, catalog, project=["app"], stages=[
        {"kind": "window", "metrics": [{"fn": "count_distinct", "field": "app"}]}])
    assert {row[1] for row in got.rows} == {len({r["app"] for r in ROWS})}
    assert len(got.rows) == len(ROWS)


def test_expand_the_distinct_apps_of_each_location(sandbox: Sandbox, catalog: Catalog) -> None:
    pairs = {(r["location"], r["app"]) for r in ROWS}
    got = run(sandbox, catalog, aggregation={"metrics": [{"fn": "values", "field": "app"}],
                                             "group_by": ["location"]},
              stages=[{"kind": "expand", "field": "values_app"}])
    assert got.columns == ["location", "values_app"]
    assert unordered(got.rows) == unordered(list(pairs))


def test_semi_and_anti_join_on_the_same_source(sandbox: Sandbox, catalog: Catalog) -> None:
    failed = {r["user"] for r in ROWS if r["result_code"] == "50126" and r["user"]}
    right = {"source": "signin_logs", "filters": [{"field": "result_code", "op": "eq",
                                                   "value": "50126"}], "project": ["user"]}
    on = [{"left": "user", "right": "user"}]
    semi = run(sandbox, catalog, project=["user", "app"], stages=[
        {"kind": "join", "how": "semi", "right": right, "on": on}])
    anti = run(sandbox, catalog, project=["user", "app"], stages=[
        {"kind": "join", "how": "anti", "right": right, "on": on}])
    assert unordered(semi.rows) == unordered([(r["user"], r["app"]) for r in ROWS
                                              if r["user"] in failed])
    # NOT EXISTS keeps the rows without a user (NOT IN would keep none if a key were NULL)
    assert unordered(anti.rows) == unordered([(r["user"], r["app"]) for r in ROWS
                                              if r["user"] not in failed])


def test_inner_and_left_join_of_two_aggregations(sandbox: Sandbox, catalog: Catalog) -> None:
    per_user = Counter(r["user"] for r in ROWS)
    failures = Counter(r["user"] for r in ROWS if r["result_code"] != "0")
    right = {"source": "signin_logs", "filters": [{"field": "result_code", "op": "ne",
                                                   "value": "0"}],
             "aggregation": {"metrics": [{"fn": "count", "alias": "failures"}],
                             "group_by": ["user"]}}
    body = dict(aggregation={"metrics": [{"fn": "count"}], "group_by": ["user"]})
    inner = run(sandbox, catalog, **body, stages=[
        {"kind": "join", "how": "inner", "right": right, "on": [{"left": "user",
                                                                 "right": "user"}]}])
    left = run(sandbox, catalog, **body, stages=[
        {"kind": "join", "how": "left", "right": right, "on": [{"left": "user",
                                                                "right": "user"}]}])
    assert inner.columns == ["user", "event_count", "failures"]
    # SQL equality never matches a NULL key: the user-less group joins nothing
    assert unordered(inner.rows) == unordered([(u, n, failures[u]) for u, n in per_user.items()
                                               if u is not None and u in failures])
    assert unordered(left.rows) == unordered([
        (u, n, failures[u] if u is not None and u in failures else None)
        for u, n in per_user.items()])


def test_join_of_two_sources(sandbox: Sandbox, catalog: Catalog) -> None:
    got = run(sandbox, catalog, aggregation={"metrics": [{"fn": "count"}]}, stages=[
        {"kind": "join", "how": "left", "on": [{"left": "event_count", "right": "requests"}],
         "right": {"source": "web_requests", "aggregation": {"metrics": [
             {"fn": "count", "alias": "requests"}]}}}])
    assert got.rows == [(len(ROWS),)]  # 11 sign-ins, 6 requests: no match, the left row kept


# ---------------------------------------------------------------------- functions


def test_text_and_time_functions(sandbox: Sandbox, catalog: Catalog) -> None:
    got = run(sandbox, catalog, filters=[{"field": "user", "op": "exists"}], computed=[
        {"name": "name", "expr": call("extract", f("user"), lit("^([^@]+)@"), lit(1))},
        {"name": "tld", "expr": call("index", call("split", f("user"), lit(".")), lit(-1))},
        {"name": "parts", "expr": call("array_length", call("split", f("user"), lit(".")))},
        {"name": "masked", "expr": call("replace", f("user"), lit("[a-z]+@"), lit("x@"))},
        {"name": "day", "expr": call("start_of", f("time"), lit("day"))},
        {"name": "hours", "expr": call("time_diff", lit("hour"), call("now"), f("time"))},
        {"name": "js", "expr": call("member", call("parse_json", call(
            "concat", lit('{"u": "'), f("location"), lit('"}'))), lit("u"))},
    ], project=["user", "name", "tld", "parts", "masked", "day", "hours", "js"])
    expect = []
    for r in ROWS:
        if not r["user"]:
            continue
        u, t = r["user"], r["time"]
        lower = __import__("re").sub(r"[a-z]+@", "x@", u)
        expect.append((u, u.split("@")[0], u.split(".")[-1], len(u.split(".")), lower,
                       t.replace(hour=0, minute=0, second=0), int((NOW - t).total_seconds()
                                                                  // 3600),
                       r["location"]))
    assert unordered(got.rows) == unordered(expect)


def test_start_of_week_is_sunday(sandbox: Sandbox, catalog: Catalog) -> None:
    got = run(sandbox, catalog, computed=[{"name": "w", "expr": call(
        "start_of", f("time"), lit("week"))}], project=["time", "w"])
    for t, w in got.rows:
        assert w.weekday() == 6 and timedelta(0) <= t - w < timedelta(days=7)


# ---------------------------------------------------------------------- the SQL text


@pytest.mark.parametrize("dialect", SQL_DIALECTS)
def test_the_sql_text_of_staged_plans_returns_the_plans_rows(sandbox: Sandbox,
                                                             catalog: Catalog,
                                                             dialect: str) -> None:
    plans = [
        dict(aggregation={"metrics": [{"fn": "count"}], "group_by": ["user", "app"]},
             stages=[{"kind": "step", "aggregation": {"metrics": [{"fn": "sum",
                                                                   "field": "event_count"}],
                                                      "group_by": ["user"]}}]),
        dict(project=["user", "src_ip", "time"], stages=[
            {"kind": "top_per_group", "by": ["user"], "sort": [{"field": "time",
                                                                 "descending": True}]}]),
        dict(project=["user", "src_ip"], stages=[{"kind": "window", "by": ["user"], "metrics": [
            {"fn": "count_distinct", "field": "src_ip", "alias": "ips"}]}]),
        dict(project=["user", "app"], stages=[{"kind": "join", "how": "anti", "on": [
            {"left": "user", "right": "user"}], "right": {"source": "signin_logs", "filters": [
                {"field": "location", "op": "eq", "value": "US"}], "project": ["user"]}}]),
        dict(aggregation={"metrics": [{"fn": "values", "field": "app"}],
                          "group_by": ["location"]},
             stages=[{"kind": "expand", "field": "values_app"}]),
        dict(aggregation={"metrics": [{"fn": "count"}], "group_by": ["user"]}, stages=[
            {"kind": "join", "how": "left", "on": [{"left": "user", "right": "user"}],
             "right": {"source": "signin_logs", "filters": [
                 {"field": "result_code", "op": "ne", "value": "0"}], "aggregation": {
                 "metrics": [{"fn": "count", "alias": "failures"}], "group_by": ["user"]}}}]),
    ]
    source = catalog.get("signin_logs")
    for body in plans:
        plan = QueryPlan.model_validate({"source": "signin_logs", **body})
        try:
            text = render_sql(plan, source, dialect, catalog.get)
        except PlanError:
            continue
        got = sandbox.execute_sql(text, dialect, source)
        want = sandbox.execute_plan(plan, source)
        cmp = compare_results({"plan": want, dialect: got})
        assert cmp.identical, f"{cmp.differences}\n{text}"


def test_user_sql_may_read_another_sources_view(sandbox: Sandbox, catalog: Catalog) -> None:
    sql = ("WITH w AS (SELECT COUNT(*) AS n FROM web_requests) "
           "SELECT COUNT(*) AS signins, MAX(w.n) AS requests FROM signin_logs CROSS JOIN w")
    got = sandbox.execute_sql(sql, "postgres", catalog.get("signin_logs"))
    assert got.rows == [(len(ROWS), 6)]


def test_expand_refused_where_arrays_are_text(catalog: Catalog) -> None:
    plan = QueryPlan.model_validate({"source": "signin_logs", "aggregation": {
        "metrics": [{"fn": "list", "field": "app"}], "group_by": ["user"]},
        "stages": [{"kind": "expand", "field": "list_app"}]})
    for dialect in ("mysql", "sqlite", "redshift", "tsql"):
        with pytest.raises(PlanError) as err:
            render_sql(plan, catalog.get("signin_logs"), dialect)
        assert f"mv-expand (Expand of 'list_app') into {dialect} without UNNEST" in str(err.value)


# ---------------------------------------------------------------------- hostile


@pytest.mark.parametrize("sql", [
    "WITH s AS (SELECT * FROM duckdb_settings()) SELECT * FROM signin_logs, s",
    "WITH s AS (SELECT * FROM read_csv('/etc/passwd')) SELECT * FROM signin_logs, s",
    "WITH s AS (SELECT * FROM information_schema.tables) SELECT * FROM signin_logs, s",
    "WITH s AS (SELECT current_setting('memory_limit') AS m) SELECT * FROM signin_logs, s",
    "SELECT * FROM signin_logs WHERE user_principal_name IN (SELECT * FROM glob('*'))",
    "SELECT * FROM signin_logs WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_tables)",
    "SELECT * FROM signin_logs WHERE user_principal_name IN (SELECT name FROM secrets)",
    "SELECT * FROM signin_logs s JOIN LATERAL (SELECT getenv('HOME') AS h) x ON TRUE",
])
def test_hostile_ctes_and_subqueries_are_refused(sandbox: Sandbox, catalog: Catalog,
                                                 sql: str) -> None:
    with pytest.raises(QueryError):
        sandbox.execute_sql(sql, "postgres", catalog.get("signin_logs"))


def test_a_query_reading_only_another_source_is_refused(sandbox: Sandbox,
                                                        catalog: Catalog) -> None:
    with pytest.raises(QueryError) as err:
        sandbox.execute_sql("WITH w AS (SELECT * FROM web_requests) SELECT COUNT(*) FROM w",
                            "postgres", catalog.get("signin_logs"))
    assert err.value.code == "unknown_source"


def test_expand_keeps_a_row_whose_array_is_empty(sandbox: Sandbox, catalog: Catalog) -> None:
    # only the sign-ins without an address: each user's collected addresses are empty
    users = {r["user"] for r in ROWS if r["src_ip"] is None}
    got = run(sandbox, catalog, filters=[{"field": "src_ip", "op": "not_exists"}],
              aggregation={"metrics": [{"fn": "values", "field": "src_ip"}],
                           "group_by": ["user"]},
              stages=[{"kind": "expand", "field": "values_src_ip"}])
    assert unordered(got.rows) == unordered([(u, None) for u in users])


# Each v2 function's SQL text, run as written, against the plan's own rows. JSON is built from
# the rows (the sample text is no JSON). Dialects whose text the sandbox transpiles faithfully
# for every function; SANDBOX_GAPS are the (dialect, function) pairs sqlglot's DuckDB output
# does not run with the dialect's meaning yet.
_JSON = call("concat", lit('{"a": {"b": "'), f("location"), lit('"}, "arr": ['),
             f("result_code"), lit(", 2]}"))
TEXT_FUNCTIONS = {
    "extract": call("extract", f("user"), lit("^([^@]+)@"), lit(1)),
    "replace": call("replace", f("user"), lit("@.*"), lit("")),
    "replace_group": call("replace", f("user"), lit("^([a-z]+)"), lit("<\\1>")),
    "split_first": call("index", call("split", f("user"), lit(".")), lit(0)),
    "split_last": call("index", call("split", f("user"), lit(".")), lit(-1)),
    "split_count": call("array_length", call("split", f("user"), lit("."))),
    "member": call("member", call("member", call("parse_json", _JSON), lit("a")), lit("b")),
    "member_of_text": call("member", call("parse_json", f("app")), lit("a")),  # not JSON: NULL
    "json_index": call("index", call("member", call("parse_json", _JSON), lit("arr")), lit(0)),
    "start_of_week": call("start_of", f("time"), lit("week")),
    "start_of_month": call("start_of", f("time"), lit("month")),
    "hours_since": call("time_diff", lit("hour"), call("now"), f("time")),
    "trim": call("trim", f("app")),
}
SANDBOX_GAPS = {("redshift", "extract")}  # sqlglot reads REGEXP_SUBSTR(…, 'e') as group 0


@pytest.mark.parametrize("dialect", SQL_DIALECTS)
def test_the_sql_text_of_each_function_returns_the_plans_rows(sandbox: Sandbox,
                                                              catalog: Catalog,
                                                              dialect: str) -> None:
    source = catalog.get("signin_logs")
    for name, expr in TEXT_FUNCTIONS.items():
        if (dialect, name) in SANDBOX_GAPS:
            continue
        plan = QueryPlan.model_validate({"source": "signin_logs", "filters": [
            {"field": "user", "op": "exists"}, {"field": "location", "op": "exists"}],
            "computed": [{"name": "x", "expr": expr}], "project": ["user", "x"]})
        try:
            text = render_sql(plan, source, dialect)
        except PlanError:
            continue  # refused by name (tests/dialects/test_sql_stages.py)
        cmp = compare_results({"plan": sandbox.execute_plan(plan, source),
                               dialect: sandbox.execute_sql(text, dialect, source)})
        assert cmp.identical, f"{name}: {cmp.differences}\n{text}"


def test_the_first_element_of_a_postgres_array_is_index_one(sandbox: Sandbox,
                                                            catalog: Catalog) -> None:
    plan = QueryPlan.model_validate({"source": "signin_logs", "filters": [
        {"field": "user", "op": "eq", "value": "bob@contoso.com"}], "computed": [
        {"name": "x", "expr": TEXT_FUNCTIONS["split_first"]}], "project": ["x"],
        "limit": 1})
    text = render_sql(plan, catalog.get("signin_logs"), "postgres")
    assert "[1]" in text
    got = sandbox.execute_sql(text, "postgres", catalog.get("signin_logs"))
    assert got.rows == [("bob@contoso",)]
