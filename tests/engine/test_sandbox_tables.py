"""execute_sql resolves every table the text names as the SQL parser does (`source_for_table`
on the bare name), whatever schema, database or project qualifies it, and rejects any other
table with a position and a hint."""

from __future__ import annotations

import pytest

from lexiquery.catalog.model import Catalog
from lexiquery.engine.sandbox import Sandbox
from lexiquery.errors import QueryError

from .conftest import NOW

ROWS = 120


@pytest.fixture(scope="module")
def sb(catalog: Catalog) -> Sandbox:
    box = Sandbox(catalog, rows_per_source=ROWS, now=NOW)
    yield box
    box.close()


@pytest.mark.parametrize("dialect,sql,source_id", [
    ("tsql", "SELECT COUNT(*) AS n FROM dbo.security_events", "windows_security_events"),
    ("tsql", "SELECT COUNT(*) AS n FROM [dbo].[security_events] WITH (NOLOCK)",
     "windows_security_events"),
    ("postgres", 'SELECT COUNT(*) AS n FROM "public"."process_events"', "process_creation"),
    ("bigquery", "SELECT COUNT(*) AS n FROM `my-project.sec.process_events`",
     "process_creation"),
    ("bigquery", "SELECT COUNT(*) AS n FROM `my-project`.sec.process_events p",
     "process_creation"),
    ("snowflake", "SELECT COUNT(*) AS n FROM db.schema.security_events",
     "windows_security_events"),
    ("postgres", "SELECT COUNT(*) AS n FROM PUBLIC.Process_Events", "process_creation"),
])
def test_qualified_table_is_the_source(sb: Sandbox, catalog: Catalog, dialect: str, sql: str,
                                       source_id: str) -> None:
    got = sb.execute_sql(sql, dialect, catalog.get(source_id))
    assert got.rows == [(ROWS,)]


def test_column_qualified_by_the_written_table(sb: Sandbox, catalog: Catalog) -> None:
    sql = ("SELECT db.dbo.security_events.computer AS host, COUNT(*) AS n "
           "FROM db.dbo.security_events GROUP BY db.dbo.security_events.computer")
    got = sb.execute_sql(sql, "tsql", catalog.get("windows_security_events"))
    assert sum(n for _, n in got.rows) == ROWS


def test_self_join_and_subquery_with_other_qualifiers(sb: Sandbox, catalog: Catalog) -> None:
    sql = ("SELECT COUNT(*) AS n FROM dbo.security_events a JOIN security_events b "
           "ON a.event_id = b.event_id AND a.time_generated = b.time_generated "
           "AND a.computer = b.computer WHERE a.event_id IN "
           "(SELECT event_id FROM x.y.security_events)")
    got = sb.execute_sql(sql, "tsql", catalog.get("windows_security_events"))
    assert got.rows[0][0] >= ROWS  # every row joins itself at least


def test_cte_named_like_nothing_in_the_catalog(sb: Sandbox, catalog: Catalog) -> None:
    sql = ("WITH recent AS (SELECT * FROM public.process_events) "
           "SELECT COUNT(*) AS n FROM recent")
    got = sb.execute_sql(sql, "postgres", catalog.get("process_creation"))
    assert got.rows == [(ROWS,)]


def test_another_sources_table_is_an_error(sb: Sandbox, catalog: Catalog) -> None:
    with pytest.raises(QueryError) as err:
        sb.execute_sql("SELECT COUNT(*) AS n\nFROM dbo.signin_logs", "tsql",
                       catalog.get("windows_security_events"))
    e = err.value
    assert e.code == "unknown_source"
    assert "dbo.signin_logs" in e.message and "security_events" in e.message
    assert (e.line, e.column) == (2, 6)


def test_unknown_table_is_an_error_with_a_hint(sb: Sandbox, catalog: Catalog) -> None:
    with pytest.raises(QueryError) as err:
        sb.execute_sql("SELECT COUNT(*) AS n FROM dbo.security_event", "tsql",
                       catalog.get("windows_security_events"))
    e = err.value
    assert "no catalog source is bound to the table 'dbo.security_event'" in e.message
    assert e.hint is not None and "security_events" in e.hint
    assert e.line == 1 and e.column == 27


def test_the_sandboxs_own_tables_are_out_of_reach(sb: Sandbox, catalog: Catalog) -> None:
    sb.table("signin_logs")
    with pytest.raises(QueryError, match="signin_logs"):
        sb.execute_sql("SELECT COUNT(*) AS n FROM sample_kql.signin_logs", "postgres",
                       catalog.get("process_creation"))
