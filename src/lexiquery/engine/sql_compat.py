"""SQL of any dialect made runnable in DuckDB with the meaning it has in its own dialect.

sqlglot transpiles most of a statement; `compat` rewrites what it leaves wrong or unrunnable:
* integer division (`typed` Div: T-SQL, PostgreSQL, SQLite divide int by int as integers;
  DuckDB's `/` never does) through the `lq_typed_div` macro, which decides by the operands' types;
* T-SQL: `+` on text is concatenation, FLOAT is a double, `_CS_` collations (DuckDB compares
  exactly anyway), NVARCHAR(MAX), day-0 (1900-01-01) dates in DATEADD, APPROX_PERCENTILE_CONT;
* PostgreSQL's DATE_BIN; MySQL's CAST(x AS BINARY) (an exact comparison); BigQuery's GROUP BY of
  a select alias (BigQuery resolves the alias first, DuckDB the column); UNIX_SECONDS truncates;
* SQLite's DATETIME/DATE modifiers ('now', 'start of day', '-N units', 'unixepoch') and
  STRFTIME('%s');
* LIKE without ESCAPE escapes with a backslash in PostgreSQL, MySQL, Snowflake, Spark, BigQuery
  and ClickHouse (DuckDB's LIKE has no default escape);
* Spark's TIMESTAMP_SECONDS and ClickHouse's toStartOfInterval/toDateTime/toString as macros,
  ClickHouse's groupArray/groupUniqArray (NULLs skipped), and the v2 functions' ClickHouse, MySQL
  and SQLite spellings (replaceRegexpAll, arrayElement,
  JSONLength, toStartOfWeek, intDiv, JSON_UNQUOTE, JSON_LENGTH, JULIANDAY; SQLite's 'start of
  month|year' and 'weekday 0' modifiers; MySQL's DAYOFWEEK counts Sunday as 1);
* JSON paths into text that is not JSON read NULL (BigQuery, Trino, Spark, ClickHouse, MySQL,
  SQLite, T-SQL; Snowflake's TRY_PARSE_JSON), not a DuckDB error;
* ClickHouse's LEFT ARRAY JOIN and Snowflake's outer FLATTEN as DuckDB's outer UNNEST;
* Snowflake's GET(array, i), a JSON path cast to text and ARRAY_SIZE of parsed JSON as values
  (sqlglot's DuckDB output reads them as JSON text, quotes kept);
* whole-unit differences (BigQuery's TIMESTAMP_DIFF, Trino's date_diff, MySQL's and Spark's
  TIMESTAMPDIFF) as DuckDB's DATE_SUB, not its boundary-counting DATE_DIFF;
* PostgreSQL's `x IS JSON [ARRAY]` (JSON_VALID, JSON_TYPE) and JSONB_ARRAY_ELEMENTS_TEXT
  (UNNEST of the elements as text);
* PostgreSQL's (and Redshift's 'e') REGEXP_SUBSTR with a group (NULL without a match; DuckDB's
  REGEXP_EXTRACT gives ''), JSON(B)_EXTRACT_PATH_TEXT and JSONB_ARRAY_LENGTH (DuckDB's JSON path functions), and
  CARDINALITY of an array (DuckDB's LEN).
`pin_now` replaces every "now" and "today" with literals of the sandbox's instant.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlglot import exp

from lexiquery.errors import QueryError

_NOW_NODES = tuple(getattr(exp, n) for n in ("CurrentTimestamp", "CurrentDatetime",
                                             "CurrentTimestampLTZ", "UtcTimestamp",
                                             "Localtimestamp") if hasattr(exp, n))
_DATE_NODES = tuple(getattr(exp, n) for n in ("CurrentDate", "UtcDate") if hasattr(exp, n))
_DATE_FUNCS = {"TODAY", "UTC_DATE", "CURDATE", "CURRENT_DATE", "SYSDATE_DATE"}
_NOW_FUNCS = {"NOW", "GETDATE", "GETUTCDATE", "SYSUTCDATETIME", "SYSDATETIME", "UTC_TIMESTAMP",
              "CURRENT_TIMESTAMP", "LOCALTIMESTAMP", "SYSDATE", "SYSTIMESTAMP", "NOW64",
              "TRANSACTION_TIMESTAMP", "STATEMENT_TIMESTAMP", "CLOCK_TIMESTAMP", *_DATE_FUNCS}
MACROS = (
    "CREATE MACRO timestamp_seconds(x) AS to_timestamp(x)",
    "CREATE MACRO tostartofinterval(t, i) AS time_bucket(i, t)",
    "CREATE MACRO todatetime(s, tz) AS CAST(s AS TIMESTAMPTZ)",
    "CREATE MACRO todatetime64(s, p, tz) AS CAST(s AS TIMESTAMPTZ)",
    "CREATE MACRO tostring(x) AS CAST(x AS VARCHAR)",
    # ClickHouse's and MySQL's spellings of the v2 functions (`sql.functions`), same meaning
    "CREATE MACRO replaceregexpall(s, p, r) AS regexp_replace(s, p, r, 'g')",
    "CREATE MACRO groupuniqarray(x) AS list_distinct(list(x) FILTER (WHERE x IS NOT NULL))",
    "CREATE MACRO grouparray(x) AS list(x) FILTER (WHERE x IS NOT NULL)",
    "CREATE MACRO arrayelement(a, i) AS list_extract(a, i)",
    "CREATE MACRO jsonlength(j, k := NULL) AS CASE WHEN k IS NULL THEN json_array_length(j) "
    "ELSE json_array_length(j, '$.' || k) END",
    "CREATE MACRO tostartofweek(t, m) AS CAST(date_trunc('week', t + INTERVAL 1 DAY) "
    "- INTERVAL 1 DAY AS TIMESTAMPTZ)",
    "CREATE MACRO intdiv(a, b) AS CAST(trunc(a / b) AS BIGINT)",
    "CREATE MACRO json_unquote(j) AS (j ->> '$')",
    "CREATE MACRO json_length(j, p := '$') AS json_array_length(j, p)",
    "CREATE MACRO regexp_substr(s, p) AS CASE WHEN regexp_matches(s, p) THEN "
    "regexp_extract(s, p) END",
    "CREATE MACRO julianday(t) AS epoch(CAST(t AS TIMESTAMP)) / 86400.0 + 2440587.5",
    "CREATE MACRO lq_typed_div(a, b) AS CASE WHEN typeof(a) IN ('TINYINT', 'SMALLINT', "
    "'INTEGER', 'BIGINT', 'HUGEINT') AND typeof(b) IN ('TINYINT', 'SMALLINT', 'INTEGER', "
    "'BIGINT', 'HUGEINT') THEN CAST(trunc(a / NULLIF(b, 0)) AS BIGINT) ELSE a / b END",
)
_SQLITE_SHIFT = re.compile(r"^([+-]?\d+(?:\.\d+)?)\s+(second|minute|hour|day|month|year)s?$",
                           re.I)



def pin_now(tree: exp.Expression, now: datetime) -> exp.Expression:
    """Every "now" and "today" of any dialect as a literal of `now` (UTC), so that every query
    of one sandbox sees the same instant."""
    stamp = exp.cast(exp.Literal.string(now.strftime("%Y-%m-%d %H:%M:%S+00")),
                     exp.DataType.build("TIMESTAMPTZ"))
    day = exp.cast(exp.Literal.string(now.strftime("%Y-%m-%d")), exp.DataType.build("DATE"))

    def pin(node: exp.Expression) -> exp.Expression:
        if isinstance(node, _NOW_NODES):
            return stamp.copy()
        if isinstance(node, _DATE_NODES):
            return day.copy()
        if isinstance(node, exp.Anonymous) and node.name.upper() in _NOW_FUNCS:
            return (day if node.name.upper() in _DATE_FUNCS else stamp).copy()
        return node

    return post_order(tree, pin)


def post_order(tree: exp.Expression, fn: Any) -> exp.Expression:
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
_DOLLAR_GROUPS = {"trino", "spark", "databricks", "mysql", "redshift"}  # `$1` in replacements
# Differences that count whole units elapsed (BigQuery's TIMESTAMP_DIFF, Trino's date_diff,
# MySQL's and Spark's TIMESTAMPDIFF), not boundaries crossed like DuckDB's DATE_DIFF.
_WHOLE_UNIT_DIFFS: dict[str, tuple[type[exp.Expression], ...]] = {
    "bigquery": (exp.DateDiff, exp.TimestampDiff), "trino": (exp.DateDiff, exp.TimestampDiff),
    "mysql": (exp.TimestampDiff,), "spark": (exp.TimestampDiff,),
    "databricks": (exp.TimestampDiff,)}


def compat(tree: exp.Expression, dialect: str) -> exp.Expression:
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
        if isinstance(node, _WHOLE_UNIT_DIFFS.get(dialect, ())):
            unit = node.args.get("unit")  # whole units elapsed; DuckDB's DATE_DIFF counts
            return exp.Anonymous(this="DATE_SUB", expressions=[  # boundaries, DATE_SUB units
                exp.Literal.string(unit.name.lower() if unit is not None else "day"),
                node.expression.copy(), node.this.copy()])
        if dialect == "bigquery" and isinstance(node, exp.TimestampTrunc) and \
                isinstance(node.args.get("unit"), exp.WeekStart):  # WEEK: from Sunday
            day = exp.Interval(this=exp.Literal.number(1), unit=exp.var("DAY"))
            return exp.Sub(this=exp.Anonymous(this="DATE_TRUNC", expressions=[
                exp.Literal.string("week"), exp.Add(this=node.this.copy(), expression=day)]),
                expression=day.copy())
        if dialect == "clickhouse" and isinstance(node, exp.Length) and \
                isinstance(node.this, exp.Split):  # length() of an array: its elements
            return exp.Anonymous(this="LEN", expressions=[node.this.copy()])
        if isinstance(node, exp.ParseJSON) and dialect not in ("postgres", "duckdb"):
            # TRY_PARSE_JSON (Snowflake), BigQuery's PARSE_JSON as the renderer uses it: text
            # that is not JSON reads as NULL, as the dialects' JSON path functions read it
            return exp.TryCast(this=node.this.copy(), to=exp.DataType.build("JSON"))
        if isinstance(node, (exp.JSONExtractScalar, exp.JSONExtract)) and dialect in (
                "bigquery", "trino", "spark", "databricks", "clickhouse", "snowflake",
                "mysql", "sqlite", "tsql") and not isinstance(node.this, (exp.TryCast,
                                                                          exp.Case)):
            guarded = node.copy()
            guarded.set("this", exp.Case(ifs=[exp.If(this=exp.Anonymous(
                this="JSON_VALID", expressions=[node.this.copy()]), true=node.this.copy())]))
            return guarded
        if isinstance(node, exp.RegexpReplace) and dialect in _DOLLAR_GROUPS:
            repl = node.args.get("replacement")  # `$1` there is DuckDB's `\1`
            if isinstance(repl, exp.Literal) and repl.is_string and "$" in repl.name:
                node = node.copy()
                node.set("replacement", exp.Literal.string(re.sub(r"\$(\d)", r"\\\1",
                                                                  repl.name)))
                return node
        if dialect == "mysql" and isinstance(node, exp.DayOfWeek):  # MySQL: Sunday is 1
            return exp.paren(exp.Add(this=node.copy(), expression=exp.Literal.number(1)))
        if dialect == "sqlite":
            return _sqlite_fix(node)
        if dialect in ("postgres", "redshift"):
            return _postgres_fix(node)
        if dialect == "snowflake":
            return _snowflake_fix(node)
        if dialect == "clickhouse" and isinstance(node, exp.Join) and \
                node.args.get("kind") == "ARRAY" and isinstance(node.this, exp.Alias):
            return _outer_unnest(node.this.this, "_lq_u", node.this.alias)
        return node

    return post_order(tree.copy(), fix)


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


def _outer_unnest(array: exp.Expression, table: str, element: str) -> exp.Join:
    """`LEFT JOIN LATERAL UNNEST(array) AS table(element) ON TRUE`: one row per element, a row
    whose array is empty or NULL kept once (ClickHouse's LEFT ARRAY JOIN, Snowflake's
    FLATTEN(…, OUTER => TRUE))."""
    return exp.Join(this=exp.Lateral(this=exp.Unnest(expressions=[array.copy()]),
                                     alias=exp.TableAlias(this=exp.to_identifier(table),
                                                          columns=[exp.to_identifier(element)])),
                    side="LEFT", on=exp.true())


def _snowflake_fix(node: exp.Expression) -> exp.Expression:
    """Snowflake's GET(array, i) (from 0), a JSON path cast to text, ARRAY_SIZE of JSON: as
    values, not as the JSON text sqlglot's DuckDB output gives (quotes kept); an outer FLATTEN
    as an outer UNNEST whose column is VALUE."""
    if isinstance(node, exp.Join) and isinstance(node.this, exp.Lateral) and \
            isinstance(node.this.this, exp.Explode):
        kwargs = {k.this.name.upper(): k.expression for k in node.this.this.find_all(exp.Kwarg)}
        alias = node.this.args.get("alias")
        if "INPUT" in kwargs and isinstance(kwargs.get("OUTER"), exp.Boolean) and \
                kwargs["OUTER"].this and alias is not None:
            return _outer_unnest(kwargs["INPUT"], alias.name, "value")
    if isinstance(node, exp.GetExtract) and isinstance(node.this, (exp.Split, exp.Anonymous,
                                                                   exp.Case)):
        return exp.Anonymous(this="LIST_EXTRACT", expressions=[node.this.copy(), exp.Add(
            this=node.expression.copy(), expression=exp.Literal.number(1))])
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.JSONExtract) and \
            node.to.is_type(*exp.DataType.TEXT_TYPES):
        return exp.JSONExtractScalar(this=node.this.this.copy(),
                                     expression=node.this.expression.copy())
    if isinstance(node, exp.ArraySize) and isinstance(node.this, exp.ParseJSON):
        return exp.Anonymous(this="JSON_ARRAY_LENGTH", expressions=[node.this.this.copy()])
    if isinstance(node, exp.ArraySize) and isinstance(node.this, exp.JSONExtract):
        return exp.Anonymous(this="JSON_ARRAY_LENGTH", expressions=[node.this.copy()])
    return node


def _postgres_fix(node: exp.Expression) -> exp.Expression:
    """PostgreSQL's regex group, JSON path and array length functions in DuckDB's terms."""
    if isinstance(node, exp.JSONExtractScalar) and isinstance(node.expression, exp.Literal):
        keys = [node.expression, *node.expressions]  # Redshift's (x, 'a', 'b', TRUE)
        if isinstance(keys[-1], exp.Boolean):
            keys = keys[:-1]
        path = "$" + "".join(f"[{k.name}]" if k.name.isdigit() else
                             '."' + k.name.replace('"', '\\"') + '"' for k in keys)
        base = exp.Case(ifs=[exp.If(this=exp.Anonymous(this="JSON_VALID", expressions=[
            node.this.copy()]), true=node.this.copy())])
        return exp.Anonymous(this="JSON_EXTRACT_STRING", expressions=[
            base, exp.Literal.string(path)])
    params = node.args.get("parameters") if isinstance(node, exp.RegexpSubstr) else None
    if isinstance(node, exp.RegexpSubstr) and node.args.get("group") is None and \
            isinstance(params, exp.Literal) and "e" in params.name:  # Redshift: group 1
        node = node.copy()
        node.set("group", exp.Literal.number(1))
    if isinstance(node, exp.RegexpSubstr) and node.args.get("group") is not None:
        text, pattern = node.this, node.expression
        return exp.Case(ifs=[exp.If(
            this=exp.Anonymous(this="REGEXP_MATCHES", expressions=[text.copy(), pattern.copy()]),
            true=exp.Anonymous(this="REGEXP_EXTRACT", expressions=[
                text.copy(), pattern.copy(), node.args["group"].copy()]))])
    if isinstance(node, exp.Cast) and node.to.this is exp.DataType.Type.JSONB:
        # guarded by IS JSON where the renderer writes it; DuckDB may compute a repeated cast
        # for every row before the CASE picks the rows, so it must not fail on the others
        return exp.TryCast(this=node.this.copy(), to=exp.DataType.build("JSON"))
    if isinstance(node, exp.Is) and isinstance(node.expression, exp.JSON):  # x IS JSON [ARRAY]
        valid = exp.Anonymous(this="JSON_VALID", expressions=[node.this.copy()])
        if str(node.expression.this or "").upper() != "ARRAY":
            return valid
        return exp.And(this=valid, expression=exp.EQ(this=exp.Anonymous(
            this="JSON_TYPE", expressions=[node.this.copy()]), expression=exp.Literal.string(
            "ARRAY")))
    if not isinstance(node, exp.Anonymous):
        return node
    name, args = node.name.upper(), list(node.expressions)
    if name == "JSONB_ARRAY_ELEMENTS_TEXT" and len(args) == 1:  # each element, as text
        return exp.Unnest(expressions=[exp.Anonymous(this="JSON_EXTRACT_STRING", expressions=[
            args[0].copy(), exp.Literal.string("$[*]")])])
    if name in ("JSONB_EXTRACT_PATH_TEXT", "JSON_EXTRACT_PATH_TEXT") and len(args) > 1 and \
            all(isinstance(a, exp.Literal) and a.is_string for a in args[1:]):
        path = "$" + "".join(f"[{a.name}]" if a.name.isdigit() else
                             '."' + a.name.replace('"', '\\"') + '"' for a in args[1:])
        return exp.Anonymous(this="JSON_EXTRACT_STRING", expressions=[
            args[0].copy(), exp.Literal.string(path)])
    if name == "JSONB_ARRAY_LENGTH":
        return exp.Anonymous(this="JSON_ARRAY_LENGTH", expressions=[a.copy() for a in args])
    if name == "CARDINALITY":
        return exp.Anonymous(this="LEN", expressions=[a.copy() for a in args])
    return node


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
        if text in ("start of day", "start of month", "start of year"):
            value = exp.Anonymous(this="DATE_TRUNC", expressions=[
                exp.Literal.string(text.split()[-1]), value])
        elif text == "weekday 0":  # on or after: the next Sunday (DuckDB's DAYOFWEEK: 0)
            value = exp.Add(this=value, expression=exp.Interval(this=exp.Mod(
                this=exp.paren(exp.Sub(this=exp.Literal.number(7), expression=exp.Anonymous(
                    this="DAYOFWEEK", expressions=[value.copy()]))),
                expression=exp.Literal.number(7)), unit=exp.var("DAY")))
        elif shift:
            value = exp.Add(this=value, expression=exp.Interval(
                this=exp.Literal.string(shift.group(1)), unit=exp.var(shift.group(2).upper())))
        else:
            raise QueryError(f"SQLite date modifier {m.sql()} is not supported by the sandbox")
    if node.name.upper() == "DATE":
        return exp.cast(value, exp.DataType.build("DATE"))
    return value

