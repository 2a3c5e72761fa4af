"""Pasted SQL that cannot be read: syntax slips with line, column and a hint; writes refused
as ``read_only``; unknown tables and columns with their position and the closest names; and
constructs the IR cannot hold reported, never a crash."""

from __future__ import annotations

import pytest

from lexiquery.catalog.builtin import builtin_catalog
from lexiquery.dialects import parse
from lexiquery.dialects.sql.parse import parse_sql
from lexiquery.errors import QueryError

CATALOG = builtin_catalog()

# (dialect, query, code, line, column, text the hint must contain — or None for no hint check)
MALFORMED = [
    ("postgres", "SELECT user_principal_name FROM signin_logs WHERE result_type == '0'",
     "syntax", 1, 63, "single '='"),
    ("postgres", "SELECT user_principal_name, FROM signin_logs", "syntax", 1, 27,
     "trailing comma"),
    ("postgres", "SELECT user_principal_name, ip_address,\nFROM signin_logs", "syntax", 1, 39,
     "trailing comma"),
    ("postgres", "SELECT user_principal_name signin_logs WHERE result_type = '0'", "syntax", 1,
     40, "FROM"),
    ("postgres", "SELECT * FROM signin_logs WHERE user_principal_name = 'bob", "syntax", 1, 55,
     "closing '"),
    ("postgres", "SELECT *\nFROM signin_logs\nWHERE location = 'it''s", "syntax", 3, 18,
     "closing '"),
    ("postgres", "SELECT * FROM signin_logs WHERE user_principal_name = \"bob\"",
     "unknown_field", 1, 55, "single quotes"),
    ("postgres", "SELECT * FROM signin_logs WHERE (result_type = '0'", "syntax", 1, 48,
     "parenthesis"),
    ("postgres", "SELEC * FROM signin_logs", "syntax", 1, 1, "SELECT"),
    ("postgres", "SELECT FROM signin_logs", "syntax", 1, 8, "SELECT *"),
    ("postgres", "SELECT * FROM signin_logs GROUP user_principal_name", "syntax", 1, 33,
     "GROUP BY"),
    ("postgres", "SELECT * FROM signin_logs WHERE", "syntax", 1, 27, "finish the clause"),
    ("postgres", "SELECT *\nFROM signin_logs\nORDER BY", "syntax", 3, 1, "finish the clause"),
    ("tsql", "SELECT [user_principal_name FROM signin_logs", "syntax", 1, 8, "closing ]"),
    ("mysql", "SELECT `ip_address FROM signin_logs", "syntax", 1, 8, "closing `"),
    ("postgres", "SELECT COUNT(* FROM signin_logs", "syntax", 1, 16, "parenthesis"),
    ("postgres", "SELECT * FROM signin_logs /* never closed", "syntax", 1, 27, "*/"),
    ("postgres", "   ", "syntax", 1, 1, None),
    ("postgres", "SELECT * FROM signin_logz", "unknown_source", 1, 15, "signin_logs"),
    ("postgres", "SELECT * FROM generate_series(1, 3)", "unknown_source", 1, 15, "catalog"),
    ("postgres", 'SELECT * FROM "audit_log"', "unknown_source", 1, 15, "audit_logs"),
    ("postgres", "SELECT user_name FROM signin_logs", "unknown_field", 1, 8,
     "user_principal_name"),
    ("postgres", "SELECT *\nFROM signin_logs\nWHERE ip_address = '1.2.3.4'\n  AND locaton = 'US'",
     "unknown_field", 4, 7, "location"),
    ("tsql", "SELECT TOP 5 *\nFROM signin_logs\nORDER BY [time_generatd] DESC",
     "unknown_field", 3, 10, "time_generated"),
]


@pytest.mark.parametrize(("dialect", "query", "code", "line", "column", "hint"), MALFORMED,
                         ids=[f"{i}-{m[2]}" for i, m in enumerate(MALFORMED)])
def test_malformed_query(dialect: str, query: str, code: str, line: int, column: int,
                         hint: str | None) -> None:
    with pytest.raises(QueryError) as info:
        parse_sql(query, CATALOG, dialect=dialect)
    e = info.value
    assert (e.code, e.line, e.column) == (code, line, column), e.message
    assert e.message.startswith(f"line {line}, column {column}: ")
    if hint is not None:
        assert e.hint and hint in e.hint, e.hint
    assert e.to_dict()["issues"][0]["line"] == line


def test_expected_is_said_for_a_missing_from() -> None:
    with pytest.raises(QueryError) as info:
        parse_sql("SELECT user_principal_name signin_logs WHERE result_type = '0'", CATALOG)
    assert info.value.expected == "FROM <table>"


def test_double_equals_is_fine_where_the_dialect_has_it() -> None:
    parsed = parse_sql("SELECT * FROM signin_logs WHERE result_type == '0'", CATALOG,
                       dialect="sqlite")
    assert parsed.plan.filters[0].value == "0"  # type: ignore[union-attr]


WRITES = [
    ("postgres", "DROP TABLE signin_logs", 1, 1),
    ("postgres", "UPDATE signin_logs SET location = 'x'", 1, 1),
    ("postgres", "DELETE FROM signin_logs WHERE", 1, 1),
    ("postgres", "delete from signin_logs where result_type = '0'", 1, 1),
    ("postgres", "INSERT INTO signin_logs VALUES (1)", 1, 1),
    ("postgres", "SELECT 1; DROP TABLE t", 1, 11),
    ("postgres", "SELECT * FROM signin_logs;\nSELECT * FROM syslog", 2, 1),
    ("postgres", "SELECT * INTO t2 FROM signin_logs", 1, 10),
    ("tsql", "SELECT * INTO #tmp FROM signin_logs", 1, 10),
    ("postgres", "MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN DELETE", 1, 1),
    ("postgres", "CREATE TABLE x AS SELECT * FROM signin_logs", 1, 1),
    ("postgres", "ALTER TABLE signin_logs ADD COLUMN x int", 1, 1),
    ("postgres", "GRANT SELECT ON signin_logs TO bob", 1, 1),
    ("postgres", "COPY signin_logs TO '/tmp/x'", 1, 1),
    ("postgres", "TRUNCATE signin_logs", 1, 1),
    ("postgres", "WITH d AS (DELETE FROM signin_logs RETURNING *) SELECT * FROM d", 1, 12),
    ("snowflake", "SELECT * FROM signin_logs; DROP TABLE signin_logs;", 1, 28),
]


@pytest.mark.parametrize(("dialect", "query", "line", "column"), WRITES,
                         ids=[w[1][:30] for w in WRITES])
def test_writes_are_refused(dialect: str, query: str, line: int, column: int) -> None:
    with pytest.raises(QueryError) as info:
        parse_sql(query, CATALOG, dialect=dialect)
    assert info.value.code == "read_only"
    assert (info.value.line, info.value.column) == (line, column), info.value.message


def test_a_trailing_semicolon_is_one_statement() -> None:
    parsed = parse_sql("SELECT * FROM signin_logs;", CATALOG)
    assert parsed.plan.source == "signin_logs"


def test_a_write_word_inside_a_string_is_data() -> None:
    parsed = parse_sql("SELECT * FROM audit_logs WHERE operation_name = 'DROP TABLE users'",
                       CATALOG)
    assert parsed.plan.filters[0].value == "DROP TABLE users"  # type: ignore[union-attr]


def test_parse_entry_point_reaches_the_sql_reader() -> None:
    parsed = parse("SELECT TOP 3 * FROM signin_logs", "sql", CATALOG, sql_dialect="tsql")
    assert parsed.plan.limit == 3 and parsed.dialect == "tsql"


# Constructs outside the IR: the plan says where, the query is still read.
ODD = [
    "SELECT a.user_principal_name FROM signin_logs a CROSS JOIN syslog b",
    "SELECT * FROM signin_logs, syslog",
    "SELECT * FROM signin_logs WHERE EXISTS (SELECT 1 FROM syslog)",
    "SELECT LAG(time_generated) OVER (ORDER BY time_generated) FROM signin_logs",
    "SELECT COUNT(*) * 2 AS doubled FROM signin_logs",
    "SELECT user_principal_name, COUNT(*) FROM signin_logs GROUP BY ROLLUP (user_principal_name)",
    "SELECT * FROM signin_logs WHERE location SIMILAR TO 'U%'",
    "SELECT CASE location WHEN 'US' THEN 1 END AS us FROM signin_logs",
    "SELECT * FROM signin_logs WHERE time_generated < NOW()",
    "SELECT * FROM signin_logs WHERE ip_address = user_principal_name",
    "SELECT * FROM signin_logs TABLESAMPLE SYSTEM (10)",
    "SELECT * FROM signin_logs ORDER BY 7",
    "SELECT * FROM signin_logs FOR UPDATE",
]


@pytest.mark.parametrize("query", ODD)
def test_unsupported_constructs_are_reported_not_crashed(query: str) -> None:
    try:
        parsed = parse_sql(query, CATALOG)
    except QueryError as e:  # refusing is acceptable; crashing is not
        assert e.line is not None and e.column is not None
        return
    assert parsed.unsupported, parsed.plan
    for issue in parsed.unsupported:
        assert issue.line is not None and issue.column is not None
        assert issue.message.startswith(f"line {issue.line}, column {issue.column}: ")
    assert not parsed.faithful


def test_join_position_is_the_join_keyword() -> None:
    text = ("SELECT s.location\nFROM signin_logs s\n"
            "  FULL OUTER JOIN syslog g ON s.ip_address = g.host_ip")  # no IR join kind
    issues = parse_sql(text, CATALOG).unsupported
    assert (issues[0].line, issues[0].column) == (3, 3)
    assert "join" in issues[0].message
