"""compare_results: normalisation (times, epochs, floats, lists, names) and the words of the
differences."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from lexiquery.catalog.model import Catalog
from lexiquery.engine.results import ResultSet, compare_results
from lexiquery.engine.sandbox import Sandbox

T = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)


def rs(columns: list[str], rows: list[tuple], **kw) -> ResultSet:  # type: ignore[type-arg]
    return ResultSet(columns, rows, False, 1.0, **kw)


def test_to_dicts() -> None:
    assert rs(["a", "b"], [(1, "x")]).to_dicts() == [{"a": 1, "b": "x"}]


def test_unordered_rows_compare_as_multisets() -> None:
    a = rs(["user", "n"], [("a", 1), ("b", 2), ("b", 2)])
    b = rs(["user", "n"], [("b", 2), ("a", 1), ("b", 2)])
    assert compare_results({"KQL": a, "SQL": b}).identical
    c = rs(["user", "n"], [("b", 2), ("a", 1)])
    cmp = compare_results({"KQL": a, "SQL": c})
    assert not cmp.identical
    assert cmp.differences == ["KQL has 3 rows, SQL 2: row (user=b, n=2) only in KQL"]


def test_group_differences_in_words() -> None:
    a = rs(["user", "event_count"], [("alice", 3), ("bob", 1)], group_columns=frozenset({"user"}))
    b = rs(["user", "event_count"], [("alice", 4), ("bob", 1)], group_columns=frozenset({"user"}))
    cmp = compare_results({"KQL": a, "SQL": b})
    assert cmp.differences == ["KQL and SQL both have 2 rows but they differ: the group "
                               "user=alice: event_count is 3 in KQL, 4 in SQL"]


def test_ordered_rows_compare_in_order() -> None:
    a = rs(["user", "n"], [("a", 3), ("b", 2)], ordered=True, sort_columns=[1])
    b = rs(["user", "n"], [("b", 2), ("a", 3)], ordered=True, sort_columns=[1])
    cmp = compare_results({"SPL": a, "SQL": b})
    assert cmp.differences == ["row 1 differs: user=a, n=3 in SPL, user=b, n=2 in SQL"]


def test_ties_in_a_sort_may_come_in_any_order() -> None:
    a = rs(["user", "n"], [("a", 3), ("b", 2), ("c", 2)], ordered=True, sort_columns=[1])
    b = rs(["user", "n"], [("a", 3), ("c", 2), ("b", 2)], ordered=True, sort_columns=[1])
    assert compare_results({"KQL": a, "SQL": b}).identical


def test_ties_cut_by_the_limit_may_differ() -> None:
    a = rs(["user", "n"], [("a", 3), ("b", 2)], ordered=True, sort_columns=[1], limit=2)
    b = rs(["user", "n"], [("a", 3), ("c", 2)], ordered=True, sort_columns=[1], limit=2)
    assert compare_results({"KQL": a, "SQL": b}).identical
    c = rs(["user", "n"], [("a", 3), ("c", 1)], ordered=True, sort_columns=[1], limit=2)
    assert not compare_results({"KQL": a, "SQL": c}).identical


def test_floats_within_1e9_relative() -> None:
    a = rs(["x"], [(0.1 + 0.2,), (1e-12,)])
    assert compare_results({"a": a, "b": rs(["x"], [(0.3,), (1.0000000000001e-12,)])}).identical
    assert not compare_results({"a": a, "b": rs(["x"], [(0.3001,), (1e-12,)])}).identical
    assert compare_results({"a": rs(["x"], [(5,)]), "b": rs(["x"], [(5.0,)])}).identical


def test_epoch_iso_naive_and_offset_times_are_one_instant() -> None:
    kw = {"time_columns": frozenset({"last_seen"})}
    kql = rs(["last_seen"], [(T,)], **kw)
    spl = rs(["last_seen"], [(T.timestamp(),)], **kw)
    sqlite = rs(["last_seen"], [("2026-03-10 12:00:00",)], **kw)
    naive = rs(["last_seen"], [(T.replace(tzinfo=None),)], **kw)
    paris = rs(["last_seen"], [(T.astimezone(timezone(timedelta(hours=1))),)], **kw)
    assert compare_results({"KQL": kql, "SPL": spl, "SQLite": sqlite, "naive": naive,
                            "offset": paris}).identical
    later = rs(["last_seen"], [(T.timestamp() + 1,)], **kw)
    cmp = compare_results({"KQL": kql, "SPL": later})
    assert cmp.differences == ["KQL and SPL both have 1 rows but they differ: row "
                               "(last_seen=2026-03-10T12:00:00Z) only in KQL",
                               "row (last_seen=2026-03-10T12:00:01Z) only in SPL"]


def test_list_values_are_sorted_and_joined_text_is_split() -> None:
    kql = rs(["host", "users"], [("h", ["b", "a"])])
    spl = rs(["host", "users"], [("h", ["a", "b"])])
    mysql = rs(["host", "users"], [("h", "b,a")])
    assert compare_results({"KQL": kql, "SPL": spl, "MySQL": mysql}).identical


def test_names_differing_only_by_platform_are_aligned_by_position() -> None:
    kql = rs(["UserPrincipalName", "event_count"], [("a", 1)])
    sql = rs(["user_principal_name", "event_count"], [("a", 1)])
    cmp = compare_results({"KQL": kql, "SQL": sql})
    assert cmp.identical
    assert cmp.notes == ["columns of KQL and SQL compared by position (KQL ~ SQL: "
                         "UserPrincipalName ~ user_principal_name)"]
    logical = rs(["user_principal_name", "event_count"], [("a", 1)],
                 logical=["user", "event_count"])
    named = rs(["event_count", "user"], [(1, "a")])
    cmp = compare_results({"SQL": logical, "plan": named})
    assert cmp.identical and not cmp.notes  # same logical names, other order


def test_different_columns_are_a_difference() -> None:
    cmp = compare_results({"KQL": rs(["a", "b"], [(1, 2)]), "SQL": rs(["a"], [(1,)])})
    assert cmp.differences == ["KQL has columns a, b; SQL has a"]


def test_truncated_results_are_noted() -> None:
    a = ResultSet(["a"], [(1,)], True, 1.0)
    cmp = compare_results({"KQL": a, "SQL": rs(["a"], [(1,)])})
    assert cmp.identical and cmp.notes == [
        "KQL's result was cut at the sandbox's row cap: only the first 1 rows were compared"]


def test_many_differences_are_summarised() -> None:
    a = rs(["n"], [(i,) for i in range(30)])
    b = rs(["n"], [(i + 100,) for i in range(30)])
    cmp = compare_results({"a": a, "b": b})
    assert len(cmp.differences) == 9 and cmp.differences[-1].startswith("… and 52 more")


def test_ties_on_a_hidden_sort_key_may_come_in_any_order() -> None:
    # `sort by time | project user, app`: the sort key is not an output column, so the rows
    # tied on it come in either order and nothing in the rows says they tie.
    kql = rs(["user", "app"], [("a", "x"), ("b", "y"), ("c", "z")], ordered=True)
    spl = rs(["user", "app"], [("a", "x"), ("c", "z"), ("b", "y")], ordered=True)
    assert compare_results({"KQL": kql, "SPL": spl}).identical
    other = rs(["user", "app"], [("a", "x"), ("c", "z"), ("d", "y")], ordered=True)
    cmp = compare_results({"KQL": kql, "SPL": other})
    assert cmp.differences == ["KQL and SPL both have 3 rows but they differ: row (user=b, "
                               "app=y) only in KQL", "row (user=d, app=y) only in SPL"]


def test_hidden_sort_key_cut_by_the_limit_is_a_note() -> None:
    kql = rs(["user"], [("a",), ("b",)], ordered=True, limit=2)
    spl = rs(["user"], [("a",), ("c",)], ordered=True, limit=2)
    cmp = compare_results({"KQL": kql, "SPL": spl})
    assert cmp.identical
    assert cmp.notes == ["KQL and SPL share 1 of their 2 rows: the sort key is not an output "
                         "column and both were cut at the limit, so rows tied at the cut may "
                         "differ (not counted as a difference)"]
    short = rs(["user"], [("a",)], ordered=True, limit=2)
    assert not compare_results({"KQL": kql, "SPL": short}).identical


def test_rows_only_in_kql_with_an_empty_field_are_explained() -> None:
    shared = [("alice", "Teams"), ("bob", "Portal")]
    kql = rs(["user", "app"], shared + [("carol", ""), ("dave", "")], semantics="kql")
    spl = rs(["user", "app"], shared, semantics="spl")
    cmp = compare_results({"kql": kql, "spl": spl})
    assert cmp.differences == [
        "kql has 4 rows, spl 2: the 2 rows only in kql have app empty — KQL's != keeps events "
        "whose field is empty (Kusto strings are never null); SPL and SQL drop them"]
    # the KQL result second, and sorted: the same words
    cmp = compare_results({"sql": replace(spl, semantics="sql", ordered=True, sort_columns=[0]),
                           "kql": replace(kql, ordered=True, sort_columns=[0])})
    assert cmp.differences == [
        "sql has 2 rows, kql 4: the 2 rows only in kql have app empty — KQL's != keeps events "
        "whose field is empty (Kusto strings are never null); SPL and SQL drop them"]


def test_rows_not_explained_by_an_empty_field_are_listed() -> None:
    kql = rs(["user", "app"], [("alice", "Teams"), ("carol", "")], semantics="kql")
    spl = rs(["user", "app"], [("alice", "Teams"), ("dave", "Portal")], semantics="spl")
    cmp = compare_results({"kql": kql, "spl": spl})
    assert cmp.differences == ["kql and spl both have 2 rows but they differ: row (user=carol, "
                               "app=(empty)) only in kql", "row (user=dave, app=Portal) only "
                               "in spl"]
    both_sql = compare_results({"a": replace(kql, semantics="sql"), "b": replace(
        spl, rows=[("alice", "Teams")], semantics="sql")})
    assert both_sql.differences == ["a has 2 rows, b 1: row (user=carol, app=(empty)) only in a"]


def test_kql_not_equal_keeps_empty_fields_in_the_sandbox(sandbox: Sandbox,
                                                        catalog: Catalog) -> None:
    from lexiquery.catalog.model import Platform
    from lexiquery.ir import QueryPlan

    plan = QueryPlan.model_validate({
        "source": "signin_logs", "project": ["user", "app"],
        "filters": [{"field": "user", "op": "ne", "value": "bob@contoso.com"}]})
    source = catalog.get("signin_logs")
    cmp = compare_results({"kql": sandbox.execute_plan(plan, source, semantics=Platform.kql),
                           "spl": sandbox.execute_plan(plan, source, semantics=Platform.spl)})
    assert cmp.differences == [
        "kql has 9 rows, spl 7: the 2 rows only in kql have user empty — KQL's != keeps events "
        "whose field is empty (Kusto strings are never null); SPL and SQL drop them"]


def test_group_with_an_empty_key_only_in_kql_is_explained() -> None:
    groups = frozenset({"app"})
    kql = rs(["app", "n"], [("Teams", 3), ("", 2)], semantics="kql", group_columns=groups)
    sql = rs(["app", "n"], [("Teams", 3)], semantics="sql", group_columns=groups)
    assert compare_results({"kql": kql, "sql": sql}).differences == [
        "kql has 2 rows, sql 1: the group app=(empty) is missing from sql — KQL's != keeps "
        "events whose field is empty (Kusto strings are never null); SPL and SQL drop them"]
    spl = replace(sql, semantics="spl")
    assert compare_results({"kql": kql, "spl": spl}).differences == [
        "kql has 2 rows, spl 1: the group app=(empty) is missing from spl — Splunk's stats "
        "drops events without the field"]
