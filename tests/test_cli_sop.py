"""`lexiquery sop …` and `lexiquery errors …` end to end: real Markdown, DOCX and PDF files in
tmp_path, output, --json, exit codes. No test reaches a real Ollama (conftest points the host at a
closed port; the hybrid case uses `fake_ollama`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from knowledge.sops import BRUTE_FORCE, LOCKOUT, kb300_pdf
from lexiquery.cli import app

runner = CliRunner()

MALWARE_DOCX_TITLE = "SOP-021 Malware on an endpoint"


@pytest.fixture(autouse=True)
def _wide_and_lexical(monkeypatch: pytest.MonkeyPatch) -> None:
    # A wide console so tables do not fold the values the assertions look for.
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("LEXIQUERY_EMBEDDINGS", "0")


def cli(*args: str) -> Any:
    return runner.invoke(app, list(args))


def cli_json(*args: str, code: int = 0) -> Any:
    r = cli(*args, "--json")
    assert r.exit_code == code, r.output
    return json.loads(r.stdout)


def write_docx(path: Path) -> Path:
    import docx

    d = docx.Document()
    d.add_heading(MALWARE_DOCX_TITLE, level=1)
    d.add_heading("Containment", level=2)
    d.add_paragraph("Isolate the endpoint from the network before anything else.")
    d.add_paragraph("Isolate the host with the EDR console.", style="List Number")
    d.add_paragraph("Collect the process tree of the malicious process.", style="List Number")
    d.save(str(path))
    return path


def write_pdf(path: Path) -> Path:
    path.write_bytes(kb300_pdf())
    return path


@pytest.fixture
def runbooks(tmp_path: Path) -> Path:
    folder = tmp_path / "runbooks"
    (folder / "identity").mkdir(parents=True)
    (folder / "SOP-017-brute-force.md").write_text(BRUTE_FORCE, encoding="utf-8")
    (folder / "identity" / "RB-042-lockouts.md").write_text(LOCKOUT, encoding="utf-8")
    write_docx(folder / "SOP-021-malware.docx")
    write_pdf(folder / "KB-300-vpn.pdf")
    (folder / "diagram.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    return folder


def added(runbooks: Path, *extra: str) -> dict[str, Any]:
    return cli_json("sop", "add", str(runbooks), *extra)


# ── sop add ──────────────────────────────────────────────────────────────────────────────────

def test_add_a_folder_reports_every_file_and_skips_the_unsupported(runbooks: Path) -> None:
    r = cli("sop", "add", str(runbooks), "--tag", "soc")
    assert r.exit_code == 0, r.output
    for name in ("SOP-017", "RB-042", "SOP-021", "KB-300"):
        assert name in r.stdout
    assert r.stdout.count("added ") >= 4
    assert "skipped" in r.stdout and "diagram.png" in r.stdout and ".png" in r.stdout
    assert "4 added, 0 unchanged, 0 replaced, 0 failed" in r.stdout
    assert "search mode: bm25 only — embeddings are switched off" in r.stdout


def test_add_json_has_results_skipped_and_summary(runbooks: Path) -> None:
    data = added(runbooks, "--tag", "soc,identity", "--tag", "tier2")
    assert [x["status"] for x in data["results"]] == ["added"] * 4
    formats = sorted(x["document"]["format"] for x in data["results"])
    assert formats == ["docx", "markdown", "markdown", "pdf"]
    assert all(x["document"]["tags"] == ["identity", "soc", "tier2"] for x in data["results"])
    assert [Path(s["path"]).name for s in data["skipped"]] == ["diagram.png"]
    s = data["summary"]
    assert (s["added"], s["failed"], s["mode"]) == (4, 0, "bm25")
    assert s["chunks"] == sum(x["document"]["chunks"] for x in data["results"]) > 4


def test_no_recursive_leaves_sub_folders_out(runbooks: Path) -> None:
    data = added(runbooks, "--no-recursive")
    names = {Path(x["path"]).name for x in data["results"]}
    assert "RB-042-lockouts.md" not in names and "SOP-017-brute-force.md" in names


def test_the_same_files_again_are_unchanged_and_an_edit_replaces(runbooks: Path) -> None:
    first = added(runbooks)
    again = added(runbooks)
    assert [x["status"] for x in again["results"]] == ["unchanged"] * 4
    assert again["summary"]["chunks"] == 0
    sop = runbooks / "SOP-017-brute-force.md"
    old_id = next(x["document"]["id"] for x in first["results"] if x["path"] == str(sop))
    sop.write_text(BRUTE_FORCE + "\n## 5. Lessons learned\n\nReview the detection yearly.\n",
                   encoding="utf-8")
    r = cli("sop", "add", str(sop))
    assert r.exit_code == 0, r.output
    assert "replaced" in r.stdout and f"replaces {old_id[:12]}" in r.stdout
    assert "0 added, 0 unchanged, 1 replaced, 0 failed" in r.stdout
    listed = cli_json("sop", "list")
    assert len(listed) == 4 and old_id not in {d["id"] for d in listed}


def test_one_bad_file_does_not_stop_the_others(tmp_path: Path) -> None:
    good = tmp_path / "SOP-017.md"
    good.write_text(BRUTE_FORCE, encoding="utf-8")
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\n" + b"\x00garbage" * 50)
    r = cli("sop", "add", str(broken), str(good), str(tmp_path / "missing.md"))
    assert r.exit_code == 2, r.output
    assert "failed" in r.stdout and "broken.pdf" in r.stdout
    assert "no such file or folder" in r.stdout
    assert "1 added, 0 unchanged, 0 replaced, 2 failed" in r.stdout
    data = cli_json("sop", "add", str(broken), str(good), code=2)
    statuses = {Path(x["path"]).name: x["status"] for x in data["results"]}
    assert statuses == {"broken.pdf": "failed", "SOP-017.md": "unchanged"}
    error = next(x["error"] for x in data["results"] if x["status"] == "failed")
    assert error["error"] == "corrupt" and "broken.pdf" in error["message"]


def test_an_unsupported_file_named_explicitly_fails_with_a_hint(tmp_path: Path) -> None:
    f = tmp_path / "notes.doc"
    f.write_bytes(b"\xd0\xcf\x11\xe0 legacy word")
    data = cli_json("sop", "add", str(f), code=2)
    error = data["results"][0]["error"]
    assert error["error"] == "unsupported_type" and error.get("hint")
    r = cli("sop", "add", str(f))
    assert r.exit_code == 2 and "hint:" in r.stdout


def test_a_folder_without_documents_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "pics").mkdir()
    (tmp_path / "pics" / "a.png").write_bytes(b"\x89PNG")
    r = cli("sop", "add", str(tmp_path / "pics"))
    assert r.exit_code == 2 and "no supported documents" in r.output
    assert json.loads(cli("sop", "add", str(tmp_path / "pics"), "--json").stdout)["error"] \
        == "bad_input"


def test_unreachable_ollama_is_named_in_the_summary(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEXIQUERY_EMBEDDINGS", "1")  # on, but the conftest host is a closed port
    f = tmp_path / "SOP-017.md"
    f.write_text(BRUTE_FORCE, encoding="utf-8")
    r = cli("sop", "add", str(f))
    assert r.exit_code == 0, r.output
    assert "bm25 only — Ollama is not reachable at http://127.0.0.1:9" in r.stdout


def test_embeddings_from_ollama_make_the_mode_hybrid(tmp_path: Path, fake_ollama: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEXIQUERY_EMBEDDINGS", "1")
    f = tmp_path / "SOP-017.md"
    f.write_text(BRUTE_FORCE, encoding="utf-8")
    r = cli("sop", "add", str(f))
    assert r.exit_code == 0, r.output
    assert "search mode: hybrid (embeddings from nomic-embed-text)" in r.stdout
    data = cli_json("sop", "search", "password guessing")
    assert data["mode"] == "hybrid" and data["hits"]
    listed = cli("sop", "list")
    assert "yes" in listed.stdout  # the embedded column


# ── sop search ───────────────────────────────────────────────────────────────────────────────

def test_search_prints_mode_rank_label_heading_path_and_score(runbooks: Path) -> None:
    added(runbooks)
    r = cli("sop", "search", "failed sign-ins threshold", "--limit", "3")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0].startswith("search mode: bm25 only")
    first = next(line for line in lines if line.lstrip().startswith("1. "))
    assert "SOP-017" in first and " › " in first and "chunk " in first and "score " in first
    assert not any(line.lstrip().startswith("4. ") for line in lines)


def test_search_json_and_filters(runbooks: Path) -> None:
    added(runbooks, "--tag", "soc")
    cli_json("sop", "add", str(runbooks / "identity"), "--tag", "identity")  # adds the tag
    data = cli_json("sop", "search", "locked out accounts")
    assert data["mode"] == "bm25" and data["hits"][0]["document"]["label"] == "RB-042"
    only = cli_json("sop", "search", "failed sign-ins", "--document", "SOP-017")
    assert only["hits"] and {h["document"]["label"] for h in only["hits"]} == {"SOP-017"}
    tagged = cli_json("sop", "search", "failed sign-ins", "--tag", "identity")
    assert {h["document"]["label"] for h in tagged["hits"]} <= {"RB-042"}
    spl = cli_json("sop", "search", "failed sign-ins", "--platform", "spl")
    assert {h["document"]["label"] for h in spl["hits"]} <= {"RB-042"}
    assert cli_json("sop", "search", "failed sign-ins", "--until", "2000-01-01")["hits"] == []
    assert cli_json("sop", "search", "failed sign-ins", "--since", "7d")["hits"]


def test_search_bad_input_exits_2_with_a_hint(runbooks: Path) -> None:
    added(runbooks)
    r = cli("sop", "search", "x", "--since", "last tuesday")
    assert r.exit_code == 2 and "is not a date" in r.output and "hint:" in r.output
    assert cli("sop", "search", "x", "--platform", "splunk").exit_code == 2
    assert cli("sop", "search", "x", "--limit", "0").exit_code == 2
    bad = cli_json("sop", "search", "x", "--document", "SOP-999", code=2)
    assert bad["error"] == "unknown_document"
    assert cli("sop", "search", "   ").exit_code == 2


def test_search_with_an_empty_store_says_how_to_add(tmp_path: Path) -> None:
    r = cli("sop", "search", "anything")
    assert r.exit_code == 0 and "no matching passages" in r.stdout
    assert "lexiquery sop add" in r.output


# ── sop list | show | rm ─────────────────────────────────────────────────────────────────────

def test_list_shows_a_table_and_json(runbooks: Path) -> None:
    data = added(runbooks, "--tag", "soc")
    r = cli("sop", "list")
    assert r.exit_code == 0, r.output
    for header in ("id", "label · title", "format", "chunks", "procs", "tags", "added",
                   "embedded"):
        assert header in r.stdout
    some_id = data["results"][0]["document"]["id"]
    assert some_id[:12] in r.stdout and some_id not in r.stdout  # short ids
    assert "4 document(s)" in r.stdout
    listed = cli_json("sop", "list", "--tag", "soc")
    assert len(listed) == 4 and cli_json("sop", "list", "--tag", "nope") == []


def test_list_of_an_empty_store_says_how_to_add() -> None:
    r = cli("sop", "list")
    assert r.exit_code == 0 and "lexiquery sop add" in r.stdout


def test_show_prints_procedures_and_with_chunks_the_chunks(runbooks: Path) -> None:
    added(runbooks)
    r = cli("sop", "show", "SOP-017")
    assert r.exit_code == 0, r.output
    assert "SOP-017" in r.stdout and "Procedures" in r.stdout
    assert "Run the detection query below." in r.stdout  # a step
    assert "query (kql" in r.stdout and "SigninLogs" in r.stdout
    assert "--chunks shows them" in r.stdout and "[0] " not in r.stdout
    full = cli("sop", "show", "SOP-017", "--chunks")
    assert full.exit_code == 0 and "Chunks (" in full.stdout and "[0] " in full.stdout
    detail = cli_json("sop", "show", "SOP-017")
    assert detail["document"]["label"] == "SOP-017" and detail["chunks"]
    assert any(q["language"] == "kql" for p in detail["procedures"] for q in p["queries"])


def test_show_by_id_prefix_and_unknown_ref(runbooks: Path) -> None:
    data = added(runbooks)
    doc = data["results"][0]["document"]
    assert cli_json("sop", "show", doc["id"][:6])["document"]["id"] == doc["id"]
    r = cli("sop", "show", "SOP-018")
    assert r.exit_code == 2 and "SOP-018" in r.output and "hint:" in r.output


def test_rm_removes_and_an_unknown_id_removes_nothing(runbooks: Path) -> None:
    added(runbooks)
    bad = cli_json("sop", "rm", "SOP-017", "SOP-0177", code=2)
    assert bad["error"] == "unknown_document" and bad.get("hint")
    assert len(cli_json("sop", "list")) == 4  # checked first: nothing was removed
    removed = cli_json("sop", "rm", "SOP-017", "RB-042")
    assert sorted(d["label"] for d in removed) == ["RB-042", "SOP-017"]
    assert {d["label"] for d in cli_json("sop", "list")} == {"SOP-021", "KB-300"}
    r = cli("sop", "rm", "KB-300")
    assert r.exit_code == 0 and "removed KB-300" in r.stdout
    assert cli("sop", "show", "KB-300").exit_code == 2
    assert cli_json("sop", "search", "VPN certificate")["hits"] == []


def test_every_command_has_help_with_examples() -> None:
    for cmd in (["sop", "add"], ["sop", "search"], ["sop", "show"], ["sop", "rm"],
                ["errors", "show"], ["errors", "find"]):
        r = cli(*cmd, "--help")
        assert r.exit_code == 0 and "Example" in r.stdout, cmd
    assert "--no-recursive" in cli("sop", "add", "--help").stdout
    assert "default: 5" in cli("sop", "search", "--help").stdout


# ── errors ───────────────────────────────────────────────────────────────────────────────────

CUSTOM_ERRORS = """\
- code: PAY-0042
  system: custom
  title: Payment gateway timeout
  meaning: The payment provider did not answer within 30 seconds.
  action: Check the provider's status page, then the egress proxy.
"""


@pytest.fixture
def custom_errors(tmp_path: Path) -> Path:
    f = tmp_path / "errors.yaml"
    f.write_text(CUSTOM_ERRORS, encoding="utf-8")
    return f


def test_errors_show_a_builtin_and_a_custom_code(custom_errors: Path) -> None:
    r = cli("errors", "show", "50126")
    assert r.exit_code == 0, r.output
    assert "50126" in r.stdout and "entra" in r.stdout and "meaning:" in r.stdout
    data = cli_json("errors", "show", "PAY-0042", "--file", str(custom_errors))
    assert data["title"] == "Payment gateway timeout" and data["origin"] == str(custom_errors)
    r = cli("errors", "show", "PAY-0042")  # without the file it is unknown
    assert r.exit_code == 2 and "no known error" in r.output and "hint:" in r.output


def test_errors_list_by_system(custom_errors: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEXIQUERY_KNOWN_ERRORS_FILES", json.dumps([str(custom_errors)]))
    custom = cli_json("errors", "list", "--system", "custom")
    assert [e["code"] for e in custom] == ["PAY-0042"]
    everything = cli_json("errors", "list")
    assert len(everything) > 10 and {e["system"] for e in everything} >= {"entra", "custom"}
    r = cli("errors", "list", "--system", "custom")
    assert r.exit_code == 0 and "PAY-0042" in r.stdout and "Payment gateway timeout" in r.stdout
    r = cli("errors", "list", "--system", "mainframe")
    assert r.exit_code == 2 and "systems:" in r.output


def test_errors_find_in_text(custom_errors: Path) -> None:
    text = "checkout failed with PAY-0042; the user also saw AADSTS50126 at sign-in"
    found = cli_json("errors", "find", text, "--file", str(custom_errors))
    assert {m["code"] for m in found} >= {"PAY-0042", "AADSTS50126"}
    assert any(m["written"] == "AADSTS50126" for m in found)
    r = cli("errors", "find", text, "--file", str(custom_errors))
    assert r.exit_code == 0 and "Payment gateway timeout" in r.stdout
    none = cli("errors", "find", "nothing to see in the last 24 hours")
    assert none.exit_code == 0 and "No known error codes" in none.stdout


def test_a_broken_errors_file_is_a_clear_error(tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text("- code: X1\n  system: mainframe\n  title: t\n  meaning: m\n", encoding="utf-8")
    r = cli("errors", "list", "--file", str(f))
    assert r.exit_code == 2 and "bad.yaml" in r.output
