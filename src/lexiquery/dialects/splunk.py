"""QueryPlan → Splunk SPL.

Style: the binding's search prefix, the time range as `earliest=`/`latest=` (absolute times as
epoch seconds, which Splunk reads without a `timeformat` and without the user's time zone), then
every filter the base search can express exactly (it is the fastest place to filter: it uses
the index), then `| where` for the rest, `| eval`, `| bin _time span=…` + `| stats … by`, `| where`
for thresholds, `| table`, `| sort 0 …` (a bare `sort` silently stops at 10,000 rows), `| head`.

Semantics an analyst should know:
* base-search matching is case-insensitive, like the other platforms' defaults; a
  case-sensitive condition goes to `| where`, which compares exactly;
* `field!=value` and `NOT field IN (…)` written here both require the field to exist
  (`field=*`), so events missing the field are excluded, as SQL's `<>` and KQL's `!=` do;
* a value containing `*` cannot be written in the base search (`*` is always a wildcard
  there), so such a condition is written as `| where match(…)` with the value regex-escaped.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from lexiquery.catalog.model import Platform, Source
from lexiquery.dialects.common import (
    Names,
    coerce,
    format_number,
    has_letters,
    reads_computed,
)
from lexiquery.ir import (
    AbsoluteTime,
    And,
    Call,
    Compare,
    Condition,
    FieldRef,
    Function,
    Literal_,
    Metric,
    MetricFn,
    Not,
    Operator,
    Or,
    QueryPlan,
    RelativeTime,
    TimeUnit,
)

_SEARCH_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]*$")
_EVAL_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_UNIT = {TimeUnit.second: "s", TimeUnit.minute: "m", TimeUnit.hour: "h", TimeUnit.day: "d",
         TimeUnit.week: "w"}


def quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def search_field(col: str) -> str:
    return col if _SEARCH_FIELD.match(col) else quote(col)


def eval_field(col: str) -> str:
    """Field reference inside eval/where: odd names (dots, spaces) go in single quotes."""
    return col if _EVAL_FIELD.match(col) else "'" + col.replace("'", "\\'") + "'"


def stats_field(col: str) -> str:
    return col if _SEARCH_FIELD.match(col) else quote(col)


def value(v: object) -> str:
    if isinstance(v, datetime):  # _time compares as epoch seconds
        at = v if v.tzinfo else v.replace(tzinfo=timezone.utc)
        return str(int(at.timestamp()))
    if isinstance(v, bool):
        return '"true"' if v else '"false"'
    if isinstance(v, (int, float)):
        return format_number(v)
    return quote(str(v))


def time_point(p: RelativeTime | AbsoluteTime) -> str:
    if isinstance(p, AbsoluteTime):
        at = p.at if p.at.tzinfo else p.at.replace(tzinfo=timezone.utc)
        return str(int(at.astimezone(timezone.utc).timestamp()))
    rel = "now" if p.amount == 0 else f"-{p.amount}{_UNIT[p.unit]}"
    if p.snap == "day":
        return "@d" if p.amount == 0 else f"{rel}@d"
    return rel


class SplRenderer:
    def __init__(self, plan: QueryPlan, source: Source) -> None:
        self.plan = plan
        self.source = source
        self.names = Names(plan, source, Platform.spl)

    # -------------------------------------------------------------- base-search form

    def _search_ok(self, f: object) -> bool:
        """Can this filter be written exactly in the base search?"""
        if isinstance(f, (And, Or)):
            return all(self._search_ok(i) for i in f.items)
        if isinstance(f, Not):
            return self._search_ok(f.item)
        assert isinstance(f, Condition)
        if f.op is Operator.regex or f.case_sensitive:
            return False
        if not _SEARCH_FIELD.match(self.names.column(f.field)):
            return False  # odd field names are only reliably quoted in where/eval ('name')
        vals = f.value if isinstance(f.value, list) else [f.value]
        return not any(isinstance(v, str) and "*" in v for v in vals)

    def search_cond(self, c: Condition) -> str:
        col = self.names.column(c.field)
        ref = search_field(col)
        ftype = self.names.field_type(c.field)
        op = c.op
        if op is Operator.exists:
            return f"{ref}=*"
        if op is Operator.not_exists:
            return f"NOT {ref}=*"
        if op in {Operator.in_, Operator.not_in}:
            vals = ", ".join(value(coerce(v, ftype)) for v in c.value)  # type: ignore[union-attr]
            return f"{ref} IN ({vals})" if op is Operator.in_ else \
                f"{ref}=* NOT {ref} IN ({vals})"
        v = coerce(c.value, ftype)  # type: ignore[arg-type]
        cmp = {Operator.eq: "=", Operator.ne: "!=", Operator.gt: ">", Operator.ge: ">=",
               Operator.lt: "<", Operator.le: "<="}
        if op in cmp:
            return f"{ref}{cmp[op]}{value(v)}"
        s = str(v)
        pattern = {Operator.contains: f"*{s}*", Operator.not_contains: f"*{s}*",
                   Operator.has: f"*{s}*", Operator.startswith: f"{s}*",
                   Operator.endswith: f"*{s}"}[op]
        if op is Operator.not_contains:
            return f"{ref}=* NOT {ref}={quote(pattern)}"
        return f"{ref}={quote(pattern)}"

    def search_filter(self, f: object, top: bool = True) -> str:
        if isinstance(f, Condition):
            return self.search_cond(f)
        if isinstance(f, And):
            text = " ".join(self.search_filter(i, False) for i in f.items)
            return text if top else f"({text})"
        if isinstance(f, Or):
            return "(" + " OR ".join(self.search_filter(i, False) for i in f.items) + ")"
        if isinstance(f, Not):
            return f"NOT ({self.search_filter(f.item)})"
        raise TypeError(f"not a filter: {f!r}")

    # -------------------------------------------------------------- where/eval form

    def where_cond(self, c: Condition, *, after_agg: bool = False) -> str:
        col = self.names.output(c.field) if after_agg else self.names.column(c.field)
        ref = eval_field(col)
        ftype = None if after_agg else self.names.field_type(c.field)
        op, cs = c.op, c.case_sensitive
        if op is Operator.exists:
            return f'isnotnull({ref}) AND {ref}!=""'
        if op is Operator.not_exists:
            return f'(isnull({ref}) OR {ref}="")'
        vals = c.value if isinstance(c.value, list) else [c.value]
        typed = [coerce(v, ftype) for v in vals]  # type: ignore[arg-type]
        fold = not cs and any(has_letters(v) for v in typed)
        lhs = f"lower({ref})" if fold else ref
        typed = [v.lower() if fold and isinstance(v, str) else v for v in typed]
        if op in {Operator.in_, Operator.not_in}:
            text = f"in({lhs}, {', '.join(value(v) for v in typed)})"
            return text if op is Operator.in_ else f"isnotnull({ref}) AND NOT {text}"
        v = typed[0]
        cmp = {Operator.eq: "==", Operator.ne: "!=", Operator.gt: ">", Operator.ge: ">=",
               Operator.lt: "<", Operator.le: "<="}
        if op in cmp:
            return f"{lhs}{cmp[op]}{value(v)}"
        flags = "" if cs else "(?i)"
        raw = str(c.value)
        regex = {Operator.regex: raw, Operator.contains: re.escape(raw),
                 Operator.not_contains: re.escape(raw), Operator.has: re.escape(raw),
                 Operator.startswith: "^" + re.escape(raw),
                 Operator.endswith: re.escape(raw) + "$"}[op]
        text = f"match({ref}, {quote(flags + regex)})"
        return f"isnotnull({ref}) AND NOT {text}" if op is Operator.not_contains else text

    def where_filter(self, f: object, *, after_agg: bool = False, top: bool = True) -> str:
        if isinstance(f, Condition):
            text = self.where_cond(f, after_agg=after_agg)
            return text if top or " AND " not in text else f"({text})"
        if isinstance(f, And):
            text = " AND ".join(self.where_filter(i, after_agg=after_agg, top=False)
                                for i in f.items)
            return text if top else f"({text})"
        if isinstance(f, Or):
            return "(" + " OR ".join(self.where_filter(i, after_agg=after_agg, top=False)
                                     for i in f.items) + ")"
        if isinstance(f, Not):
            return f"NOT ({self.where_filter(f.item, after_agg=after_agg)})"
        raise TypeError(f"not a filter: {f!r}")

    def expr(self, e: object) -> str:
        if isinstance(e, FieldRef):
            return eval_field(self.names.column(e.name))
        if isinstance(e, Literal_):
            return "null()" if e.value is None else value(e.value)
        if isinstance(e, Compare):
            left = self.expr(e.left)
            if e.op is Operator.exists:
                return f"isnotnull({left})"
            if e.op is Operator.not_exists:
                return f"isnull({left})"
            sym = {Operator.eq: "==", Operator.ne: "!=", Operator.gt: ">", Operator.ge: ">=",
                   Operator.lt: "<", Operator.le: "<="}.get(e.op)
            if sym:
                return f"{left}{sym}{self.expr(e.right)}"
            return f"like({left}, {self.expr(e.right)})"
        if isinstance(e, Call):
            a = [self.expr(x) for x in e.args]
            arith = {Function.add: "+", Function.sub: "-", Function.mul: "*", Function.div: "/",
                     Function.mod: "%"}
            if e.fn in arith:
                return "(" + f" {arith[e.fn]} ".join(a) + ")"
            if e.fn is Function.concat:
                return "(" + " . ".join(a) + ")"
            if e.fn is Function.substring:  # IR is 0-based; SPL substr is 1-based
                return f"substr({a[0]}, {a[1]}+1" + (f", {a[2]})" if len(a) > 2 else ")")
            if e.fn is Function.to_int:
                return f"floor(tonumber({a[0]}))"
            name = {Function.lower: "lower", Function.upper: "upper", Function.length: "len",
                    Function.coalesce: "coalesce", Function.if_: "if",
                    Function.to_string: "tostring", Function.to_real: "tonumber"}[e.fn]
            return f"{name}({', '.join(a)})"
        raise TypeError(f"not an expression: {e!r}")

    # -------------------------------------------------------------- stages

    def metric(self, m: Metric) -> str:
        f = stats_field(self.names.column(m.field)) if m.field else ""
        pct = format_number(m.percentile or 0)
        body = {
            MetricFn.count: f"count({f})" if m.field else "count",
            MetricFn.count_distinct: f"dc({f})",
            MetricFn.sum: f"sum({f})",
            MetricFn.avg: f"avg({f})",
            MetricFn.min: f"min({f})",
            MetricFn.max: f"max({f})",
            MetricFn.percentile: f"perc{pct}({f})",
            MetricFn.first_seen: f"min({self.names.time_column()})",
            MetricFn.last_seen: f"max({self.names.time_column()})",
        }[m.fn]
        return f"{body} AS {m.name}"

    def base_search(self) -> tuple[str, list[str]]:
        binding = self.source.bindings.spl
        assert binding is not None
        parts = [binding.search]
        tr = self.plan.time_range
        if tr is not None:
            self.names.time_column()
            parts.append(f"earliest={time_point(tr.start)}")
            parts.append(f"latest={time_point(tr.end) if tr.end else 'now'}")
        wheres = []
        for f in self.plan.filters:
            if reads_computed(f, self.names.computed):
                continue  # after the eval that computes it (see render)
            if self._search_ok(f):
                parts.append(self.search_filter(f))
            else:
                wheres.append(f"| where {self.where_filter(f)}")
        return " ".join(parts), wheres

    def render(self) -> str:
        self.names.check_all()
        base, wheres = self.base_search()
        lines = [base, *wheres]
        for c in self.plan.computed:
            lines.append(f"| eval {eval_field(c.name)}={self.expr(c.expr)}")
        lines += [f"| where {self.where_filter(f)}" for f in self.plan.filters
                  if reads_computed(f, self.names.computed)]
        agg = self.plan.aggregation
        if agg:
            keys = [stats_field(self.names.column(g)) for g in agg.group_by]
            if agg.time_bucket:
                tcol = self.names.time_column()
                lines.append(f"| bin {tcol} span={agg.time_bucket.amount}"
                             f"{_UNIT[agg.time_bucket.unit]}")
                keys.append(tcol)
            by = f" by {', '.join(keys)}" if keys else ""
            if agg.metrics:
                lines.append(f"| stats {', '.join(self.metric(m) for m in agg.metrics)}{by}")
            else:
                lines.append(f"| stats count{by} | fields - count")
        lines += [f"| where {self.where_filter(h, after_agg=True)}" for h in self.plan.having]
        # Sort and limit before `table`: the sort key need not be shown.
        if self.plan.sort:
            keys_s = ", ".join(("- " if s.descending else "+ ") +
                               stats_field(self.names.output(s.field)) for s in self.plan.sort)
            lines.append(f"| sort 0 {keys_s}")
        if self.plan.limit:
            lines.append(f"| head {self.plan.limit}")
        if self.plan.project:
            lines.append("| table " + ", ".join(stats_field(self.names.output(p))
                                                  for p in self.plan.project))
        return "\n".join(lines)


def render_spl(plan: QueryPlan, source: Source) -> str:
    return SplRenderer(plan, source).render()
