"""Text is text (issue 12): every string a user or the data supplied prints exactly as written.

Each command that prints user text gets rich markup (a closing tag with no opening one, which
makes rich raise MarkupError; styles; a link to a local file; an escaped and an unbalanced
bracket) and emoji codes, and must exit as it normally does, print the text verbatim and turn
no code into an emoji. CliRunner captures rich's real output (not a terminal, so without colour
codes); `COLUMNS` makes it wide enough that no table cell is folded.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console
from rich.errors import MarkupError
from rich.progress import Progress
from typer.testing import CliRunner

from cost.records import rec
from lexiquery.cli import app
from lexiquery.config import get_settings
from lexiquery.render.console import TextTable, progress_description, terminal
from lexiquery.cost.store import open_cost_store
from lexiquery.render.answer import print_history

runner = CliRunner()

MARKUP = "[/x] [bold red]r [link=file:///etc/passwd]x[/link] \\[b] [u"
EMOJI_CODES = ":x: :smile:"
HOSTILE = f"{MARKUP} {EMOJI_CODES}"
# In a file name: no "/" (so no closing tag), but styles, an escape and an open bracket.
FILE_MARKUP = "[bold red]r \\[b] [u"
# Inside query string literals: the same without the backslash, whose escaping differs per
# language (the rendered query would double it).
LITERAL = "[/x] [bold red]r [link=file:///etc/passwd]x[/link] [u :x: :smile:"
EMOJI = ("❌", "😄")  # what rich makes of :x: and :smile:
TABLE_EDGE = "│"  # rich drew a table: the output is its real rendering


@pytest.fixture(autouse=True)
def _wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.setenv("LEXIQUERY_EMBEDDINGS", "0")
    monkeypatch.delenv("A2A_STATIC_AGENTS_JSON", raising=False)


def cli(*args: str, code: int = 0) -> Any:
    r = runner.invoke(app, list(args))
    assert r.exit_code == code, f"{r.output}\n{r.exception!r}"
    return r


def verbatim(output: str, *texts: str) -> None:
    for text in texts:
        assert text in output, f"{text!r} is not printed as written:\n{output}"
    for emoji in EMOJI:
        assert emoji not in output, f"an emoji code became {emoji}:\n{output}"


def test_the_probes_are_hostile_to_a_default_console() -> None:
    """Printed as rich markup, these strings crash or change: the tests below would fail."""
    with pytest.raises(MarkupError):
        Console(file=io.StringIO()).print(HOSTILE)
    out = io.StringIO()
    Console(file=out).print(EMOJI_CODES)
    assert EMOJI[0] in out.getvalue()


def test_the_cli_console_and_tables_print_text() -> None:
    out = io.StringIO()
    con = terminal()
    con.file = out
    con.print(HOSTILE)
    table = TextTable(HOSTILE, title=HOSTILE)
    table.add_row(HOSTILE)
    # A caller's own console, with markup and emoji on, prints a TextTable as written too.
    Console(file=out, width=250).print(table)
    assert out.getvalue().count(HOSTILE) == 4
    verbatim(out.getvalue(), HOSTILE)


def test_progress_descriptions_are_text() -> None:
    progress = Progress(progress_description(), console=terminal())
    progress.add_task(f"adding {HOSTILE}.md")
    task = progress.tasks[0]
    assert progress.columns[0](task).plain == f"adding {HOSTILE}.md"  # type: ignore[operator]


def test_render_functions_print_text_on_any_console() -> None:
    out = io.StringIO()
    rows = [{"journey_id": "j" * 32, "created_at": "2026-01-01T00:00:00", "status": "COMPLETED",
             "source": HOSTILE, "question": HOSTILE}]
    print_history(rows, console=Console(file=out, width=250))
    verbatim(out.getvalue(), f"{HOSTILE} │ {HOSTILE}")


# ── ask and the stored history ───────────────────────────────────────────────────────────────

def test_ask_then_history_print_the_question_as_written() -> None:
    question = f'failed sign-ins for user "{HOSTILE}"'
    r = cli("ask", question)
    verbatim(r.stdout, f"Question: {question}", f'user is "{HOSTILE}"')
    listed = cli("history")
    verbatim(listed.stdout, question)
    assert TABLE_EDGE in listed.stdout
    journey = json.loads(cli("history", "--json").stdout)[0]["journey_id"]
    verbatim(cli("history", journey).stdout, f"Question: {question}", f'user is "{HOSTILE}"')


def test_errors_quoting_user_text_print_it_as_written() -> None:
    r = cli("catalog", "show", LITERAL, code=3)
    verbatim(r.stderr, f"error: no source '{LITERAL}'")
    r = cli("ask", "failed sign-ins", "--platform", LITERAL, code=2)
    verbatim(r.stderr, f"unknown platform '{LITERAL}'")


# ── run, explain, translate, validate ────────────────────────────────────────────────────────

def test_query_commands_print_string_literals_as_written() -> None:
    header = "[/h] :x: [bold]"  # a column name is data too: it heads the table as written
    r = cli("run", "-p", "sql", f"SELECT '{LITERAL}' AS \"{header}\" FROM signin_logs LIMIT 1")
    verbatim(r.stdout, f"│ {LITERAL} │", f"┃ {header} ")
    kql = f'SigninLogs | where UserPrincipalName == "{LITERAL}"'
    verbatim(cli("explain", kql).stdout, f'is "{LITERAL}"')
    verbatim(cli("translate", kql, "--to", "spl").stdout, f'"{LITERAL}"')
    verbatim(cli("validate", kql, "--no-execute").stdout, "valid")
    r = cli("validate", "-p", "sql", f'SELECT "{LITERAL}" FROM signin_logs', code=1)
    verbatim(r.stdout, f"'{LITERAL}' is not a column", "invalid")


def test_run_prints_csv_cells_as_written(tmp_path: Path) -> None:
    cells = ["[bold]x[/]", "[/x]", "[link=file:///etc/passwd]y[/link]", "\\[z]", "[open",
             ":x:", ":smile: ok"]
    data = tmp_path / "signins.csv"
    with data.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["user", "result_description"])
        w.writerows([c, c] for c in cells)
    r = cli("run", "--data", f"signin_logs={data}", "-p", "kql",
            "SigninLogs | project UserPrincipalName, ResultDescription")
    rows = [line for line in r.stdout.splitlines() if line.startswith(TABLE_EDGE)]
    assert len(rows) == len(cells)
    for cell, line in zip(cells, rows):
        verbatim(line, f"│ {cell} ")
        assert line.count(cell) == 2


# ── catalog ──────────────────────────────────────────────────────────────────────────────────

def test_an_imported_source_prints_as_written(tmp_path: Path) -> None:
    source = {
        "id": "hostile_src", "name": f"name {HOSTILE}", "description": f"about {HOSTILE}",
        "synonyms": [f"alias {HOSTILE}"], "time_field": "time",
        "fields": [{"name": "time", "type": "datetime", "description": "when"},
                   {"name": "user", "type": "string", "description": f"who {HOSTILE}",
                    "known_values": [{"value": "[/v]", "meaning": f"means {HOSTILE}"}]}],
        "bindings": {"kql": {"table": "HostileTable",
                             "columns": {"time": "TimeGenerated", "user": "Who"}}}}
    file = tmp_path / f"cat {FILE_MARKUP} {EMOJI_CODES}.yaml"
    file.write_text(yaml.safe_dump({"sources": [source]}), encoding="utf-8")
    r = cli("catalog", "import", str(file))
    verbatim(r.stderr, f"imported hostile_src from {file.name}")
    listed = cli("catalog", "list").stdout
    line = next(line for line in listed.splitlines() if "hostile_src" in line)
    assert "HostileTable" in line and TABLE_EDGE in line
    verbatim(listed, f"from {json.loads(cli('catalog', 'list', '--json').stdout)[-1]['origin']}")
    shown = cli("catalog", "show", "hostile_src").stdout
    verbatim(shown, f"name {HOSTILE}", f"about {HOSTILE}", f"alias {HOSTILE}", f"who {HOSTILE}",
             f"[/v] = means {HOSTILE}")


# ── runbooks and known errors ────────────────────────────────────────────────────────────────

# Markdown reads "\[" as an escaped bracket: its backslash is escaped so the text read is HOSTILE.
IN_MARKDOWN = HOSTILE.replace("\\", "\\\\")
RUNBOOK = f"""\
# SOP-099: Password spray {IN_MARKDOWN}

## Detection {IN_MARKDOWN}

1. Look for sprayed accounts in the sign-in logs {IN_MARKDOWN}.
2. Note the source addresses of the spray.
"""


def test_runbook_title_text_and_file_name_print_as_written(tmp_path: Path) -> None:
    file = tmp_path / f"SOP-099 {FILE_MARKUP} {EMOJI_CODES}.md"
    file.write_text(RUNBOOK, encoding="utf-8")
    added = cli("sop", "add", str(file))
    verbatim(added.stdout, str(file))
    title = f"Password spray {HOSTILE}"
    verbatim(cli("sop", "list").stdout, title)
    found = cli("sop", "search", "password spray sprayed accounts").stdout
    verbatim(found, f"Detection {HOSTILE}", f"sign-in logs {HOSTILE}")
    shown = cli("sop", "show", "SOP-099").stdout
    verbatim(shown, title, file.name, f"sign-in logs {HOSTILE}")
    removed = cli("sop", "rm", "SOP-099").stdout
    verbatim(removed, file.name)


def test_known_errors_print_as_written(tmp_path: Path) -> None:
    errors = tmp_path / "errors.yaml"
    errors.write_text(yaml.safe_dump([{
        "code": "TXT-0001", "system": "custom", "title": f"title {HOSTILE}",
        "meaning": f"meaning {HOSTILE}", "action": f"action {HOSTILE}"}]), encoding="utf-8")
    listed = cli("errors", "list", "--system", "custom", "--file", str(errors)).stdout
    verbatim(listed, f"title {HOSTILE}")
    assert TABLE_EDGE in listed
    shown = cli("errors", "show", "TXT-0001", "--file", str(errors)).stdout
    verbatim(shown, f"title {HOSTILE}", f"meaning {HOSTILE}", f"action {HOSTILE}")
    found = cli("errors", "find", f"saw TXT-0001 {HOSTILE}", "--file", str(errors)).stdout
    verbatim(found, f"title {HOSTILE}", f"meaning {HOSTILE}")


# ── agents, cost, doctor ─────────────────────────────────────────────────────────────────────

def test_a_static_agent_name_prints_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("A2A_STATIC_AGENTS_JSON",
                       json.dumps([{"name": LITERAL, "url": "http://127.0.0.1:9/agent"}]))
    r = runner.invoke(app, ["agents", "list"])
    if r.exit_code == 0:
        verbatim(r.stdout, f"│ {LITERAL} ", f"not checked yet: {LITERAL}")
    else:  # a registry that refuses such a name quotes it in its error, as written
        assert r.exit_code == 2, r.output
        verbatim(r.stderr, LITERAL)


def test_cost_records_print_as_written() -> None:
    # Short strings: the call table has eight columns, and a folded cell would not match.
    journey = f"j-{LITERAL}"
    store = open_cost_store(get_settings())
    try:
        store.add(rec(journey, service="[/s] :x:", operation="[bold]op", model="[/m] :smile:",
                      ok=False, error="\\[e] [/x]"))
    finally:
        store.close()
    verbatim(cli("cost").stdout, journey)
    one = cli("cost", journey).stdout
    verbatim(one, f"journey {journey}", "[/s] :x:", "[bold]op (failed: \\[e] [/x])",
             "[/m] :smile:")


def test_doctor_prints_settings_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEXIQUERY_CHAT_MODEL", LITERAL)
    verbatim(cli("doctor").stdout, f"chat model {LITERAL}")
