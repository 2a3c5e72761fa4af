"""QueryPlan → KQL (Azure Data Explorer / Log Analytics / Microsoft Sentinel).

Style: the table, then the time filter first (the engine prunes partitions by time), one
`| where` per top-level filter (what analysts write and edit), `| extend`, `| summarize … by`,
`| where` for thresholds, `| top N by` when a sort has a limit (else `| sort by` / `| take`),
and `| project` last so a sort key need not be shown. Sort directions are always explicit: KQL
sorts descending by default, which surprises readers of other languages.

Semantics an analyst should know:
* string comparisons are case-insensitive unless the condition says otherwise (`=~`, `!~`,
  `in~`, `has`, `contains`, `startswith`…); a case-sensitive condition uses `==`, `in`,
  `contains_cs`…; numbers and strings without letters ("0", "10.0.0.1") use the exact `==`;
* time ranges are half-open, `start <= t < end`, written `>=`/`<` rather than `between`, which
  includes its upper bound;
* a dotted column (``InitiatedBy.user.userPrincipalName``) is a path into a dynamic column; it is
  converted to a scalar (`tostring()`, `toreal()`…) wherever KQL needs one, and a group key on a
  path is named after the logical field; a group key of dynamic or unknown type (an expanded
  element, a JSON member) is grouped by its text, `k = tostring(k)`;
* division in a computed field divides as reals (as SQL and SPL do here), not as integers;
* `values` is `make_set()` and `list` is `make_list()`: dynamic arrays that skip nulls (an empty
  string is a value, Kusto strings are never null) and hold at most 1,048,576 elements. The
  order of `make_set`'s elements is unspecified, and so is `make_list`'s unless the rows reach
  `summarize` sorted: read either as a collection, not a sequence. A dynamic path is converted
  to a scalar first, so values compare as the field's type.
"""

from __future__ import annotations

from lexiquery.catalog.model import FieldType, Platform, Source
from lexiquery.dialects.base import (
    Names,
    coerce,
    expr_type,
    format_number,
    has_letters,
    parse_datetime,
    walk_filter,
)
from lexiquery.dialects.kql.functions import NEW_FUNCTIONS, render_call
from lexiquery.dialects.kql.text import (
    TO_SCALAR,
    datetime_literal,
    expr_literal,
    ident,
    is_path,
    literal,
    output_name,
    re2_pattern,
    scalar_ref,
    string,
    time_point,
    timespan,
    verbatim,
)
from lexiquery.ir import (
    COMPLEMENT,
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
    iter_expr_fields,
)

_TEXT = {FieldType.string, FieldType.guid, None}
_STRINGS = {FieldType.string, None}  # what Kusto's string operators (=~, in~, has…) take
_CMP = {Operator.gt: ">", Operator.ge: ">=", Operator.lt: "<", Operator.le: "<="}
_STRING_OPS = {Operator.contains: "contains", Operator.not_contains: "!contains",
               Operator.startswith: "startswith", Operator.endswith: "endswith",
               Operator.has: "has"}
_FUNCS = {Function.lower: "tolower", Function.upper: "toupper", Function.length: "strlen",
          Function.concat: "strcat", Function.substring: "substring",
          Function.coalesce: "coalesce", Function.if_: "iff", Function.to_string: "tostring",
          Function.to_int: "toint", Function.to_real: "toreal"}
_ARITH = {Function.add: "+", Function.sub: "-", Function.mul: "*", Function.div: "/",
          Function.mod: "%"}


# ---------------------------------------------------------------------- renderer


class KqlRenderer:
    """Writes one pipeline: the plan's first part, or (with `names` a `scope.StepNames`) one
    `Step` over the outputs of the stages before it."""

    def __init__(self, plan: QueryPlan, source: Source, names: Names | None = None) -> None:
        self.plan = plan
        self.source = source
        self.names = names or Names(plan, source, Platform.kql, group_output=output_name)

    # ------------------------------------------------------------------ conditions

    def _value(self, v: object, ftype: FieldType | None) -> str:
        if ftype is FieldType.datetime:
            at = parse_datetime(v)
            if at is not None:
                return datetime_literal(at)
        return literal(v)

    def condition(self, c: Condition, *, after_agg: bool = False) -> str:
        if after_agg:
            ftype = self.names.output_type(c.field)
            ref = ident(self.names.output(c.field))
        else:
            ftype = self.names.field_type(c.field)
            ref = self.typed_ref(c.field)
        op, cs = c.op, c.case_sensitive
        if op is Operator.exists:
            return f"isnotempty({ref})"
        if op is Operator.not_exists:
            return f"isempty({ref})"
        if op in {Operator.in_, Operator.not_in}:
            values = [coerce(v, ftype) for v in c.value]  # type: ignore[union-attr]
            # in~ takes strings only (a guid list is compared exactly, as guids compare).
            fold = not cs and ftype in _STRINGS and any(has_letters(v) for v in values)
            word = ("!in" if op is Operator.not_in else "in") + ("~" if fold else "")
            return f"{ref} {word} ({', '.join(self._value(v, ftype) for v in values)})"
        value = coerce(c.value, ftype)  # type: ignore[arg-type]
        if op in {Operator.eq, Operator.ne}:
            # =~ / !~ are string operators: a guid or a datetime is compared with == / !=
            # (a guid compares without case anyway; a datetime has none).
            exact = cs or not has_letters(value) or ftype not in _STRINGS
            word = {(Operator.eq, True): "==", (Operator.eq, False): "=~",
                    (Operator.ne, True): "!=", (Operator.ne, False): "!~"}[(op, exact)]
            return f"{ref} {word} {self._value(value, ftype)}"
        if op in _CMP:
            return f"{ref} {_CMP[op]} {self._value(value, ftype)}"
        # String operators read text: a number, date or dynamic path is converted first.
        if after_agg:
            text = ref if ftype in _STRINGS else f"tostring({ref})"
        else:
            text = self.text_ref(c.field)
        if op is Operator.regex:
            pattern = re2_pattern(str(c.value)) if cs else "(?i)" + re2_pattern(str(c.value))
            return f"{text} matches regex {verbatim(pattern)}"
        return f"{text} {_STRING_OPS[op]}{'_cs' if cs else ''} {string(str(c.value))}"

    def filter(self, f: object, *, after_agg: bool = False) -> str:
        return walk_filter(self._push_not(f, after_agg),
                           lambda c: self.condition(c, after_agg=after_agg),
                           " and ", " or ", lambda t: f"not({t})")

    def _push_not(self, f: object, after_agg: bool) -> object:
        """`not(x =~ "a")` → `x !~ "a"` where that is exact: a text field (Kusto strings are
        never null, only empty) or an emptiness test."""
        if isinstance(f, Not) and isinstance(f.item, Condition) and f.item.op in COMPLEMENT:
            c = f.item
            ftype = self.names.output_type(c.field) if after_agg \
                else self.names.field_type(c.field)
            if ftype in _TEXT or c.op in {Operator.exists, Operator.not_exists}:
                return c.model_copy(update={"op": COMPLEMENT[c.op]})
        if isinstance(f, (And, Or)):
            return f.model_copy(update={"items": [self._push_not(i, after_agg)
                                                  for i in f.items]})
        if isinstance(f, Not):
            return f.model_copy(update={"item": self._push_not(f.item, after_agg)})
        return f

    # ------------------------------------------------------------------ expressions

    def ref(self, name: str) -> str:
        """A source field (as a scalar) or a computed field, before the aggregation."""
        col = self.names.column(name)
        if name in self.names.computed:
            return ident(col)
        return scalar_ref(col, self.names.field_type(name))

    def stored_type(self, name: str) -> FieldType | None:
        """The Kusto column's own type when the binding says it differs from the field's
        (W3CIISLog.scStatus: a status code stored as a string)."""
        binding = self.source.bindings.kql
        if binding is None or name in self.names.computed \
                or self.names.column(name) != binding.columns.get(name):
            return None  # a computed field, or an output of an earlier stage
        return binding.column_types.get(name)

    def typed_ref(self, name: str) -> str:
        """The field as a value of its logical type, for comparisons and aggregates:
        `toint(scStatus)` where a number is stored as a string."""
        ftype = self.names.field_type(name)
        stored = self.stored_type(name)
        if stored is FieldType.string and ftype is not None and ftype not in _TEXT \
                and not is_path(self.names.column(name)):
            return f"{TO_SCALAR[ftype]}({ident(self.names.column(name))})"
        return self.ref(name)

    def text_ref(self, name: str) -> str:
        """The field as text, for contains/startswith/regex."""
        col = self.names.column(name)
        if name in self.names.computed:
            return ident(col) if expr_type(self.names.computed[name].expr, self.names) \
                in _STRINGS else f"tostring({ident(col)})"
        stored = self.stored_type(name) or self.names.field_type(name)
        # A guid is not a string to Kusto's string operators: tostring() it, as a number.
        return ident(col) if stored in _STRINGS and not is_path(col) \
            else f"tostring({ident(col)})"

    def expr(self, e: object, *, nested: bool = False) -> str:
        if isinstance(e, FieldRef):
            return self.ref(e.name)
        if isinstance(e, Literal_):
            return expr_literal(e.value)
        if isinstance(e, Compare):
            left = self.expr(e.left, nested=True)
            if e.op is Operator.exists:
                return f"isnotempty({left})"
            if e.op is Operator.not_exists:
                return f"isempty({left})"
            right = self.expr(e.right, nested=True)
            if e.op in {Operator.in_, Operator.not_in}:
                return f"{left} {'in' if e.op is Operator.in_ else '!in'} ({right})"
            sym = {Operator.eq: "==", Operator.ne: "!=", **_CMP, **_STRING_OPS,
                   Operator.regex: "matches regex"}[e.op]
            return f"{left} {sym} {right}"
        if isinstance(e, Call):
            if e.fn in _ARITH:
                return self._arith(e, nested)
            if e.fn in NEW_FUNCTIONS:
                return render_call(self, e)
            args = [self.expr(x) for x in e.args]
            return f"{_FUNCS[e.fn]}({', '.join(args)})"
        raise TypeError(f"not an expression: {e!r}")

    def _arith(self, e: Call, nested: bool) -> str:
        parts = [self.expr(x, nested=True) for x in e.args]
        if e.fn is Function.div and not any(expr_type(a, self.names) is FieldType.real
                                            for a in e.args):
            # KQL divides integers as integers; the IR (like SQL and SPL here) divides as reals.
            last = e.args[-1]
            if isinstance(last, Literal_) and isinstance(last.value, int) \
                    and not isinstance(last.value, bool):
                parts[-1] = f"{last.value}.0"
            else:
                parts[0] = f"toreal({self.expr(e.args[0])})"
        text = f" {_ARITH[e.fn]} ".join(parts)
        return f"({text})" if nested else text

    # ------------------------------------------------------------------ stages

    def metric(self, m: Metric) -> str:
        f = "" if not m.field else self.ref(m.field) \
            if m.fn in {MetricFn.count, MetricFn.count_distinct} else self.typed_ref(m.field)
        t = ident(self.names.time_column()) \
            if m.fn in {MetricFn.first_seen, MetricFn.last_seen} else ""
        body = {
            MetricFn.count: f"countif(isnotempty({f}))" if m.field else "count()",
            MetricFn.count_distinct: f"dcount({f})",
            MetricFn.sum: f"sum({f})",
            MetricFn.avg: f"avg({f})",
            MetricFn.min: f"min({f})",
            MetricFn.max: f"max({f})",
            MetricFn.percentile: f"percentile({f}, {format_number(m.percentile or 0)})",
            MetricFn.first_seen: f"min({t})",
            MetricFn.last_seen: f"max({t})",
            MetricFn.values: f"make_set({f})",
            MetricFn.list: f"make_list({f})",
        }[m.fn]
        return f"{ident(m.name)} = {body}"

    def time_filter(self) -> list[str]:
        tr = self.plan.time_range
        if tr is None:
            return []
        t = ident(self.names.time_column())
        cond = f"{t} >= {time_point(tr.start)}"
        if tr.end is not None:
            cond += f" and {t} < {time_point(tr.end)}"
        return [f"| where {cond}"]

    def extend(self) -> list[str]:
        """`| extend` lines; a field that reads one computed in the same line starts a new one,
        so no reader has to know whether KQL sees earlier assignments of the same operator."""
        lines: list[list[str]] = []
        defined: set[str] = set()
        for c in self.plan.computed:
            reads = set(iter_expr_fields(c.expr))
            if not lines or reads & defined:
                lines.append([])
                defined = set()
            lines[-1].append(f"{ident(c.name)} = {self.expr(c.expr)}")
            defined.add(c.name)
        return ["| extend " + ", ".join(parts) for parts in lines]

    def summarize(self) -> str:
        agg = self.plan.aggregation
        assert agg is not None
        keys, plain = [], True
        for g in agg.group_by:
            col = self.names.column(g)
            if is_path(col) and g not in self.names.computed:
                keys.append(f"{ident(g)} = {self.ref(g)}")  # a group key must be a scalar
                plain = False
            elif self.names.field_type(g) in (FieldType.dynamic, None):
                # an array element or JSON value (mv-expand, split()[i], .member): dynamic,
                # which KQL does not group by; its text groups the same rows
                keys.append(f"{ident(col)} = tostring({ident(col)})")
                plain = False
            else:
                keys.append(ident(col))
        if agg.time_bucket:
            t = ident(self.names.time_column())
            keys.append(f"bin({t}, {timespan(agg.time_bucket.amount, agg.time_bucket.unit)})")
            plain = False
        by = f" by {', '.join(keys)}" if keys else ""
        if agg.metrics:
            return f"| summarize {', '.join(self.metric(m) for m in agg.metrics)}{by}"
        # Distinct values: `distinct` takes plain columns only.
        return f"| distinct {', '.join(keys)}" if plain else f"| summarize{by}"

    def sort_key(self, name: str) -> str:
        if self.plan.aggregation is not None:
            return ident(self.names.output(name))
        return self.ref(name)

    def project(self) -> str:
        cols = []
        for p in self.plan.project:
            if self.plan.aggregation is not None or p in self.names.computed:
                cols.append(ident(self.names.output(p)))
                continue
            col = self.names.column(p)
            cols.append(f"{ident(p)} = {self.ref(p)}" if is_path(col) else ident(col))
        return f"| project {', '.join(cols)}"

    def render(self) -> str:
        self.names.check_all()
        binding = self.source.bindings.kql
        assert binding is not None
        return "\n".join([ident(binding.table), *self.time_filter(), *self.body()])

    def body(self) -> list[str]:
        """The pipeline after the table and the time range: one line per operator."""
        self.names.check_all()
        plan = self.plan
        lines: list[str] = []
        # Filters on computed fields can only run after the `extend` that computes them.
        late = [f for f in plan.filters if self.names.uses_computed(f)]
        early = [f for f in plan.filters if not self.names.uses_computed(f)]
        lines += [f"| where {self.filter(f)}" for f in early]
        lines += self.extend()
        lines += [f"| where {self.filter(f)}" for f in late]
        if plan.aggregation:
            lines.append(self.summarize())
        lines += [f"| where {self.filter(h, after_agg=True)}" for h in plan.having]
        keys = ", ".join(f"{self.sort_key(s.field)} {'desc' if s.descending else 'asc'}"
                         for s in plan.sort)
        if keys and plan.limit and len(plan.sort) == 1:  # `top` takes a single key
            lines.append(f"| top {plan.limit} by {keys}")
        elif keys and plan.limit:
            lines += [f"| sort by {keys}", f"| take {plan.limit}"]
        elif keys:
            lines.append(f"| sort by {keys}")
        elif plan.limit:
            lines.append(f"| take {plan.limit}")
        if plan.project:
            lines.append(self.project())
        return lines

