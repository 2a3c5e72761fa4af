"""The SQL spellings of the IR's text, time and dynamic-data functions, read back into calls
(a mixin of `ExprReader`; the inverse of `sql.functions`, whose docstring gives the semantics).

`function(node)` returns the IR call for a form it knows, None for any other node (the
expression reader goes on), and raises `Untranslatable` for a near miss whose meaning differs
from the IR's: `REGEXP_REPLACE` without the 'g' flag in PostgreSQL or DuckDB (it replaces the
first match only), `DATE_TRUNC('week', …)` (weeks from Monday; the IR's start on Sunday), a
bare `TRIM(x)` (spaces only; the IR's trim removes all white space).
"""

from __future__ import annotations

import re
from typing import Any

from sqlglot import exp

from lexiquery.catalog.model import FieldType
from lexiquery.dialects.sql.parse_expr_base import Untranslatable, number, unparen
from lexiquery.ir import Call, FieldRef, Function, Literal_

_UNITS = {"day", "month", "year"}
_SECONDS = {1: "second", 60: "minute", 3600: "hour", 86400: "day"}
_DOLLAR_GROUPS = frozenset({"trino", "spark", "databricks", "mysql", "redshift"})
_WHITE = " \t\r\n"


def _call(fn: Function, *args: Any) -> Call:
    return Call(fn=fn, args=list(args))


def _lit(v: Any) -> Literal_:
    return Literal_(value=v)


def _name(node: exp.Expression) -> str:
    return str(node.name).upper() if isinstance(node, exp.Anonymous) else ""


def _text(node: exp.Expression | None) -> str | None:
    node = unparen(node) if node is not None else None
    return str(node.this) if isinstance(node, exp.Literal) and node.is_string else None


class FunctionReader:
    """Needs from the class it is mixed into: `expr`, `offset`, `dialect`, `field_type`."""

    dialect: str

    def expr(self, node: exp.Expression) -> Any:
        raise NotImplementedError

    def offset(self, node: exp.Expression | None) -> int:
        raise NotImplementedError

    def field_type(self, name: str) -> FieldType | None:
        raise NotImplementedError

    def function(self, node: exp.Expression) -> Any:
        """The IR call `node` spells, or None (see the module docstring)."""
        name = _name(node)
        if _is_now(node) or (isinstance(node, exp.Cast) and _is_now(unparen(node.this))):
            return _call(Function.now)
        if isinstance(node, (exp.RegexpSubstr, exp.RegexpExtract)):
            return self._extract(node)
        if isinstance(node, exp.RegexpReplace):
            return self._replace(node)
        if isinstance(node, (exp.Split, exp.StringToArray, exp.RegexpSplit)):
            delim = _text(node.expression)
            if delim is None:
                raise Untranslatable(self.offset(node), "a split on a non-literal delimiter")
            if self.dialect in ("spark", "databricks"):  # SPLIT takes a regex
                delim = re.sub(r"\\(.)", r"\1", delim)
            return _call(Function.split, self.expr(node.this), _lit(delim))
        if isinstance(node, exp.Bracket) and len(node.expressions) == 1:
            return self._bracket(node)
        if isinstance(node, exp.Cast) and isinstance(unparen(node.this), exp.GetExtract) and \
                node.to.is_type(*exp.DataType.TEXT_TYPES):  # Snowflake GET(SPLIT(…), i)::VARCHAR
            node = unparen(node.this)
        if isinstance(node, exp.GetExtract):  # Snowflake GET(arr, i), from 0
            k = self._position(node.expression, 0)
            if k is not None:
                return _call(Function.index, self.expr(node.this), _lit(k))
        if isinstance(node, exp.SubstringIndex):  # MySQL: the first or last part only
            k, delim = number(unparen(node.args.get("count"))), _text(node.args.get("delimiter"))
            if k in (1, -1) and delim is not None:
                return _call(Function.index, _call(Function.split, self.expr(node.this),
                                                   _lit(delim)), _lit(0 if k == 1 else -1))
        if isinstance(node, exp.ArraySize):
            arg = unparen(node.this)
            if isinstance(arg, exp.JSONExtractArray):  # BigQuery's JSON_QUERY_ARRAY(x, '$')
                return _call(Function.array_length, self._json_base(arg.this))
            return _call(Function.array_length, self.expr(arg))
        if isinstance(node, exp.ParseJSON) or (name in ("JSON", "JSON_PARSE", "PARSE_JSON",
                                                        "TRY_PARSE_JSON")
                                               and len(node.expressions) == 1):
            inner = node.this if isinstance(node, exp.ParseJSON) else node.expressions[0]
            return _call(Function.parse_json, self.expr(inner))
        if name == "JSON_UNQUOTE" and len(node.expressions) == 1 and \
                isinstance(unparen(node.expressions[0]), exp.JSONExtract):
            return self.function(exp.JSONExtractScalar(
                this=unparen(node.expressions[0]).this,
                expression=unparen(node.expressions[0]).expression))
        if isinstance(node, exp.Cast) and isinstance(unparen(node.this), exp.JSONExtract) and \
                node.to.is_type(*exp.DataType.TEXT_TYPES):  # Snowflake GET_PATH(…)::VARCHAR
            inner = unparen(node.this)
            return self.function(exp.JSONExtractScalar(this=inner.this,
                                                       expression=inner.expression))
        if name in ("JSON_LENGTH", "JSONLENGTH") and len(node.expressions) == 1:
            return _call(Function.array_length, self._json_base(node.expressions[0]))
        if name == "REPLACEREGEXPALL" and len(node.expressions) == 3:
            return self._replace(exp.RegexpReplace(
                this=node.expressions[0], expression=node.expressions[1],
                replacement=node.expressions[2], modifiers=exp.Literal.string("g")))
        if name in ("TOSTARTOFDAY", "TOSTARTOFMONTH", "TOSTARTOFYEAR", "TOSTARTOFWEEK"):
            unit = name[len("TOSTARTOF"):].lower()
            if unit != "week" or (len(node.expressions) == 2 and
                                  number(unparen(node.expressions[1])) == 0):
                return _call(Function.start_of, self.expr(node.expressions[0]), _lit(unit))
        if name == "INTDIV" and len(node.expressions) == 2:  # ClickHouse intDiv(diff, n)
            return self._seconds_diff(exp.Div(this=node.expressions[0],
                                              expression=node.expressions[1]))
        if name == "DATETIME" and node.expressions:
            return self._sqlite_datetime(node)
        if isinstance(node, (exp.DateDiff, exp.TimestampDiff)) and self.dialect in (
                "bigquery", "mysql", "spark", "databricks", "trino"):
            unit = str(node.args.get("unit").name if node.args.get("unit") else "").lower()
            if unit in _SECONDS.values():
                return _call(Function.time_diff, _lit(unit), self.expr(node.this),
                             self.expr(node.expression))
        if name in ("LIST_EXTRACT", "ELEMENT_AT", "ARRAYELEMENT") and len(node.expressions) == 2:
            k = number(unparen(node.expressions[1]))
            if isinstance(k, int) and k != 0:
                return _call(Function.index, self.expr(node.expressions[0]),
                             _lit(k - 1 if k > 0 else k))
        if name in ("CARDINALITY", "ARRAY_LENGTH", "ARRAY_SIZE", "SIZE") and \
                len(node.expressions) == 1:
            return _call(Function.array_length, self.expr(node.expressions[0]))
        if isinstance(node, exp.Length) and isinstance(unparen(node.this), (
                exp.Split, exp.StringToArray)):
            return _call(Function.array_length, self.expr(node.this))
        if name in ("JSONB_EXTRACT_PATH_TEXT", "JSON_EXTRACT_PATH_TEXT") and node.expressions:
            args = list(node.expressions)
            if len(args) > 2 and isinstance(args[-1], exp.Boolean):
                args = args[:-1]  # Redshift's null_if_invalid
            keys = [_text(a) for a in args[1:]]
            if None in keys:
                return None
            path: list[str | int] = [int(k) if k.isdigit() else k  # type: ignore[union-attr]
                                     for k in keys]
            return self._path(self._json_base(node.expressions[0]), path)
        if isinstance(node, exp.JSONExtractScalar) and isinstance(node.expression, exp.Literal):
            # Redshift's JSON_EXTRACT_PATH_TEXT(x, 'a', 'b', TRUE): keys, then null_if_invalid
            keys = [node.expression, *node.expressions]
            if keys and isinstance(keys[-1], exp.Boolean):
                keys = keys[:-1]
            texts = [_text(k) for k in keys]
            if None in texts:
                return None
            return self._path(self._json_base(node.this), [
                int(k) if k.isdigit() else k for k in texts])  # type: ignore[union-attr]
        if isinstance(node, exp.JSONExtractScalar) and isinstance(node.expression, exp.JSONPath):
            path = []
            for part in node.expression.expressions:
                if isinstance(part, exp.JSONPathKey):
                    path.append(str(part.this))
                elif isinstance(part, exp.JSONPathSubscript) and isinstance(part.this, int):
                    path.append(part.this)
                elif not isinstance(part, exp.JSONPathRoot):
                    return None
            return self._path(self._json_base(node.this), path)
        if name in ("JSONB_ARRAY_LENGTH", "JSON_ARRAY_LENGTH") and len(node.expressions) == 1:
            return _call(Function.array_length, self._json_base(node.expressions[0]))
        guarded = _unguarded(node) if isinstance(node, exp.Case) else node
        if isinstance(guarded, exp.Cast) and guarded.to.this in (exp.DataType.Type.JSON,
                                                                 exp.DataType.Type.JSONB):
            return _call(Function.parse_json, self.expr(guarded.this))
        if isinstance(node, exp.Trim):
            return self._trim(node)
        if isinstance(node, exp.TimestampTrunc) or (isinstance(node, exp.Anonymous) and
                                                    name == "DATE_TRUNC"):
            return self._trunc(node)
        if isinstance(node, exp.Sub):
            return self._week(node)
        if isinstance(node, exp.DateAdd) and self.dialect == "snowflake":
            return self._snowflake_week(node)
        if isinstance(node, (exp.DateAdd, exp.DateSub)) and self.dialect in ("tsql", "mysql"):
            return self._weekday_week(node)
        if isinstance(node, exp.Div) and self.dialect == "sqlite":
            return self._strftime_diff(node)
        if isinstance(node, (exp.Div, exp.Trunc)) and self.dialect in ("tsql", "snowflake",
                                                                        "clickhouse"):
            return self._seconds_diff(node)
        if name == "DATE_SUB" and len(node.expressions) == 3 and \
                _text(node.expressions[0]) in _SECONDS.values():
            unit, start, end = node.expressions
            return _call(Function.time_diff, _lit(_text(unit)), self.expr(end), self.expr(start))
        if isinstance(node, exp.Cast) and isinstance(unparen(node.this), exp.Trunc):
            return self._epoch_diff(node)
        if isinstance(node, exp.Cast) and self.dialect == "tsql" and \
                isinstance(unparen(node.this), exp.Cast) and \
                unparen(node.this).to.this is exp.DataType.Type.DATE:
            return _call(Function.start_of, self.expr(unparen(node.this).this), _lit("day"))
        if isinstance(node, exp.Cast) and isinstance(unparen(node.this), exp.TimeToStr):
            fmt = _text(unparen(node.this).args.get("format"))  # MySQL DATE_FORMAT
            unit = {"%Y-%m-%d": "day", "%Y-%m-01": "month", "%Y-01-01": "year"}.get(fmt or "")
            if unit is not None:
                return _call(Function.start_of, self.expr(_time_value(unparen(node.this).this)),
                             _lit(unit))
        return None

    def _position(self, node: exp.Expression, offset: int) -> int | None:
        """An index from `offset` (0 or 1) in the IR's terms: `n` → n - offset; `SIZE(arr) - k`
        (from 0) → -k; a negative literal (from 1, counting from the end) as it is."""
        node = unparen(node)
        k = number(node)
        if isinstance(k, int):
            return k if k < 0 else (k - offset if k >= offset else None)
        if isinstance(node, exp.Sub) and isinstance(unparen(node.this), exp.ArraySize):
            j = number(unparen(node.expression))
            if isinstance(j, int) and j >= 1:
                return -j - 1 + 1 if offset == 0 else None
        return None

    def _sqlite_datetime(self, node: exp.Anonymous) -> Any:
        args = node.expressions
        mods = [_text(a) for a in args[1:]]
        if len(args) == 1 and _text(args[0]) == "now":
            return _call(Function.now)
        units = {("start of day",): "day", ("start of month",): "month",
                 ("start of year",): "year", ("start of day", "-6 days", "weekday 0"): "week"}
        unit = units.get(tuple(mods))  # type: ignore[arg-type]
        if unit is None:
            return None
        return _call(Function.start_of, self.expr(args[0]), _lit(unit))

    def _snowflake_week(self, node: exp.DateAdd) -> Any:
        """`DATEADD(DAY, -1, DATE_TRUNC('week', DATEADD(DAY, 1, t)))`."""
        trunc = unparen(node.this)
        if number(unparen(node.expression)) != -1 or not isinstance(trunc, exp.TimestampTrunc):
            return None
        shifted = unparen(trunc.this)
        unit = trunc.args.get("unit")
        if str(unit.name if unit is not None else "").lower() != "week" or not (
                isinstance(shifted, exp.DateAdd) and number(unparen(shifted.expression)) == 1):
            return None
        return _call(Function.start_of, self.expr(shifted.this), _lit("week"))

    def _weekday_week(self, node: exp.Expression) -> Any:
        """T-SQL's `DATEADD(DAY, -(DATEDIFF(DAY, '19000107', t) % 7), <day of t>)` and MySQL's
        `DATE_SUB(DATE(t), INTERVAL (DAYOFWEEK(t) - 1) DAY)`: the Sunday starting t's week."""
        day = unparen(node.this)
        while isinstance(day, (exp.Cast, exp.TsOrDsToDate, exp.TsOrDsToTimestamp)):
            day = unparen(day.this)  # CAST(CAST(t AS DATE) AS DATETIME2), DATE(t)
        back = unparen(node.expression)
        if self.dialect == "tsql":
            diff = unparen(unparen(back.this).this) if isinstance(back, exp.Neg) else None
            sunday = diff.find(exp.Literal) if isinstance(diff, exp.DateDiff) else None
            if not (isinstance(unparen(back.this), exp.Mod) and sunday is not None and
                    sunday.name in ("1900-01-07", "19000107")):
                return None
        elif not (isinstance(back, exp.Sub) and isinstance(unparen(back.this), exp.DayOfWeek)
                  and number(unparen(back.expression)) == 1):
            return None
        return _call(Function.start_of, self.expr(day), _lit("week"))

    def _seconds_diff(self, node: exp.Expression) -> Any:
        """T-SQL's `DATEDIFF_BIG(SECOND, start, end) / n`, Snowflake's
        `TRUNC(TIMESTAMPDIFF(SECOND, start, end) / n)`."""
        div = unparen(node.this) if isinstance(node, exp.Trunc) else node
        if isinstance(node, exp.Div) and self.dialect == "snowflake" and not isinstance(
                node.parent, exp.Trunc):
            return None
        if not isinstance(div, exp.Div):
            return None
        diff, secs = unparen(div.this), number(unparen(div.expression))
        if not isinstance(diff, (exp.DateDiff, exp.TimestampDiff)) or secs not in _SECONDS:
            return None
        unit = str(diff.args.get("unit").name if diff.args.get("unit") else "").lower()
        if unit != "second":
            return None
        return _call(Function.time_diff, _lit(_SECONDS[secs]), self.expr(_time_value(diff.this)),
                     self.expr(_time_value(diff.expression)))

    def _strftime_diff(self, node: exp.Div) -> Any:
        """SQLite's `(CAST(STRFTIME('%s', end) AS INTEGER) - CAST(STRFTIME('%s', start) AS
        INTEGER)) / n`: whole units elapsed."""
        secs, sub = number(unparen(node.expression)), unparen(node.this)
        if secs not in _SECONDS or not isinstance(sub, exp.Sub):
            return None
        ends = []
        for side in (sub.this, sub.expression):
            side = unparen(side)
            inner = unparen(side.this) if isinstance(side, exp.Cast) else None
            if not (isinstance(inner, exp.TimeToStr) and
                    _text(inner.args.get("format")) == "%s"):
                return None
            ends.append(_time_value(inner.this))
        return _call(Function.time_diff, _lit(_SECONDS[secs]), self.expr(ends[0]),
                     self.expr(ends[1]))

    def _extract(self, node: exp.Expression) -> Call:
        pattern = _text(node.expression)
        if pattern is None:
            raise Untranslatable(self.offset(node), "a regex that is not a literal")
        group_node = node.args.get("group")
        if group_node is not None:
            group = number(unparen(group_node))
        elif self.dialect in ("spark", "databricks", "clickhouse"):
            group = 1
        elif self.dialect in ("bigquery", "redshift") and \
                len(re.findall(r"(?<!\\)\((?!\?)", pattern)) == 1:
            group = 1
        else:
            group = 0
        params = _text(node.args.get("parameters"))
        if self.dialect == "redshift" and params == "e":
            group = 1
        if not isinstance(group, int):
            raise Untranslatable(self.offset(node), "a regex group that is not a number")
        return _call(Function.extract, self.expr(node.this), _lit(pattern), _lit(group))

    def _replace(self, node: exp.RegexpReplace) -> Call:
        pattern, repl = _text(node.expression), _text(node.args.get("replacement"))
        if pattern is None or repl is None:
            raise Untranslatable(self.offset(node), "REGEXP_REPLACE of non-literals")
        mods = _text(node.args.get("modifiers")) or ""
        if self.dialect in ("postgres", "duckdb", "redshift") and "g" not in mods and \
                self.dialect != "redshift":
            raise Untranslatable(self.offset(node), "REGEXP_REPLACE without the 'g' flag",
                                 "it replaces the first match only")
        if self.dialect in _DOLLAR_GROUPS:
            repl = re.sub(r"\$(\d)", r"\\\1", repl)
        return _call(Function.replace, self.expr(node.this), _lit(pattern), _lit(repl))

    def _bracket(self, node: exp.Bracket) -> Any:
        """PostgreSQL's `(arr)[n]` (sqlglot's literal index already counts from 0),
        `(arr)[CARDINALITY(arr)]`, `[CARDINALITY(arr) - k]` (written from 1)."""
        if self.dialect not in ("postgres", "redshift"):
            offset = node.args.get("offset")
            if not isinstance(offset, int):
                return None
            idx = unparen(node.expressions[0])
            if _name(idx) in ("SAFE_OFFSET", "OFFSET") and idx.expressions:
                idx = idx.expressions[0]
            k = self._position(idx, offset)
            return None if k is None else _call(Function.index, self.expr(node.this), _lit(k))
        idx = unparen(node.expressions[0])
        n = number(idx)
        if isinstance(n, int) and n >= 0:
            return _call(Function.index, self.expr(node.this), _lit(n))
        if _name(idx) == "CARDINALITY":
            return _call(Function.index, self.expr(node.this), _lit(-1))
        if isinstance(idx, exp.Sub) and _name(unparen(idx.this)) == "CARDINALITY":
            k = number(unparen(idx.expression))
            if isinstance(k, int) and k >= 0:
                return _call(Function.index, self.expr(node.this), _lit(-k - 1))
        return None

    def _json_base(self, node: exp.Expression) -> Any:
        """The JSON value a path reads: parse_json(text) for a text (cast, or DuckDB's
        JSON_VALID guard), the field itself for a dynamic one."""
        node = _unguarded(unparen(node))
        if isinstance(node, exp.Cast) and node.to.this in (exp.DataType.Type.JSON,
                                                           exp.DataType.Type.JSONB):
            node = unparen(node.this)
        if _name(node) in ("PARSE_JSON", "TRY_PARSE_JSON", "JSON_PARSE", "JSON") and \
                len(node.expressions) == 1:
            node = unparen(node.expressions[0])
        elif isinstance(node, exp.ParseJSON):
            node = unparen(node.this)
        base = self.expr(node)
        if isinstance(base, FieldRef) and self.field_type(base.name) is FieldType.dynamic:
            return base
        return _call(Function.parse_json, base)

    def _path(self, base: Any, path: list[str | int]) -> Any:
        out = base
        for p in path:
            out = _call(Function.index if isinstance(p, int) else Function.member, out, _lit(p))
        return out

    def _trim(self, node: exp.Trim) -> Any:
        chars = node.expression
        if chars is None:
            raise Untranslatable(self.offset(node), "TRIM of spaces only",
                                 "the IR's trim removes all white space")
        text = _text(chars)
        if text is None:  # ' ' || CHR(9) || CHR(13) || CHR(10)
            parts: list[str] = []
            for n in chars.walk():
                if isinstance(n, exp.Literal) and n.is_string:
                    parts.append(str(n.this))
                elif isinstance(n, exp.Chr) or _name(n) in ("CHR", "CHAR"):
                    args = n.expressions if n.expressions else [n.this]
                    code = number(unparen(args[0])) if args else None
                    if isinstance(code, int):
                        parts.append(chr(code))
            text = "".join(parts)
        if set(text) != set(_WHITE):
            raise Untranslatable(self.offset(node), "TRIM of other characters than white space")
        return _call(Function.trim, self.expr(node.this))

    def _trunc(self, node: exp.Expression) -> Any:
        if isinstance(node, exp.Anonymous):
            unit, value = _text(node.expressions[0]), node.expressions[1]
        else:
            unit_node = node.args.get("unit")
            unit = "week" if isinstance(unit_node, exp.WeekStart) else str(
                unit_node.name if unit_node is not None else "").lower()
            value = node.this
        unit = (unit or "").lower()
        if unit in ("week", "weekstart") and self.dialect == "bigquery":  # BigQuery: Sundays
            return _call(Function.start_of, self.expr(value), _lit("week"))
        if unit == "week":
            raise Untranslatable(self.offset(node), "DATE_TRUNC('week', …)",
                                 "its weeks start on Monday; the IR's on Sunday")
        if unit not in _UNITS:
            return None
        return _call(Function.start_of, self.expr(value), _lit(unit))

    def _week(self, node: exp.Sub) -> Any:
        """`DATE_TRUNC('week', t + 1 day) - 1 day`: weeks from Sunday."""
        trunc, back = unparen(node.this), unparen(node.expression)
        if not (isinstance(trunc, exp.TimestampTrunc) and _is_one_day(back)):
            return None
        unit = trunc.args.get("unit")
        shifted = unparen(trunc.this)
        if str(unit.name if unit is not None else "").lower() != "week" or not (
                isinstance(shifted, exp.Add) and _is_one_day(unparen(shifted.expression))):
            return None
        return _call(Function.start_of, self.expr(shifted.this), _lit("week"))

    def _epoch_diff(self, node: exp.Cast) -> Any:
        """PostgreSQL's `CAST(TRUNC(EXTRACT(EPOCH FROM (end - start)) / n) AS BIGINT)`."""
        div = unparen(unparen(node.this).this)
        if not isinstance(div, exp.Div):
            return None
        secs = number(unparen(div.expression))
        epoch = unparen(div.this)
        if isinstance(epoch, exp.Cast):
            epoch = unparen(epoch.this)
        if secs not in _SECONDS or not isinstance(epoch, exp.Extract) or \
                str(epoch.this.name).upper() != "EPOCH":
            return None
        diff = unparen(epoch.expression)
        if not isinstance(diff, exp.Sub):
            return None
        return _call(Function.time_diff, _lit(_SECONDS[secs]), self.expr(diff.this),
                     self.expr(diff.expression))


def _unguarded(node: exp.Expression) -> exp.Expression:
    """The value of `CASE WHEN JSON_VALID(x) THEN v END` / `CASE WHEN x IS JSON THEN v END`
    (the renderer's guard against text that is not JSON); any other node as it is."""
    if isinstance(node, exp.Case) and len(node.args.get("ifs") or []) == 1 and \
            node.args.get("default") is None:
        branch = node.args["ifs"][0]
        test = unparen(branch.this)
        if _name(test) == "JSON_VALID" or (isinstance(test, exp.Is) and
                                           isinstance(test.expression, exp.JSON)):
            return unparen(branch.args["true"])
    return node


def _is_now(node: exp.Expression) -> bool:
    return isinstance(node, (exp.CurrentTimestamp, exp.UtcTimestamp)) or _name(node) in (
        "NOW", "GETDATE", "SYSUTCDATETIME", "UTC_TIMESTAMP") or (
        _name(node) == "DATETIME" and len(node.expressions) == 1 and
        _text(node.expressions[0]) == "now")


def _time_value(node: exp.Expression) -> exp.Expression:
    """The time a conversion the dialect adds wraps (MySQL's TIMESTAMP(x) in DATE_FORMAT,
    T-SQL's DATEDIFF arguments)."""
    node = unparen(node)
    while isinstance(node, (exp.TsOrDsToTimestamp, exp.TsOrDsToDate, exp.TimeStrToTime)) or (
            isinstance(node, exp.Cast) and node.to.this in (
                exp.DataType.Type.DATETIME, exp.DataType.Type.TIMESTAMP)):
        node = unparen(node.this)
    return node


def _is_one_day(node: exp.Expression) -> bool:
    if not isinstance(node, exp.Interval):
        return False
    text = str(node.this.name if node.this is not None else "").strip().lower()
    unit = str(node.args.get("unit").name if node.args.get("unit") is not None else "").lower()
    return text in ("1 day", "1 days") or (text == "1" and unit == "day")
