"""JSON in SQL: `parse_json`, member and index paths, and the length of a JSON array, per
dialect (a mixin of `sql.functions.SqlFunctions`; its docstring gives the semantics)."""

from __future__ import annotations

import re

from sqlglot import exp

from lexiquery.catalog.model import FieldType
from lexiquery.dialects.base import Names, plan_error
from lexiquery.dialects.sql.idioms import cast, fn, lit, num
from lexiquery.ir import Call, FieldRef, Function, Literal_


class SqlJson:
    """Needs from the class it is mixed into: `names`, `_d`, `_no`, `expr`, `_index`."""

    names: Names

    @property
    def _d(self) -> str:
        raise NotImplementedError

    def _no(self, what: str, why: str = "") -> Exception:
        raise NotImplementedError

    def expr(self, e: object) -> exp.Expression:
        raise NotImplementedError

    def _index(self, arr: exp.Expression, i: int, e: Call) -> exp.Expression:
        raise NotImplementedError

    def is_json(self, e: object) -> bool:
        """Is `e` a JSON value (parsed text, a member of one, a source field of type dynamic)
        rather than an array?"""
        if isinstance(e, Call):
            return e.fn in (Function.parse_json, Function.member) or (
                e.fn is Function.index and self.is_json(e.args[0]))
        if isinstance(e, FieldRef) and e.name in self.names.computed:
            return self.is_json(self.names.computed[e.name].expr)
        if isinstance(e, FieldRef):
            f = self.names.source.field(e.name)
            return f is not None and f.type is FieldType.dynamic and \
                self.names.metric(e.name) is None and e.name not in self.names.computed
        return False

    def _text_field(self, e: object) -> bool:
        """A field read as JSON by a path into it: text (`Target[0].name` on a dynamic column
        the catalog binds as text) or of no known type (an expanded element, a value parsed
        in an earlier stage)."""
        return isinstance(e, FieldRef) and self.names.field_type(e.name) in (
            FieldType.string, None) and self.names.metric(e.name) is None

    def _parse_json(self, x: exp.Expression) -> exp.Expression:
        d = self._d
        if d in ("tsql", "spark", "databricks", "clickhouse"):
            return x  # JSON is text there; its path functions read the text
        if d == "snowflake":  # NULL for text that is not JSON, as KQL's parse_json
            return fn("TRY_PARSE_JSON", x)
        if d == "bigquery":
            return fn("PARSE_JSON", x)
        if d in ("trino", "redshift"):
            return fn("JSON_PARSE", x)
        if d == "sqlite":
            return fn("JSON", x)
        if d == "postgres":
            return pg_jsonb(x)
        if d == "duckdb":  # NULL for text that is not JSON, as KQL's parse_json
            return exp.TryCast(this=x, to=exp.DataType.build("JSON", dialect=d))
        return cast(x, "JSON", d)

    def _json(self, e: Call) -> exp.Expression:
        """A chain of members and indexes on a JSON value, as one path; its value as text."""
        path: list[str | int] = []
        node: object = e
        length = isinstance(e, Call) and e.fn is Function.array_length
        if length:
            node = e.args[0]
        while isinstance(node, Call) and node.fn in (Function.member, Function.index):
            if node.fn is Function.member:
                path.append(_text_arg(node, 1, "member"))
            else:
                i = _int_arg(node, 1, "index")
                if not self.is_json(node.args[0]) and not (
                        (path or length) and self._text_field(node.args[0])):
                    if path or length:
                        raise self._no("a member of an array element")
                    return self._index(self.expr(node.args[0]), i, node)
                if i < 0:
                    raise self._no(f"element {i} of a JSON array",
                                   "JSON paths count from the start only")
                path.append(i)
            node = node.args[0]
        path.reverse()
        if isinstance(node, Call) and node.fn is Function.parse_json:
            base = self.expr(node.args[0])
            if self._d == "duckdb":  # its JSON functions fail on text that is not JSON
                base = exp.Case(ifs=[exp.If(this=fn("JSON_VALID", base.copy()), true=base)])
        elif self.is_json(node):
            base = self.expr(node)
        elif self._text_field(node):  # JSON held as text, or of no known type
            base = self.expr(node)
            if self._d == "duckdb":
                base = exp.Case(ifs=[exp.If(this=fn("JSON_VALID", base.copy()), true=base)])
        else:
            raise self._no("a member of a value that is not JSON (parse it with parse_json)")
        d = self._d
        if d == "postgres":
            base = pg_jsonb(base)
        elif d == "snowflake":
            base = fn("TRY_PARSE_JSON", base)
        if length:
            return self._json_length(base, path)
        return self._json_value(base, path)

    def _json_value(self, base: exp.Expression, path: list[str | int]) -> exp.Expression:
        d = self._d
        if d == "postgres":
            return fn("JSONB_EXTRACT_PATH_TEXT", base, *(lit(str(p)) for p in path))
        if d == "redshift":  # null_if_invalid: text that is not JSON reads as NULL
            return fn("JSON_EXTRACT_PATH_TEXT", base, *(lit(str(p)) for p in path), exp.true())
        if d == "snowflake":
            return cast(fn("GET_PATH", base, lit(_dotted(path))), "VARCHAR", d) if path else base
        if d == "clickhouse":
            return fn("JSONExtractString", base, *(
                num(p + 1) if isinstance(p, int) else lit(p) for p in path))
        jp = lit(_json_path(path))
        name = {"tsql": "JSON_VALUE", "bigquery": "JSON_VALUE", "trino": "JSON_EXTRACT_SCALAR",
                "spark": "GET_JSON_OBJECT", "databricks": "GET_JSON_OBJECT",
                "mysql": "JSON_UNQUOTE", "sqlite": "JSON_EXTRACT",
                "duckdb": "JSON_EXTRACT_STRING"}[d]
        if d == "mysql":
            return fn(name, fn("JSON_EXTRACT", base, jp))
        return fn(name, base, jp)

    def _json_length(self, base: exp.Expression, path: list[str | int]) -> exp.Expression:
        d = self._d
        if d == "tsql":
            raise self._no("array_length of a JSON array", "it needs OPENJSON, a table function")
        if path:
            if d in ("postgres", "redshift"):
                raise self._no("array_length of a nested JSON array")
            if d == "snowflake":
                base = fn("GET_PATH", base, lit(_dotted(path)))
            elif d == "clickhouse":
                return fn("JSONLength", base, *(num(p + 1) if isinstance(p, int) else lit(p)
                                                for p in path))
            elif d == "bigquery":
                base = fn("JSON_QUERY", base, lit(_json_path(path)))
            else:
                return fn("JSON_ARRAY_LENGTH" if d != "mysql" else "JSON_LENGTH", base,
                          lit(_json_path(path)))
        name = {"postgres": "JSONB_ARRAY_LENGTH", "snowflake": "ARRAY_SIZE",
                "clickhouse": "JSONLength", "mysql": "JSON_LENGTH"}.get(d, "JSON_ARRAY_LENGTH")
        if d == "bigquery":
            return fn("ARRAY_LENGTH", fn("JSON_QUERY_ARRAY", base))
        return fn(name, base)


def pg_jsonb(x: exp.Expression) -> exp.Expression:
    """`CASE WHEN x IS JSON THEN CAST(x AS JSONB) END` (PostgreSQL 16+): text that is not JSON
    reads as NULL, as KQL's parse_json and the other dialects' JSON functions read it, instead
    of failing the query; a JSONB value passes as it is."""
    if isinstance(x, exp.Case) or (isinstance(x, exp.Cast) and x.to.this is
                                   exp.DataType.Type.JSONB):
        return x
    return exp.Case(ifs=[exp.If(this=exp.Is(this=x.copy(), expression=exp.JSON()),
                                true=cast(x, "JSONB", "postgres"))])



def _json_path(path: list[str | int]) -> str:
    out = "$"
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", p):
            out += f".{p}"
        else:
            out += '."' + p.replace('"', '\\"') + '"'
    return out



def _dotted(path: list[str | int]) -> str:
    """Snowflake's GET_PATH path: `a.b[0]`."""
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (("." if out else "") + (
            p if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", p) else '"' + p + '"'))
    return out


def _text_arg(e: Call, i: int, name: str) -> str:
    arg = e.args[i] if len(e.args) > i else None
    if not isinstance(arg, Literal_) or not isinstance(arg.value, str):
        raise plan_error("unsupported", f"{name}: argument {i + 1} must be a text literal")
    return arg.value



def _int_arg(e: Call, i: int, name: str) -> int:
    arg = e.args[i] if len(e.args) > i else None
    if not isinstance(arg, Literal_) or isinstance(arg.value, bool) or \
            not isinstance(arg.value, int):
        raise plan_error("unsupported", f"{name}: argument {i + 1} must be a whole number")
    return arg.value
