"""`lexiquery run | translate | explain | validate` end to end: output, --json, files, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lexiquery.cli import app

runner = CliRunner()
KQL = 'SigninLogs\n| where ResultType != "0"\n| summarize failures = count() by UserPrincipalName\n' \
      '| top 3 by failures desc'
SPL = 'index=azure sourcetype="azure:aad:signin" status.errorCode!="0"\n' \
      '| stats count AS failures by user\n| sort 3 - failures'


def cli(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), input=input)


def test_run_prints_a_table_and_the_row_count() -> None:
    r = cli("run", "--platform", "kql", KQL)
    assert r.exit_code == 0, r.output
    assert "UserPrincipalName" in r.output and "failures" in r.output
    assert "3 rows" in r.output and "sample data" in r.output


def test_run_guesses_the_language_and_reads_a_file(tmp_path: Path) -> None:
    f = tmp_path / "q.spl"
    f.write_text(SPL, encoding="utf-8")
    r = cli("run", "--file", str(f), "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["platform"] == "spl" and data["columns"] == ["user", "failures"]
    assert len(data["rows"]) == 3


def test_run_from_stdin_with_own_rows(tmp_path: Path) -> None:
    rows = tmp_path / "s.jsonl"
    rows.write_text('{"UserPrincipalName": "a@x.com", "ResultType": "50126"}\n'
                    '{"UserPrincipalName": "a@x.com", "ResultType": "0"}\n', encoding="utf-8")
    r = cli("run", "-p", "kql", "--file", "-", "--data", f"signin_logs={rows}", "--json",
            input=KQL)
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["rows"] == [["a@x.com", 1]]


def test_run_bad_input_exits_2() -> None:
    assert cli("run", "-p", "kql").exit_code == 2  # no query
    assert cli("run", "-p", "kql", "--data", "nonsense", KQL).exit_code == 2
    assert cli("run", "what happened yesterday?").exit_code == 2  # cannot tell the language
    r = cli("run", "-p", "kql", "--json", ".drop table SigninLogs")
    assert r.exit_code == 2 and json.loads(r.output)["error"] == "read_only"


def test_run_unreadable_file(tmp_path: Path) -> None:
    binary = tmp_path / "q.kql"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert cli("run", "--file", str(binary)).exit_code == 2
    assert cli("run", "--file", str(tmp_path / "missing.kql")).exit_code == 2


def test_syntax_error_shows_line_column_and_hint() -> None:
    r = cli("run", "-p", "kql", "--json", 'SigninLogs\n| where ResultType = "0"')
    assert r.exit_code == 2
    data = json.loads(r.output)
    assert data["error"] == "syntax" and data["line"] == 2 and data["column"]
    assert "==" in (data.get("hint") or "") + data["message"]


def test_translate_spl_to_kql_and_sql() -> None:
    r = cli("translate", "--from", "spl", "--to", "kql", SPL)
    assert r.exit_code == 0, r.output
    assert "SigninLogs" in r.output and "identical" in r.output
    r = cli("translate", "--from", "spl", "--to", "kql", "--to", "sql", "-d", "snowflake",
            "--json", SPL)
    data = json.loads(r.output)
    assert [d["to_platform"] for d in data] == ["kql", "sql"]
    assert data[1]["to_dialect"] == "snowflake"


def test_translate_that_cannot_be_written_exits_1() -> None:
    text = "W3CIISLog | summarize percentile(TimeTaken, 95) by csUriStem"
    r = cli("translate", "--from", "kql", "--to", "sql", "-d", "sqlite", text)
    assert r.exit_code == 1
    assert "percentile" in r.output.lower()


def test_explain_step_by_step() -> None:
    r = cli("explain", KQL)
    assert r.exit_code == 0, r.output
    assert " 1. Reads SigninLogs" in r.output and "ResultType" in r.output


def test_validate_exit_codes() -> None:
    good = cli("validate", "-p", "spl", SPL)
    assert good.exit_code == 0, good.output
    assert "execution" in good.output and "valid" in good.output
    bad = cli("validate", "-p", "sql", "--json", "SELECT nope FROM signin_logs")
    assert bad.exit_code == 1
    data = json.loads(bad.output)
    assert data["valid"] is False and data["issues"][0]["code"] == "unknown_field"
    refused = cli("validate", "-p", "sql", "DELETE FROM signin_logs")
    assert refused.exit_code == 1 and "read_only" in refused.output


def test_ask_shows_the_sample_check_and_agreement() -> None:
    r = cli("ask", "failed sign-ins by user in the last 7 days")
    assert r.exit_code == 0, r.output
    assert "checked on sample data" in r.output
    assert "identical results on the sample data" in r.output


def test_run_shortens_huge_cells_in_the_table_and_json_keeps_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "1000")  # the cell on one line, so its note is one string
    rows = tmp_path / "rows.csv"
    huge = "A" * 100_000
    rows.write_text(f"time,user,result_code\n2024-01-01T00:00:00Z,{huge},0\n", encoding="utf-8")
    query = "SigninLogs | project UserPrincipalName"
    shown = cli("run", "-p", "kql", "--data", f"signin_logs={rows}", query)
    assert shown.exit_code == 0, shown.output
    assert "+99,500 characters; --json shows all" in shown.output
    assert huge not in shown.output
    whole = cli("run", "-p", "kql", "--data", f"signin_logs={rows}", "--json", query)
    assert json.loads(whole.stdout)["rows"][0][0] == huge
