"""The read-only guard refuses anything that writes, deletes, sends or runs code."""

from __future__ import annotations

import pytest

from lexiquery.dialects.guard import check_read_only


@pytest.mark.parametrize("text", [
    ".drop table SigninLogs",
    "SigninLogs | take 1;\n.set-or-append T <| SigninLogs",
    "  .ingest into table T (h'https://x.invalid/a.csv')",
    "externaldata(x:string)[@'https://x.invalid/a']",
    "SigninLogs | evaluate http_request('https://x.invalid')",
    "print 1 | evaluate python(typeof(*), 'result = df')",
])
def test_kql_writes_and_external_calls_refused(text: str) -> None:
    issues = check_read_only("kql", text)
    assert issues and all(i.code == "read_only" and i.severity.value == "error" for i in issues)


@pytest.mark.parametrize("text", [
    'SigninLogs | where UserPrincipalName == ".drop table x"',
    "SigninLogs\n| where TimeGenerated > ago(1h)\n| summarize count() by bin(TimeGenerated, 5m)",
    'SecurityEvent | where CommandLine has "externaldata"',
])
def test_kql_reads_pass(text: str) -> None:
    assert check_read_only("kql", text) == []


@pytest.mark.parametrize("cmd", ["delete", "outputlookup bad.csv", "collect index=summary",
                                 "sendemail to=a@b.invalid", "script python x", "run x",
                                 "map search=\"search x\"", "outputcsv x", "rest /services"])
def test_spl_writing_commands_refused(cmd: str) -> None:
    issues = check_read_only("spl", f"index=main sourcetype=x | stats count by host | {cmd}")
    assert [i.code for i in issues] == ["read_only"]


@pytest.mark.parametrize("text", [
    'index=main "| delete" | stats count',
    "index=main delete=1 | stats count by run",
    'index=azure sourcetype="azure:aad:signin" | table user, src_ip | head 10',
])
def test_spl_reads_pass(text: str) -> None:
    assert check_read_only("spl", text) == []


@pytest.mark.parametrize("text", [
    "DELETE FROM signin_logs",
    "DROP TABLE signin_logs",
    "SELECT 1; DROP TABLE signin_logs",
    "INSERT INTO t SELECT * FROM signin_logs",
    "UPDATE signin_logs SET user_principal_name = 'x'",
    "CREATE TABLE x AS SELECT * FROM signin_logs",
    "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
])
def test_sql_anything_but_select_refused(text: str) -> None:
    issues = check_read_only("sql", text, sql_dialect="postgres")
    assert issues and issues[0].severity.value == "error"


def test_sql_select_passes_even_with_keywords_in_strings() -> None:
    sql = "SELECT * FROM signin_logs WHERE result_description = 'DROP TABLE; DELETE' LIMIT 5"
    assert check_read_only("sql", sql, sql_dialect="postgres") == []


def test_unknown_platform() -> None:
    with pytest.raises(ValueError):
        check_read_only("cobol", "x")
