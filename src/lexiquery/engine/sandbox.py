"""The sandbox: every platform's query executed on the same deterministic sample data, in DuckDB.

    sb = Sandbox(catalog, rows_per_source=2000, seed=0, now=…)
    sb.execute_plan(plan, source, semantics=Platform.spl)   → ResultSet (the plan, as Splunk)
    sb.execute_sql(sql_text, "tsql", source)                 → ResultSet (the SQL the user sees)
    sb.use_rows("signin_logs", "rows.csv")                   → the user's rows replace the sample

One in-memory DuckDB connection that cannot reach the host (`duckdb_lockdown`: external access
off, no allowed directories, a private temp directory removed on `close`, extensions off, a memory
limit, configuration locked; time zone UTC), and every statement checked before it runs, on its
whole tree, against an allowlist of tables and functions (`sql_allowlist`, then DuckDB's own
parse of the final text): a query reads the source's rows with pure functions and nothing else —
no file, setting, catalog table, extension or SQL text. Each source's rows live in
table ``sample.<source id>`` with the logical field names as columns, created on first use from
`sample_data.generate_columns`. A plan is compiled by the SQL renderer itself (`build_select`
on a copy of the source whose SQL binding maps every field to its own name) — there is no
second compiler. SQL text of any of the 12 dialects is transpiled to DuckDB by sqlglot and runs
against views named exactly as the source's SQL binding (schema included) whose columns are the
binding's column names; every table the text names is resolved as the SQL parser resolves it
(`sql_tables`: `dbo.security_events` and `` `proj.sec.security_events` `` are the view of
`security_events`); a table of another catalog source (a join, `IN (SELECT …)`) is that
source's view, and any other table is an error. A staged plan is compiled the same way (one CTE
per stage, `sql.render_stages`), a join's right-hand source read from its own table. "Now" is fixed per sandbox:
every CURRENT_TIMESTAMP, NOW(), GETDATE(), SYSUTCDATETIME(), UTC_TIMESTAMP(), CURRENT_DATE,
SQLite's 'now' … becomes a literal of it.
Results are capped at `row_cap` rows and `result_max_bytes` estimated bytes (`result_cap`;
marked `truncated`, `truncated_by` says which cap) and a query running longer than `timeout_s`
is interrupted (`SandboxError`, code ``timeout``).

Platform semantics modelled by `execute_plan(…, semantics=…)` — only differences the renderers
document (their module docstrings) and the platforms' manuals state:
* SPL: `stats … by f` drops events where `f` is missing (KQL and SQL keep an empty/NULL group):
  rows whose group key — or, with a time bucket, time — is NULL are left out before grouping;
  a group-by without metrics (`stats count by f | fields - count`) likewise.
* SPL: first_seen/last_seen stay epoch numbers (`min(_time)`): those columns hold epoch
  seconds, marked as time columns so that `compare_results` compares them as times.
* KQL: strings are never null, only empty (the Kusto type system): a missing string is "", so
  `user != "bob"` keeps the rows without a user, and their group is `user=""`; `count(f)` is
  `countif(isnotempty(f))`, so empty strings are not counted.
Nothing else is modelled: Splunk's and Kusto's approximate percentiles and distinct counts,
Splunk's newest-first order of unsorted results, and the like, depend on data volume and engine
internals a sandbox cannot reproduce; SQL semantics are DuckDB's.

Where sqlglot's DuckDB output would run with another meaning than the dialect's (integer
division, T-SQL's `+` on text, SQLite's date modifiers, BigQuery's GROUP BY alias…),
`sql_compat` rewrites the tree first; what remains are real differences between the platforms
(e.g. PostgreSQL's NULLs first in a descending sort, BigQuery's approximate percentiles), and
those are what `compare_results` reports.
"""

from __future__ import annotations

import threading
import time
import weakref
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
from sqlglot import exp

from lexiquery.catalog.model import (
    Catalog,
    FieldType,
    Platform,
    Source,
    SqlBinding,
)
from lexiquery.dialects.base import as_utc
from lexiquery.dialects.sql.guard import read_guarded
from lexiquery.dialects.sql.render import SqlBuilder, idiom_for
from lexiquery.dialects.sql.render_stages import StagedSql
from lexiquery.engine.duckdb_lockdown import check_duckdb_parse, close_locked, open_locked
from lexiquery.engine.plan_semantics import (
    count_non_empty,
    drop_missing_groups,
    final_aggregation,
    final_limit,
    final_outputs,
)
from lexiquery.engine.result_cap import fetch_capped
from lexiquery.engine.results import ResultSet
from lexiquery.engine.sample_data import generate_columns
from lexiquery.engine.sql_allowlist import check_tree
from lexiquery.engine.sql_compat import MACROS, compat, pin_now
from lexiquery.engine.sql_tables import bind_tables, binding_parts
from lexiquery.engine.user_rows import DUCKDB_TYPES, read_user_rows
from lexiquery.errors import LexiQueryError, QueryError, UnknownSourceError
from lexiquery.ir import MetricFn, QueryPlan

SAMPLE_SCHEMA = "sample"
KQL_SCHEMA = "sample_kql"  # the same tables with Kusto's empty strings for missing ones


class SandboxError(LexiQueryError):
    """A query failed or timed out in the sandbox (codes ``timeout``, ``execution``)."""

    exit_code = 4
    code = "sandbox_error"

    def __init__(self, message: str, *, code: str = "execution", **kw: Any) -> None:
        self.code = code
        super().__init__(message, **kw)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Sandbox:
    """One DuckDB connection with every source's rows; see the module docstring.

    Safe to share between threads (statements run one at a time). `now` is fixed for the
    sandbox's life (default: the current second, UTC), so every query sees the same instant and
    the sample data's "last 30 days" end there. A source whose definition changes (same id,
    other fields) is regenerated on next use; `use_rows` replaces a source's rows until then."""

    def __init__(self, catalog: Catalog, *, rows_per_source: int = 2000, seed: int = 0,
                 now: datetime | None = None, row_cap: int = 10_000,
                 timeout_s: float = 10.0, result_max_bytes: int = 16 * 1024 * 1024,
                 memory_limit_mb: int = 1024) -> None:
        self.catalog = catalog
        self.rows_per_source = rows_per_source
        self.seed = seed
        self.now = as_utc(now or datetime.now(timezone.utc)).replace(microsecond=0)
        self.row_cap = row_cap
        self.timeout_s = timeout_s
        self.result_max_bytes = result_max_bytes
        self._lock = threading.RLock()  # one statement at a time on the connection
        self._tables: dict[str, Source] = {}  # source id → the definition its table was made of
        self._kql_views: set[str] = set()
        self._con, self._temp = open_locked(
            ("SET GLOBAL TimeZone='UTC'", f"CREATE SCHEMA {SAMPLE_SCHEMA}",
             f"CREATE SCHEMA {KQL_SCHEMA}", *MACROS), memory_limit_mb=memory_limit_mb)
        # closed and its temp directory removed on `close`, or when collected or at exit
        self._cleanup = weakref.finalize(self, close_locked, self._con, self._temp)

    def close(self) -> None:
        """Close the connection and remove its private temp directory."""
        with self._lock:
            self._cleanup()

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ tables

    def _source(self, source_id: str) -> Source:
        src = self.catalog.get(source_id)
        if src is None:
            raise UnknownSourceError(f"unknown source {source_id!r}; known: "
                                     f"{', '.join(self.catalog.ids())}")
        return src

    def table(self, source: Source | str) -> str:
        """The table holding the source's rows (created and filled on first use)."""
        src = self._source(source) if isinstance(source, str) else source
        with self._lock:
            if self._tables.get(src.id) != src:
                cols = generate_columns(src, self.rows_per_source, seed=self.seed, now=self.now,
                                        epoch_times=True)
                self._load(src, cols, epoch_times=True)
        return f"{SAMPLE_SCHEMA}.{src.id}"  # source ids are plain names: no quoting needed

    def use_rows(self, source_id: str, path: str | Path) -> int:
        """Replace the source's sample rows with the user's (CSV, JSON Lines or Parquet).
        Returns the number of rows; on any error the source keeps the rows it had."""
        src = self._source(source_id)
        rows = read_user_rows(path, src)
        with self._lock:
            self._load(src, rows.columns, epoch_times=False)
        return rows.count

    def _load(self, src: Source, cols: dict[str, list[Any]], *, epoch_times: bool) -> None:
        """(Re)create the source's table from columns in one transaction: all or nothing."""
        name = f"{SAMPLE_SCHEMA}.{_q(src.id)}"
        ddl = ", ".join(f"{_q(f.name)} {DUCKDB_TYPES[f.type]}" for f in src.fields)
        selects, params = [], []
        for i, f in enumerate(src.fields, start=1):
            dtype = DUCKDB_TYPES[f.type]
            if f.type is FieldType.datetime and epoch_times:
                selects.append(f"to_timestamp(UNNEST(${i}::DOUBLE[]))")
            elif f.type in {FieldType.guid, FieldType.dynamic}:
                selects.append(f"CAST(UNNEST(${i}::VARCHAR[]) AS {dtype})")
                cols = {**cols, f.name: [None if v is None else str(v) for v in cols[f.name]]}
            else:
                selects.append(f"UNNEST(${i}::{dtype}[])")
            params.append(cols[f.name])
        con = self._con
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(f"CREATE OR REPLACE TABLE {name} ({ddl})")
            if params and params[0]:
                con.execute(f"INSERT INTO {name} SELECT {', '.join(selects)}", params)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        self._tables[src.id] = src
        self._kql_views.discard(src.id)

    def _kql_table(self, src: Source) -> str:
        """A view of the table in which a missing string is "" (Kusto has no null strings)."""
        self.table(src)
        if src.id not in self._kql_views:
            cols = ", ".join(f"COALESCE({_q(f.name)}, '') AS {_q(f.name)}"
                             if f.type is FieldType.string else _q(f.name) for f in src.fields)
            self._con.execute(f"CREATE OR REPLACE VIEW {KQL_SCHEMA}.{_q(src.id)} AS SELECT "
                              f"{cols} FROM {SAMPLE_SCHEMA}.{_q(src.id)}")
            self._kql_views.add(src.id)
        return f"{KQL_SCHEMA}.{src.id}"

    def _binding_view(self, src: Source, dialect: str) -> None:
        """Views named as the source's SQL binding, with the binding's column names. GUIDs
        are text where the dialect stores them as text (`LOWER()` must work on them)."""
        binding = src.bindings.sql
        if binding is None:
            raise SandboxError(f"{src.name} has no SQL binding: there is no SQL table to "
                               f"query", code="not_bound")
        table = self.table(src)
        parts = binding_parts(binding.table)
        if len(parts) > 3:
            raise SandboxError(f"SQL table name {binding.table!r} has too many parts")
        if len(parts) == 3:
            attached = {r[0] for r in self._con.execute("SELECT database_name FROM "
                                                        "duckdb_databases()").fetchall()}
            if parts[0] not in attached:
                self._con.execute(f"ATTACH ':memory:' AS {_q(parts[0])}")
        if len(parts) >= 2:
            schema = ".".join(_q(p) for p in parts[:-1])
            if parts[-2] in {SAMPLE_SCHEMA, KQL_SCHEMA} and len(parts) == 2:
                raise SandboxError(f"SQL table {binding.table!r} uses a schema name the sandbox "
                                   f"reserves ({parts[-2]})")
            self._con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        as_text = not idiom_for(dialect).native_uuid
        cols = ", ".join(
            f"{'CAST(' + _q(f.name) + ' AS VARCHAR)' if as_text and f.type is FieldType.guid else _q(f.name)} "
            f"AS {_q(binding.columns[f.name])}" for f in src.fields if f.name in binding.columns)
        qualified = ".".join(_q(p) for p in parts)
        self._con.execute(f"CREATE OR REPLACE VIEW {qualified} AS SELECT {cols} FROM {table}")

    # ------------------------------------------------------------------ plans

    def execute_plan(self, plan: QueryPlan, source: Source, *,
                     semantics: Platform | None = None) -> ResultSet:
        """Run the plan as the SQL renderer writes it for DuckDB, with `semantics`' rules (in
        every pipeline of a staged plan: the first part, each Step, a join's right side)."""
        semantics = Platform(semantics) if semantics is not None else None
        tables: set[tuple[str, ...]] = set()
        read: list[Source] = []

        def synthetic(src: Source) -> Source:
            """The source bound to its sandbox table, each field under its own name: the fields
            the platform of `semantics` binds (so "every column" is as wide as there, and a
            join's two sides clash on no name they do not share there), else all."""
            with self._lock:
                table = self._kql_table(src) if semantics is Platform.kql else self.table(src)
            tables.add(tuple(p.lower() for p in table.split(".")))
            read.append(src)
            platform = semantics or Platform.sql
            bound = [f.name for f in src.fields if src.column(platform, f.name) is not None] \
                if getattr(src.bindings, platform.value) is not None else []
            names = bound or [f.name for f in src.fields]
            return src.model_copy(update={"bindings": src.bindings.model_copy(update={
                "sql": SqlBinding(table=table, columns={n: n for n in names})})})

        main = synthetic(source)
        if plan.stages:
            staged = StagedSql(plan, main, "duckdb",
                               lambda sid: synthetic(self._source(sid)))
            final = staged.chain()
            pipelines = staged.pipelines
        else:
            builder = SqlBuilder(plan, main, "duckdb")
            final = builder.build()
            pipelines = [(final, builder)]
        if semantics is Platform.spl:
            for select, b in pipelines:
                drop_missing_groups(select, b.plan, b)
        tree = staged.assemble(final) if plan.stages else final
        if semantics is Platform.kql:
            for src in {s.id: s for s in read}.values():
                count_non_empty(tree, src)
        result = self._run(tree, final_limit(plan), tables)
        logical = list(result.columns)
        result.logical = logical
        outputs = final_outputs(plan, source, main, staged.sources if plan.stages else None,
                                 logical)
        result.time_columns = frozenset(c for c in logical if outputs.get(c) is FieldType.datetime)
        agg, groups = final_aggregation(plan, source)
        if agg is not None:
            result.group_columns = frozenset(groups)
        order = final.args.get("order")
        result.ordered = order is not None
        keys = [o.this.name for o in order.expressions] if order is not None else []
        if keys and all(k in logical for k in keys):
            result.sort_columns = [logical.index(k) for k in keys]
        result.semantics = semantics.value if semantics else "sql"
        if semantics is Platform.spl and agg is not None:
            epoch_cols = [i for i, c in enumerate(logical) if any(
                m.name == c and m.fn in {MetricFn.first_seen, MetricFn.last_seen}
                for m in agg.metrics)]
            if epoch_cols:
                result.rows = [tuple(v.timestamp() if i in epoch_cols and v is not None else v
                                     for i, v in enumerate(row)) for row in result.rows]
        return result

    # ------------------------------------------------------------------ SQL text

    def execute_sql(self, text: str, dialect: str, source: Source) -> ResultSet:
        """Run SQL text of `dialect` against views named as the source's SQL binding."""
        idiom_for(dialect)  # DialectError listing the dialects for an unknown one
        statements = read_guarded(text, dialect)  # QueryError with line/column, never raw
        if len(statements) != 1:
            raise QueryError(f"expected one SELECT statement, found {len(statements)}",
                             code="read_only")
        if not isinstance(statements[0], exp.Query):
            raise QueryError(f"only a SELECT runs in the sandbox, not "
                             f"{statements[0].key.upper()}", code="read_only",
                             hint="LexiQuery only reads: write a SELECT")
        tree = pin_now(compat(statements[0], dialect), self.now)
        check_tree(tree)  # read_only for system tables and functions before "unknown table"
        with self._lock:
            self._binding_view(source, dialect)
        others = bind_tables(tree, text, self.catalog, source)
        with self._lock:
            for other in others:
                self._binding_view(other, dialect)
        limit = tree.args.get("limit")
        binding = source.bindings.sql
        assert binding is not None
        tables = {tuple(p.lower() for p in binding_parts(s.bindings.sql.table))
                  for s in (source, *others) if s.bindings.sql is not None}
        result = self._run(tree, _int(limit.expression) if limit is not None else None, tables)
        reverse = {col.lower(): logical for other in reversed(others) if other.bindings.sql
                   for logical, col in other.bindings.sql.columns.items()}
        reverse |= {col.lower(): logical for logical, col in binding.columns.items()}
        result.logical = [reverse.get(c.lower(), c) for c in result.columns]
        result.time_columns = frozenset(
            n for n in result.logical if (f := source.field(n)) is not None
            and f.type is FieldType.datetime)
        result.group_columns = frozenset(_group_outputs(tree, result.logical))
        order = tree.args.get("order")
        result.ordered = order is not None
        if order is not None:
            keys = [o.this.alias_or_name if isinstance(o, exp.Ordered) else "" for o in
                    order.expressions]
            lowered = [c.lower() for c in result.columns]
            if all(k.lower() in lowered for k in keys):
                result.sort_columns = [lowered.index(k.lower()) for k in keys]
        return result

    # ------------------------------------------------------------------ execution

    def _run(self, tree: exp.Expression, limit: int | None,
             tables: set[tuple[str, ...]]) -> ResultSet:
        """Check the DuckDB tree against the allowlist (reading only `tables`, name parts in
        lower case), then run it within the row cap, the byte cap and the timeout."""
        tree = pin_now(tree, self.now)
        check_tree(tree, tables=tables)
        cap = self.row_cap + 1
        if isinstance(tree, exp.Select) and (limit is None or limit > cap):
            tree.set("limit", exp.Limit(expression=exp.Literal.number(cap)))
            sql = tree.sql("duckdb")
        elif isinstance(tree, exp.Select):
            sql = tree.sql("duckdb")
        else:
            sql = f"SELECT * FROM ({tree.sql('duckdb')}) AS _lq_result LIMIT {cap}"
        with self._lock:
            check_duckdb_parse(self._con, sql, tables=tables)
            description, rows, why, elapsed = self._timed(sql)
        columns = [d[0] for d in description]
        uuids = [i for i, d in enumerate(description) if str(d[1]) == "UUID"]
        if uuids:  # GUIDs as text, the form every platform shows them in
            rows = [tuple(str(v) if i in uuids and v is not None else v
                          for i, v in enumerate(r)) for r in rows]
        return ResultSet(columns, rows, truncated=why is not None, truncated_by=why,
                         elapsed_ms=elapsed, limit=limit, query=sql)

    def _timed(self, sql: str) -> tuple[list[Any], list[tuple[Any, ...]], str | None, float]:
        """Execute on a cursor of its own and read within the caps (`result_cap`), with a
        watchdog: `interrupt()` after `timeout_s`, only while it still runs (an interrupt that
        arrived after the query would hit the next one). The cursor is closed at the end, so a
        result cut by a cap leaves nothing pending in DuckDB."""
        state = {"running": True}
        guard = threading.Lock()
        cur = self._con.cursor()

        def stop() -> None:
            with guard:
                if state["running"]:
                    cur.interrupt()

        timer = threading.Timer(self.timeout_s, stop)
        timer.daemon = True
        start = time.perf_counter()
        timer.start()
        try:
            cur.execute(sql)
            description = list(cur.description or [])
            rows, why = fetch_capped(cur, self.row_cap, self.result_max_bytes)
        except duckdb.InterruptException as e:
            raise SandboxError(f"the query ran longer than the sandbox's {self.timeout_s:g} s "
                               f"and was stopped", code="timeout",
                               hint="narrow the time range or add filters") from e
        except duckdb.Error as e:
            first = str(e).strip().splitlines()[0]
            raise SandboxError(f"the sandbox could not run the query: {first}") from e
        finally:
            with guard:
                state["running"] = False
            timer.cancel()
            cur.close()
        return description, rows, why, (time.perf_counter() - start) * 1000


# ---------------------------------------------------------------------- tree helpers


def _int(e: exp.Expression | None) -> int | None:
    return int(e.name) if isinstance(e, exp.Literal) and e.name.isdigit() else None


def _group_outputs(tree: exp.Expression, logical: list[str]) -> list[str]:
    """Output columns that identify a row: the non-aggregate items of a GROUP BY/DISTINCT."""
    if not isinstance(tree, exp.Select) or not (tree.args.get("group") or
                                                tree.args.get("distinct")):
        return []
    return [name for item, name in zip(tree.expressions, logical)
            if not item.find(exp.AggFunc)]
