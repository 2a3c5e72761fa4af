"""The sandbox: every platform's query executed on the same deterministic sample data, in DuckDB.

    sb = Sandbox(catalog, rows_per_source=2000, seed=0, now=…)
    sb.execute_plan(plan, source, semantics=Platform.spl)   → ResultSet (the plan, as Splunk)
    sb.execute_sql(sql_text, "tsql", source)                 → ResultSet (the SQL the user sees)
    sb.use_rows("signin_logs", "rows.csv")                   → the user's rows replace the sample

One in-memory DuckDB connection (time zone UTC, file access off, configuration locked, so a
query can neither read the machine's files nor change the session). Each source's rows live in
table ``sample.<source id>`` with the logical field names as columns, created on first use from
`sample_data.generate_columns`. A plan is compiled by the SQL renderer itself (`build_select`
on a copy of the source whose SQL binding maps every field to its own name) — there is no
second compiler. SQL text of any of the 12 dialects is transpiled to DuckDB by sqlglot and runs
against views named exactly as the source's SQL binding (schema included) whose columns are the
binding's column names. "Now" is fixed per sandbox: every CURRENT_TIMESTAMP, NOW(), GETDATE(),
SYSUTCDATETIME(), UTC_TIMESTAMP(), CURRENT_DATE, SQLite's 'now' … becomes a literal of it.
Results are capped (`row_cap`, marked `truncated`) and a query running longer than `timeout_s`
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

Dialect gaps sqlglot leaves when transpiling to DuckDB are closed here (`_compat`): SQLite's
DATETIME/STRFTIME modifiers, T-SQL's day-0 dates in DATEADD/DATEDIFF, PostgreSQL's DATE_BIN,
Spark's TIMESTAMP_SECONDS and ClickHouse's toStartOfInterval/toDateTime.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from uuid import UUID

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from lexiquery.catalog.model import (
    Catalog,
    FieldType,
    Platform,
    Source,
    SqlBinding,
)
from lexiquery.dialects.base import Names, as_utc
from lexiquery.dialects.guard import check_sql
from lexiquery.dialects.sql import SqlBuilder, idiom_for
from lexiquery.engine.results import ResultSet
from lexiquery.engine.sample_data import generate_columns
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
    def __init__(self, catalog: Catalog, *, rows_per_source: int = 2000, seed: int = 0,
                 now: datetime | None = None, row_cap: int = 10_000,
                 timeout_s: float = 10.0) -> None:
        self.catalog = catalog
        self.rows_per_source = rows_per_source
        self.seed = seed
        self.now = as_utc(now or datetime.now(timezone.utc)).replace(microsecond=0)
        self.row_cap = row_cap
        self.timeout_s = timeout_s
        self._lock = threading.RLock()  # one statement at a time on the connection
        self._tables: dict[str, Source] = {}  # source id → the definition its table was made of
        self._kql_views: set[str] = set()
        self._con = duckdb.connect(":memory:")
        for stmt in ("SET TimeZone='UTC'", f"CREATE SCHEMA {SAMPLE_SCHEMA}",
                     f"CREATE SCHEMA {KQL_SCHEMA}", *_MACROS,
                     "SET enable_external_access=false", "SET lock_configuration=true"):
            self._con.execute(stmt)

    def close(self) -> None:
        with self._lock:
            self._con.close()

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
        parts = [p.strip('"`[]') for p in binding.table.split(".")]
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
        """Run the plan as the SQL renderer writes it for DuckDB, with `semantics`' rules."""
        semantics = Platform(semantics) if semantics is not None else None
        with self._lock:
            table = self._kql_table(source) if semantics is Platform.kql else self.table(source)
        synthetic = source.model_copy(update={"bindings": source.bindings.model_copy(update={
            "sql": SqlBinding(table=table, columns={f.name: f.name for f in source.fields})})})
        builder = SqlBuilder(plan, synthetic, "duckdb")
        tree = builder.build()
        if semantics is Platform.spl:
            _drop_missing_groups(tree, plan, builder)
        if semantics is Platform.kql:
            _count_non_empty(tree, source)
        names = Names(plan, source, Platform.sql)
        result = self._run(tree, plan.limit)
        logical = list(result.columns)
        result.logical = logical
        result.time_columns = frozenset(c for c in logical if _output_type(names, c)
                                        is FieldType.datetime)
        agg = plan.aggregation
        if agg is not None:
            groups = list(agg.group_by) + ([source.time_field or ""] if agg.time_bucket else [])
            result.group_columns = frozenset(groups)
        result.ordered = bool(plan.sort)
        if plan.sort and all(s.field in logical for s in plan.sort):
            result.sort_columns = [logical.index(s.field) for s in plan.sort]
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
        try:
            statements = [s for s in sqlglot.parse(text, read=dialect) if s is not None]
        except ParseError as e:
            err = (e.errors or [{}])[0]
            raise QueryError(f"cannot read this {dialect} SQL: {err.get('description') or e}",
                             line=err.get("line"), column=err.get("col")) from e
        for issue in check_sql(text, dialect):
            raise QueryError(issue.message, code="read_only", line=issue.line,
                             column=issue.column)
        if len(statements) != 1 or not isinstance(statements[0], exp.Query):
            raise QueryError(f"expected one SELECT statement, found {len(statements)}",
                             code="read_only")
        tree = _compat(statements[0], dialect)
        with self._lock:
            self._binding_view(source, dialect)
        limit = tree.args.get("limit")
        result = self._run(tree, _int(limit.expression) if limit is not None else None)
        binding = source.bindings.sql
        assert binding is not None
        reverse = {col.lower(): logical for logical, col in binding.columns.items()}
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

    def _pin_now(self, tree: exp.Expression) -> exp.Expression:
        stamp = exp.cast(exp.Literal.string(self.now.strftime("%Y-%m-%d %H:%M:%S+00")),
                         exp.DataType.build("TIMESTAMPTZ"))
        day = exp.cast(exp.Literal.string(self.now.strftime("%Y-%m-%d")),
                       exp.DataType.build("DATE"))

        def pin(node: exp.Expression) -> exp.Expression:
            if isinstance(node, _NOW_NODES):
                return stamp.copy()
            if isinstance(node, _DATE_NODES):
                return day.copy()
            if isinstance(node, exp.Anonymous) and node.name.upper() in _NOW_FUNCS:
                return (day if node.name.upper() in _DATE_FUNCS else stamp).copy()
            return node

        return _post_order(tree, pin)

    def _run(self, tree: exp.Expression, limit: int | None) -> ResultSet:
        tree = self._pin_now(tree)
        cap = self.row_cap + 1
        if isinstance(tree, exp.Select) and (limit is None or limit > cap):
            tree.set("limit", exp.Limit(expression=exp.Literal.number(cap)))
            sql = tree.sql("duckdb")
        elif isinstance(tree, exp.Select):
            sql = tree.sql("duckdb")
        else:
            sql = f"SELECT * FROM ({tree.sql('duckdb')}) AS _lq_result LIMIT {cap}"
        with self._lock:
            cur, rows, elapsed = self._timed(sql)
        truncated = len(rows) > self.row_cap
        columns = [d[0] for d in cur.description or []]
        types = [str(d[1]) for d in cur.description or []]
        if any(t in {"UUID", "TIMESTAMP WITH TIME ZONE"} for t in types):
            rows = [tuple(_plain(v) for v in r) for r in rows]
        return ResultSet(columns, rows[: self.row_cap], truncated, elapsed,
                         limit=limit, query=sql)

    def _timed(self, sql: str) -> tuple[Any, list[tuple[Any, ...]], float]:
        """Execute with a watchdog: `interrupt()` after `timeout_s`, only while it still runs
        (an interrupt that arrived after the query would hit the next one)."""
        state = {"running": True}
        guard = threading.Lock()

        def stop() -> None:
            with guard:
                if state["running"]:
                    self._con.interrupt()

        timer = threading.Timer(self.timeout_s, stop)
        timer.daemon = True
        start = time.perf_counter()
        timer.start()
        try:
            cur = self._con.execute(sql)
            rows = cur.fetchall()
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
        return cur, rows, (time.perf_counter() - start) * 1000


# ---------------------------------------------------------------------- tree helpers

_NOW_NODES = tuple(getattr(exp, n) for n in ("CurrentTimestamp", "CurrentDatetime",
                                             "CurrentTimestampLTZ", "UtcTimestamp",
                                             "Localtimestamp") if hasattr(exp, n))
_DATE_NODES = tuple(getattr(exp, n) for n in ("CurrentDate", "UtcDate") if hasattr(exp, n))
_DATE_FUNCS = {"TODAY", "UTC_DATE", "CURDATE", "CURRENT_DATE", "SYSDATE_DATE"}
_NOW_FUNCS = {"NOW", "GETDATE", "GETUTCDATE", "SYSUTCDATETIME", "SYSDATETIME", "UTC_TIMESTAMP",
              "CURRENT_TIMESTAMP", "LOCALTIMESTAMP", "SYSDATE", "SYSTIMESTAMP", "NOW64",
              "TRANSACTION_TIMESTAMP", "STATEMENT_TIMESTAMP", "CLOCK_TIMESTAMP", *_DATE_FUNCS}
_MACROS = (
    "CREATE MACRO timestamp_seconds(x) AS to_timestamp(x)",
    "CREATE MACRO tostartofinterval(t, i) AS time_bucket(i, t)",
    "CREATE MACRO todatetime(s, tz) AS CAST(s AS TIMESTAMPTZ)",
    "CREATE MACRO todatetime64(s, p, tz) AS CAST(s AS TIMESTAMPTZ)",
    "CREATE MACRO tostring(x) AS CAST(x AS VARCHAR)",
    "CREATE MACRO lq_typed_div(a, b) AS CASE WHEN typeof(a) IN ('TINYINT', 'SMALLINT', "
    "'INTEGER', 'BIGINT', 'HUGEINT') AND typeof(b) IN ('TINYINT', 'SMALLINT', 'INTEGER', "
    "'BIGINT', 'HUGEINT') THEN CAST(trunc(a / NULLIF(b, 0)) AS BIGINT) ELSE a / b END",
)
_SQLITE_SHIFT = re.compile(r"^([+-]?\d+(?:\.\d+)?)\s+(second|minute|hour|day|month|year)s?$",
                           re.I)


def _plain(v: Any) -> Any:
    if isinstance(v, UUID):
        return str(v)
    if isinstance(v, datetime) and v.tzinfo is not None:
        return v.astimezone(timezone.utc)
    return v


def _int(e: exp.Expression | None) -> int | None:
    return int(e.name) if isinstance(e, exp.Literal) and e.name.isdigit() else None


def _output_type(names: Names, name: str) -> FieldType | None:
    try:
        return names.output_type(name)
    except LexiQueryError:
        return None


def _drop_missing_groups(tree: exp.Select, plan: QueryPlan, builder: SqlBuilder) -> None:
    """Splunk's `stats … by f`: events without `f` (or without a time, for a bucket) are not
    counted in any group."""
    agg = plan.aggregation
    if agg is None:
        return
    keys = [builder.ref(g) for g in agg.group_by]
    if agg.time_bucket is not None:
        keys.append(builder.column(builder.names.time_column()))
    for key in keys:
        tree.where(exp.Not(this=exp.Is(this=key, expression=exp.Null())), append=True,
                   copy=False)


def _count_non_empty(tree: exp.Expression, source: Source) -> None:
    """KQL's `countif(isnotempty(f))` for `count(f)`: empty strings do not count."""
    strings = {f.name for f in source.fields if f.type is FieldType.string}
    for node in list(tree.find_all(exp.Count)):
        arg = node.this
        if isinstance(arg, exp.Column) and arg.name in strings:
            node.set("this", exp.Nullif(this=arg.copy(), expression=exp.Literal.string("")))


def _group_outputs(tree: exp.Expression, logical: list[str]) -> list[str]:
    """Output columns that identify a row: the non-aggregate items of a GROUP BY/DISTINCT."""
    if not isinstance(tree, exp.Select) or not (tree.args.get("group") or
                                                tree.args.get("distinct")):
        return []
    return [name for item, name in zip(tree.expressions, logical)
            if not item.find(exp.AggFunc)]


def _post_order(tree: exp.Expression, fn: Any) -> exp.Expression:
    """Apply `fn` to every node, children before their parent (so a rewrite of a parent sees
    its rewritten children); returns the possibly replaced root."""
    root = tree
    for node in reversed(list(tree.walk(bfs=False))):
        new = fn(node)
        if new is not node:
            if node is root:
                root = new
            else:
                node.replace(new)
    return root


# Dialects whose LIKE escapes with a backslash when there is no ESCAPE clause (DuckDB's LIKE
# has no default escape character).
_BACKSLASH_LIKE = {"postgres", "redshift", "mysql", "snowflake", "spark", "databricks",
                   "bigquery", "clickhouse"}
_EXACT_CASTS = {exp.DataType.Type.BINARY, exp.DataType.Type.VARBINARY}


def _compat(tree: exp.Expression, dialect: str) -> exp.Expression:
    """Rewrite what sqlglot parses from `dialect` but DuckDB cannot run, or would run with
    another meaning, as is."""
    def fix(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.DateBin):  # postgres DATE_BIN(stride, col, origin)
            origin = node.args.get("origin") or node.args.get("unit")
            origin_text = origin.name if origin is not None else "1970-01-01"
            return exp.Anonymous(this="TIME_BUCKET", expressions=[
                exp.cast(node.this.copy(), exp.DataType.build("INTERVAL")),
                node.expression.copy(),
                exp.cast(exp.Literal.string(origin_text), exp.DataType.build("TIMESTAMPTZ"))])
        if isinstance(node, exp.Div) and node.args.get("typed"):
            # int / int divides as integers in T-SQL, PostgreSQL, SQLite…; DuckDB's `/` never
            # does: the macro decides by the operands' types, row by row.
            return exp.Anonymous(this="lq_typed_div", expressions=[node.this.copy(),
                                                                   node.expression.copy()])
        if isinstance(node, exp.Collate):  # T-SQL's _CS_ collations: DuckDB compares exactly
            return node.this.copy()
        if isinstance(node, exp.Cast) and node.to.this in _EXACT_CASTS:
            return node.this.copy()  # MySQL's CAST(x AS BINARY) for exact comparison
        if dialect == "tsql" and isinstance(node, exp.DataType) and \
                node.this is exp.DataType.Type.FLOAT:
            return exp.DataType.build("DOUBLE")  # T-SQL's FLOAT is FLOAT(53), a double
        if isinstance(node, exp.DataType) and node.expressions:
            if any(e.name.upper() == "MAX" for e in node.expressions):
                node.set("expressions", [])  # NVARCHAR(MAX)
        if isinstance(node, exp.WithinGroup) and isinstance(node.this, exp.Anonymous) and \
                node.this.name.upper() == "APPROX_PERCENTILE_CONT":
            order = node.expression.expressions[0]
            return exp.Anonymous(this="QUANTILE_CONT", expressions=[
                order.this.copy(), node.this.expressions[0].copy()])
        if dialect == "tsql" and isinstance(node, exp.Add) and \
                (_texty(node.this) or _texty(node.expression)):
            return exp.DPipe(this=node.this.copy(), expression=node.expression.copy())
        if isinstance(node, exp.UnixSeconds):  # truncates to whole seconds; CAST would round
            return exp.cast(exp.Floor(this=exp.Anonymous(this="EPOCH", expressions=[
                node.this.copy()])), exp.DataType.build("BIGINT"))
        if dialect == "bigquery" and isinstance(node, exp.Select):
            _group_by_alias(node)
        if dialect == "tsql" and isinstance(node, exp.DateAdd) and \
                isinstance(node.this, exp.Literal) and not node.this.is_string:
            node.set("this", exp.cast(exp.Literal.string("1900-01-01"),
                                      exp.DataType.build("TIMESTAMP")))
        if isinstance(node, (exp.DateDiff, exp.TimestampDiff)):
            for key in ("this", "expression"):
                arg = node.args.get(key)
                if isinstance(arg, exp.Literal) and arg.is_string:
                    node.set(key, exp.cast(arg.copy(), exp.DataType.build("TIMESTAMP")))
        if dialect in _BACKSLASH_LIKE and isinstance(node, (exp.Like, exp.ILike)) and \
                not isinstance(node.parent, exp.Escape):
            return exp.Escape(this=node.copy(), expression=exp.Literal.string("\\"))
        if dialect == "sqlite":
            return _sqlite_fix(node)
        return node

    return _post_order(tree.copy(), fix)


def _texty(e: exp.Expression) -> bool:
    """Does `e` produce text (T-SQL's `+` then concatenates)?"""
    if isinstance(e, exp.Literal):
        return e.is_string
    if isinstance(e, (exp.Upper, exp.Lower, exp.Substring, exp.DPipe, exp.Concat)):
        return True
    if isinstance(e, exp.Cast):
        return e.to.is_type(*exp.DataType.TEXT_TYPES)
    if isinstance(e, exp.Coalesce):
        return any(_texty(x) for x in [e.this, *e.expressions])
    return False


def _group_by_alias(select: exp.Select) -> None:
    """BigQuery resolves a GROUP BY name to a SELECT alias before a column of the same name
    (sqlglot writes `GROUP BY time` for a bucket aliased `time`); DuckDB takes the column."""
    group = select.args.get("group")
    if group is None:
        return
    aliased = {e.alias: e.this for e in select.expressions
               if isinstance(e, exp.Alias) and not isinstance(e.this, exp.Column)}
    for g in list(group.expressions):
        if isinstance(g, exp.Column) and not g.table and g.name in aliased:
            g.replace(aliased[g.name].copy())


def _sqlite_fix(node: exp.Expression) -> exp.Expression:
    """SQLite's DATETIME(value, modifier…) and STRFTIME('%s', value) in DuckDB's terms."""
    if isinstance(node, exp.TimeToStr) and isinstance(node.args.get("format"), exp.Literal) \
            and node.args["format"].name == "%s":
        return exp.cast(exp.Floor(this=exp.Anonymous(this="EPOCH", expressions=[
            node.this.copy()])), exp.DataType.build("BIGINT"))  # truncated, as SQLite does
    if not (isinstance(node, exp.Anonymous) and node.name.upper() in {"DATETIME", "DATE"}):
        return node
    args = list(node.expressions)
    if not args:
        return node
    first, mods = args[0], args[1:]
    value: exp.Expression
    if isinstance(first, exp.Literal) and first.is_string and first.name.lower() == "now":
        value = exp.Anonymous(this="NOW", expressions=[])  # pinned to the sandbox's now later
    elif mods and isinstance(mods[0], exp.Literal) and mods[0].name.lower() == "unixepoch":
        value, mods = exp.Anonymous(this="TO_TIMESTAMP", expressions=[first.copy()]), mods[1:]
    else:
        value = exp.cast(first.copy(), exp.DataType.build("TIMESTAMPTZ"))
    for m in mods:
        text = m.name.strip().lower() if isinstance(m, exp.Literal) else ""
        shift = _SQLITE_SHIFT.match(text)
        if text == "start of day":
            value = exp.Anonymous(this="DATE_TRUNC", expressions=[exp.Literal.string("day"),
                                                                  value])
        elif shift:
            value = exp.Add(this=value, expression=exp.Interval(
                this=exp.Literal.string(shift.group(1)), unit=exp.var(shift.group(2).upper())))
        else:
            raise QueryError(f"SQLite date modifier {m.sql()} is not supported by the sandbox")
    if node.name.upper() == "DATE":
        return exp.cast(value, exp.DataType.build("DATE"))
    return value
