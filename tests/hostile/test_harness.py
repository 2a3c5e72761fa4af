"""The corpus's own checks catch what they claim to: a corpus whose judge passes everything
would prove nothing. Synthetic outcomes, one breach each."""

from __future__ import annotations

from pathlib import Path

import pytest

from hostile.cases import Case, expand_macros, load_cases
from hostile.env import Outcome, Paths, make_tree, snapshot, violations
from hostile.judge import judge


@pytest.fixture
def tree(tmp_path: Path) -> Paths:
    return make_tree(tmp_path / "t")


def case(expect: str, **spec: object) -> Case:
    return Case(cls="c", id="i", op="run", surfaces=("python",), expect=expect,
                spec={"id": "i", "op": "run", "surfaces": ["python"], "expect": expect, **spec})


def test_invariants_catch_tracebacks_canaries_new_files_and_bare_mcp_errors(tree: Paths) -> None:
    before = snapshot(tree)
    clean = Outcome("cli", "refused", message="error: no", texts=["error: no"])
    assert violations(clean, tree, before, snapshot(tree)) == []

    trace = Outcome("cli", "refused", texts=["Traceback (most recent call last):\n  File \"/x\""])
    assert violations(trace, tree, before, before)
    leak = Outcome("python", "ok", texts=[f"id,secret 1,{tree.tokens[0]}"])
    assert any("canary" in v for v in violations(leak, tree, before, before))
    (tree.out / "x.csv").write_text("written by a query")
    assert any("new files" in v for v in violations(clean, tree, before, snapshot(tree)))
    bare = Outcome("mcp", "refused", message="Error executing tool run_query_on_sample")
    assert any("bare" in v for v in violations(bare, tree, before, before))
    explained = Outcome("mcp", "refused", message="Error executing tool run_query_on_sample: "
                                                  "line 1, column 8: this string is never closed")
    assert violations(explained, tree, before, before) == []


def test_writes_inside_the_data_directory_are_allowed(tree: Paths) -> None:
    before = snapshot(tree)
    (tree.data / "lexiquery.db").write_bytes(b"x")
    assert snapshot(tree) == before


def test_judge_holds_each_expectation() -> None:
    assert judge(case("refused"), Outcome("python", "ok"), {}) != []
    assert judge(case("refused"), Outcome("python", "invalid"), {}) == []  # valid=false refuses
    assert judge(case("invalid"), Outcome("python", "refused"), {}) != []
    assert judge(case("handled"), Outcome("python", "refused"), {}) != []
    assert judge(case("clean"), Outcome("python", "crash"), {}) != []
    refused = Outcome("python", "refused", codes={"syntax"}, position=False)
    assert judge(case("refused"), refused, {"codes": ["read_only"]}) != []
    assert judge(case("refused"), refused, {"position": True}) != []
    assert judge(case("refused"), Outcome("cli", "refused", codes={"*"}),
                 {"codes": ["read_only"]}) == []  # the CLI prints no codes
    ok = Outcome("cli", "ok", texts=["failed sign-ins for user ❌"])
    assert judge(case("handled"), ok, {"echo": [":x:"]}) != []
    assert judge(case("handled"), ok, {"forbid": ["❌"]}) != []


def test_judge_refuses_a_valid_query_that_is_not_read_only() -> None:
    out = Outcome("python", "ok", queries=[("kql", "kql", ".drop table SigninLogs")])
    assert any("read-only" in w for w in judge(case("clean"), out, {}))
    fine = Outcome("python", "ok", queries=[("kql", "kql", 'SigninLogs | where X == ".drop"')])
    assert judge(case("clean"), fine, {}) == []


def test_http_status_and_headers() -> None:
    out = Outcome("http", "refused", data={"status": 404, "headers": {"x-frame-options": "DENY"}})
    assert judge(case("refused"), out, {"status": "4xx"}) == []
    assert judge(case("refused"), out, {"status": [401, 403]}) != []
    assert judge(case("refused"), out, {"headers_present": ["x-content-type-options"]}) != []
    assert judge(case("refused"), out, {"headers_absent": ["x-frame-options"]}) != []


def test_macros_and_the_corpus_files() -> None:
    assert expand_macros("a<<3*(>>b<<U+202E>>") == "a(((b\u202e"
    cases = load_cases()
    assert len({c.full_id for c in cases}) == len(cases)
