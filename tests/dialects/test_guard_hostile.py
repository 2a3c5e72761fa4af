"""Issue 12's read-only guard bypasses, on every surface that validates a query: the CLI
(`lexiquery validate --no-execute`, exit code), the Python API (`lexiquery.validate_query`) and
MCP (`validate_query`). Each reproduction was ``valid: true`` before; each must now be invalid
with a ``read_only`` issue. Plus SPL macros declared in a catalog file, and ``valid`` following
error-severity issues."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest
import yaml
from mcp import Client
from typer.testing import CliRunner

import lexiquery
from lexiquery.catalog.importers import import_catalog_data
from lexiquery.catalog.model import Catalog
from lexiquery.cli import app
from lexiquery.dialects.spl.macros import MAX_MACRO_DEPTH, expand_macros
from lexiquery.errors import CatalogError, QueryError
from lexiquery.serve.mcp_server import create_mcp_server

# (platform, sql dialect, query): the probe's reproductions.
REPRODUCTIONS = [
    ("sql", "mysql", "SELECT * FROM signin_logs /*!50000 INTO OUTFILE '/tmp/x.csv' */"),
    ("sql", "mysql", "SELECT * FROM signin_logs /*!; DROP TABLE signin_logs */"),
    ("sql", "postgres", "SELECT pg_read_file('/etc/passwd') FROM signin_logs"),
    ("sql", "postgres", "SELECT lo_export(16409, '/tmp/x') FROM signin_logs"),
    ("sql", "postgres", "SELECT * FROM signin_logs WHERE user_principal_name IN "
                        "(SELECT x FROM dblink('host=db.invalid', 'select 1') AS t(x text))"),
    ("sql", "postgres", "SELECT set_config('log_statement', 'none', false) FROM signin_logs"),
    ("sql", "postgres", "SELECT pg_terminate_backend(1) FROM signin_logs"),
    ("sql", "postgres", "SELECT nextval('s') FROM signin_logs"),
    ("sql", "mysql", "SELECT LOAD_FILE('/etc/passwd') FROM signin_logs"),
    ("sql", "sqlite", "SELECT load_extension('/tmp/x.so') FROM signin_logs"),
    ("sql", "snowflake", "SELECT SYSTEM$WHITELIST() FROM signin_logs"),
    ("sql", "clickhouse", "SELECT * FROM signin_logs WHERE user_principal_name IN "
                          "(SELECT * FROM file('/etc/passwd'))"),
    ("kql", None, 'SigninLogs | where UserPrincipalName == @"x\\" '
                  '| evaluate http_request("https://a.invalid") //"'),
    ("spl", None, 'index=azure sourcetype="azure:aad:signin" `evil_macro` | stats count by user'),
]
IDS = [f"{p}-{d or p}-{i}" for i, (p, d, _) in enumerate(REPRODUCTIONS)]
SPL_REX = ('index=azure sourcetype="azure:aad:signin" '
           '| rex field=user max_match=0 "(?<name>[^@]+)" | stats count by user')

runner = CliRunner()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _cli_validate(*args: str) -> tuple[int, dict[str, Any]]:
    r = runner.invoke(app, ["validate", "--no-execute", "--json", *args])
    return r.exit_code, json.loads(r.output)


def _read_only(issues: list[Any]) -> bool:
    return any((i["code"] if isinstance(i, dict) else i.code) == "read_only" for i in issues)


@pytest.mark.parametrize("platform,dialect,query", REPRODUCTIONS, ids=IDS)
def test_cli_refuses(platform: str, dialect: str | None, query: str) -> None:
    code, data = _cli_validate("-p", platform, *(["-d", dialect] if dialect else []), query)
    assert code == 1 and data["valid"] is False and _read_only(data["issues"]), data


@pytest.mark.parametrize("platform,dialect,query", REPRODUCTIONS, ids=IDS)
def test_python_api_refuses(platform: str, dialect: str | None, query: str) -> None:
    v = lexiquery.validate_query(query, platform, sql_dialect=dialect, execute_sample=False)
    assert v.valid is False and _read_only(v.issues)
    assert [c.ok for c in v.checks if c.name == "read_only"] == [False]


async def _mcp_validate(args: dict[str, Any]) -> dict[str, Any]:
    async with Client(create_mcp_server()) as client:
        with anyio.fail_after(60):
            result = await client.call_tool("validate_query", args)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


@pytest.mark.anyio
@pytest.mark.parametrize("platform,dialect,query", REPRODUCTIONS, ids=IDS)
async def test_mcp_refuses(platform: str, dialect: str | None, query: str) -> None:
    args = {"query": query, "platform": platform, **({"sql_dialect": dialect} if dialect else {})}
    out = await _mcp_validate(args)
    assert out["valid"] is False
    assert [c["ok"] for c in out["checks"] if c["name"] == "read_only"] == [False]


# ── an error-severity issue makes the query invalid, on every surface ──────────────────────


@pytest.mark.anyio
async def test_error_issue_is_invalid_everywhere() -> None:
    code, data = _cli_validate("-p", "spl", SPL_REX)
    assert code == 1 and data["valid"] is False
    assert any(i["code"] == "unsupported" and i["severity"] == "error" for i in data["issues"])
    assert lexiquery.validate_query(SPL_REX, "spl", execute_sample=False).valid is False
    assert (await _mcp_validate({"query": SPL_REX, "platform": "spl"}))["valid"] is False


# ── SPL macros declared in the catalog ──────────────────────────────────────────────────────

LAB = """\
id: lab_auth
name: Lab authentications
time_field: time
fields:
  - {name: time, type: datetime}
  - {name: user, type: string}
  - {name: action, type: string}
bindings:
  spl:
    search: index=lab sourcetype=lab:auth
    fields: {time: _time, user: user, action: action}
    macros:
      lab_auth: index=lab sourcetype=lab:auth
      "failed_for(1)": {args: [who], definition: 'action=failure user=$who$'}
      evil: "| delete"
      loop: "`loop`"
"""


@pytest.fixture
def lab_catalog(tmp_path: Path) -> Path:
    path = tmp_path / "lab.yaml"
    path.write_text(LAB, encoding="utf-8")
    return path


def test_declared_macros_expand_and_validate(lab_catalog: Path) -> None:
    query = '`lab_auth` `failed_for("bob")` | stats count by user'
    v = lexiquery.validate_query(query, "spl", catalog_files=[lab_catalog], execute_sample=False)
    assert v.valid, v.issues
    code, data = _cli_validate("-p", "spl", "-c", str(lab_catalog), query)
    assert code == 0 and data["valid"] is True and data["source"] == "lab_auth"


@pytest.mark.parametrize("query,why", [
    ("`lab_auth` | stats count by user `evil`", "delete"),  # declared, expands to a write
    ("`lab_auth` `loop`", "levels deep"),  # calls itself
    ("`lab_auth` `failed_for(a, b)` | stats count", "not declared"),  # declared with 1 value
    ("`lab_auth` `unknown_one` | stats count", "not declared"),
])
def test_macro_refusals(lab_catalog: Path, query: str, why: str) -> None:
    v = lexiquery.validate_query(query, "spl", catalog_files=[lab_catalog], execute_sample=False)
    assert v.valid is False
    assert any(i.code == "read_only" and why in i.message for i in v.issues), v.issues


def test_macros_load_from_catalog_yaml_and_expand() -> None:
    [source] = import_catalog_data(yaml.safe_load(LAB), "lab.yaml")
    macros = Catalog([source]).spl_macros()
    assert macros["failed_for(1)"].args == ["who"]
    assert expand_macros("`failed_for(alice)` ```not `evil` here```", macros) == \
        "action=failure user=alice ```not `evil` here```"
    assert expand_macros('`failed_for("a, b")`', macros) == 'action=failure user="a, b"'


def test_macro_declaration_must_match_its_arguments() -> None:
    bad = yaml.safe_load(LAB.replace('"failed_for(1)"', '"failed_for(2)"'))
    with pytest.raises(CatalogError, match="arguments"):
        import_catalog_data(bad, "lab.yaml")


def test_macro_expansion_is_bounded() -> None:
    [source] = import_catalog_data(yaml.safe_load(LAB), "lab.yaml")
    macros = dict(Catalog([source]).spl_macros())
    chain = {f"m{i}": macros["lab_auth"].model_copy(update={"definition": f"`m{i + 1}`"})
             for i in range(MAX_MACRO_DEPTH + 1)}
    with pytest.raises(QueryError) as e:
        expand_macros("`m0`", chain)
    assert e.value.code == "read_only"
    wide = {"w": macros["lab_auth"].model_copy(update={"definition": "`x`" * 50}),
            "x": macros["lab_auth"].model_copy(update={"definition": "y" * 10_000})}
    with pytest.raises(QueryError, match="characters"):
        expand_macros("`w`", wide)
