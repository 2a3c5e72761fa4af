"""The `lexiquery` command end to end: output, --json contract, batch, bad input, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lexiquery.cli import app

runner = CliRunner()
QUESTION = "top 10 users with failed sign-ins in the last 24 hours"


def run(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), input=input)


def test_ask_prints_queries_for_every_platform() -> None:
    r = run("ask", QUESTION)
    assert r.exit_code == 0, r.output
    for needle in ("KQL", "SPL", "SQL", "SigninLogs", "azure:aad:signin", "signin_logs",
                   "Understood", "checked"):
        assert needle in r.output


def test_ask_json_contract() -> None:
    r = run("ask", QUESTION, "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert {"journey_id", "question", "plan", "queries"} <= data.keys()
    assert data["plan"]["source"] == "signin_logs"
    assert {q["platform"] for q in data["queries"]} == {"kql", "spl", "sql"}
    for q in data["queries"]:
        assert {"platform", "dialect", "query", "valid", "issues", "explanation", "confidence",
                "source"} <= q.keys()
        assert q["valid"] is True and q["query"]


def test_platform_and_dialect_options() -> None:
    r = run("ask", QUESTION, "-p", "sql", "--sql-dialect", "tsql", "--json")
    data = json.loads(r.output)
    assert [(q["platform"], q["dialect"]) for q in data["queries"]] == [("sql", "tsql")]
    assert "TOP 10" in data["queries"][0]["query"]


def test_history_lists_and_shows_journeys() -> None:
    r = run("ask", QUESTION, "--json")
    jid = json.loads(r.output)["journey_id"]
    h = run("history", "--json")
    assert h.exit_code == 0
    assert jid in [row["journey_id"] for row in json.loads(h.output)]
    one = run("history", jid, "--json")
    states = [t["state"] for t in json.loads(one.output)["transitions"]]
    assert states[0] == "PENDING" and states[-1] == "COMPLETED"
    assert run("history", "no-such-id").exit_code == 2


def test_batch_writes_json_lines_and_reports_errors_inline(tmp_path: Path) -> None:
    f = tmp_path / "q.txt"
    f.write_text(f"{QUESTION}\n\nhow many failed logons per host yesterday\n"
                 "what is the weather in Paris\n")
    r = runner.invoke(app, ["ask", "--batch", str(f)])
    lines = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    assert len(lines) == 3
    assert lines[0]["queries"] and lines[1]["queries"]
    assert lines[2]["error"] == "unanswerable_question" and lines[2]["closest_sources"]
    assert r.exit_code == 1


@pytest.mark.parametrize("question,needle", [
    ("", "empty"),
    ("   \t  ", "empty"),
    ("failed sign-ins " * 700, "limit"),
    ("\x00\x01\x02binary\x7f", "binary"),
    ("1234 5678 !!! ???", "no words"),
])
def test_bad_questions_exit_2_and_store_nothing(question: str, needle: str,
                                               data_dir: Path) -> None:
    r = run("ask", question)
    assert r.exit_code == 2
    assert needle in r.output
    rj = run("ask", question, "--json")
    assert rj.exit_code == 2 and json.loads(rj.stdout)["error"] == "bad_input"
    assert json.loads(run("history", "--json").output) == []


def test_unknown_source_question_names_closest_sources() -> None:
    r = run("ask", "what is the weather in Paris", "--json")
    assert r.exit_code == 2
    data = json.loads(r.stdout)
    assert data["error"] == "unanswerable_question" and data["closest_sources"]
    # stored as a FAILED journey, so the user can see it in history
    rows = json.loads(run("history", "--json").output)
    assert rows[0]["status"] == "FAILED"


def test_unknown_source_option() -> None:
    r = run("ask", QUESTION, "--source", "no_such_source")
    assert r.exit_code == 2 and "no_such_source" in r.output


def test_unknown_platform_and_dialect() -> None:
    assert run("ask", QUESTION, "-p", "cobol").exit_code == 2
    r = run("ask", QUESTION, "--sql-dialect", "dbase")
    assert r.exit_code == 2 and "postgres" in r.output


def test_catalog_list_and_show() -> None:
    r = run("catalog", "list", "--json")
    ids = [s["id"] for s in json.loads(r.output)]
    assert len(ids) >= 12 and "signin_logs" in ids
    s = run("catalog", "show", "signin_logs")
    assert s.exit_code == 0 and "UserPrincipalName" in s.output and "failed sign-in" in s.output
    bad = run("catalog", "show", "signin_log")
    assert bad.exit_code == 3 and "signin_logs" in bad.output


def test_catalog_import_persists_and_is_used_by_ask(tmp_path: Path, data_dir: Path) -> None:
    ddl = tmp_path / "shop.sql"
    ddl.write_text("CREATE TABLE orders (order_id BIGINT PRIMARY KEY, customer_email TEXT, "
                   "amount NUMERIC(10,2), status TEXT, created_at TIMESTAMP NOT NULL);")
    r = run("catalog", "import", str(ddl))
    assert r.exit_code == 0, r.output
    assert "orders" in [s["id"] for s in json.loads(run("catalog", "list", "--json").output)]
    a = run("ask", "total amount of orders by status", "--source", "orders", "--json")
    data = json.loads(a.stdout)
    assert [q["platform"] for q in data["queries"]] == ["sql"]
    assert "SUM(" in data["queries"][0]["query"].upper()
    assert run("catalog", "remove", "orders").exit_code == 0
    assert "orders" not in [s["id"] for s in json.loads(run("catalog", "list", "--json").output)]
    assert run("catalog", "remove", "orders").exit_code == 3


def test_malformed_catalog_file_is_rejected_and_nothing_is_saved(tmp_path: Path,
                                                                 data_dir: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources:\n  - id: x\n    fields: [ {name: a, type: nonsense} ]\n")
    before = sorted(p.name for p in (data_dir / "catalogs").glob("*")) \
        if (data_dir / "catalogs").exists() else []
    r = run("catalog", "import", str(bad))
    assert r.exit_code == 3 and "bad.yaml" in r.output
    after = sorted(p.name for p in (data_dir / "catalogs").glob("*")) \
        if (data_dir / "catalogs").exists() else []
    assert before == after
    r2 = run("ask", QUESTION, "--catalog", str(bad))
    assert r2.exit_code == 3
    garbage = tmp_path / "blob.bin"
    garbage.write_bytes(os.urandom(2048))
    assert run("catalog", "import", str(garbage)).exit_code == 3


def test_console_script_help_is_fast_and_works() -> None:
    exe = Path(sys.executable).with_name("lexiquery")
    if not exe.exists():
        pytest.skip("console script not installed in this environment")
    r = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "ask" in r.stdout and "catalog" in r.stdout
    # `--help` must not import the heavy modules.
    probe = subprocess.run(
        [sys.executable, "-c",
         "import sys; from lexiquery.cli import app; "
         "print(sorted(m for m in ('sqlglot','pydantic','yaml','networkx') if m in sys.modules))"],
        capture_output=True, text=True, timeout=30)
    assert probe.stdout.strip() == "[]"


def test_unknown_field_is_a_clear_error_naming_close_fields() -> None:
    r = run("ask", "failed sign-ins grouped by shoe_size", "--json")
    assert r.exit_code == 2
    data = json.loads(r.stdout)
    assert data["error"] == "unknown_field" and "shoe_size" in data["message"]
    assert data["issues"][0]["field"] == "shoe_size"
    plain = run("ask", "failed sign-ins grouped by shoe_size")
    assert "has no field" in plain.output and "catalog show signin_logs" in plain.output


def test_importing_a_workspace_schema_keeps_the_curated_builtin() -> None:
    fixture = Path(__file__).parent / "catalog" / "fixtures" / "kusto_schema.json"
    r = run("catalog", "import", str(fixture), "--json")
    assert r.exit_code == 0
    ids = [row["id"] for row in json.loads(r.stdout)]
    assert "signin_logs_kql" in ids and "custom_app_cl" in ids
    # the curated source still answers "failed sign-ins" with its concept
    a = json.loads(run("ask", "failed sign-ins today", "--json").stdout)
    assert a["plan"]["source"] == "signin_logs"
    b = json.loads(run("ask", "average latency_ms_d by customer_s", "--source", "custom_app_cl",
                       "--json").stdout)
    assert b["queries"][0]["query"].startswith("CustomApp_CL")


def test_corrupt_journey_store_still_answers_and_says_so(data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    db = data_dir / "lexiquery.db"
    db.write_bytes(b"not sqlite at all" * 64)
    r = run("ask", QUESTION, "--json")
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    assert data["queries"] and data["issues"][0]["code"] == "not_stored"
    assert db.read_bytes() == b"not sqlite at all" * 64  # left alone for the user to inspect
    h = run("history")
    assert h.exit_code == 5 and str(db) in h.output


def test_batch_file_problems_are_clear_errors(tmp_path: Path) -> None:
    missing = run("ask", "--batch", str(tmp_path / "nope.txt"))
    assert missing.exit_code == 2 and "cannot read the batch file" in missing.output
    binary = tmp_path / "blob.txt"
    binary.write_bytes(b"\xff\xfe\x00\x01" * 64)
    assert run("ask", "--batch", str(binary)).exit_code == 2
    both = run("ask", QUESTION, "--batch", str(binary))
    assert both.exit_code == 2 and "not both" in both.output
    assert json.loads(run("history", "--json").output) == []


def test_workspaces_are_listed_chosen_and_used(tmp_path: Path, data_dir: Path) -> None:
    """Two schema imports: `catalog list` names them, `catalog use` and `--workspace` choose,
    and the answer comes from the chosen workspace's own table."""
    a = tmp_path / "shop.sql"
    a.write_text("CREATE TABLE orders (order_id BIGINT, amount NUMERIC(10,2), status TEXT, "
                 "created_at TIMESTAMP);")
    b = tmp_path / "vpn.sql"
    b.write_text("CREATE TABLE vpn_sessions (started_at TIMESTAMP, username TEXT, "
                 "src_ip TEXT, result TEXT, bytes_out BIGINT);")
    assert run("catalog", "import", str(a)).exit_code == 0
    r = run("catalog", "import", str(b))
    assert r.exit_code == 0 and "workspace vpn" in r.output
    listed = run("catalog", "list")
    assert "workspaces: shop, vpn" in listed.output and "all in use" in listed.output
    assert run("catalog", "use", "nope").exit_code == 3
    assert run("catalog", "use").exit_code == 2  # neither a name nor --all
    assert run("catalog", "use", "shop").exit_code == 0
    assert "shop (active)" in run("catalog", "list").output
    r = run("ask", "top 5 users by bytes out in vpn sessions", "-p", "sql", "--json")
    assert r.exit_code == 2  # the active workspace (shop) has no VPN table: said so
    r = run("ask", "top 5 users by bytes out in vpn sessions", "-p", "sql", "--json",
            "--workspace", "vpn")
    assert r.exit_code == 0, r.output
    assert "vpn_sessions" in json.loads(r.stdout)["queries"][0]["query"]
    assert run("catalog", "use", "--all").exit_code == 0
    assert "(active)" not in run("catalog", "list").output


def test_catalog_list_reference_lists_the_shelves() -> None:
    r = run("catalog", "list", "--reference", "--json")
    ids = {s["id"] for s in json.loads(r.output)}
    assert {"signin_logs", "device_registry_events", "cim_authentication",
            "splunk_aws_cloudtrail"} <= ids
