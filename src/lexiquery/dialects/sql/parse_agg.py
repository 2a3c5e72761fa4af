"""Aggregates → IR metrics (a part of the SQL reader; see `sql.parse_expr` for the base).

MIN/MAX of the source's time column are first_seen/last_seen; every percentile spelling
(PERCENTILE_CONT … WITHIN GROUP, APPROX_PERCENTILE(_CONT), QUANTILE_CONT, quantile(p)(x),
APPROX_QUANTILES(x, n)[OFFSET(i)], PERCENTILE_APPROX, MEDIAN) is `percentile`; the distinct
collectors (ARRAY_AGG(DISTINCT), STRING_AGG/LISTAGG/GROUP_CONCAT(DISTINCT), collect_set,
groupUniqArray, ARRAY_UNIQUE_AGG) are `values`, their duplicate-keeping forms (ARRAY_AGG,
STRING_AGG, LISTAGG, GROUP_CONCAT, collect_list, groupArray) `list` — with what the renderer
adds around them for the IR's semantics (`FILTER (WHERE x IS NOT NULL)`, `IGNORE NULLS`, a
separator, a cast to text for STRING_AGG) read as part of the collector.
"""

from __future__ import annotations

from sqlglot import exp

from lexiquery.dialects.sql.parse_expr import (
    TEXT_TYPES,
    ExprReader,
    Untranslatable,
    fn_name,
    number,
    type_name,
    unparen,
)
from lexiquery.ir import Metric, MetricFn

_VALUES_FNS = {"COLLECT_SET", "GROUPUNIQARRAY", "ARRAY_UNIQUE_AGG", "ARRAYUNIQUEAGG",
               "SET_AGG"}
_LIST_FNS = {"COLLECT_LIST", "GROUPARRAY", "LIST"}


class AggReader(ExprReader):
    """`is_aggregate` and `metric` for the SELECT list, HAVING and ORDER BY."""

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
        tested = unparen(where.this.this if isinstance(where, exp.Not) else where.this)
        arg = agg.this
        if isinstance(arg, exp.Distinct) and arg.expressions:
            arg = arg.expressions[0]
        if arg is not None and unparen(arg) == tested:
            return agg
    return node


def _pct(p: int | float | None, at: int) -> float:
    if p is None or not 0 < p < 1:
        raise Untranslatable(at, "a percentile that is not a fraction between 0 and 1")
    return round(p * 100, 6)
