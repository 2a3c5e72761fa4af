"""SQL expressions and aggregates → IR expressions and metrics (the base of the SQL reader).

`ExprReader` holds what every clause needs: the text (for positions), the dialect, the source
the FROM clause names, the computed fields met so far, and the issues. Its `expr` maps a sqlglot
node onto an IR `Expr` and its `metric` an aggregate onto a `Metric`, inverting what
`sql_filters.SqlPredicates.expr` and `sql.SqlBuilder.metric_expr` write in each dialect:

* SQL counts SUBSTRING from 1, the IR from 0: `SUBSTRING(x, 1, 3)` is `substring(x, 0, 3)`;
* `CAST(x AS TEXT|VARCHAR|STRING|CHAR|NVARCHAR)` is `to_string`, integer types `to_int`,
  DOUBLE/FLOAT/REAL/DECIMAL `to_real`; TRY_CAST and SAFE_CAST alike (the IR's conversions give
  NULL when a value does not convert);
* T-SQL's `+` between strings is `concat`, like `||` and CONCAT();
* `CASE WHEN c THEN a ELSE b END` (and IF/IIF) is `if(c, a, b)`; more WHENs nest;
* MIN/MAX of the source's time column are first_seen/last_seen; every percentile spelling
  (PERCENTILE_CONT … WITHIN GROUP, APPROX_PERCENTILE(_CONT), QUANTILE_CONT, quantile(p)(x),
  APPROX_QUANTILES(x, n)[OFFSET(i)], PERCENTILE_APPROX, MEDIAN) is `percentile`; the distinct
  collectors (ARRAY_AGG(DISTINCT), STRING_AGG/LISTAGG/GROUP_CONCAT(DISTINCT), collect_set,
  groupUniqArray, ARRAY_UNIQUE_AGG) are `values`, their duplicate-keeping forms `list`.

What has no IR form raises `Untranslatable` with its position; the statement reader turns it
into an ``unsupported`` issue and leaves that piece out.
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from lexiquery.catalog.model import FieldType, Platform, Source
from lexiquery.dialects.parsing import logical_field, unknown_field_error
from lexiquery.dialects.sql_parse_lex import DOUBLE_QUOTE_IDENTIFIERS, Lexed
from lexiquery.ir import (
    Call,
    Compare,
    ComputedField,
    FieldRef,
    Function,
    Literal_,
    Metric,
    MetricFn,
    Operator,
    PlanIssue,
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
_VALUES_FNS = {"COLLECT_SET", "GROUPUNIQARRAY", "ARRAY_UNIQUE_AGG", "ARRAYUNIQUEAGG",
               "SET_AGG"}
_LIST_FNS = {"COLLECT_LIST", "GROUPARRAY", "LIST"}


class Untranslatable(Exception):
    """A piece of the query the IR cannot hold, at `offset` in the text."""

    def __init__(self, offset: int, construct: str, why: str = "") -> None:
        super().__init__(construct)
        self.offset = offset
        self.construct = construct
        self.why = why


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


def unparen(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def number(node: exp.Expression | None) -> int | float | None:
    """The value of a numeric literal (also `-5` and `'5'`), else None."""
    if node is None:
        return None
    node = unparen(node)
    if isinstance(node, exp.Neg):
        v = number(node.this)
        return -v if v is not None else None
    if isinstance(node, exp.Literal):
        try:
            f = float(node.this)
        except ValueError:
            return None
        return int(f) if f.is_integer() and "." not in node.this and "e" not in \
            node.this.lower() else f
    return None


class ExprReader:
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
        if isinstance(node, (exp.Literal, exp.Neg)) and number(node) is not None:
            return Literal_(value=number(node))
        if isinstance(node, exp.Literal):
            return Literal_(value=node.this)
        if isinstance(node, exp.Boolean):
            return Literal_(value=bool(node.this))
        if isinstance(node, exp.Null):
            return Literal_(value=None)
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
            return Compare(left=self.expr(node.this), op=Operator.not_exists)
        if isinstance(node, exp.Not) and isinstance(node.this, exp.Is) and \
                isinstance(node.this.expression, exp.Null):
            return Compare(left=self.expr(node.this.this), op=Operator.exists)
        raise Untranslatable(self.offset(node), f"the condition {node.sql(self.dialect)} "
                             f"inside an expression")

    # ------------------------------------------------------------------ aggregates

    def is_aggregate(self, node: exp.Expression) -> bool:
        node = _strip_null_filter(unparen(node))
        if isinstance(node, (exp.AggFunc, exp.WithinGroup, exp.AnonymousAggFunc)):
            return True
        if isinstance(node, exp.Bracket) and isinstance(node.this, exp.ApproxQuantiles):
            return True
        return isinstance(node, exp.Anonymous) and fn_name(node) in (
            _VALUES_FNS | _LIST_FNS | {"QUANTILE_CONT", "PERCENTILE_APPROX", "MEDIAN"})

    def metric(self, node: exp.Expression, alias: str | None = None) -> Metric:
        """The IR metric an aggregate computes; `alias` names its output."""
        node = unparen(node)
        if isinstance(node, exp.Window):
            raise Untranslatable(self.offset(node), "a window function (OVER …)")
        if isinstance(node, exp.Filter) and _strip_null_filter(node) is node:
            raise Untranslatable(self.offset(node), "an aggregate FILTER (WHERE …)",
                                 "filter the rows in WHERE")
        fn, arg, p = self._metric_parts(_strip_null_filter(node))
        field: str | None = None
        if arg is not None:
            if isinstance(arg, exp.Distinct):
                raise Untranslatable(self.offset(node), f"{fn_name(node)}(DISTINCT …)")
            field = self._metric_field(arg, fn, alias)
        if fn in {MetricFn.min, MetricFn.max} and field and field == self.time_field():
            fn, field = (MetricFn.first_seen if fn is MetricFn.min else MetricFn.last_seen), None
        m = Metric(fn=fn, field=field, percentile=p)
        if alias and alias != m.name:
            m = m.model_copy(update={"alias": alias})
        return m

    def _metric_field(self, arg: exp.Expression, fn: MetricFn, alias: str | None) -> str:
        arg = unparen(arg)
        if isinstance(arg, exp.Column):
            return self.column(arg)
        e = self.expr(arg)
        hint = None
        if alias:  # `AVG(a / b) AS avg_rate` names the computed field `rate`
            prefix = Metric(fn=fn, field="\x00", percentile=50 if fn is MetricFn.percentile
                            else None).name.split("\x00")[0]
            if fn is MetricFn.percentile:
                prefix = ""
            if prefix and alias.startswith(prefix) and len(alias) > len(prefix):
                hint = alias[len(prefix):]
        return self.computed_for(e, hint)

    def _metric_parts(self, node: exp.Expression) -> tuple[MetricFn, exp.Expression | None,
                                                           float | None]:
        at = self.offset(node)
        if isinstance(node, exp.Count):
            arg = node.this
            if arg is None or isinstance(arg, exp.Star):
                return MetricFn.count, None, None
            if isinstance(arg, exp.Distinct):
                if len(arg.expressions) != 1:
                    raise Untranslatable(at, "COUNT(DISTINCT a, b)")
                return MetricFn.count_distinct, arg.expressions[0], None
            return MetricFn.count, arg, None
        simple = {exp.Sum: MetricFn.sum, exp.Avg: MetricFn.avg, exp.Min: MetricFn.min,
                  exp.Max: MetricFn.max}
        for cls, mfn in simple.items():
            if type(node) is cls:
                return mfn, node.this, None
        if isinstance(node, exp.WithinGroup):
            inner, order = node.this, node.expression
            keys = order.expressions if isinstance(order, exp.Order) else []
            if len(keys) != 1 or keys[0].args.get("desc"):
                raise Untranslatable(at, "this WITHIN GROUP ordering")
            if isinstance(inner, (exp.PercentileCont, exp.PercentileDisc)):
                p = number(inner.this)
            elif isinstance(inner, exp.Anonymous) and fn_name(inner) in {
                    "APPROX_PERCENTILE_CONT", "APPROX_PERCENTILE_DISC", "PERCENTILE_CONT",
                    "PERCENTILE_DISC"} and len(inner.expressions) == 1:
                p = number(inner.expressions[0])
            elif isinstance(inner, exp.GroupConcat):  # LISTAGG(x, ',') WITHIN GROUP (…)
                return self._collector(inner, at)
            else:
                raise Untranslatable(at, f"{fn_name(inner)} … WITHIN GROUP")
            return MetricFn.percentile, keys[0].this, _pct(p, at)
        if isinstance(node, (exp.PercentileCont, exp.PercentileDisc)) and \
                node.args.get("expression") is not None:  # DuckDB QUANTILE_CONT(x, p)
            return MetricFn.percentile, node.this, _pct(number(node.expression), at)
        if isinstance(node, (exp.Quantile, exp.ApproxQuantile)):
            return MetricFn.percentile, node.this, _pct(number(node.args.get("quantile")), at)
        if isinstance(node, exp.Median):
            return MetricFn.percentile, node.this, 50.0
        if isinstance(node, exp.Bracket) and isinstance(node.this, exp.ApproxQuantiles):
            n = number(node.this.expression)
            idx = node.expressions[0] if node.expressions else None
            if idx is not None and fn_name(idx) in {"OFFSET", "SAFE_OFFSET"} and \
                    isinstance(idx, exp.Anonymous):
                idx = idx.expressions[0]
            i = number(idx) if idx is not None else None
            if node.args.get("offset") not in (None, 0):
                i = i - int(node.args["offset"]) if i is not None else None
            if not n or i is None:
                raise Untranslatable(at, "this APPROX_QUANTILES form")
            return MetricFn.percentile, node.this.this, _pct(i / n, at)
        if isinstance(node, exp.Anonymous) and fn_name(node) in {"QUANTILE_CONT",
                                                                 "PERCENTILE_APPROX"}:
            return MetricFn.percentile, node.expressions[0], _pct(number(node.expressions[1]),
                                                                   at)
        if isinstance(node, (exp.ArrayAgg, exp.GroupConcat, exp.ArrayUniqueAgg)) or \
                fn_name(node) in _VALUES_FNS | _LIST_FNS:
            return self._collector(node, at)
        raise Untranslatable(at, f"the aggregate {fn_name(node)}")

    def _collector(self, node: exp.Expression, at: int) -> tuple[MetricFn, exp.Expression,
                                                                 None]:
        name = fn_name(node)
        if isinstance(node, (exp.Anonymous, exp.AnonymousAggFunc)):
            args = node.expressions
            if len(args) != 1:
                raise Untranslatable(at, f"{name} with {len(args)} arguments")
            arg: exp.Expression = args[0]
        else:
            arg = node.this
        if isinstance(arg, exp.Order):  # STRING_AGG(x ORDER BY y): order is display only
            arg = arg.this
        if isinstance(arg, exp.IgnoreNulls):  # the IR's collectors skip NULLs anyway
            arg = arg.this
        distinct = isinstance(arg, exp.Distinct) or isinstance(node, exp.ArrayUniqueAgg) or \
            name in _VALUES_FNS
        if isinstance(arg, exp.Distinct):
            exprs = list(arg.expressions)
            if len(exprs) == 2 and isinstance(exprs[1], exp.Literal) and exprs[1].is_string:
                exprs = exprs[:1]  # LISTAGG(DISTINCT x, ', '): the separator
            if len(exprs) != 1:
                raise Untranslatable(at, f"{name}(DISTINCT a, b)")
            arg = exprs[0]
        if isinstance(arg, exp.IgnoreNulls):
            arg = arg.this
        if isinstance(arg, (exp.Cast, exp.TryCast)) and type_name(arg.to) in TEXT_TYPES:
            arg = arg.this  # STRING_AGG needs text: the renderer casts numbers to it
        return (MetricFn.values if distinct else MetricFn.list), arg, None


def _strip_null_filter(node: exp.Expression) -> exp.Expression:
    """`AGG(x) FILTER (WHERE x IS NOT NULL)` is `AGG(x)` for the IR, whose collectors skip
    NULLs (the renderer adds the filter where ARRAY_AGG would keep them)."""
    if isinstance(node, exp.IgnoreNulls) and isinstance(node.this, exp.AggFunc):
        return node.this  # BigQuery's ARRAY_AGG(x IGNORE NULLS)
    if not isinstance(node, exp.Filter):
        return node
    where = node.expression.this if isinstance(node.expression, exp.Where) else None
    agg = node.this
    if isinstance(where, exp.Is) and where.args.get("negate") and \
            isinstance(where.expression, exp.Null) or (
                isinstance(where, exp.Not) and isinstance(where.this, exp.Is)):
        tested = where.this.this if isinstance(where, exp.Not) else where.this
        args = [a for a in agg.walk() if isinstance(a, exp.Column)]
        if args and all(a == tested for a in args):
            return agg
    return node


def _pct(p: int | float | None, at: int) -> float:
    if p is None or not 0 < p < 1:
        raise Untranslatable(at, "a percentile that is not a fraction between 0 and 1")
    return round(p * 100, 6)


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
        fields = [a.name for a in e.args if isinstance(a, FieldRef)]
        inner = next((_auto_name(a) for a in e.args if isinstance(a, Call)), "")
        tail = fields[0] if fields else inner
        return f"{e.fn.value}_{tail}" if tail else e.fn.value
    return "expr"
