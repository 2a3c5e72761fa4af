"""The IR's text, time and dynamic-data functions (schema version 2) as each SQL dialect writes
them (a mixin of `SqlBuilder`; `SqlPredicates.expr` hands these calls over).

Each function is written per dialect with the dialect's own spelling (`exp.Anonymous` nodes,
printed verbatim), or raises PlanError ``unsupported`` naming the function and the dialect.
Semantics an analyst should know:
* arrays (`split`, and the `values`/`list` metrics) are arrays in PostgreSQL, DuckDB, BigQuery,
  Snowflake, Trino, Spark, Databricks and ClickHouse; MySQL, SQLite, T-SQL and Redshift have no
  array type (collected values are text there), so `split`, `index` and `array_length` on an
  array are refused there — except the exact text forms MySQL and Redshift have for the first
  (MySQL also the last) element of a split (`SUBSTRING_INDEX`, `SPLIT_PART`);
* an index past either end is NULL (ClickHouse: the empty string); negative indexes count from
  the end;
* JSON (`parse_json`, `member`, `index`/`array_length` on a JSON value or on a source field of
  type dynamic) is read with the dialect's JSON path functions; a chain of members and indexes
  is one path (`$.a.b[0]`), whose value is returned as text; a path into a text field, or
  one of no known type (an expanded element), reads it as JSON. Text that is not JSON has no
  members (NULL) in every dialect: DuckDB's and PostgreSQL's (16+) casts are guarded by
  JSON_VALID / IS JSON. Where JSON is plain text (T-SQL,
  Spark, Databricks, ClickHouse) `parse_json` leaves the text as it is. Negative indexes into
  JSON are refused (JSON paths count from the start only);
* `extract` gives NULL on no match, except DuckDB, Spark and Databricks (the empty string);
  BigQuery, MySQL and Redshift cannot pick a group among several (refused unless the pattern
  has just that one group); T-SQL and SQLite have no regex functions (refused);
* `replace` replaces every match; `\\1` in the replacement is the dialect's group reference
  (`$1` in Trino, Spark, MySQL); T-SQL and SQLite refuse it;
* `start_of(t, "week")` starts weeks on Sunday like KQL's startofweek (DATE_TRUNC's Monday
  weeks are shifted by a day; BigQuery's WEEK and ClickHouse's mode 0 are Sunday weeks);
* `time_diff(unit, end, start)` counts whole units elapsed (truncated toward zero), through the
  dialect's whole-unit difference or epoch seconds (not T-SQL's or Snowflake's boundary counts);
* `trim` removes spaces, tabs, carriage returns and line feeds at both ends; MySQL's TRIM removes
  only one repeated string, so it is refused there.
"""

from __future__ import annotations

import re

from sqlglot import exp

from lexiquery.dialects.base import Names, plan_error
from lexiquery.dialects.sql.functions_json import SqlJson, _int_arg, _text_arg
from lexiquery.dialects.sql.idioms import Idiom, cast, fn, lit, num
from lexiquery.ir import Call, Function

NEW_FUNCTIONS = frozenset({
    Function.extract, Function.replace, Function.split, Function.index, Function.member,
    Function.parse_json, Function.array_length, Function.start_of, Function.time_diff,
    Function.now, Function.trim})
TEXT_ARRAYS = frozenset({"mysql", "sqlite", "tsql", "redshift"})
_UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_WHITE = " \t\r\n"
# Dialects whose replacement text refers to a group as `$1` rather than `\1`.
_DOLLAR_GROUPS = frozenset({"trino", "spark", "databricks", "mysql", "redshift"})


def _groups(pattern: str) -> int:
    """The number of capturing groups in a regex (`(` not escaped, not `(?…`)."""
    return len(re.findall(r"(?<!\\)\((?!\?)", pattern))


class SqlFunctions(SqlJson):
    """Needs from the class it is mixed into: `idiom`, `names`, `dialect` and `expr`."""

    idiom: Idiom
    names: Names
    dialect: str | None

    def expr(self, e: object) -> exp.Expression:
        raise NotImplementedError

    @property
    def _d(self) -> str:
        return self.dialect or "duckdb"  # the generic tree writes DuckDB's spellings

    def _no(self, what: str, why: str = "") -> Exception:
        return plan_error("unsupported", f"{what} is not available in {self._d}"
                          + (f": {why}" if why else ""))

    def function(self, e: Call) -> exp.Expression:
        """One of `NEW_FUNCTIONS` as this dialect writes it."""
        f = e.fn
        if f is Function.now:
            return self.idiom.now()
        if f in (Function.member, Function.index) or (
                f is Function.array_length and self.is_json(e.args[0])):
            return self._json(e)
        if f is Function.parse_json:
            return self._parse_json(self.expr(e.args[0]))
        a = [self.expr(x) for x in e.args]
        if f is Function.extract:
            return self._extract(a[0], _text_arg(e, 1, "extract"), _int_arg(e, 2, "extract"))
        if f is Function.replace:
            return self._replace(a[0], _text_arg(e, 1, "replace"), _text_arg(e, 2, "replace"))
        if f is Function.split:
            return self._split(a[0], _text_arg(e, 1, "split"))
        if f is Function.array_length:
            return self._array_length(a[0])
        if f is Function.start_of:
            return self._start_of(a[0], _text_arg(e, 1, "start_of"))
        if f is Function.time_diff:
            return self._time_diff(_text_arg(e, 0, "time_diff"), a[1], a[2])
        assert f is Function.trim
        if self._d == "mysql":
            raise self._no("trim (of white space)", "MySQL's TRIM removes one repeated string")
        return exp.Trim(this=a[0], expression=self._white(), position="BOTH")

    def _white(self) -> exp.Expression:
        """Space, tab, CR and LF: as a literal where the dialect prints escapes (`'\\t'`),
        else as character codes, so no raw control character lands in the query text."""
        if self._d in ("bigquery", "snowflake", "spark", "databricks", "clickhouse"):
            return lit(_WHITE)
        chr_ = "CHAR" if self._d in ("tsql", "sqlite") else "CHR"
        out: exp.Expression = lit(" ")
        for code in (9, 13, 10):
            out = exp.DPipe(this=out, expression=fn(chr_, num(code)), safe=True)
        return out

    # ------------------------------------------------------------------ regex

    def _extract(self, x: exp.Expression, pattern: str, group: int) -> exp.Expression:
        d, p = self._d, lit(pattern)
        if d in ("tsql", "sqlite"):
            raise self._no("extract (a regex group)", "it has no regex functions")
        if d == "postgres":  # PostgreSQL 15+
            return fn("REGEXP_SUBSTR", x, p, num(1), num(1), lit(""), num(group))
        if d in ("duckdb", "trino", "spark", "databricks"):
            return fn("REGEXP_EXTRACT", x, p, num(group))
        if d == "snowflake":
            return fn("REGEXP_SUBSTR", x, p, num(1), num(1), lit("e" if group else "c"),
                      num(group)) if group else fn("REGEXP_SUBSTR", x, p)
        if d == "clickhouse":
            return fn("regexpExtract", x, p, num(group))
        n = _groups(pattern)
        if not ((group == 0 and n == 0) or (group == 1 and n == 1)):
            raise self._no(f"extract of group {group} of a pattern with {n} groups",
                           "it returns the whole match, or the only group")
        if d == "bigquery":
            return fn("REGEXP_EXTRACT", x, p)
        if d == "redshift":
            return fn("REGEXP_SUBSTR", x, p, num(1), num(1), lit("e")) if group \
                else fn("REGEXP_SUBSTR", x, p)
        if group:  # mysql
            raise self._no("extract of a regex group", "REGEXP_SUBSTR returns the whole match")
        return fn("REGEXP_SUBSTR", x, p)

    def _replace(self, x: exp.Expression, pattern: str, repl: str) -> exp.Expression:
        d = self._d
        if d in ("tsql", "sqlite"):
            raise self._no("replace (by a regex)", "it has no regex functions")
        if d in _DOLLAR_GROUPS:
            repl = re.sub(r"\\(\d)", r"$\1", repl)
        if d in ("postgres", "duckdb"):
            return fn("REGEXP_REPLACE", x, lit(pattern), lit(repl), lit("g"))
        if d == "clickhouse":
            return fn("replaceRegexpAll", x, lit(pattern), lit(repl))
        return fn("REGEXP_REPLACE", x, lit(pattern), lit(repl))

    # ------------------------------------------------------------------ arrays

    def _split(self, x: exp.Expression, delim: str) -> exp.Expression:
        d = self._d
        if d in TEXT_ARRAYS:
            raise self._no("split (into an array)", "it has no array type")
        if d == "postgres":
            return fn("STRING_TO_ARRAY", x, lit(delim))
        if d == "duckdb":
            return fn("STR_SPLIT", x, lit(delim))
        if d in ("spark", "databricks"):  # SPLIT takes a regex: the delimiter quoted
            return fn("SPLIT", x, lit(re.sub(r"([\\^$.|?*+()\[\]{}])", r"\\\1", delim)))
        if d == "clickhouse":
            return fn("splitByString", lit(delim), x)
        return fn("SPLIT", x, lit(delim))

    def _index(self, arr: exp.Expression, i: int, e: Call) -> exp.Expression:
        d = self._d
        base = e.args[0]
        if d in TEXT_ARRAYS:
            if isinstance(base, Call) and base.fn is Function.split:
                x, delim = self.expr(base.args[0]), lit(_text_arg(base, 1, "split"))
                if d == "redshift" and i >= 0:
                    return fn("SPLIT_PART", x, delim, num(i + 1))
                if d == "mysql" and i in (0, -1):
                    return fn("SUBSTRING_INDEX", x, delim, num(1 if i == 0 else -1))
            raise self._no(f"element {i} of an array", "it has no array type")
        if d == "postgres":  # offset=1: the index is written as PostgreSQL counts, from 1
            size: exp.Expression = fn("CARDINALITY", arr.copy())
            pos = num(i + 1) if i >= 0 else size if i == -1 else exp.Sub(
                this=size, expression=num(-i - 1))
            return exp.Bracket(this=exp.paren(arr), expressions=[pos], offset=1)
        if d == "bigquery":
            pos: exp.Expression = num(i) if i >= 0 else exp.Sub(
                this=fn("ARRAY_LENGTH", arr.copy()), expression=num(-i))
            return exp.Bracket(this=arr, expressions=[fn("SAFE_OFFSET", pos)])
        if d == "snowflake":
            pos = num(i) if i >= 0 else exp.Sub(this=fn("ARRAY_SIZE", arr.copy()),
                                                 expression=num(-i))
            element = fn("GET", arr, pos)
            split = isinstance(base, Call) and base.fn is Function.split
            return cast(element, "VARCHAR", d) if split else element  # text, not a VARIANT
        k = num(i + 1 if i >= 0 else i)
        if d == "clickhouse":
            return fn("arrayElement", arr, k)
        if d == "duckdb":
            return fn("LIST_EXTRACT", arr, k)
        return fn("ELEMENT_AT", arr, k)  # trino, spark, databricks

    def _array_length(self, arr: exp.Expression) -> exp.Expression:
        d = self._d
        if d in TEXT_ARRAYS:
            raise self._no("array_length of an array", "it has no array type")
        name = {"postgres": "CARDINALITY", "trino": "CARDINALITY", "duckdb": "LEN",
                "bigquery": "ARRAY_LENGTH", "snowflake": "ARRAY_SIZE", "spark": "SIZE",
                "databricks": "SIZE", "clickhouse": "length"}[d]
        return fn(name, arr)

    # ------------------------------------------------------------------ time

    def _start_of(self, t: exp.Expression, unit: str) -> exp.Expression:
        d = self._d
        if unit not in ("day", "week", "month", "year"):
            raise plan_error("unsupported", f"start_of(…, '{unit}'): the unit must be day, "
                             f"week, month or year")
        if d == "bigquery":
            return fn("TIMESTAMP_TRUNC", t, exp.var(unit.upper()))
        if d == "clickhouse":
            if unit == "week":
                return fn("toStartOfWeek", t, num(0))
            return fn({"day": "toStartOfDay", "month": "toStartOfMonth",
                       "year": "toStartOfYear"}[unit], t)
        if d == "sqlite":
            mods = {"day": ["start of day"], "month": ["start of month"],
                    "year": ["start of year"], "week": ["start of day", "-6 days", "weekday 0"]}
            return fn("DATETIME", t, *(lit(m) for m in mods[unit]))
        if d == "mysql":
            fmt = {"day": "%Y-%m-%d", "month": "%Y-%m-01", "year": "%Y-01-01"}
            if unit == "week":  # DAYOFWEEK: 1 = Sunday
                return exp.Anonymous(this="DATE_SUB", expressions=[
                    fn("DATE", t), exp.Interval(this=exp.Sub(
                        this=fn("DAYOFWEEK", t.copy()), expression=num(1)),
                        unit=exp.var("DAY"))])
            return cast(fn("DATE_FORMAT", t, lit(fmt[unit])), "DATETIME", d)
        if d == "tsql":
            day = cast(cast(t, "DATE", d), "DATETIME2", d)
            if unit == "week":  # 1900-01-07 was a Sunday
                return fn("DATEADD", exp.var("DAY"), exp.Neg(this=exp.paren(exp.Mod(
                    this=fn("DATEDIFF", exp.var("DAY"), lit("1900-01-07"), t.copy()),
                    expression=num(7)))), day)
            if unit == "day":
                return day
            return fn("DATETRUNC", exp.var(unit.upper()), t)  # SQL Server 2022+
        if d == "snowflake":
            if unit == "week":  # DATE_TRUNC's weeks start on Monday (WEEK_START = 0)
                return fn("DATEADD", exp.var("DAY"), num(-1), fn(
                    "DATE_TRUNC", lit("week"), fn("DATEADD", exp.var("DAY"), num(1), t)))
            return fn("DATE_TRUNC", lit(unit), t)
        # postgres, redshift, duckdb, trino, spark, databricks: DATE_TRUNC('unit', t)
        if unit != "week":
            return fn("DATE_TRUNC", lit(unit), t)
        one_day = self._days(1)
        return exp.Sub(this=fn("DATE_TRUNC", lit("week"), exp.Add(this=t, expression=one_day)),
                       expression=one_day.copy())

    def _days(self, n: int) -> exp.Expression:
        if self._d in ("postgres", "redshift"):
            return exp.Interval(this=lit(f"{n} day"))
        if self._d == "trino":
            return exp.Interval(this=lit(str(n)), unit=exp.var("DAY"))
        return exp.Interval(this=num(n), unit=exp.var("DAY"))

    def _time_diff(self, unit: str, end: exp.Expression, start: exp.Expression) -> exp.Expression:
        d = self._d
        if unit not in _UNIT_SECONDS:
            raise plan_error("unsupported", f"time_diff in '{unit}': the unit must be second, "
                             f"minute, hour or day")
        u = exp.var(unit.upper())
        if d == "bigquery":
            return fn("TIMESTAMP_DIFF", end, start, u)
        if d in ("mysql", "spark", "databricks"):
            return fn("TIMESTAMPDIFF", u, start, end)
        if d == "trino":
            return fn("DATE_DIFF", lit(unit), start, end)
        if d == "duckdb":
            return fn("DATE_SUB", lit(unit), start, end)
        secs = _UNIT_SECONDS[unit]
        if d == "tsql":  # integer division truncates toward zero
            diff: exp.Expression = fn("DATEDIFF_BIG", exp.var("SECOND"), start, end)
            return diff if secs == 1 else exp.Div(this=diff, expression=num(secs), typed=True)
        if d == "clickhouse":
            diff = fn("dateDiff", lit("second"), start, end)
            return diff if secs == 1 else fn("intDiv", diff, num(secs))
        if d == "snowflake":
            return fn("TRUNC", exp.Div(this=fn("TIMESTAMPDIFF", exp.var("SECOND"), start, end),
                                       expression=num(secs)))
        if d == "sqlite":  # whole epoch seconds; integer division truncates toward zero
            def epoch_s(t: exp.Expression) -> exp.Expression:
                return cast(fn("STRFTIME", lit("%s"), t), "INTEGER", d)
            diff = exp.Sub(this=epoch_s(end), expression=epoch_s(start))
            return diff if secs == 1 else exp.Div(this=exp.paren(diff), expression=num(secs),
                                                  typed=True)
        epoch = exp.Extract(this=exp.var("EPOCH"), expression=exp.paren(
            exp.Sub(this=end, expression=start)))  # postgres, redshift
        return cast(fn("TRUNC", exp.Div(this=epoch, expression=num(secs))), "BIGINT", d)
