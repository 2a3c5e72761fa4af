"""The Python API for pasted queries: run, translate, explain, validate (lexiquery.operations),
and validation v2 of generated queries in `ask` (round trip, execution, agreement)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import lexiquery
from lexiquery.catalog.builtin import builtin_catalog
from lexiquery.config import get_settings
from lexiquery.errors import InputError, QueryError
from lexiquery.operations import explain_query, run_query, translate_query, validate_query_text
from lexiquery.dialects.reading import guess_platform

FAILED_BY_USER_KQL = """SigninLogs
| where TimeGenerated >= ago(7d)
| where ResultType != "0"
| summarize failures = count() by UserPrincipalName
| top 5 by failures desc"""

FAILED_BY_USER_SPL = ('index=azure sourcetype="azure:aad:signin" earliest=-7d latest=now '
                      'status.errorCode!="0"\n| stats count AS failures by user\n'
                      '| sort 5 - failures')

FAILED_BY_USER_SQL = """SELECT user_principal_name, COUNT(*) AS failures
FROM signin_logs
WHERE time_generated >= NOW() - INTERVAL '7 days' AND result_type <> '0'
GROUP BY user_principal_name
ORDER BY failures DESC
LIMIT 5"""


@pytest.fixture(scope="module")
def catalog():  # type: ignore[no-untyped-def]
    return builtin_catalog()


@pytest.fixture()
def settings(tmp_path: Path):  # type: ignore[no-untyped-def]
    return get_settings(data_dir=tmp_path, sample_rows=3000)


# --------------------------------------------------------------------------- run


@pytest.mark.parametrize("platform,text", [("kql", FAILED_BY_USER_KQL),
                                           ("spl", FAILED_BY_USER_SPL),
                                           ("sql", FAILED_BY_USER_SQL)])
def test_run_each_language_on_sample_data(platform, text, catalog, settings):  # type: ignore[no-untyped-def]
    result = run_query(text, platform, catalog=catalog, settings=settings)
    assert result.source == "signin_logs"
    assert 1 <= len(result.rows) <= 5
    assert result.columns[-1] == "failures"
    counts = [r[-1] for r in result.rows]
    assert counts == sorted(counts, reverse=True) and counts[0] > 1  # skewed sample data
    assert result.executed == ("query" if platform == "sql" else "plan")


def test_the_three_languages_agree_on_the_same_sample(catalog, settings):  # type: ignore[no-untyped-def]
    rows = {p: sorted(map(tuple, run_query(t, p, catalog=catalog, settings=settings).rows))
            for p, t in [("kql", FAILED_BY_USER_KQL), ("spl", FAILED_BY_USER_SPL),
                         ("sql", FAILED_BY_USER_SQL)]}
    assert rows["kql"] == rows["spl"] == rows["sql"]


def test_run_on_the_users_own_rows(catalog, settings, tmp_path):  # type: ignore[no-untyped-def]
    # Column names as the user's Log Analytics export has them (the KQL binding's names).
    csv = tmp_path / "signins.csv"
    csv.write_text("TimeGenerated,UserPrincipalName,ResultType,AppDisplayName\n"
                   "2026-01-01T10:00:00Z,alice@contoso.com,50126,Azure Portal\n"
                   "2026-01-01T10:05:00Z,alice@contoso.com,50126,Azure Portal\n"
                   "2026-01-01T10:06:00Z,bob@contoso.com,0,Outlook\n", encoding="utf-8")
    text = ('SigninLogs | where ResultType != "0" '
            '| summarize failures = count() by UserPrincipalName')
    result = run_query(text, "kql", catalog=catalog, settings=settings,
                       data={"signin_logs": csv})
    assert result.rows == [["alice@contoso.com", 2]]
    assert "your rows" in result.data
    # A table name works as the --data key too.
    again = run_query(text, "kql", catalog=catalog, settings=settings, data={"SigninLogs": csv})
    assert again.rows == result.rows


@pytest.mark.parametrize("platform,text", [
    ("kql", ".drop table SigninLogs"),
    ("kql", "SigninLogs | take 1\n.set-or-append SigninLogs <| SigninLogs"),
    ("spl", 'index=azure sourcetype="azure:aad:signin" | delete'),
    ("spl", "index=azure | outputlookup users.csv"),
    ("sql", "DROP TABLE signin_logs"),
    ("sql", "UPDATE signin_logs SET result_type = '0'"),
    ("sql", "SELECT 1; DROP TABLE signin_logs"),
])
def test_write_and_exec_attempts_are_refused(platform, text, catalog, settings):  # type: ignore[no-untyped-def]
    with pytest.raises(QueryError) as err:
        run_query(text, platform, catalog=catalog, settings=settings)
    assert err.value.code == "read_only"


def test_a_construct_the_ir_cannot_hold_is_refused_for_kql_with_its_position(catalog, settings):  # type: ignore[no-untyped-def]
    text = "SigninLogs\n| union AuditLogs"
    with pytest.raises(QueryError) as err:
        run_query(text, "kql", catalog=catalog, settings=settings)
    assert err.value.code == "unsupported"
    assert err.value.line == 2


def test_sql_with_a_join_runs_as_written_and_reads_as_a_join(catalog, settings):  # type: ignore[no-untyped-def]
    text = ("SELECT s.user_principal_name, COUNT(*) AS n FROM signin_logs s "
            "JOIN signin_logs t ON s.user_principal_name = t.user_principal_name "
            "WHERE s.result_type <> '0' GROUP BY s.user_principal_name")
    result = run_query(text, "sql", catalog=catalog, settings=settings)
    assert result.executed == "query" and result.rows
    assert not any(i.code == "unsupported" for i in result.issues)
    assert any(s.kind == "join" for s in result.plan.stages)


def test_a_kql_join_of_two_sources_runs_on_sample_data(catalog, settings):  # type: ignore[no-untyped-def]
    text = ("SigninLogs\n| where ResultType != '0'\n| summarize n = count() by CorrelationId\n"
            "| join kind=inner (AuditLogs | project CorrelationId, OperationName) "
            "on CorrelationId")
    result = run_query(text, "kql", catalog=catalog, settings=settings)
    assert result.executed == "plan" and [s.kind for s in result.plan.stages] == ["join"]


@pytest.mark.parametrize("text", ["", "   \n", "SigninLogs\x00 | take 1"])
def test_unusable_query_text(text, catalog, settings):  # type: ignore[no-untyped-def]
    with pytest.raises(InputError):
        run_query(text, "kql", catalog=catalog, settings=settings)


def test_unknown_data_source_is_named(catalog, settings, tmp_path):  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match="signin_log"):
        run_query(FAILED_BY_USER_KQL, "kql", catalog=catalog, settings=settings,
                  data={"signin_log": tmp_path / "x.csv"})


# --------------------------------------------------------------------------- translate


@pytest.mark.parametrize("src,text,dst,needle", [
    ("spl", FAILED_BY_USER_SPL, "kql", "SigninLogs"),
    ("kql", FAILED_BY_USER_KQL, "spl", 'sourcetype="azure:aad:signin"'),
    ("kql", FAILED_BY_USER_KQL, "sql", "FROM signin_logs"),
    ("sql", FAILED_BY_USER_SQL, "kql", "summarize"),
])
def test_translate_and_check_on_sample_data(src, text, dst, needle, catalog, settings):  # type: ignore[no-untyped-def]
    t = translate_query(text, src, dst, catalog=catalog, settings=settings)
    assert t.valid, t.issues
    assert needle in t.query
    assert t.agreement is not None and t.agreement.identical, t.agreement


def test_translate_between_sql_dialects(catalog, settings):  # type: ignore[no-untyped-def]
    t = translate_query(FAILED_BY_USER_SQL, "sql", "sql", to_dialect="tsql", catalog=catalog,
                        settings=settings)
    assert t.valid and "TOP 5" in t.query and t.agreement and t.agreement.identical


def test_translate_reports_what_does_not_carry_over(catalog, settings):  # type: ignore[no-untyped-def]
    text = ("W3CIISLog | summarize p95 = percentile(TimeTaken, 95) by csUriStem")
    t = translate_query(text, "kql", "sql", to_dialect="mysql", catalog=catalog,
                        settings=settings)
    assert not t.valid and t.query == ""
    assert any(i.code == "unsupported" and "percentile" in i.message.lower() for i in t.issues)
    shown = translate_query(text + "\n| render columnchart", "kql", "sql", catalog=catalog,
                            settings=settings)
    assert shown.valid
    assert any(i.code == "unsupported" and i.line == 2 for i in shown.issues)


# --------------------------------------------------------------------------- explain, validate


def test_explain_names_the_platforms_columns(catalog, settings):  # type: ignore[no-untyped-def]
    e = explain_query(FAILED_BY_USER_KQL, "kql", catalog=catalog, settings=settings)
    text = " ".join(e.steps)
    assert "SigninLogs" in e.steps[0] and "last 7 days" in e.steps[0]
    assert "ResultType" in text and "UserPrincipalName" in text and "at most 5" in text


def test_validate_a_good_query(catalog, settings):  # type: ignore[no-untyped-def]
    v = validate_query_text(FAILED_BY_USER_SPL, "spl", catalog=catalog, settings=settings)
    assert v.valid and [c.name for c in v.checks] == ["read_only", "syntax", "names", "execution"]
    assert v.rows is not None and v.rows > 0


def test_validate_reports_syntax_with_position(catalog, settings):  # type: ignore[no-untyped-def]
    v = validate_query_text('SigninLogs\n| where ResultType = "0"', "kql", catalog=catalog,
                            settings=settings)
    assert not v.valid
    syntax = next(c for c in v.checks if c.name == "syntax")
    assert syntax.ok is False
    assert v.issues[0].line == 2 and v.issues[0].column is not None
    assert "==" in v.issues[0].message


def test_validate_reports_unknown_names(catalog, settings):  # type: ignore[no-untyped-def]
    v = validate_query_text("SELECT user_name FROM signin_logs", "sql", catalog=catalog,
                            settings=settings)
    assert not v.valid
    assert next(c for c in v.checks if c.name == "names").ok is False
    assert v.issues[0].code == "unknown_field"


def test_validate_refuses_writes(catalog, settings):  # type: ignore[no-untyped-def]
    v = validate_query_text("index=x | collect index=summary", "spl", catalog=catalog,
                            settings=settings)
    assert not v.valid and v.checks[0].name == "read_only" and v.checks[0].ok is False


def test_guess_platform():  # type: ignore[no-untyped-def]
    assert guess_platform("SELECT 1") == "sql"
    assert guess_platform("index=main | stats count") == "spl"
    assert guess_platform("SigninLogs\n| take 5") == "kql"
    with pytest.raises(InputError):
        guess_platform("what are the failed sign-ins?")


# --------------------------------------------------------------------------- ask, validation v2


def test_ask_checks_every_query_on_sample_data(settings):  # type: ignore[no-untyped-def]
    answer = lexiquery.ask("top 10 users with failed sign-ins in the last 7 days",
                           settings=settings)
    assert answer.queries and all(q.valid for q in answer.queries), \
        [(q.platform, q.issues) for q in answer.queries]
    for q in answer.queries:
        assert q.sample is not None and q.sample.round_trip
        assert "checked on sample data" in q.explanation.lower()
    assert answer.agreement is not None and answer.agreement.identical, answer.agreement
    payload = json.loads(answer.model_dump_json())
    assert payload["agreement"]["identical"] is True


def test_ask_without_the_sample_check(settings):  # type: ignore[no-untyped-def]
    answer = lexiquery.ask("failed sign-ins today", settings=settings, sample_check=False)
    assert all(q.sample is None for q in answer.queries) and answer.agreement is None


def test_the_top_level_api(settings):  # type: ignore[no-untyped-def]
    spl = 'index=azure sourcetype="azure:aad:signin" | stats count by user'
    assert "SigninLogs" in lexiquery.translate_query(spl, "spl", "kql", settings=settings).query
    assert lexiquery.run_query(spl, "spl", settings=settings).rows
    assert lexiquery.explain_query(spl, "spl", settings=settings).steps
    assert lexiquery.validate_query(spl, "spl", settings=settings).valid


def test_oversized_query_and_unknown_dialect_are_clear_errors(catalog, tmp_path):  # type: ignore[no-untyped-def]
    small = get_settings(data_dir=tmp_path, max_query_chars=100)
    with pytest.raises(InputError, match="limit is 100"):
        run_query("SigninLogs | take 1" + " " * 10 + "// " + "x" * 200, "kql", catalog=catalog,
                  settings=small)
    with pytest.raises(InputError, match="unknown SQL dialect 'oracle'"):
        validate_query_text("SELECT 1", "sql", sql_dialect="oracle", catalog=catalog,
                            settings=small)
    with pytest.raises(InputError, match="unknown platform"):
        explain_query("SigninLogs", "eql", catalog=catalog, settings=small)
