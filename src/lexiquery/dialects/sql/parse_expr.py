"""SQL expressions → IR expressions (the base of the SQL reader; aggregates: `sql.parse_agg`).

`ExprReader` holds what every clause needs: the text (for positions), the dialect, the source
the FROM clause names, the computed fields met so far, and the issues. Its `expr` maps a sqlglot
node onto an IR `Expr`, inverting what `sql.filters.SqlPredicates.expr` writes in each dialect:

* SQL counts SUBSTRING from 1, the IR from 0: `SUBSTRING(x, 1, 3)` is `substring(x, 0, 3)`;
* `CAST(x AS TEXT|VARCHAR|STRING|CHAR|NVARCHAR)` is `to_string`, integer types `to_int`,
  DOUBLE/FLOAT/REAL/DECIMAL `to_real`; TRY_CAST and SAFE_CAST alike (the IR's conversions give
  NULL when a value does not convert);
* T-SQL's `+` between strings is `concat`, like `||` and CONCAT();
* `CASE WHEN c THEN a ELSE b END` (and IF/IIF) is `if(c, a, b)`; more WHENs nest.

What has no IR form raises `Untranslatable` with its position; the statement reader turns it
into an ``unsupported`` issue and leaves that piece out.
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from lexiquery.catalog.model import FieldType, Platform, Source
from lexiquery.dialects.parsing import logical_field, unknown_field_error
from lexiquery.dialects.sql.parse_expr_base import (  # noqa: F401 (part of this module's API)
    Untranslatable,
    number,
    unparen,
)
from lexiquery.dialects.sql.parse_functions import FunctionReader
from lexiquery.dialects.sql.parse_lex import DOUBLE_QUOTE_IDENTIFIERS, Lexed
from lexiquery.ir import (
    Call,
    Compare,
    ComputedField,
    FieldRef,
    Function,
    Literal_,
    Operator,
    PlanIssue,
    iter_expr_fields,
)

TEXT_TYPES = {"TEXT", "VARCHAR", "CHAR", "NVARCHAR", "NCHAR", "STRING", "BPCHAR", "NAME"}
INT_TYPES = {"BIGINT", "INT", "INTEGER", "SMALLINT", "TINYINT", "INT64", "INT128", "INT256",
             "UBIGINT", "UINT", "MEDIUMINT", "SIGNED", "UNSIGNED", "LONG", "HUGEINT", "INT32"}
REAL_TYPES = {"DOUBLE", "FLOAT", "REAL", "FLOAT64", "DECIMAL", "NUMERIC", "DOUBLE PRECISION",
              "FLOAT4", "FLOAT8", "BIGDECIMAL", "NUMBER", "MONEY", "FLOAT32"}
_CH_CASTS = {"TOSTRING": Function.to_string, "TOINT64": Function.to_int,
             "TOINT32": Function.to_int, "TOINT64ORNULL": Function.to_int,
             "TOFLOAT64": Function.to_real, "TOFLOAT64ORNULL": Function.to_real}
_BINOPS = {exp.Add: Function.add, exp.Sub: Function.sub, exp.Mul: Function.mul,
           exp.Div: Function.div, exp.Mod: Function.mod}


def type_name(dt: exp.Expression | None) -> str:
    """`DOUBLE PRECISION`, `NVARCHAR`… as one upper-case name without its parameters."""
    if not isinstance(dt, exp.DataType):
        return ""
    name = dt.this.value if hasattr(dt.this, "value") else str(dt.this)
    return "DOUBLE" if name == "DOUBLE PRECISION" else str(name).upper()


def fn_name(node: exp.Expression) -> str:
    """A function's name as written (for dialect functions sqlglot keeps as Anonymous)."""
    if isinstance(node, (exp.Anonymous, exp.AnonymousAggFunc)):
        return str(node.this).upper()
    return node.key.upper()


class ExprReader(FunctionReader):
    """Shared state of one SELECT being read; see the module docstring."""

    def __init__(self, lexed: Lexed, source: Source, *, lenient: bool = False,
                 table_names: set[str] | None = None) -> None:
        self.lexed = lexed
        self.text = lexed.text
        self.dialect = lexed.dialect
        self.source = source
        # Lenient: the query has a join/CTE/subquery; a name the source does not have belongs
        # to the construct already reported, so it is skipped instead of failing the query.
        self.lenient = lenient
        self.table_names = table_names or set()  # the main table's name and alias, lower case
        self.computed: dict[str, ComputedField] = {}
        self.issues: list[PlanIssue] = []
        self.notes: list[str] = []
        self.aliases: dict[str, exp.Expression] = {}  # SELECT alias → its expression

    # ------------------------------------------------------------------ positions

    def offset(self, node: exp.Expression | None) -> int:
        """Where `node` starts in the text: its own token, else its earliest descendant's."""
        if node is None:
            return 0
        best: int | None = None
        for n in node.walk():
            start = n.meta.get("start") if n.meta else None
            if isinstance(start, int) and (best is None or start < best):
                best = start
        if best is None:
            return 0
        if isinstance(node, (exp.Select, exp.Subquery)):  # its SELECT keyword
            before = [t.start for t in self.lexed.tokens
                      if t.start < best and t.token_type.name == "SELECT"]
            return before[-1] if before else best
        # A quoted identifier's token starts after its quote.
        if best > 0 and self.text[best - 1:best] in {'"', "`", "["}:
            best -= 1
        return best

    # ------------------------------------------------------------------ names

    def field_type(self, name: str) -> FieldType | None:
        if name in self.computed:
            return None
        f = self.source.field(name)
        return f.type if f else None

    def time_field(self) -> str | None:
        return self.source.time_field

    def column(self, col: exp.Column, *, outputs: bool = False) -> str:
        """The logical field (or computed field) a column names.

        `outputs`: after the aggregation / in ORDER BY, a SELECT alias wins over a column."""
        name = col.name
        qual = col.table.lower() if col.table else ""
        if qual and qual not in self.table_names:
            raise Untranslatable(self.offset(col), f"the column {col.sql(self.dialect)} of "
                                 f"another table")
        if outputs and name in self.computed:
            return name
        logical = logical_field(self.source, Platform.sql, name)
        if logical is not None:
            return logical
        if name in self.computed:
            return name
        if self.lenient:
            raise Untranslatable(self.offset(col), f"the column {name!r}",
                                 f"{self.source.name} has no such column")
        err = unknown_field_error(self.text, self.offset(col), self.source, Platform.sql, name,
                                  extra=list(self.computed))
        ident = col.this
        if isinstance(ident, exp.Identifier) and ident.quoted and \
                self.dialect in DOUBLE_QUOTE_IDENTIFIERS and \
                self.text[self.offset(col):self.offset(col) + 1] == '"':
            err.hint = (f"\"{name}\" is a column name in {self.dialect}; write a string in "
                        f"single quotes: '{name}'")
        raise err

    def computed_for(self, expr: Any, hint: str | None = None, *, reuse: bool = True) -> str:
        """The computed field holding `expr`: an existing one with the same expression (and
        the same name, when `hint` names it), or a new one named `hint` or after what it
        computes."""
        dump = expr.model_dump(mode="json")
        if reuse:
            for cf in self.computed.values():
                if cf.expr.model_dump(mode="json") == dump and hint in (None, cf.name):
                    return cf.name
        name = hint or _auto_name(expr)
        base, n = name, 2
        while name in self.computed or (name != hint and self.source.field(name) is not None):
            name, n = f"{base}_{n}", n + 1
        self.computed[name] = ComputedField(name=name, expr=expr)
        return name

    # ------------------------------------------------------------------ expressions

    def expr(self, node: exp.Expression) -> Any:
        """An IR expression for `node`; `Untranslatable` when the IR has none."""
        node = unparen(node)
        if isinstance(node, exp.Column):
            return FieldRef(name=self.column(node))
        if isinstance(node, (exp.Literal, exp.Neg)) and not (
                isinstance(node, exp.Literal) and node.is_string) and number(node) is not None:
            return Literal_(value=number(node))
        if isinstance(node, (exp.Literal, exp.RawString)):
            return Literal_(value=node.this)
        if isinstance(node, exp.Boolean):
            return Literal_(value=bool(node.this))
        if isinstance(node, exp.Null):
            return Literal_(value=None)
        call = self.function(node)  # the v2 functions (`sql.parse_functions`)
        if call is not None:
            return call
        if isinstance(node, (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)):
            return self.compare(node)  # a comparison as a value: `(a > b) = TRUE`
        for cls, fn in _BINOPS.items():
            if type(node) is cls:
                left, right = self.expr(node.this), self.expr(node.expression)
                if fn is Function.add and (self._is_text(left) or self._is_text(right)):
                    return _concat([left, right])  # T-SQL's string +
                return Call(fn=fn, args=[left, right])
        if isinstance(node, exp.DPipe):
            return _concat([self.expr(node.this), self.expr(node.expression)])
        if isinstance(node, (exp.Concat, exp.ConcatWs)) and not isinstance(node, exp.ConcatWs):
            return _concat([self.expr(a) for a in node.expressions])
        if isinstance(node, (exp.Lower, exp.Upper)):
            fn = Function.lower if isinstance(node, exp.Lower) else Function.upper
            return Call(fn=fn, args=[self.expr(node.this)])
        if isinstance(node, exp.Length):
            inner = node.this
            if isinstance(inner, exp.Cast) and type_name(inner.to) in TEXT_TYPES:
                inner = inner.this  # T-SQL LEN reads as LENGTH(CAST(x AS VARCHAR))
            return Call(fn=Function.length, args=[self.expr(inner)])
        if isinstance(node, exp.Substring):
            return self._substring(node)
        if isinstance(node, exp.Coalesce):
            return Call(fn=Function.coalesce,
                        args=[self.expr(node.this)] + [self.expr(a) for a in node.expressions])
        if isinstance(node, (exp.Case, exp.If)):
            return self._if(node)
        if isinstance(node, (exp.Cast, exp.TryCast)) or fn_name(node) == "ACCURATECASTORNULL":
            return self._cast(node)
        if isinstance(node, exp.Anonymous) and fn_name(node) in _CH_CASTS and \
                len(node.expressions) == 1:
            return Call(fn=_CH_CASTS[fn_name(node)], args=[self.expr(node.expressions[0])])
        if isinstance(node, (exp.Subquery, exp.Select)):
            raise Untranslatable(self.offset(node), "a subquery")
        if isinstance(node, exp.Window):
            raise Untranslatable(self.offset(node), "a window function (OVER …)")
        if isinstance(node, exp.AggFunc):
            raise Untranslatable(self.offset(node), f"the aggregate {fn_name(node)} here",
                                 "aggregates belong in the SELECT list, HAVING or ORDER BY")
        raise Untranslatable(self.offset(node), f"the expression {node.sql(self.dialect)}")

    def _is_text(self, e: Any) -> bool:
        if isinstance(e, Literal_):
            return isinstance(e.value, str)
        if isinstance(e, FieldRef):
            return self.field_type(e.name) in {FieldType.string, FieldType.guid}
        return isinstance(e, Call) and e.fn in {Function.lower, Function.upper, Function.concat,
                                                Function.substring, Function.to_string,
                                                Function.coalesce} and (
            e.fn is not Function.coalesce or any(self._is_text(a) for a in e.args))

    def _substring(self, node: exp.Substring) -> Any:
        text = self.expr(node.this)
        start_node = node.args.get("start")
        if start_node is None:
            raise Untranslatable(self.offset(node), "SUBSTRING without a start")
        start_node = unparen(start_node)
        n = number(start_node)
        if isinstance(n, int):
            start: Any = Literal_(value=max(n - 1, 0))
        elif isinstance(start_node, exp.Add) and number(start_node.expression) == 1:
            start = self.expr(start_node.this)  # the renderer's `start0 + 1`
        else:
            start = Call(fn=Function.sub, args=[self.expr(start_node), Literal_(value=1)])
        args = [text, start]
        if node.args.get("length") is not None:
            args.append(self.expr(node.args["length"]))
        return Call(fn=Function.substring, args=args)

    def _if(self, node: exp.Expression) -> Any:
        if isinstance(node, exp.If):
            ifs, default = [node], node.args.get("false")
        else:
            if node.this is not None:  # CASE x WHEN … (simple CASE)
                raise Untranslatable(self.offset(node), "CASE <value> WHEN …",
                                     "write CASE WHEN <condition> THEN …")
            ifs, default = list(node.args.get("ifs") or []), node.args.get("default")
        out: Any = None if default is None or isinstance(default, exp.Null) \
            else self.expr(default)
        for branch in reversed(ifs):
            cond = self.compare(branch.this)
            then = self.expr(branch.args["true"])
            out = Call(fn=Function.if_, args=[cond, then] + ([] if out is None else [out]))
        return out

    def _cast(self, node: exp.Expression) -> Any:
        if isinstance(node, exp.Anonymous):  # ClickHouse accurateCastOrNull(x, 'Int64')
            inner, kind = node.expressions[0], str(node.expressions[1].name).upper()
            fn = Function.to_int if kind.startswith(("INT", "UINT")) else Function.to_real \
                if kind.startswith(("FLOAT", "DECIMAL")) else Function.to_string
            return Call(fn=fn, args=[self.expr(inner)])
        name = type_name(node.args.get("to"))
        if name in TEXT_TYPES:
            fn = Function.to_string
        elif name in INT_TYPES:
            fn = Function.to_int
        elif name in REAL_TYPES:
            fn = Function.to_real
        else:
            raise Untranslatable(self.offset(node), f"CAST to {name or 'this type'}")
        return Call(fn=fn, args=[self.expr(node.this)])

    def compare(self, node: exp.Expression) -> Compare:
        """A boolean test inside an expression (the condition of CASE WHEN)."""
        node = unparen(node)
        cmp = {exp.EQ: Operator.eq, exp.NEQ: Operator.ne, exp.GT: Operator.gt,
               exp.GTE: Operator.ge, exp.LT: Operator.lt, exp.LTE: Operator.le}
        for cls, op in cmp.items():
            if type(node) is cls:
                return Compare(left=self.expr(node.this), op=op,
                               right=self.expr(node.expression))
        if isinstance(node, exp.Is) and isinstance(node.expression, exp.Null):
            negated = bool(node.args.get("negate"))  # sqlglot's `x IS NOT NULL`
            return Compare(left=self.expr(node.this),
                           op=Operator.exists if negated else Operator.not_exists)
        if isinstance(node, exp.Not) and isinstance(node.this, exp.Is) and \
                isinstance(node.this.expression, exp.Null):
            return Compare(left=self.expr(node.this.this), op=Operator.exists)
        raise Untranslatable(self.offset(node), f"the condition {node.sql(self.dialect)} "
                             f"inside an expression")

def _concat(parts: list[Any]) -> Call:
    """concat(a, b, c) for `a || b || c`, however the tree nests it."""
    flat: list[Any] = []
    for p in parts:
        flat += p.args if isinstance(p, Call) and p.fn is Function.concat else [p]
    return Call(fn=Function.concat, args=flat)


def _auto_name(e: Any) -> str:
    """A readable name for an unnamed computed value: `lower_user`, `div_bytes_out`."""
    if isinstance(e, FieldRef):
        return e.name
    if isinstance(e, Call):
        fields = iter_expr_fields(e)
        return f"{e.fn.value}_{fields[0]}" if fields else e.fn.value
    return "expr"
