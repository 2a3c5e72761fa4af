"""The MCP server through the SDK's own `Client`: in memory for every tool, over stdio (a real
`lexiquery mcp` subprocess) for the transport. Results are checked for real content — the
queries the engine wrote, rows the sandbox returned, passages of an ingested runbook — and bad
input must come back as an ``is_error`` result whose text says what to do, never a crash."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.types import CallToolResult

from lexiquery.config import get_settings
from lexiquery.knowledge.store import ProcedureStore
from lexiquery.serve.mcp_server import MAX_ROWS_RETURNED, create_mcp_server

pytestmark = pytest.mark.anyio

TOOLS = {"generate_query", "translate_query", "validate_query", "explain_query",
         "run_query_on_sample", "search_procedures", "list_sources", "describe_source",
         "list_agents", "get_journey"}
READ_ONLY = TOOLS - {"generate_query"}
SPL_FAILED = ('index=azure sourcetype="azure:aad:signin" status.errorCode!="0" '
              '| stats count by user')
KQL_FAILED = 'SigninLogs | where ResultType != "0" | summarize count() by UserPrincipalName'
SERVE = [sys.executable, "-c", "import lexiquery.cli.mcp; from lexiquery.cli import main; main()",
         "mcp"]

SOP = """\
# SOP-031: Password spray against Entra ID

## 1. Detection

Look back 24 hours. A password spray is one source IP failing sign-ins for many accounts.

```kql
SigninLogs
| where ResultType == "50126"
| summarize dcount(UserPrincipalName) by IPAddress
```

## 2. Containment

Block the source IP on the firewall and reset the passwords of the accounts it reached.
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def call(name: str, args: dict[str, Any] | None = None) -> CallToolResult:
    async with Client(create_mcp_server()) as client:
        with anyio.fail_after(60):
            return await client.call_tool(name, args or {})


def ok(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


def error_text(result: CallToolResult) -> str:
    assert result.is_error, result.structured_content
    return " ".join(getattr(c, "text", "") for c in result.content)


# ── the tool list ─────────────────────────────────────────────────────────────────────────────

async def test_tools_are_listed_with_annotations_and_both_schemas() -> None:
    server = create_mcp_server()
    assert server.name == "lexiquery" and "KQL" in (server.instructions or "")
    async with Client(server) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == TOOLS
    for name, tool in tools.items():
        assert tool.description, name
        assert tool.input_schema["type"] == "object", name
        assert tool.output_schema and tool.output_schema.get("properties"), name
        assert tool.annotations is not None and tool.annotations.open_world_hint is False
        assert tool.annotations.read_only_hint is (name in READ_ONLY), name
    gen = tools["generate_query"].input_schema
    assert gen["required"] == ["question"]
    assert "description" in gen["properties"]["question"]
    assert "journey_id" in tools["generate_query"].output_schema["properties"]
    assert set(tools["translate_query"].input_schema["required"]) == {"query", "to_platform"}
    assert "truncated" in tools["run_query_on_sample"].output_schema["properties"]


# ── good input ────────────────────────────────────────────────────────────────────────────────

async def test_generate_query_answers_and_stores_the_journey() -> None:
    async with Client(create_mcp_server()) as client:
        with anyio.fail_after(60):
            result = await client.call_tool(
                "generate_query", {"question": "failed sign-ins in the last 24 hours"})
            answer = ok(result)
            assert answer["status"] == "COMPLETED" and answer["source"] == "signin_logs"
            by = {q["platform"]: q for q in answer["queries"]}
            assert set(by) == {"kql", "spl", "sql"}
            kql = by["kql"]
            assert kql["valid"] and "SigninLogs" in kql["query"] and "ago(24h)" in kql["query"]
            assert kql["sample_rows"] is not None and kql["confidence"] > 0
            assert by["sql"]["dialect"] == "postgres" and "signin_logs" in by["sql"]["query"]
            assert "identical" in (answer["agreement"] or "")
            assert any("24 hours" in u for u in answer["understanding"])

            again = ok(await client.call_tool("get_journey",
                                              {"journey_id": answer["journey_id"]}))
    assert again["journey_id"] == answer["journey_id"]
    assert again["queries"][0]["query"] == by[again["queries"][0]["platform"]]["query"]


async def test_generate_query_for_one_platform_and_dialect() -> None:
    answer = ok(await call("generate_query", {
        "question": "failed sign-ins in the last 24 hours", "platforms": ["sql"],
        "sql_dialect": "tsql", "sample_check": False}))
    [q] = answer["queries"]
    assert q["platform"] == "sql" and q["dialect"] == "tsql" and q["valid"]
    assert q["sample_rows"] is None and "DATEADD" in q["query"].upper()


async def test_generate_query_cites_a_stored_runbook() -> None:
    with ProcedureStore(get_settings()) as store:
        store.add_bytes("sop-031.md", SOP.encode())
    answer = ok(await call("generate_query", {
        "question": "failed sign-ins", "context": "password spray from one IP"}))
    assert any(c.startswith("SOP-031") for c in answer["citations"]), answer


async def test_translate_spl_to_kql_runs_both_on_sample_data() -> None:
    t = ok(await call("translate_query", {"query": SPL_FAILED, "to_platform": "kql"}))
    assert t["from_platform"] == "spl" and t["to_platform"] == "kql" and t["valid"]
    assert t["query"].startswith("SigninLogs") and "UserPrincipalName" in t["query"]
    assert "identical" in (t["agreement"] or "")


async def test_translate_kql_to_sql_in_a_dialect() -> None:
    t = ok(await call("translate_query", {"query": KQL_FAILED, "to_platform": "sql",
                                          "from_platform": "kql", "sql_dialect": "mysql"}))
    assert t["to_dialect"] == "mysql" and "FROM signin_logs" in t["query"]
    assert "GROUP BY" in t["query"].upper()


async def test_validate_reports_every_check() -> None:
    v = ok(await call("validate_query", {"query": KQL_FAILED}))
    assert v["valid"] and v["platform"] == "kql" and v["source"] == "signin_logs"
    assert [c["name"] for c in v["checks"]] == ["read_only", "syntax", "names", "execution"]
    assert all(c["ok"] for c in v["checks"]) and v["rows"] is not None


async def test_validate_finds_an_unknown_field() -> None:
    v = ok(await call("validate_query", {"query": "SigninLogs | where NoSuchColumn == 1",
                                         "platform": "kql"}))
    assert not v["valid"]
    assert any(c["name"] == "names" and c["ok"] is False for c in v["checks"])
    assert any("NoSuchColumn" in i for i in v["issues"])


async def test_explain_in_plain_english() -> None:
    e = ok(await call("explain_query", {"query": KQL_FAILED}))
    assert e["source"] == "signin_logs" and len(e["steps"]) == 3
    assert "SigninLogs" in e["steps"][0] and "UserPrincipalName" in e["steps"][-1]


async def test_run_on_sample_returns_rows_and_caps_them() -> None:
    r = ok(await call("run_query_on_sample", {"query": "SELECT * FROM signin_logs",
                                              "rows": 300, "seed": 7}))
    assert r["platform"] == "sql" and r["executed"] == "query"
    assert r["row_count"] == 300 and len(r["rows"]) == MAX_ROWS_RETURNED and r["truncated"]
    assert "user_principal_name" in r["columns"] and len(r["rows"][0]) == len(r["columns"])
    assert "seed 7" in r["data"]

    small = ok(await call("run_query_on_sample", {"query": KQL_FAILED}))
    assert small["columns"] == ["UserPrincipalName", "count_"] and not small["truncated"]
    assert small["row_count"] == len(small["rows"]) > 0
    assert all(isinstance(row[1], int) and row[1] > 0 for row in small["rows"])


async def test_search_procedures_without_a_store_creates_none() -> None:
    s = ok(await call("search_procedures", {"query": "brute force"}))
    assert s == {"mode": "bm25", "note": "no runbooks are stored", "hits": []}
    assert not (get_settings().sop_dir / "sop.db").exists()


async def test_search_procedures_finds_an_ingested_runbook() -> None:
    with ProcedureStore(get_settings()) as store:
        store.add_bytes("sop-031.md", SOP.encode(), tags=["identity"])
    s = ok(await call("search_procedures", {"query": "block the source IP", "limit": 2}))
    assert s["mode"] == "bm25" and 1 <= len(s["hits"]) <= 2
    top = s["hits"][0]
    assert top["document"] == "SOP-031" and "firewall" in top["text"]
    assert top["tags"] == ["identity"] and top["section"][-1] == "2. Containment"
    assert ok(await call("search_procedures", {"query": "firewall", "tag": "network"}))[
        "hits"] == []
    assert ok(await call("search_procedures", {"query": "firewall", "platform": "kql"}))["hits"]


async def test_catalog_tools() -> None:
    sources = ok(await call("list_sources"))["sources"]
    by = {s["id"]: s for s in sources}
    assert {"signin_logs", "dns_events", "process_creation"} <= set(by)
    assert by["signin_logs"]["platforms"] == ["kql", "spl", "sql"]
    assert by["signin_logs"]["name"] and by["signin_logs"]["description"]

    src = ok(await call("describe_source", {"source_id": "signin_logs"}))
    assert src["kql_table"] == "SigninLogs" and src["sql_table"] == "signin_logs"
    assert "sourcetype" in src["spl_search"]
    user = next(f for f in src["fields"] if f["name"] == "user")
    assert user["columns"]["kql"] == "UserPrincipalName" and user["type"] == "string"
    assert any(c["name"] == "failed sign-in" and "not" in c["means"] for c in src["concepts"])


# ── bad input ─────────────────────────────────────────────────────────────────────────────────

@pytest.mark.parametrize("tool, args, expected", [
    ("describe_source", {"source_id": "signin_log"}, "did you mean signin_logs"),
    ("generate_query", {"question": "failed sign-ins", "source": "no_such"},
     "unknown source 'no_such'"),
    ("generate_query", {"question": "zzz qqq blorp"}, "closest sources"),
    ("generate_query", {"question": "   "}, "the question is empty"),
    ("generate_query", {"question": "failed sign-ins", "sql_dialect": "cobol"},
     "unknown SQL dialect"),
    ("get_journey", {"journey_id": "0" * 32}, "no journey"),
    ("run_query_on_sample", {"query": "hello there, friend"}, "pass platform"),
    ("explain_query", {"query": "SigninLogs | whre x == 1", "platform": "kql"}, "line 1"),
    ("translate_query", {"query": "SELECT * FROM nowhere", "to_platform": "kql"}, "nowhere"),
    ("run_query_on_sample", {"query": ".drop table SigninLogs"}, "control commands"),
    ("run_query_on_sample", {"query": 'index=azure sourcetype="azure:aad:signin" | delete'},
     "delete"),
    ("translate_query", {"query": "DROP TABLE signin_logs", "to_platform": "kql"}, "read"),
    ("explain_query", {"query": ".set-or-append T <| SigninLogs"}, "control commands"),
    ("translate_query", {"to_platform": "kql"}, "query"),
    ("translate_query", {"query": KQL_FAILED, "to_platform": "cobol"}, "to_platform"),
    ("run_query_on_sample", {"query": KQL_FAILED, "rows": 0}, "rows"),
    ("search_procedures", {"query": " "}, "empty"),
    ("no_such_tool", {}, "no_such_tool"),
])
async def test_bad_input_is_an_error_result_that_says_why(tool: str, args: dict[str, Any],
                                                          expected: str) -> None:
    text = error_text(await call(tool, args))
    assert expected in text
    assert "Traceback" not in text


async def test_read_only_refusal_carries_the_hint() -> None:
    text = error_text(await call("run_query_on_sample", {"query": ".drop table SigninLogs"}))
    assert "refused" in text  # the hint: LexiQuery only reads


async def test_hints_name_tools_not_cli_commands() -> None:
    text = error_text(await call("translate_query", {"query": "SELECT * FROM nowhere",
                                                     "to_platform": "kql"}))
    assert "hint: list_sources shows the sources" in text
    assert "lexiquery catalog list" not in text  # `lexiquery catalog import` stays: no tool does it


WRITES = [
    (".drop table SigninLogs", "kql"), (".set-or-append T <| SigninLogs", "kql"),
    ("SigninLogs | evaluate python(typeof(*), 'x')", "kql"),
    ('index=azure | delete', "spl"), ("| outputlookup x.csv", "spl"),
    ("search * | sendemail to=a@b.invalid", "spl"),
    ("DELETE FROM signin_logs", "sql"), ("DROP TABLE signin_logs", "sql"),
    ("SELECT 1; DROP TABLE x", "sql"), ("TRUNCATE TABLE signin_logs", "sql"),
    # The language of these cannot be guessed from the first word; the guards still see them.
    ("externaldata (x:string) [@'http://x.invalid/a.csv'] | take 1", "kql"),
    ("CALL wipe_everything()", "sql"), ("VACUUM", "sql"),
    ("foo bar | collect index=summary", "spl"),
]


@pytest.mark.parametrize("query, platform", WRITES)
async def test_a_write_command_is_one_behaviour_in_every_tool(query: str, platform: str) -> None:
    """validate_query reports it (valid false, a failed read_only check, a read_only issue)
    with or without the platform; the tools that run or rewrite a query refuse it."""
    for args in ({"query": query}, {"query": query, "platform": platform}):
        v = ok(await call("validate_query", args))
        assert v["valid"] is False and v["platform"] == platform, (args, v)
        assert v["checks"][0]["name"] == "read_only" and v["checks"][0]["ok"] is False, args
        assert any(i.startswith("error read_only:") for i in v["issues"]), v["issues"]
    for tool, extra in (("run_query_on_sample", {}), ("explain_query", {}),
                        ("translate_query", {"to_platform": "kql" if platform != "kql"
                                             else "sql"})):
        text = error_text(await call(tool, {"query": query, "platform": platform, **extra}
                                     if tool != "translate_query" else
                                     {"query": query, "from_platform": platform, **extra}))
        assert "refused" in text, (tool, text)


async def test_text_in_no_language_is_still_an_error() -> None:
    text = error_text(await call("validate_query", {"query": "hello there, friend"}))
    assert "pass platform" in text
    # A KQL pipeline over a table whose name is an SQL verb is not an SQL write.
    v = ok(await call("validate_query", {"query": "Load | take 3"}))
    assert v["platform"] == "kql" and v["checks"][0] == {**v["checks"][0], "name": "read_only",
                                                         "ok": True}


# ── list_agents ───────────────────────────────────────────────────────────────────────────────

@pytest.fixture(scope="module")
def echo_url() -> Any:
    from lexiquery.serve.a2a_server import agent_app
    from serve.a2a_agents import Served, echo_agent

    with Served(lambda url: agent_app(echo_agent(platform="spl"), get_settings(), url)) as s:
        yield s.url


async def test_list_agents_in_local_mode_lists_this_process_and_the_registry(
        echo_url: str) -> None:
    from lexiquery.registry.registry import Registry

    listed = ok(await call("list_agents"))
    assert listed["mode"] == "local" and listed["note"] is None
    by_name = {a["name"]: a for a in listed["agents"]}
    assert set(by_name) == {"planner", "knowledge-sop", "knowledge-errors", "data-kql",
                            "data-spl", "data-sql", "validator"}
    assert by_name["data-kql"]["platforms"] == ["kql"] and by_name["data-kql"]["url"] == "local"
    assert "create_plan" in by_name["planner"]["skills"]

    await Registry(get_settings()).register(echo_url)
    listed = ok(await call("list_agents"))
    echo = [a for a in listed["agents"] if a["origin"] == "registered"]
    assert [(a["name"], a["url"], a["platforms"]) for a in echo] == [("echo", echo_url, ["spl"])]
    assert "echo" in echo[0]["skills"] and echo[0]["healthy"] is True


async def test_list_agents_in_registry_mode_lists_the_registry_only(echo_url: str,
                                                                     data_dir: Any) -> None:
    from lexiquery.registry.registry import Registry

    settings = get_settings(agents="registry")
    await Registry(settings).register(echo_url)
    async with Client(create_mcp_server(settings)) as client:
        with anyio.fail_after(60):
            listed = ok(await client.call_tool("list_agents", {}))
    assert listed["mode"] == "registry"
    assert [a["name"] for a in listed["agents"]] == ["echo"]
    (data_dir / "registry.json").write_text("{broken")
    async with Client(create_mcp_server(settings)) as client:
        with anyio.fail_after(60):
            text = error_text(await client.call_tool("list_agents", {}))
    assert "registry" in text


# ── stdio ─────────────────────────────────────────────────────────────────────────────────────

def _child_env() -> dict[str, str]:
    return {k: os.environ[k] for k in ("LEXIQUERY_DATA_DIR", "LEXIQUERY_OLLAMA_HOST")}


@pytest.mark.slow
async def test_stdio_server_lists_and_calls_tools() -> None:
    params = StdioServerParameters(command=SERVE[0], args=SERVE[1:], env=_child_env())
    with anyio.fail_after(60):
        async with Client(params) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert names == TOOLS
            sources = ok(await client.call_tool("list_sources", {}))["sources"]
            assert "signin_logs" in {s["id"] for s in sources}
            t = ok(await client.call_tool("translate_query",
                                          {"query": SPL_FAILED, "to_platform": "kql"}))
            assert t["valid"] and t["query"].startswith("SigninLogs")
            bad = await client.call_tool("describe_source", {"source_id": "nope"})
            assert bad.is_error


@pytest.mark.slow
def test_stdio_stdout_holds_only_protocol_messages() -> None:
    """Raw JSON-RPC lines in, and every line that comes out must be a JSON-RPC message."""
    from mcp_types.version import LATEST_HANDSHAKE_VERSION

    lines = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": LATEST_HANDSHAKE_VERSION, "capabilities": {},
            "clientInfo": {"name": "test", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "explain_query", "arguments": {"query": KQL_FAILED}}},
    ]
    proc = subprocess.Popen(SERVE, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, **_child_env()},
                            text=True)
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write("".join(json.dumps(m) + "\n" for m in lines))
        proc.stdin.flush()
        got: dict[int, dict[str, Any]] = {}
        bad: list[str] = []

        def read_two() -> None:
            while len(got) < 2:
                line = proc.stdout.readline()  # type: ignore[union-attr]
                if not line:
                    return
                try:
                    message = json.loads(line)
                except ValueError:
                    bad.append(line)
                    continue
                if "id" in message:
                    got[message["id"]] = message
                else:
                    assert message.get("jsonrpc") == "2.0", message

        reader = threading.Thread(target=read_two, daemon=True)
        reader.start()
        reader.join(timeout=60)
        assert not reader.is_alive(), "no answer from the server in 60 s"
        assert bad == [], "stdout carried something that is not a protocol message"
        assert got[1]["result"]["serverInfo"]["name"] == "lexiquery"
        steps = got[2]["result"]["structuredContent"]["steps"]
        assert "SigninLogs" in steps[0]
    finally:
        proc.kill()
        _, err = proc.communicate(timeout=10)
    assert "Traceback" not in err
