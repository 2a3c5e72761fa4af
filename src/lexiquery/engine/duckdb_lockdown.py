"""The sandbox's DuckDB connection, locked by the database's own settings, and a last check of
each statement by DuckDB's own parser.

`open_locked(setup)` opens an in-memory database that cannot reach the host:
* `enable_external_access=false`: no file, no URL, no COPY/EXPORT/ATTACH of a file, no
  extension install or load; DuckDB still allows its allowed directories and its temp
  directory, so there are no allowed directories or paths, and `temp_directory` is a fresh
  directory made for this connection only (0700, `tempfile.mkdtemp`), empty, removed by
  `close_locked`. DuckDB's default, `<cwd>/.tmp`, would let a query read the files found there;
* extensions neither auto-installed nor auto-loaded, community extensions and custom
  extension repositories refused, no persistent secrets, no scans of Python variables;
* `memory_limit` (spills go to the private temp directory, itself capped by
  `max_temp_directory_size`), so one query cannot take the machine's memory;
* then `setup` (time zone, schemas, macros) and `lock_configuration=true`: no query can
  change any of this afterwards.

`check_duckdb_parse(con, sql, tables=…)` serialises the statement with DuckDB's
`json_serialize_sql` (which only accepts a single SELECT) and walks DuckDB's own tree: every
function called must be in `sql_pure_functions` (an allowlist of DuckDB names), every table
function must be `unnest`, no other kind of table reference (DESCRIBE, SHOW, SUMMARIZE…) is
allowed, and every table read must be one of `tables` or a CTE *in scope where it is named*, as
DuckDB scopes them: a CTE body sees the CTEs before it (and itself when recursive), so in
`WITH a AS (SELECT * FROM tables), tables AS (…)` the first `tables` is the catalog's and is
refused. It is the backstop behind `sql_allowlist.check_tree`: what it checks is exactly what
DuckDB will run.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Collection, Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import duckdb

from lexiquery.engine.sql_allowlist import HINT
from lexiquery.engine.sql_pure_functions import DUCKDB_PURE_FUNCTIONS, MACRO_NAMES
from lexiquery.errors import QueryError

_SETTINGS: dict[str, Any] = {
    "enable_external_access": False,
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
    "allow_community_extensions": False,
    "allow_extension_repositories": "forbidden",
    "allow_persistent_secrets": False,
    "python_enable_replacements": False,
    "max_temp_directory_size": "4GB",
}
_TABLE_REFS = {"BASE_TABLE", "SUBQUERY", "JOIN", "TABLE_FUNCTION", "EXPRESSION_LIST", "EMPTY"}


def open_locked(setup: Iterable[str], *, memory_limit_mb: int = 1024,
                ) -> tuple[duckdb.DuckDBPyConnection, Path]:
    """An in-memory connection locked as the module docstring says, with `setup` run before the
    lock; and its private temp directory (pass both to `close_locked`). The settings this DuckDB
    does not know are left out (older versions lack some); external access off and the private
    temp directory are always set."""
    temp = Path(tempfile.mkdtemp(prefix="lexiquery-sandbox-"))
    config = {k: v for k, v in _SETTINGS.items() if k in _known_settings()}
    config.update(enable_external_access=False, temp_directory=str(temp),
                  memory_limit=f"{memory_limit_mb}MB")
    try:
        con = duckdb.connect(":memory:", config=config)
        for stmt in (*setup, "SET lock_configuration=true"):
            con.execute(stmt)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return con, temp


@cache
def _known_settings() -> frozenset[str]:
    with duckdb.connect(":memory:") as con:
        return frozenset(r[0] for r in con.execute("SELECT name FROM duckdb_settings()").fetchall())


def close_locked(con: duckdb.DuckDBPyConnection, temp: Path) -> None:
    con.close()
    shutil.rmtree(temp, ignore_errors=True)


def check_duckdb_parse(con: duckdb.DuckDBPyConnection, sql: str, *,
                       tables: Collection[tuple[str, ...]]) -> None:
    """Refuse `sql` (``read_only`` `QueryError`) unless DuckDB parses it as one SELECT that calls
    only allowed functions and reads only `tables` (lower-case name parts) and its own CTEs."""
    raw = con.execute("SELECT json_serialize_sql(?::VARCHAR)", [sql]).fetchone()
    tree = json.loads(raw[0]) if raw else {"error": True}
    if tree.get("error") or len(tree.get("statements") or []) != 1:
        detail = tree.get("error_message") or "not a single SELECT"
        raise QueryError(f"the sandbox runs a single SELECT only ({detail})", code="read_only",
                         hint=HINT)
    allowed = DUCKDB_PURE_FUNCTIONS | MACRO_NAMES
    for node, ctes in _scoped(tree["statements"][0]):
        name = node.get("function_name")
        if isinstance(name, str) and any(c.isalnum() or c == "_" for c in name) and (
                name.lower() not in allowed or node.get("schema") or node.get("catalog")):
            raise _refuse(f"the function {name}() is not allowed in the sandbox")
        kind = node.get("type")
        if not ("sample" in node and "alias" in node and "class" not in node) or \
                not isinstance(kind, str):
            continue  # an expression or a query node: not a table reference
        if kind not in _TABLE_REFS:
            raise _refuse(f"{kind.lower().replace('_', ' ')} is not readable in the sandbox")
        if kind == "TABLE_FUNCTION":
            fn = str((node.get("function") or {}).get("function_name", "?"))
            if fn.lower() != "unnest":
                raise _refuse(f"the table function {fn}() is not allowed: a query reads only "
                              f"its source's table")
        if kind == "BASE_TABLE":
            parts = tuple(str(node.get(k) or "").lower() for k in
                          ("catalog_name", "schema_name", "table_name") if node.get(k))
            if parts not in tables and not (len(parts) == 1 and parts[0] in ctes):
                raise _refuse(f"the table {'.'.join(parts)} is not one the sandbox holds for "
                              f"this query")


def _scoped(root: Any) -> Iterator[tuple[dict[str, Any], frozenset[str]]]:
    """Every object of DuckDB's JSON tree with the CTE names in scope where it sits (without
    recursion: the tree can be deep). A query node's CTEs are in scope in its body; the body of
    its i-th CTE sees the ones before it, and itself when it is recursive."""
    stack: list[tuple[Any, frozenset[str]]] = [(root, frozenset())]
    while stack:
        item, scope = stack.pop()
        if isinstance(item, list):
            stack.extend((v, scope) for v in item)
        if not isinstance(item, dict):
            continue
        yield item, scope
        entries = [e for e in (item.get("cte_map") or {}).get("map", []) if isinstance(e, dict)]
        names = [str(e.get("key", "")).lower() for e in entries]
        for i, entry in enumerate(entries):
            body = entry.get("value") or {}
            recursive = (body.get("query_node") or {}).get("type") == "RECURSIVE_CTE_NODE"
            stack.append((body, scope | set(names[:i + 1] if recursive else names[:i])))
        inner = scope | set(names)
        stack.extend((v, inner) for k, v in item.items() if k != "cte_map")


def _refuse(message: str) -> QueryError:
    return QueryError(message, code="read_only", hint=HINT)
