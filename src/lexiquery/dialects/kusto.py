"""QueryPlan → KQL (Azure Data Explorer / Log Analytics / Microsoft Sentinel).

Style: one `| where` per top-level filter (what analysts write and edit), time first so the engine
can prune partitions, explicit `asc`/`desc` (KQL sorts descending by default), `top N by` when a
sort has a limit. String comparisons are case-insensitive unless the condition says otherwise
(`=~`, `in~`, `contains`, `has`…); numbers and strings without letters use `==`, which is exact and
faster. Dotted paths into dynamic columns (`InitiatedBy.user.userPrincipalName`) are wrapped in
`tostring()` where KQL needs a scalar (group keys, projections).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from lexiquery.catalog.model import FieldType, Platform, Source
from lexiquery.dialects.common import (
    Names,
    coerce,
    format_number,
    has_letters,
    reads_computed,
)
from lexiquery.ir import (
    UNIT_SECONDS,
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

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
# Words that cannot stand bare as column names in KQL.
_KEYWORDS = frozenset({"and", "or", "not", "by", "on", "in", "has", "contains", "where", "let",
                       "project", "summarize", "extend", "count", "take", "limit", "top", "sort",
                       "order", "asc", "desc", "true", "false", "between", "with", "of", "as",
                       "to", "range", "print", "set", "title", "type", "kind"})
_TIMESPAN = {TimeUnit.second: "s", TimeUnit.minute: "m", TimeUnit.hour: "h", TimeUnit.day: "d"}


def ident(col: str) -> str:
    """A column reference: bare, a dotted dynamic path, or `['quoted name']`."""
    if _PATH.match(col):
        return col
    if _IDENT.match(col) and col.lower() not in _KEYWORDS:
        return col
    return "['" + col.replace("\\", "\\\\").replace("'", "\\'") + "']"


def scalar_ref(col: str) -> str:
    """A column usable where KQL needs a scalar: dynamic paths become `tostring(path)`."""
    return f"tostring({col})" if _PATH.match(col) else ident(col)


def output_name(logical: str, col: str) -> str:
    """A group key's output column: the column itself, or the logical name for a dynamic path."""
    return logical if _PATH.match(col) else col


def string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") \
        .replace("\r", "\\r").replace("\t", "\\t") + '"'


def verbatim(s: str) -> str:
    """`@"..."` — backslashes are literal, which keeps regexes readable."""
    return '@"' + s.replace('"', '""') + '"'


def literal(v: object) -> str:
    if isinstance(v, datetime):
        return _datetime(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return format_number(v)
    if v is None:
        return "dynamic(null)"
    return string(str(v))


def timespan(amount: int, unit: TimeUnit) -> str:
    if unit is TimeUnit.week:
        return f"{amount * 7}d"
    return f"{amount}{_TIMESPAN[unit]}"


def _datetime(at: datetime) -> str:
    at = at if at.tzinfo else at.replace(tzinfo=timezone.utc)
    return f"datetime({at.astimezone(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')})"


def time_point(p: RelativeTime | AbsoluteTime) -> str:
    if isinstance(p, AbsoluteTime):
        return _datetime(p.at)
    inner = "now()" if p.amount == 0 else f"ago({timespan(p.amount, p.unit)})"
    return f"startofday({inner})" if p.snap == "day" else inner


class KqlRenderer:
    def __init__(self, plan: QueryPlan, source: Source) -> None:
        self.plan = plan
        self.source = source
        self.names = Names(plan, source, Platform.kql, group_output=output_name)

    # ------------------------------------------------------------------ conditions

    def numeric_ref(self, name: str) -> str:
        """The column as a number: converted when Kusto stores the numeric field as a string."""
        col = scalar_ref(self.names.column(name))
        binding = self.source.bindings.kql
        ftype = self.names.field_type(name)
        if binding is None or ftype is None or not ftype.numeric:
            return col
        if binding.column_types.get(name) is FieldType.string:
            fn = {FieldType.int: "toint", FieldType.long: "tolong"}.get(ftype, "toreal")
            return f"{fn}({col})"
        return col

    def condition(self, c: Condition, *, after_agg: bool = False) -> str:
        col = self.names.output(c.field) if after_agg else self.names.column(c.field)
        ftype = None if after_agg else self.names.field_type(c.field)
        ref = scalar_ref(col) if after_agg or c.field in self.names.computed \
            else self.numeric_ref(c.field)
        op, cs = c.op, c.case_sensitive
        if op is Operator.exists:
            return f"isnotempty({ref})"
        if op is Operator.not_exists:
            return f"isempty({ref})"
        if op in {Operator.in_, Operator.not_in}:
            values = [coerce(v, ftype) for v in c.value]  # type: ignore[union-attr]
            insensitive = not cs and any(has_letters(v) for v in values)
            word = ("!in" if op is Operator.not_in else "in") + ("~" if insensitive else "")
            return f"{ref} {word} ({', '.join(literal(v) for v in values)})"
        value = coerce(c.value, ftype)  # type: ignore[arg-type]
        if op is Operator.regex:
            pattern = str(value) if cs else "(?i)" + str(value)
            return f"{ref} matches regex {verbatim(pattern)}"
        if op in {Operator.eq, Operator.ne}:
            exact = cs or not has_letters(value)
            word = {(Operator.eq, True): "==", (Operator.eq, False): "=~",
                    (Operator.ne, True): "!=", (Operator.ne, False): "!~"}[(op, exact)]
            return f"{ref} {word} {literal(value)}"
        cmp = {Operator.gt: ">", Operator.ge: ">=", Operator.lt: "<", Operator.le: "<="}
        if op in cmp:
            return f"{ref} {cmp[op]} {literal(value)}"
        word = {Operator.contains: "contains", Operator.not_contains: "!contains",
                Operator.startswith: "startswith", Operator.endswith: "endswith",
                Operator.has: "has"}[op]
        return f"{ref} {word}{'_cs' if cs else ''} {literal(str(value))}"

    def filter(self, f: object, *, after_agg: bool = False, top: bool = True) -> str:
        if isinstance(f, Condition):
            return self.condition(f, after_agg=after_agg)
        if isinstance(f, And):
            text = " and ".join(self.filter(i, after_agg=after_agg, top=False) for i in f.items)
            return text if top else f"({text})"
        if isinstance(f, Or):
            text = " or ".join(self.filter(i, after_agg=after_agg, top=False) for i in f.items)
            return text if top else f"({text})"
        if isinstance(f, Not):
            return f"not({self.filter(f.item, after_agg=after_agg)})"
        raise TypeError(f"not a filter: {f!r}")

    # ------------------------------------------------------------------ expressions

    def expr(self, e: object) -> str:
        if isinstance(e, FieldRef):
            return scalar_ref(self.names.column(e.name))
        if isinstance(e, Literal_):
            return literal(e.value)
        if isinstance(e, Compare):
            left = self.expr(e.left)
            if e.op is Operator.exists:
                return f"isnotempty({left})"
            if e.op is Operator.not_exists:
                return f"isempty({left})"
            sym = {Operator.eq: "==", Operator.ne: "!=", Operator.gt: ">", Operator.ge: ">=",
                   Operator.lt: "<", Operator.le: "<=", Operator.contains: "contains",
                   Operator.startswith: "startswith", Operator.endswith: "endswith",
                   Operator.has: "has", Operator.not_contains: "!contains",
                   Operator.regex: "matches regex", Operator.in_: "in",
                   Operator.not_in: "!in"}[e.op]
            return f"{left} {sym} {self.expr(e.right)}"
        if isinstance(e, Call):
            a = [self.expr(x) for x in e.args]
            arith = {Function.add: "+", Function.sub: "-", Function.mul: "*", Function.div: "/",
                     Function.mod: "%"}
            if e.fn in arith:
                return "(" + f" {arith[e.fn]} ".join(a) + ")"
            name = {Function.lower: "tolower", Function.upper: "toupper",
                    Function.length: "strlen", Function.concat: "strcat",
                    Function.substring: "substring", Function.coalesce: "coalesce",
                    Function.if_: "iff", Function.to_string: "tostring",
                    Function.to_int: "toint", Function.to_real: "toreal"}[e.fn]
            return f"{name}({', '.join(a)})"
        raise TypeError(f"not an expression: {e!r}")

    # ------------------------------------------------------------------ stages

    def metric(self, m: Metric) -> str:
        f = self.numeric_ref(m.field) if m.field and m.field not in self.names.computed else (
            scalar_ref(self.names.column(m.field)) if m.field else "")
        body = {
            MetricFn.count: f"countif(isnotempty({f}))" if m.field else "count()",
            MetricFn.count_distinct: f"dcount({f})",
            MetricFn.sum: f"sum({f})",
            MetricFn.avg: f"avg({f})",
            MetricFn.min: f"min({f})",
            MetricFn.max: f"max({f})",
            MetricFn.percentile: f"percentile({f}, {format_number(m.percentile or 0)})",
            MetricFn.first_seen: f"min({ident(self.names.time_column())})",
            MetricFn.last_seen: f"max({ident(self.names.time_column())})",
        }[m.fn]
        return f"{ident(m.name)} = {body}"

    def time_lines(self) -> list[str]:
        tr = self.plan.time_range
        if tr is None:
            return []
        t = ident(self.names.time_column())
        cond = f"{t} >= {time_point(tr.start)}"
        if tr.end is not None:
            cond += f" and {t} < {time_point(tr.end)}"
        return [f"| where {cond}"]

    def summarize(self) -> str:
        agg = self.plan.aggregation
        assert agg is not None
        keys = []
        for g in agg.group_by:
            col = self.names.column(g)
            keys.append(f"{g} = tostring({col})" if col != output_name(g, col)
                        else ident(col))
        if agg.time_bucket:
            t = ident(self.names.time_column())
            keys.append(f"bin({t}, {timespan(agg.time_bucket.amount, agg.time_bucket.unit)})"
                        if agg.time_bucket.unit is not TimeUnit.week
                        else f"bin({t}, {agg.time_bucket.seconds // UNIT_SECONDS[TimeUnit.day]}d)")
        metrics = ", ".join(self.metric(m) for m in agg.metrics)
        by = f" by {', '.join(keys)}" if keys else ""
        if not metrics:
            return f"| distinct {', '.join(keys)}" if not agg.time_bucket else \
                f"| summarize{by}"
        return f"| summarize {metrics}{by}"

    def project(self) -> str:
        cols = []
        for p in self.plan.project:
            if self.plan.aggregation:
                cols.append(ident(self.names.output(p)))
                continue
            col = self.names.column(p)
            cols.append(f"{p} = tostring({col})" if _PATH.match(col) else ident(col))
        return f"| project {', '.join(cols)}"

    def render(self) -> str:
        self.names.check_all()
        binding = self.source.bindings.kql
        assert binding is not None
        lines = [ident(binding.table)]
        lines += self.time_lines()
        computed = self.names.computed
        lines += [f"| where {self.filter(f)}" for f in self.plan.filters
                  if not reads_computed(f, computed)]
        if self.plan.computed:
            lines.append("| extend " + ", ".join(f"{ident(c.name)} = {self.expr(c.expr)}"
                                                 for c in self.plan.computed))
        lines += [f"| where {self.filter(f)}" for f in self.plan.filters
                  if reads_computed(f, computed)]
        if self.plan.aggregation:
            lines.append(self.summarize())
        lines += [f"| where {self.filter(h, after_agg=True)}" for h in self.plan.having]
        # Sort and limit before the projection: the sort key need not be shown.
        keys = ", ".join(f"{ident(self.names.output(s.field))} {'desc' if s.descending else 'asc'}"
                         for s in self.plan.sort)
        if keys and self.plan.limit:
            lines.append(f"| top {self.plan.limit} by {keys}")
        elif keys:
            lines.append(f"| sort by {keys}")
        elif self.plan.limit:
            lines.append(f"| take {self.plan.limit}")
        if self.plan.project:
            lines.append(self.project())
        return "\n".join(lines)


def render_kql(plan: QueryPlan, source: Source) -> str:
    return KqlRenderer(plan, source).render()
