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
from lexiquery.dialects.sql.parse_function_parts import (
    _DOLLAR_GROUPS,
    _SECONDS,
    _WHITE,
    _call,
    _lit,
    _name,
    _text,
)
from lexiquery.dialects.sql.parse_functions_time import (
    TimeFunctionReader,
    _is_now,
    _time_value,
)
from lexiquery.ir import Call, FieldRef, Function


class FunctionReader(TimeFunctionReader):
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

