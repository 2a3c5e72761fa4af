"""The sandbox cannot reach the host: every escape of the hostile-input probe (issue 12) and
variants of it are refused with a clear error, and a secret file in the working directory's
`.tmp` (DuckDB's default temp directory, which stayed readable with external access off) never
appears in a result or an error.

Each escape is tried three ways: through `execute_sql` with the read-only guard in front (the
whole stack), through `execute_sql` with the guard switched off (the sandbox's own allowlist must
hold alone), and against each of the sandbox's two tree checks on its own (`check_tree` on
sqlglot's DuckDB tree, `check_duckdb_parse` on DuckDB's parse), so that neither layer relies on
the other. The DuckDB settings are tested on the raw connection, with no check in front at all.
"""

from __future__ import annotations

import gc
import stat
import tempfile
from pathlib import Path
from typing import Iterator

import duckdb
import pytest

from lexiquery.catalog.model import Catalog
from lexiquery.dialects.sql.parse_lex import read_statements
from lexiquery.engine import sandbox as sandbox_module
from lexiquery.engine.duckdb_lockdown import check_duckdb_parse
from lexiquery.engine.sandbox import Sandbox, SandboxError
from lexiquery.engine.sql_allowlist import check_tree
from lexiquery.errors import LexiQueryError, QueryError
from lexiquery.ir import QueryPlan

SECRET = "SECRET-c0ffee-4711"
TABLE = ("signin_logs",)

# DuckDB text: the probe's reproductions, then other readers and places to hide them.
DUCKDB_ESCAPES = [
    "SELECT (SELECT string_agg(content, ',') FROM read_text('.tmp/secret.csv')) AS s "
    "FROM signin_logs LIMIT 1",
    "SELECT * FROM glob('{cwd}/.tmp/*')",
    "SELECT * FROM duckdb_settings()",
    "SELECT * FROM signin_logs WHERE user_principal_name IN "
    "(SELECT * FROM query('SELECT content FROM read_text(''.tmp/secret.csv'')'))",
    # other readers, in FROM
    "SELECT * FROM read_csv('.tmp/secret.csv')",
    "SELECT * FROM read_csv_auto('.tmp/secret.csv')",
    "SELECT * FROM read_json('.tmp/secret.csv')",
    "SELECT * FROM read_parquet('.tmp/secret.csv')",
    "SELECT * FROM read_blob('.tmp/secret.csv')",
    "SELECT * FROM read_text('.tmp/secret.csv')",
    "SELECT * FROM sniff_csv('.tmp/secret.csv')",
    "SELECT * FROM parquet_metadata('.tmp/secret.csv')",
    "SELECT * FROM read_text('https://example.invalid/x')",
    # …in a CTE, a scalar subquery, IN (…), a lateral join, a window, ORDER BY, a join
    "WITH s AS (SELECT * FROM read_csv('.tmp/secret.csv')) SELECT * FROM s",
    "SELECT (SELECT max(content) FROM read_text('.tmp/secret.csv')) FROM signin_logs",
    "SELECT * FROM signin_logs WHERE user_principal_name IN "
    "(SELECT content FROM read_text('.tmp/secret.csv'))",
    "SELECT * FROM signin_logs, LATERAL (SELECT * FROM read_blob('.tmp/secret.csv')) t",
    "SELECT row_number() OVER (ORDER BY (SELECT min(content) FROM read_text("
    "'.tmp/secret.csv'))) FROM signin_logs",
    "SELECT * FROM signin_logs ORDER BY (SELECT count(*) FROM read_json('.tmp/secret.csv'))",
    "SELECT * FROM signin_logs JOIN read_csv('.tmp/secret.csv') ON true",
    "SELECT * FROM signin_logs WHERE EXISTS (SELECT 1 FROM read_text('.tmp/secret.csv'))",
    # SQL text, settings, the catalog
    "SELECT * FROM query_table('signin_logs')",
    "SELECT * FROM query('SELECT 42')",
    "SELECT * FROM json_execute_serialized_sql(json_serialize_sql('SELECT 42'))",
    "SELECT current_setting('temp_directory') FROM signin_logs",
    "SELECT getenv('HOME') FROM signin_logs",
    "SELECT getvariable('x') FROM signin_logs",
    "SELECT * FROM pragma_version()",
    "SELECT * FROM pragma_table_info('signin_logs')",
    "SELECT * FROM duckdb_tables()",
    "SELECT * FROM duckdb_functions()",
    "SELECT * FROM duckdb_tables",
    "SELECT * FROM information_schema.tables",
    "SELECT * FROM pg_catalog.pg_settings",
    "SELECT * FROM sqlite_master",
    "SELECT * FROM '.tmp/secret.csv'",
    "SELECT * FROM range(10)",
    "SELECT nextval('s') FROM signin_logs",
    # statements that are not a query, alone or nested
    "COPY (SELECT * FROM signin_logs) TO '.tmp/out.csv'",
    "EXPORT DATABASE '.tmp/exported'",
    "ATTACH '.tmp/x.db' AS x",
    "SELECT * FROM signin_logs WHERE 1 IN (SELECT 1 FROM (ATTACH '.tmp/x.db'))",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "PRAGMA version",
    "CALL pragma_version()",
    "SELECT * FROM (DESCRIBE signin_logs)",
    "SELECT * FROM (SHOW TABLES)",
]
# Other dialects' text, transpiled to DuckDB: none of it may reach DuckDB.
OTHER_DIALECTS = [
    ("postgres", "SELECT pg_read_file('/etc/passwd') FROM signin_logs"),
    ("postgres", "SELECT * FROM pg_ls_dir('.')"),
    ("postgres", "SELECT current_setting('temp_directory') FROM signin_logs"),
    ("postgres", "SELECT current_user, current_database() FROM signin_logs"),
    ("postgres", "SELECT * FROM signin_logs WHERE user_principal_name IN "
                 "(SELECT * FROM read_text('.tmp/secret.csv'))"),
    ("mysql", "SELECT LOAD_FILE('/etc/passwd') FROM signin_logs"),
    ("sqlite", "SELECT load_extension('x') FROM signin_logs"),
    ("sqlite", "SELECT readfile('.tmp/secret.csv') FROM signin_logs"),
    ("clickhouse", "SELECT * FROM signin_logs WHERE user_principal_name IN "
                   "(SELECT * FROM file('.tmp/secret.csv'))"),
    ("snowflake", "SELECT SYSTEM$WHITELIST() FROM signin_logs"),
    ("bigquery", "SELECT * FROM EXTERNAL_QUERY('x', 'SELECT 1')"),
    ("spark", "SELECT * FROM csv.`.tmp/secret.csv`"),
    ("spark", "SELECT reflect('java.lang.Runtime', 'getRuntime') FROM signin_logs"),
    ("trino", "SELECT current_user FROM signin_logs"),
]
# Ordinary queries with every kind of nesting the checks walk through: they must still run.
ORDINARY = [
    ("duckdb", "SELECT user_principal_name FROM signin_logs WHERE user_principal_name IN "
               "(SELECT user_principal_name FROM signin_logs LIMIT 3) LIMIT 2"),
    ("duckdb", "WITH x AS (SELECT user_principal_name AS u FROM signin_logs) "
               "SELECT count(*) AS n FROM x, unnest([1, 2]) AS t(v)"),
    ("duckdb", "SELECT (SELECT count(*) FROM signin_logs) AS n, "
               "row_number() OVER (ORDER BY time_generated) AS r, "
               "regexp_replace(lower(user_principal_name), '@.*', '') AS who "
               "FROM signin_logs ORDER BY r LIMIT 3"),
    ("postgres", "SELECT app_display_name, COUNT(*) AS n FROM signin_logs s WHERE EXISTS "
                 "(SELECT 1 FROM signin_logs t WHERE t.app_display_name = s.app_display_name) "
                 "GROUP BY app_display_name ORDER BY n DESC"),
    ("tsql", "SELECT TOP 5 user_principal_name, DATEDIFF(hour, time_generated, GETDATE()) AS h "
             "FROM dbo.signin_logs ORDER BY h"),
    ("sqlite", "SELECT strftime('%s', time_generated) AS t FROM signin_logs "
               "WHERE time_generated > DATETIME('now', '-1 day')"),
]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory whose `.tmp` holds the secret (DuckDB's default temp directory)."""
    cwd = tmp_path_factory.mktemp("cwd")
    (cwd / ".tmp").mkdir()
    (cwd / ".tmp" / "secret.csv").write_text(f"name\n{SECRET}\n", encoding="utf-8")
    return cwd


@pytest.fixture(scope="module")
def box(catalog: Catalog, workdir: Path) -> Iterator[Sandbox]:
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(workdir)
        sb = Sandbox(catalog, rows_per_source=50)
        sb.execute_sql("SELECT 1 AS x FROM signin_logs LIMIT 1", "duckdb",
                       catalog.get("signin_logs"))  # the binding view exists from here on
    yield sb
    sb.close()


@pytest.fixture
def in_workdir(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(workdir)
    return workdir


def _refused(run: object, *args: object) -> LexiQueryError:
    with pytest.raises((QueryError, SandboxError)) as err:
        run(*args)  # type: ignore[operator]
    text = f"{err.value.message} {err.value.hint or ''} {err.value.to_dict()}"
    assert SECRET not in text
    assert "Traceback" not in text
    return err.value


# ── the database's own settings, with no check in front ─────────────────────────────────────


def test_the_connection_is_locked_by_duckdbs_settings(box: Sandbox, in_workdir: Path) -> None:
    con = box._con
    setting = {name: value for name, value in con.execute(
        "SELECT name, value FROM duckdb_settings()").fetchall()}
    assert setting["enable_external_access"] == "false"
    assert setting["lock_configuration"] == "true"
    assert setting["autoload_known_extensions"] == "false"
    assert setting["autoinstall_known_extensions"] == "false"
    assert setting["allow_community_extensions"] == "false"
    temp = Path(setting["temp_directory"])
    assert temp == box._temp and temp.is_dir()
    assert temp.parent == Path(tempfile.gettempdir()) and in_workdir not in temp.parents
    assert stat.S_IMODE(temp.stat().st_mode) == 0o700
    assert not any(temp.iterdir())  # nothing of anyone else's to read there
    assert str(in_workdir) not in setting["allowed_directories"]
    # the old hole, on the raw connection: DuckDB itself refuses the working directory's .tmp
    for sql in ("SELECT * FROM read_text('.tmp/secret.csv')", f"SELECT * FROM glob("
                f"'{in_workdir}/.tmp/*')", "SELECT * FROM read_csv('/etc/hostname')"):
        with pytest.raises(duckdb.PermissionException):
            con.execute(sql).fetchall()
    for sql in ("SET enable_external_access = true", "SET allowed_directories = ['/']",
                "SET temp_directory = '.tmp'", "SET lock_configuration = false",
                "LOAD httpfs", "INSTALL httpfs"):
        with pytest.raises(duckdb.Error):
            con.execute(sql)


def test_closing_removes_the_private_temp_directory(catalog: Catalog) -> None:
    sb = Sandbox(catalog, rows_per_source=10)
    temp = sb._temp
    assert temp.is_dir()
    sb.close()
    assert not temp.exists()
    sb.close()  # a second close is harmless
    forgotten = Sandbox(catalog, rows_per_source=10)
    temp = forgotten._temp
    del forgotten
    gc.collect()
    assert not temp.exists()  # a sandbox never closed still cleans up when collected


# ── every escape, through the whole stack and through the sandbox's own checks ──────────────


@pytest.mark.parametrize("guard", [True, False], ids=["with-guard", "sandbox-alone"])
@pytest.mark.parametrize("sql", DUCKDB_ESCAPES)
def test_duckdb_escapes_are_refused(box: Sandbox, catalog: Catalog, in_workdir: Path,
                                    monkeypatch: pytest.MonkeyPatch, sql: str,
                                    guard: bool) -> None:
    if not guard:
        monkeypatch.setattr(sandbox_module, "read_guarded", read_statements)  # guard off
    err = _refused(box.execute_sql, sql.format(cwd=in_workdir), "duckdb",
                   catalog.get("signin_logs"))
    assert err.code in {"read_only", "unknown_source", "syntax"}, err.message


@pytest.mark.parametrize("guard", [True, False], ids=["with-guard", "sandbox-alone"])
@pytest.mark.parametrize("dialect, sql", OTHER_DIALECTS)
def test_other_dialects_never_reach_duckdb(box: Sandbox, catalog: Catalog, in_workdir: Path,
                                           monkeypatch: pytest.MonkeyPatch, dialect: str,
                                           sql: str, guard: bool) -> None:
    if not guard:
        monkeypatch.setattr(sandbox_module, "read_guarded", read_statements)  # guard off
    err = _refused(box.execute_sql, sql, dialect, catalog.get("signin_logs"))
    assert err.code in {"read_only", "unknown_source", "syntax"}, err.message


@pytest.mark.parametrize("sql", DUCKDB_ESCAPES)
def test_the_sqlglot_tree_check_alone_refuses(in_workdir: Path, sql: str) -> None:
    with pytest.raises(QueryError) as err:  # what sqlglot cannot read, the reader refuses
        trees = read_statements(sql.format(cwd=in_workdir), "duckdb")
        assert len(trees) == 1
        check_tree(trees[0], tables={TABLE})
    assert err.value.code in {"read_only", "syntax"}


# A name is a CTE only where DuckDB scopes it so; elsewhere it is the catalog's table.
CTE_SCOPE_TRICKS = [
    "WITH a AS (SELECT * FROM tables), tables AS (SELECT 1) SELECT * FROM a",
    "WITH RECURSIVE a AS (SELECT * FROM duckdb_views), duckdb_views AS (SELECT 1) "
    "SELECT * FROM a",
    "SELECT * FROM (WITH columns AS (SELECT 1) SELECT * FROM columns), columns",
    "SELECT * FROM signin_logs WHERE 1 IN (SELECT 1 FROM views) AND 1 IN "
    "(WITH views AS (SELECT 1) SELECT * FROM views)",
]


@pytest.mark.parametrize("sql", DUCKDB_ESCAPES + CTE_SCOPE_TRICKS)
def test_duckdbs_own_parse_alone_refuses(box: Sandbox, in_workdir: Path, sql: str) -> None:
    with pytest.raises(QueryError) as err:
        check_duckdb_parse(box._con, sql.format(cwd=in_workdir), tables={TABLE})
    assert err.value.code == "read_only"
    assert SECRET not in err.value.message


@pytest.mark.parametrize("sql", CTE_SCOPE_TRICKS)
def test_a_name_out_of_its_ctes_scope_is_refused(box: Sandbox, catalog: Catalog,
                                                 in_workdir: Path, sql: str) -> None:
    """sqlglot's tree sees a CTE of that name somewhere; DuckDB's parse sees where it is not
    in scope, so the catalog's table would be read."""
    err = _refused(box.execute_sql, sql, "duckdb", catalog.get("signin_logs"))
    assert err.code == "read_only", err.message


@pytest.mark.parametrize("sql", [
    "WITH views AS (SELECT app_display_name AS a FROM signin_logs) SELECT count(*) FROM views",
    "WITH RECURSIVE n AS (SELECT 1 AS i UNION ALL SELECT i + 1 FROM n WHERE i < 3), "
    "tables AS (SELECT * FROM n) SELECT count(*) AS c FROM tables, signin_logs",
    "SELECT (WITH c AS (SELECT 1 AS x) SELECT max(x) FROM c) AS m FROM signin_logs LIMIT 1",
])
def test_ctes_in_scope_may_take_any_name(box: Sandbox, catalog: Catalog, sql: str) -> None:
    assert box.execute_sql(sql, "duckdb", catalog.get("signin_logs")).rows


def test_refusals_name_the_function_and_its_position(box: Sandbox, catalog: Catalog,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox_module, "read_guarded", read_statements)  # guard off
    err = _refused(box.execute_sql, "SELECT a\nFROM signin_logs\nWHERE x IN (SELECT * FROM "
                   "query('SELECT 1'))", "duckdb", catalog.get("signin_logs"))
    assert err.code == "read_only" and "query()" in err.message
    assert (err.line, err.column) == (3, 27)
    assert err.hint and "pure functions" in err.hint


def test_unreadable_sql_is_a_query_error_with_a_position(box: Sandbox,
                                                         catalog: Catalog) -> None:
    source = catalog.get("signin_logs")
    for sql in ("SELECT 'unterminated FROM signin_logs", "SELECT a /* never closed",
                "SELECT " + "(" * 60 + "1" + ")" * 60 + " FROM signin_logs"):
        err = _refused(box.execute_sql, sql, "postgres", source)
        assert isinstance(err, QueryError) and err.line is not None and err.column is not None


# ── what must keep working ──────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("dialect, sql", ORDINARY)
def test_ordinary_nested_queries_still_run(box: Sandbox, catalog: Catalog, dialect: str,
                                           sql: str) -> None:
    result = box.execute_sql(sql, dialect, catalog.get("signin_logs"))
    assert result.columns and not result.truncated


def test_plans_still_run_through_the_checks(box: Sandbox, catalog: Catalog) -> None:
    source = catalog.get("signin_logs")
    result = box.execute_plan(QueryPlan(source="signin_logs", limit=5), source)
    assert len(result.rows) == 5 and result.query.startswith("SELECT")


# ── the same over MCP ───────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("sql", DUCKDB_ESCAPES[:4])
def test_mcp_run_query_on_sample_refuses_the_escapes(in_workdir: Path, sql: str) -> None:
    import anyio
    from mcp import Client

    from lexiquery.serve.mcp_server import create_mcp_server

    async def call() -> object:
        async with Client(create_mcp_server()) as client:
            with anyio.fail_after(60):
                return await client.call_tool("run_query_on_sample", {
                    "query": sql.format(cwd=in_workdir), "platform": "sql",
                    "sql_dialect": "duckdb", "rows": 20})

    result = anyio.run(call)
    assert result.is_error  # type: ignore[attr-defined]
    text = " ".join(getattr(c, "text", "") for c in result.content)  # type: ignore[attr-defined]
    assert SECRET not in text and "Traceback" not in text and "not allowed" in text
