"""SQL DDL import: the CREATE TABLE statements of a schema file, read with sqlglot.

Accepts hand-written DDL and real dumps (pg_dump --schema-only, SSMS "Script Table as" with
``GO`` batches, mysqldump): statements that are not CREATE TABLE / COMMENT ON are ignored. Every
table becomes a source with a SQL binding only (see `lexiquery.catalog.tables` for naming).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from lexiquery.catalog.model import FieldType, Source
from lexiquery.catalog.tables import distinct_ids, source_from_columns
from lexiquery.errors import CatalogError

SQL_DIALECT_ORDER = ("postgres", "tsql", "mysql", "snowflake", "bigquery", "oracle", "duckdb",
                     "sqlite")
_GO_LINE = re.compile(r"^[ \t]*GO[ \t]*;?[ \t]*$", re.IGNORECASE | re.MULTILINE)  # T-SQL batches
_TSQL_HINT = re.compile(r"^[ \t]*GO[ \t]*$|\[\w+\]\s*\.\s*\[|\bIDENTITY\s*\(|\bNVARCHAR\b",
                        re.IGNORECASE | re.MULTILINE)
_MYSQL_HINT = re.compile(r"`\w+`|\bENGINE\s*=|\bAUTO_INCREMENT\b", re.IGNORECASE)
# T-SQL storage clauses sqlglot does not read; they say nothing about columns.
_TSQL_STORAGE = re.compile(r"\b(?:TEXTIMAGE_ON|FILESTREAM_ON)\s+(?:\[[^\]]*\]|\"[^\"]*\"|\w+)",
                           re.IGNORECASE)
_LEADING_COMMENTS = re.compile(r"^(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.DOTALL)
_CREATE_TABLE = re.compile(r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:(?:GLOBAL|LOCAL|TEMP|TEMPORARY|"
                           r"UNLOGGED|TRANSIENT)\s+)*TABLE\b", re.IGNORECASE)
_WANTED = re.compile(rf"{_CREATE_TABLE.pattern}|COMMENT\s+ON\b", re.IGNORECASE)


def guess_dialects(text: str) -> tuple[str, ...]:
    """`SQL_DIALECT_ORDER` with the dialect the text looks like first: T-SQL for ``GO`` batches,
    ``[schema].[table]`` or IDENTITY; MySQL for backticks or ``ENGINE=``; else PostgreSQL. The
    guess only orders the attempts (and picks whose error is reported); every dialect is still
    tried."""
    first = ("tsql" if _TSQL_HINT.search(text) else
             "mysql" if _MYSQL_HINT.search(text) else "postgres")
    return (first, *(d for d in SQL_DIALECT_ORDER if d != first))


def _sql_type(dt: Any) -> FieldType:
    """FieldType of a sqlglot `DataType`. A user-defined name (an enum, a domain, a T-SQL type
    read by another dialect) falls back to its spelling, else string."""
    # deferred: sqlglot (~0.1 s) loads only when SQL DDL is read
    from sqlglot import exp

    T = exp.DataType.Type
    if not isinstance(dt, exp.DataType):
        return FieldType.string
    t = dt.this
    if t is T.INTERVAL:
        return FieldType.timespan
    if t in exp.DataType.TEMPORAL_TYPES and t not in {T.TIME, T.TIMETZ}:
        return FieldType.datetime
    if t in {T.BIT, T.BOOLEAN}:
        return FieldType.bool
    if t in {T.BIGINT, T.UBIGINT, T.INT128, T.UINT128, T.INT256, T.UINT256, T.UINT,
             T.BIGSERIAL}:
        return FieldType.long
    if t in exp.DataType.INTEGER_TYPES or t in {T.SERIAL, T.SMALLSERIAL}:
        return FieldType.int
    if t in exp.DataType.REAL_TYPES:
        return FieldType.real
    if t is T.UUID:
        return FieldType.guid
    if t in exp.DataType.NESTED_TYPES or t in {T.JSON, T.JSONB, T.VARIANT, T.MAP, T.HSTORE}:
        return FieldType.dynamic
    if t is T.USERDEFINED:
        name = dt.sql().lower().lstrip('"[`')
        for prefix, ftype in (("uniqueidentifier", FieldType.guid),
                              ("datetime", FieldType.datetime), ("timestamp", FieldType.datetime),
                              ("number", FieldType.real), ("money", FieldType.real)):
            if name.startswith(prefix):
                return ftype
    return FieldType.string


def _split_statements(text: str) -> list[tuple[int, str]]:
    """(line the text starts on, text) of each `;`-separated statement, honouring quotes,
    comments and PostgreSQL dollar quoting."""
    out: list[tuple[int, str]] = []
    start, i, n = 0, 0, len(text)
    while i < n:
        ch = text[i]
        skip_to = None
        if ch in "'\"`[":
            j = text.find("]" if ch == "[" else ch, i + 1)
            skip_to = j + 1
        elif text.startswith("--", i):
            skip_to = text.find("\n", i) + 1
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            skip_to = j + 2 if j >= 0 else 0
        elif ch == "$" and (m := re.match(r"\$[A-Za-z_]*\$", text[i:i + 64])):
            j = text.find(m.group(), i + len(m.group()))
            skip_to = j + len(m.group()) if j >= 0 else 0
        if skip_to is not None:
            i = skip_to if skip_to > i else n  # an unterminated quote or comment runs to the end
            continue
        if ch == ";":
            out.append((text.count("\n", 0, start) + 1, text[start:i]))
            start = i + 1
        i += 1
    out.append((text.count("\n", 0, start) + 1, text[start:]))
    return [(line, s) for line, s in out if s.strip()]


@contextmanager
def _quiet_sqlglot() -> Iterator[None]:
    """sqlglot logs a warning for every statement it keeps as an opaque command (SET, GRANT,
    ALTER … OWNER TO in a pg_dump); those are expected here and must not reach the terminal."""
    log = logging.getLogger("sqlglot")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def _keeps_tables(statements: list[Any]) -> bool:
    """False when a dialect kept a CREATE TABLE as an opaque command (its columns would be
    lost)."""
    # deferred: sqlglot (~0.1 s) loads only when SQL DDL is read
    from sqlglot import exp

    return not any(isinstance(s, exp.Command) and _CREATE_TABLE.match(s.sql())
                   for s in statements)


def _parse_sql(text: str, origin: str, dialects: tuple[str, ...]) -> list[Any]:
    """Statements of `text` in the first dialect that reads the whole file. When none does, the
    CREATE TABLE and COMMENT ON statements are read one by one (a dump with a procedure body
    sqlglot cannot read still yields its tables); one of those that no dialect reads is an error
    naming its line."""
    # deferred: sqlglot (~0.1 s) loads only when SQL DDL is read
    import sqlglot

    # deferred: sqlglot (~0.1 s) loads only when SQL DDL is read
    from sqlglot.errors import ParseError, SqlglotError

    with _quiet_sqlglot():
        for d in dialects:
            try:
                parsed = [s for s in sqlglot.parse(text, read=d) if s is not None]
            except (SqlglotError, RecursionError):  # absurd nesting: read statement by statement
                continue
            if _keeps_tables(parsed):
                return parsed
        statements: list[Any] = []
        for line, stmt in _split_statements(text):
            if not _WANTED.match(_LEADING_COMMENTS.sub("", stmt, count=1)):
                continue
            first_error: SqlglotError | None = None
            for d in dialects:
                try:
                    parsed = [s for s in sqlglot.parse(stmt, read=d) if s is not None]
                except SqlglotError as e:
                    first_error = first_error or e
                    continue
                except RecursionError:
                    raise CatalogError(f"{origin}: the SQL at line {line} nests brackets too "
                                       "deeply to read") from None
                if _keeps_tables(parsed):
                    statements += parsed
                    break
            else:
                at = line
                if isinstance(first_error, ParseError) and first_error.errors:
                    at = line + int(first_error.errors[0].get("line") or 1) - 1
                msg = str(first_error).splitlines()[0] if first_error else "unreadable"
                msg = re.sub(r"\s*Line \d+, Col: \d+\.?", "", msg)  # relative to the statement
                raise CatalogError(f"{origin}: the SQL does not parse at line {at}: {msg}")
    return statements


def _comments(statements: list[Any]) -> dict[tuple[str, str], str]:
    """``COMMENT ON TABLE/COLUMN`` texts keyed by (table, column or "") in lower case; a
    table is keyed both qualified and bare."""
    # deferred: sqlglot (~0.1 s) loads only when SQL DDL is read
    from sqlglot import exp

    out: dict[tuple[str, str], str] = {}
    for s in statements:
        if not isinstance(s, exp.Comment) or not isinstance(s.expression, exp.Literal):
            continue
        kind, target = str(s.args.get("kind") or "").upper(), s.this
        if kind == "TABLE" and isinstance(target, exp.Table):
            keys = [".".join(p for p in (target.catalog, target.db, target.name) if p)]
            col = ""
        elif kind == "COLUMN" and isinstance(target, exp.Column):
            keys = [".".join(p for p in (target.catalog, target.db, target.table) if p)]
            col = target.name
        else:
            continue
        keys.append(keys[0].split(".")[-1])
        for k in keys:
            out[(k.lower(), col.lower())] = s.expression.this
    return out


def _table(stmt: Any, comments: dict[tuple[str, str], str],
           origin: str) -> tuple[str, Source] | None:
    """(qualified name, source) of one CREATE TABLE with a column list, else None."""
    # deferred: sqlglot (~0.1 s) loads only when SQL DDL is read
    from sqlglot import exp

    if not isinstance(stmt, exp.Create) or str(stmt.args.get("kind") or "").upper() != "TABLE":
        return None
    schema = stmt.this
    if not isinstance(schema, exp.Schema) or not isinstance(schema.this, exp.Table):
        return None  # CREATE TABLE … AS SELECT / LIKE: no column list to read
    tbl = schema.this
    name = ".".join(p for p in (tbl.catalog, tbl.db, tbl.name) if p)

    def doc(col: str, node: Any = None) -> str:
        inline = node.find(exp.CommentColumnConstraint) if node is not None else None
        if inline is not None and isinstance(inline.this, exp.Literal):
            return str(inline.this.this)
        return (comments.get((name.lower(), col.lower()))
                or comments.get((tbl.name.lower(), col.lower()), ""))

    cols = [(c.name, _sql_type(c.args.get("kind")), doc(c.name, c))
            for c in schema.expressions if isinstance(c, exp.ColumnDef)]
    if not cols:
        return None
    prop = stmt.find(exp.SchemaCommentProperty)
    description = (str(prop.this.this) if prop is not None and isinstance(prop.this, exp.Literal)
                   else doc(""))
    return name, source_from_columns(name, cols, platform="sql", origin=origin,
                                     description=description)


def import_sql_ddl(text: str, origin: str, dialect: str | None = None) -> list[Source]:
    """Sources (SQL binding only) from the CREATE TABLE statements of `text`.

    `dialect` is a sqlglot dialect name; without it the dialects are tried in the order of
    `guess_dialects`. T-SQL ``GO`` batch separators and storage clauses are accepted. Table names stay
    schema-qualified in the binding; descriptions come from ``COMMENT ON`` statements and
    inline ``COMMENT '…'`` clauses. Views and ``CREATE TABLE … AS SELECT`` have no column list
    and are skipped. Raises CatalogError when nothing parses or no table has columns."""
    dialects = (dialect,) if dialect else guess_dialects(text)
    text = _TSQL_STORAGE.sub("", _GO_LINE.sub(";", text))
    statements = _parse_sql(text, origin, dialects)
    comments = _comments(statements)
    found = [t for t in (_table(s, comments, origin) for s in statements) if t is not None]
    if not found:
        raise CatalogError(f"{origin}: no CREATE TABLE statements with columns found")
    return distinct_ids(found)
