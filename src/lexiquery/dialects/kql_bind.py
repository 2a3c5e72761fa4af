"""KQL syntax (`kql_parse` nodes) → `QueryPlan`, through the source's KQL binding.

The binder walks the pipeline once, keeping what KQL itself would see at each point: the
names in scope (`ns`: KQL column or output name → IR name), the names a `project` removed,
and how far along the IR's fixed order (filters → computed → aggregation → having → project →
sort → limit) the query has come. A stage that cannot be moved into that order without
changing the results (`take 10 | where …`, a second summarize, `extend` after summarize) is an
``unsupported`` issue at that stage, not a plan that means something else.

The renderer's own wrappers read back as the plain field: `tostring(A.b.c)` for a dynamic path,
`toint(scStatus)` where the binding's `column_types` says the number is stored as a string,
`tostring(n)` before a string operator. The time column compared with `ago()`, `now()`,
`startofday()` or `datetime()` becomes the time range, the exact inverse of
`kql_text.time_point`. An unnamed aggregate gets the name KQL would give it (`count_`,
`dcount_User`, `percentile_x_95`, `set_x`) so later stages that use that name resolve.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from lexiquery.catalog.model import Catalog, FieldType, Platform
from lexiquery.dialects import kql_parse as syn
from lexiquery.dialects.base import (
    Names,
    coerce,
    expr_type,
    has_letters,
    iso_seconds,
    parse_datetime,
)
from lexiquery.dialects.kql_text import TO_SCALAR, is_path
from lexiquery.dialects.kql_lex import to_amount_unit
from lexiquery.dialects.parsing import (
    ParsedQuery,
    line_col,
    reverse_columns,
    source_for_table,
    syntax_error,
    unknown_field_error,
    unknown_table_error,
    unsupported_issue,
)
from lexiquery.ir import (
    UNIT_SECONDS,
    Aggregation,
    And,
    Call,
    Compare,
    ComputedField,
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
    AbsoluteTime,
    RelativeTime,
    SortKey,
    TimeBucket,
    TimeRange,
    TimeUnit,
    iter_conditions,
)

_CMP = {"==": (Operator.eq, True), "!=": (Operator.ne, True), "<>": (Operator.ne, True),
        "=~": (Operator.eq, False), "!~": (Operator.ne, False), "<": (Operator.lt, False),
        "<=": (Operator.le, False), ">": (Operator.gt, False), ">=": (Operator.ge, False)}
_MIRROR = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!=", "=~": "=~",
           "!~": "!~", "<>": "<>"}
# word → (operator, case-sensitive, wrapped in not())
_STR: dict[str, tuple[Operator, bool, bool]] = {"matches regex": (Operator.regex, True, False)}
for _w, _op in (("has", Operator.has), ("contains", Operator.contains),
                ("startswith", Operator.startswith), ("endswith", Operator.endswith)):
    for _cs in (False, True):
        _word = _w + ("_cs" if _cs else "")
        _STR[_word] = (_op, _cs, False)
        if _op is Operator.contains:
            _STR["!" + _word] = (Operator.not_contains, _cs, False)
        else:
            _STR["!" + _word] = (_op, _cs, True)
_CONVERTERS = {"tostring": FieldType.string, "toint": FieldType.int, "tolong": FieldType.long,
               "toreal": FieldType.real, "todouble": FieldType.real, "tobool": FieldType.bool,
               "todatetime": FieldType.datetime, "totimespan": FieldType.timespan}
_FUNCS = {"tolower": Function.lower, "toupper": Function.upper, "strlen": Function.length,
          "strcat": Function.concat, "substring": Function.substring,
          "coalesce": Function.coalesce, "iff": Function.if_, "iif": Function.if_,
          "tostring": Function.to_string, "toint": Function.to_int, "tolong": Function.to_int,
          "toreal": Function.to_real, "todouble": Function.to_real}
_ARITH = {"+": Function.add, "-": Function.sub, "*": Function.mul, "/": Function.div,
          "%": Function.mod}
_EXPR_CMP = {"==": Operator.eq, "!=": Operator.ne, "<": Operator.lt, "<=": Operator.le,
             ">": Operator.gt, ">=": Operator.ge, "contains": Operator.contains,
             "!contains": Operator.not_contains, "startswith": Operator.startswith,
             "endswith": Operator.endswith, "has": Operator.has, "matches regex": Operator.regex}
_SIMPLE_METRICS = {"sum": MetricFn.sum, "avg": MetricFn.avg, "min": MetricFn.min,
                   "max": MetricFn.max, "dcount": MetricFn.count_distinct,
                   "count_distinct": MetricFn.count_distinct, "make_set": MetricFn.values,
                   "make_list": MetricFn.list}
_KQL_PREFIX = {"make_set": "set", "make_list": "list"}  # KQL's own output names
# Skipped operators after which the columns in scope are no longer known.
_KEEPS_SCHEMA = frozenset({"render", "as", "serialize", "project-reorder", "sample"})
_INSTEAD = {
    "arg_max": "use max() (or max(TimeGenerated) for the latest time) and summarize by the "
               "columns you need",
    "arg_min": "use min() (or min(TimeGenerated) for the earliest time) and summarize by the "
               "columns you need",
    "countif": "filter with where before summarize, or count a column with "
               "countif(isnotempty(Column))",
}


class Unsupported(Exception):
    """Raised inside one stage item; the binder turns it into an issue and skips the item."""

    def __init__(self, offset: int, construct: str, why: str = "", changes: bool = True):
        super().__init__(construct)
        self.offset, self.construct, self.why, self.changes = offset, construct, why, changes


def _iso(at: datetime) -> str:
    """A UTC instant as the value of a condition: ``2024-03-01T08:00:00Z``."""
    return iso_seconds(at) + "Z"


def _name_part(e: syn.Node) -> str:
    if isinstance(e, syn.Name):
        return e.text.replace(".", "_")
    if isinstance(e, syn.Call) and len(e.args) == 1:
        return _name_part(e.args[0])
    return ""


class Binder:
    """The state of one query while its stages are applied (`Stages`), and the mapping of
    expressions onto fields, filters and IR expressions.

    `ns` is what KQL can see at this point: a column or output name as written → the IR name
    (a logical field, a computed field, an aggregation output). Names a `project` removed or
    an aggregation dropped are remembered, so a later use gets a message that says why."""

    def __init__(self, text: str, query: syn.Query, catalog: Catalog) -> None:
        source = source_for_table(catalog, Platform.kql, query.table)
        if source is None:
            raise unknown_table_error(text, query.table_offset, catalog, Platform.kql,
                                      query.table)
        assert source.bindings.kql is not None
        self.text, self.query, self.source = text, query, source
        self.binding = source.bindings.kql
        self.ns: dict[str, str] = dict(reverse_columns(source, Platform.kql))
        self.removed: dict[str, int] = {}  # name → offset of the project that removed it
        self.dropped: dict[str, int] = {}  # name → offset of the aggregation that dropped it
        self.opaque: set[str] = set()
        self.unnamed = 0  # ColumnN names given so far
        self.schema_lost = False
        self.filters: list[Any] = []
        self.computed: list[ComputedField] = []
        self.agg: Aggregation | None = None
        self.having: list[Any] = []
        self.project: list[str] = []
        self.sort: list[SortKey] = []
        self.limit: int | None = None
        self.start: tuple[Any, int] | None = None  # time range bounds, with their offsets
        self.end: tuple[Any, int] | None = None
        self.where_count = 0  # which `where` is being read (the start's is `start_where`)
        self.start_where = 0
        self.issues = [unsupported_issue(text, off, what, why, changes_results=ch)
                       for off, what, why, ch in query.issues]
        self.notes: list[str] = []

    # ------------------------------------------------------------------ names

    def resolve(self, n: syn.Name) -> str:
        key = n.text
        if key in self.ns:
            return self.ns[key]
        if key in self.opaque:
            raise Unsupported(n.offset, f"'{key}'", "it is computed by an expression that is "
                              "not supported")
        if key in self.removed:
            line, col = line_col(self.text, self.removed[key])
            raise Unsupported(n.offset, f"a use of '{key}'", f"the project at line {line}, "
                              f"column {col} removed it; move this stage before the project")
        if self.schema_lost:
            raise Unsupported(n.offset, f"the column '{key}'", "it comes from an unsupported "
                              "stage earlier in the query")
        if key in self.dropped:
            line, col = line_col(self.text, self.dropped[key])
            raise syntax_error(self.text, n.offset, f"'{key}' is not an output of the "
                               f"aggregation at line {line}, column {col}",
                               hint="after summarize only its outputs exist: "
                                    + ", ".join(self.ns), code="unknown_field")
        raise unknown_field_error(self.text, n.offset, self.source, Platform.kql, key,
                                  extra=list(self.ns))

    def ftype(self, name: str) -> FieldType | None:
        plan = QueryPlan(source=self.source.id, computed=self.computed)
        try:
            return Names(plan, self.source, Platform.kql).field_type(name)
        except Exception:
            return None

    def output_type(self, name: str) -> FieldType | None:
        plan = QueryPlan(source=self.source.id, computed=self.computed, aggregation=self.agg)
        try:
            return Names(plan, self.source, Platform.kql).output_type(name)
        except Exception:
            return None

    def field_of(self, e: syn.Node, *, text: bool = False, typed: bool = True) -> str | None:
        """The field an operand names, seeing through the renderer's conversions: a dynamic
        path's `tostring()`/`toint()`…, with `typed` the conversion of a number stored as a
        string (`toint(scStatus)`, which the renderer writes in comparisons and aggregates but
        not in computed expressions, where it is a real `toint`), with `text` any
        `tostring()` before a string operator."""
        if isinstance(e, syn.Opaque):
            raise Unsupported(e.offset, f"the let '{e.name}'", "functions and materialized "
                              "lets are not expanded")
        if isinstance(e, syn.Name):
            return self.resolve(e)
        if isinstance(e, syn.Call) and e.name in _CONVERTERS and len(e.args) == 1 \
                and isinstance(e.args[0], syn.Name):
            name = self.resolve(e.args[0])
            if text and e.name == "tostring":
                return name  # a string operator reads any column as text
            col = self.binding.columns.get(name) if self.agg is None else None
            ftype = self.ftype(name)
            if col is not None and ftype is not None:
                target = _CONVERTERS[e.name]
                if is_path(col) and TO_SCALAR.get(ftype) == TO_SCALAR.get(target):
                    return name
                if typed and self.binding.column_types.get(name) is FieldType.string \
                        and TO_SCALAR.get(ftype) == TO_SCALAR.get(target):
                    return name
        return None

    # ------------------------------------------------------------------ values

    def datetime_text(self, lit: syn.Lit) -> str:
        at = parse_datetime(str(lit.value).replace(" ", "T", 1))
        if at is None:
            raise syntax_error(self.text, lit.offset, f"'{lit.value}' is not a datetime",
                               expected="an ISO date such as datetime(2024-03-01T08:00:00Z)")
        return _iso(at)

    def const(self, e: syn.Node) -> Any:
        if isinstance(e, syn.Lit):
            if e.kind in ("string", "number", "bool"):
                return e.value
            if e.kind == "datetime":
                return self.datetime_text(e)
            if e.kind == "timespan":
                raise Unsupported(e.offset, "a timespan value", "the IR compares columns with "
                                  "text, numbers, booleans and datetimes")
            raise Unsupported(e.offset, "a null or list value here")
        if isinstance(e, syn.Call) and e.name in ("ago", "now", "startofday", "startofweek",
                                                  "startofmonth", "endofday"):
            raise Unsupported(e.offset, f"{e.name}() as a value", "only the time column's "
                              "range can be relative to now (TimeGenerated >= ago(1d)), "
                              "before summarize")
        if isinstance(e, syn.Name):
            raise Unsupported(e.offset, "comparing two columns", "extend a flag with iff() "
                              "and filter on it")
        if isinstance(e, syn.Opaque):
            self.field_of(e)
        raise Unsupported(syn.node_offset(e), "a computed value", "compare with a literal")

    def values(self, items: list[syn.Node]) -> list[Any]:
        out: list[Any] = []
        for it in items:
            if isinstance(it, syn.Lit) and it.kind == "list":
                out += self.values(it.value)
            else:
                out.append(self.const(it))
        return out

    # ------------------------------------------------------------------ filters

    def filt(self, e: syn.Node) -> Any:
        if isinstance(e, syn.Bin) and e.op in ("and", "or"):
            cls = And if e.op == "and" else Or
            items: list[Any] = []
            for side in (e.left, e.right):
                f = self.filt(side)
                items += f.items if isinstance(f, cls) else [f]
            return cls(items=items)
        if isinstance(e, syn.Call) and e.name == "not" and len(e.args) == 1:
            return Not(item=self.filt(e.args[0]))
        if isinstance(e, syn.Call) and e.name in ("isempty", "isnotempty", "isnull",
                                                  "isnotnull") and len(e.args) == 1:
            f = self.field_of(e.args[0])
            if f is None:
                raise Unsupported(e.offset, f"{e.name}() of an expression",
                                  "extend the expression into a column first")
            if e.name in ("isnull", "isnotnull") and self.ftype(f) in (FieldType.string, None):
                self.notes.append(f"{e.name}({f}) read as an emptiness test: Kusto strings are "
                                  "never null, only empty")
            op = Operator.not_exists if e.name in ("isempty", "isnull") else Operator.exists
            return Condition(field=f, op=op)
        if isinstance(e, syn.Bin) and (e.op in _CMP or e.op in _STR):
            return self.compare(e)
        if isinstance(e, syn.InList):
            return self.in_list(e)
        if isinstance(e, syn.Between):
            f = self.operand(e.left, e.offset, text=False)
            both = And(items=[self.cond(f, Operator.ge, self.const(e.low), False),
                              self.cond(f, Operator.le, self.const(e.high), False)])
            return Not(item=both) if e.negated else both
        if isinstance(e, syn.Bin) and e.op in ("hasprefix", "hassuffix", "like", "notlike") or \
                isinstance(e, syn.Bin) and e.op.lstrip("!").startswith(("hasprefix", "hassuffix")):
            raise Unsupported(e.offset, f"the {e.op} operator", "use startswith/endswith or has")
        if isinstance(e, syn.Opaque):
            self.field_of(e)
        raise Unsupported(syn.node_offset(e), "this filter", "a where clause compares "
                          "columns with values (==, has, in, between, isempty…)")

    def operand(self, e: syn.Node, offset: int, *, text: bool) -> str:
        f = self.field_of(e, text=text)
        if f is None:
            raise Unsupported(syn.node_offset(e), "a comparison on an expression",
                              "extend the expression into a column first, then filter on it")
        return f

    def cond(self, f: str, op: Operator, value: Any, cs: bool) -> Condition:
        ftype = self.ftype(f) if self.agg is None else self.output_type(f)
        cs = cs and ftype in (FieldType.string, FieldType.guid, None)  # case is about text
        if op not in (Operator.contains, Operator.not_contains, Operator.startswith,
                      Operator.endswith, Operator.has, Operator.regex):
            value = [coerce(v, ftype) for v in value] if isinstance(value, list) \
                else coerce(value, ftype)
        else:
            value = str(value) if not isinstance(value, bool) else str(value).lower()
        vals = value if isinstance(value, list) else [value]
        return Condition(field=f, op=op, value=value,
                         case_sensitive=cs and any(has_letters(v) for v in vals))

    def compare(self, e: syn.Bin) -> Any:
        left, right, op_text = e.left, e.right, e.op
        if op_text in _MIRROR and isinstance(left, syn.Lit) and not isinstance(right, syn.Lit):
            left, right, op_text = right, left, _MIRROR[op_text]
        if op_text in _CMP:
            op, cs = _CMP[op_text]
            return self.cond(self.operand(left, e.offset, text=False), op, self.const(right), cs)
        op, cs, negate = _STR[op_text]
        f = self.operand(left, e.offset, text=True)
        value = self.const(right)
        if op is Operator.regex:
            value = str(value)
            cs = not value.startswith("(?i)")
            value = value[4:] if not cs else value
        c = self.cond(f, op, value, cs)
        return Not(item=c) if negate else c

    def in_list(self, e: syn.InList) -> Any:
        if e.subquery:
            raise Unsupported(e.offset, "in with a subquery", "list the values, or use a let "
                              "of dynamic([...])")
        vals = self.values(e.items)
        if not vals:
            raise Unsupported(e.offset, "an empty list")
        if e.op in ("has_any", "has_all"):
            f = self.operand(e.left, e.offset, text=True)
            items = [self.cond(f, Operator.has, v, False) for v in vals]
            if len(items) == 1:
                return items[0]
            return Or(items=items) if e.op == "has_any" else And(items=items)
        f = self.operand(e.left, e.offset, text=False)
        op = Operator.not_in if e.op.startswith("!") else Operator.in_
        return self.cond(f, op, vals, not e.op.endswith("~"))

    # ------------------------------------------------------------------ time range

    def time_bound(self, e: syn.Node, nested: bool = False) -> bool:
        """Take a time-column bound into the time range; False when `e` is not one.

        A bound relative to now can only be the time range. A fixed (datetime) bound is the
        time range where the renderer writes one — the start, and an end in the same `where`
        as the start or after a fixed start — and an ordinary filter elsewhere (inside a
        parenthesised group, after a relative start in another `where`)."""
        tf = self.source.time_field
        if self.agg is not None or tf is None:
            return False
        if isinstance(e, syn.Between) and not e.negated and self.field_of(e.left) == tf:
            low, high = time_point(e.low), time_point(e.high)
            if low is None or high is None or self.start is not None \
                    or low.kind == high.kind == "absolute":
                return False
            self.start = (low, e.offset)
            if not (high.kind == "relative" and high.amount == 0 and high.snap is None):
                self.end = (high, e.offset)
            return True
        if not (isinstance(e, syn.Bin) and e.op in (">=", ">", "<", "<=")):
            return False
        if not isinstance(e.left, syn.Name) or self.field_of(e.left) != tf:
            return False
        p = time_point(e.right)
        if p is None or (nested and p.kind == "absolute"):
            return False
        if e.op in (">=", ">") and (p.kind == "relative" or e.op == ">="):
            if self.start is not None and p.kind == "absolute":
                return False  # a second, fixed lower bound is an ordinary filter
            if self.start is not None:
                old = self.start[0]
                if old.kind == p.kind == "relative" and old.snap is None and p.snap is None:
                    # Two "since" bounds on the time column: the more recent one decides.
                    if _seconds(p) < _seconds(old):
                        self.start = (p, e.offset)
                    return True
                raise Unsupported(e.offset, "a second start time", "write one time range")
            self.start = (p, e.offset)
            self.start_where = self.where_count
            return True
        if e.op == "<" or (e.op == "<=" and p.kind == "relative"):
            if self.end is not None:
                return False
            if p.kind == "absolute" and self.start is not None \
                    and self.start[0].kind == "relative" and self.start_where != self.where_count:
                return False
            self.end = (p, e.offset)
            return True
        return False

    def time_range(self) -> TimeRange | None:
        if self.start is None:
            if self.end is not None:
                p, off = self.end
                if p.kind == "absolute":
                    self.filters.append(Condition(field=self.source.time_field or "",
                                                  op=Operator.lt, value=_iso(p.at)))
                else:
                    self.issue(Unsupported(off, "an end time relative to now without a start",
                                           "add TimeGenerated >= ago(…) as well"))
            return None
        return TimeRange(start=self.start[0], end=self.end[0] if self.end else None)

    # ------------------------------------------------------------------ expressions

    def expr(self, e: syn.Node) -> Any:
        if isinstance(e, syn.Name):
            return FieldRef(name=self.resolve(e))
        if isinstance(e, syn.Lit):
            if e.kind in ("string", "number", "bool"):
                return Literal_(value=e.value)
            raise Unsupported(e.offset, f"a {e.kind} literal in an expression")
        if isinstance(e, syn.Bin) and e.op in _ARITH:
            args = [self.expr(e.left), self.expr(e.right)]
            call = Call(fn=_ARITH[e.op], args=args)
            if e.op == "/" and all(self.expr_type(a) in (FieldType.int, FieldType.long)
                                   for a in args):
                return Call(fn=Function.to_int, args=[call])  # KQL divides integers exactly
            return call
        if isinstance(e, syn.Call):
            f = self.field_of(e, typed=False)
            if f is not None:
                return FieldRef(name=f)
            fn = _FUNCS.get(e.name)
            if fn is None:
                why = "the IR has no text extraction" if e.name.startswith(("extract", "parse")) \
                    else "the IR computes with arithmetic, tostring/toint/toreal, iff, strlen, " \
                         "strcat, substring, tolower/toupper and coalesce"
                raise Unsupported(e.offset, f"the function {e.name}()", why)
            if fn is Function.if_:
                if len(e.args) != 3:
                    raise syntax_error(self.text, e.offset, f"{e.name}() takes 3 arguments",
                                       expected=f"{e.name}(condition, then, else)")
                return Call(fn=fn, args=[self.test(e.args[0]), self.expr(e.args[1]),
                                         self.expr(e.args[2])])
            return Call(fn=fn, args=[self.expr(a) for a in e.args])
        if isinstance(e, syn.Opaque):
            self.field_of(e)
        raise Unsupported(syn.node_offset(e), "this expression", "")

    def test(self, e: syn.Node) -> Compare:
        if isinstance(e, syn.Call) and e.name in ("isempty", "isnotempty") and len(e.args) == 1:
            op = Operator.exists if e.name == "isnotempty" else Operator.not_exists
            return Compare(left=self.expr(e.args[0]), op=op)
        if isinstance(e, syn.Bin) and e.op in _EXPR_CMP:
            return Compare(left=self.expr(e.left), op=_EXPR_CMP[e.op], right=self.expr(e.right))
        raise Unsupported(syn.node_offset(e), "this condition inside iff()", "the IR's iff "
                          "takes one comparison (==, !=, <, >, contains, startswith, has…)")

    def expr_type(self, e: Any) -> FieldType | None:
        plan = QueryPlan(source=self.source.id, computed=self.computed)
        return expr_type(e, Names(plan, self.source, Platform.kql))

    # ------------------------------------------------------------------ issues

    def issue(self, u: Unsupported) -> None:
        self.issues.append(unsupported_issue(self.text, u.offset, u.construct, u.why,
                                             changes_results=u.changes))


def bind(text: str, query: syn.Query, catalog: Catalog) -> ParsedQuery:
    """The plan `query` means over `catalog` (see the module docstring)."""
    b = Binder(text, query, catalog)
    Stages(b).run(query.stages)
    plan = QueryPlan(source=b.source.id, time_range=b.time_range(), filters=b.filters,
                     computed=b.computed, aggregation=b.agg, having=b.having,
                     project=b.project, sort=b.sort, limit=b.limit, issues=b.issues)
    return ParsedQuery(platform=Platform.kql, dialect="kql", text=text, plan=plan,
                       source=b.source, notes=b.notes)



# ---------------------------------------------------------------------- time points


def _seconds(p: RelativeTime) -> int:
    return p.amount * UNIT_SECONDS[p.unit]


def relative(e: syn.Node) -> RelativeTime | None:
    """`ago(7d)` and `now() - 7d` → 7 days before now; `now()` → now."""
    if isinstance(e, syn.Call) and e.name == "now" and not e.args:
        return RelativeTime(amount=0, unit=TimeUnit.day)
    span: syn.Node | None = None
    if isinstance(e, syn.Call) and e.name == "ago" and len(e.args) == 1:
        span = e.args[0]
    elif isinstance(e, syn.Bin) and e.op == "-" and isinstance(e.left, syn.Call) \
            and e.left.name == "now" and not e.left.args:
        span = e.right
    if not (isinstance(span, syn.Lit) and span.kind == "timespan" and span.value >= 0):
        return None
    au = to_amount_unit(span.value, span.unit)
    if au is None:
        raise Unsupported(span.offset, f"the time span {span.unit}", "the IR counts time in "
                          "whole seconds")
    return RelativeTime(amount=au[0], unit=TimeUnit(au[1]))


def time_point(e: syn.Node) -> RelativeTime | AbsoluteTime | None:
    """The inverse of `kql_text.time_point`: the point a time expression names, or None."""
    if isinstance(e, syn.Lit) and e.kind == "datetime":
        at = parse_datetime(str(e.value).replace(" ", "T", 1))
        return AbsoluteTime(at=at) if at is not None else None
    if isinstance(e, syn.Call) and e.name == "startofday" and len(e.args) == 1:
        inner = relative(e.args[0])
        return inner.model_copy(update={"snap": "day"}) if inner is not None else None
    return relative(e)


# ---------------------------------------------------------------------- stages


class Stages:
    """Applies each `| operator` to the binder's state, in the IR's fixed order."""

    def __init__(self, b: Binder) -> None:
        self.b = b

    def run(self, stages: list[syn.Stage]) -> None:
        for st in stages:
            try:
                getattr(self, "op_" + st.kind.replace("-", "_"))(st)
            except Unsupported as u:
                self.b.issue(u)

    def items(self, things: list[Any], fn: Callable[[Any], Any]) -> None:
        """Apply `fn` to each item; an unsupported item is reported and the rest still read."""
        for t in things:
            try:
                fn(t)
            except Unsupported as u:
                self.b.issue(u)

    def order(self, st: syn.Stage, what: str, *, after_limit: bool = False,
              after_agg: bool = False) -> None:
        """Refuse a stage the IR's fixed order cannot hold where it stands."""
        b = self.b
        if after_limit and b.limit is not None:
            raise Unsupported(st.offset, f"{what} after take/top", "the IR limits the rows "
                              "last; move the take after it")
        if after_agg and b.agg is not None:
            raise Unsupported(st.offset, f"{what} after summarize", "the IR has one "
                              "aggregation" if what in ("summarize", "distinct", "count") else
                              "the IR computes columns before the aggregation")

    # ------------------------------------------------------------------ operators

    def op_skip(self, st: syn.Stage) -> None:
        why = syn.UNSUPPORTED.get(st.name, "")
        if st.name not in _KEEPS_SCHEMA:
            self.b.schema_lost = True
        raise Unsupported(st.offset, f"the {st.name} operator" if " " not in st.name
                          else st.name, why, changes=not st.display_only)

    def op_where(self, st: syn.Stage) -> None:
        b = self.b
        self.order(st, "where", after_limit=True)
        assert st.expr is not None
        conj: list[tuple[syn.Node, bool]] = []
        stack = [(st.expr, False)]
        while stack:  # the `and` parts, in order; `nested` inside a parenthesised group
            e, nested = stack.pop()
            if isinstance(e, syn.Bin) and e.op == "and":
                inner = nested or e.paren
                stack += [(e.right, inner), (e.left, inner)]
            else:
                conj.append((e, nested))
        b.where_count += 1

        def one(item: tuple[syn.Node, bool]) -> None:
            e, nested = item
            if b.time_bound(e, nested):
                return
            f = b.filt(e)
            target = b.having if b.agg is not None else b.filters
            target.extend(f.items if isinstance(f, And) else [f])
        self.items(conj, one)

    def op_extend(self, st: syn.Stage) -> None:
        self.order(st, "extend", after_agg=True)
        # `extend Column` of a column already there adds nothing.
        items = [a for a in st.items if a.alias is not None
                 or not (isinstance(a.expr, syn.Name) and a.expr.text in self.b.ns)]
        self.items(items, lambda a: self.define(a, project=bool(self.b.project)))

    def define(self, a: syn.Assign, project: bool) -> str:
        b = self.b
        # KQL's own naming: a bare column keeps its name, any other expression is ColumnN.
        name = a.alias or (a.expr.text if isinstance(a.expr, syn.Name) else "")
        if not name:
            b.unnamed += 1
            name = f"Column{b.unnamed}"
        try:
            expr = b.expr(a.expr)
        except Unsupported:
            b.opaque.add(name)
            b.ns.pop(name, None)
            raise
        b.computed.append(ComputedField(name=name, expr=expr))
        b.ns[name] = name
        b.opaque.discard(name)
        if project and name not in b.project:
            b.project.append(name)
        return name

    def op_project(self, st: syn.Stage) -> None:
        b = self.b
        new_ns: dict[str, str] = {}
        out: list[str] = []

        def one(a: syn.Assign) -> None:
            if b.agg is not None:
                if a.alias is None and isinstance(a.expr, syn.Name):
                    ir = b.resolve(a.expr)
                    new_ns[a.expr.text] = ir
                elif a.alias and isinstance(a.expr, syn.Name):
                    ir = self.rename_output(b.resolve(a.expr), a.alias, a.offset)
                    new_ns[a.alias] = ir
                else:
                    raise Unsupported(a.offset, "a computed column after summarize",
                                      "the IR computes columns before the aggregation")
                out.append(ir)
                return
            f = b.field_of(a.expr)
            if f is not None and (a.alias is None or a.alias == f):
                key = a.alias or (a.expr.text if isinstance(a.expr, syn.Name) else f)
                new_ns[key] = f
                out.append(f)
                return
            self.order(st, "a computed column", after_agg=True)
            name = self.define(a, project=False)
            new_ns[name] = name
            out.append(name)
        self.items(st.items, one)
        self.replace_scope(new_ns, out, st.offset)

    def replace_scope(self, new_ns: dict[str, str], out: list[str], offset: int) -> None:
        b = self.b
        for k in b.ns:
            if k not in new_ns:
                b.removed[k] = offset
        for k in new_ns:
            b.removed.pop(k, None)
        b.ns = new_ns
        b.project = list(dict.fromkeys(out))

    def op_project_away(self, st: syn.Stage) -> None:
        b = self.b
        away = set()
        for a in st.items:
            assert isinstance(a.expr, syn.Name)
            if "*" in a.expr.text:
                raise Unsupported(a.offset, "project-away with a wildcard", "name the columns")
            b.resolve(a.expr)
            away.add(a.expr.text)
        keep = {k: v for k, v in b.ns.items() if k not in away}
        self.replace_scope(keep, list(keep.values()), st.offset)

    def op_project_rename(self, st: syn.Stage) -> None:
        b = self.b
        for a in st.items:
            assert a.alias is not None and isinstance(a.expr, syn.Name)
            old = b.resolve(a.expr)
            if b.agg is not None:
                new = self.rename_output(old, a.alias, a.offset)
            else:
                b.computed.append(ComputedField(name=a.alias, expr=FieldRef(name=old)))
                new = a.alias
            ns = {(a.alias if k == a.expr.text else k): (new if k == a.expr.text else v)
                  for k, v in b.ns.items()}
            self.replace_scope(ns, list(ns.values()), st.offset)

    def rename_output(self, old: str, new: str, offset: int) -> str:
        """Renaming an aggregate after summarize is the same as naming it there."""
        b = self.b
        assert b.agg is not None
        m = next((m for m in b.agg.metrics if m.name == old), None)
        if m is not None:
            m.alias = new
        elif old in b.agg.group_by and b.source.field(old) is not None \
                and new not in b.ns.values():
            # A group key renamed afterwards is the same as one named in the by clause.
            b.computed.append(ComputedField(name=new, expr=FieldRef(name=old)))
            b.agg.group_by = [new if g == old else g for g in b.agg.group_by]
        else:
            raise Unsupported(offset, f"renaming '{old}' after summarize",
                              "name it in the summarize: NewName = count() … by NewName = "
                              "Column")
        for c in iter_conditions(b.having):
            if c.field == old:
                c.field = new
        b.sort = [s.model_copy(update={"field": new}) if s.field == old else s for s in b.sort]
        b.project = [new if p == old else p for p in b.project]
        return new

    # ------------------------------------------------------------------ aggregation

    def start_aggregation(self, st: syn.Stage, what: str) -> None:
        b = self.b
        self.order(st, what, after_limit=True, after_agg=True)
        if b.sort:
            b.notes.append("a sort before the aggregation has no effect and was dropped")
            b.sort = []
        b.project = []

    def op_summarize(self, st: syn.Stage) -> None:
        b = self.b
        self.start_aggregation(st, "summarize")
        metrics: list[Metric] = []
        group: list[str] = []
        bucket: TimeBucket | None = None
        out_ns: dict[str, str] = {}

        def key(a: syn.Assign) -> None:
            nonlocal bucket
            e = a.expr
            if isinstance(e, syn.Call) and e.name in ("bin", "floor") and len(e.args) == 2:
                tf = b.source.time_field
                f = b.field_of(e.args[0])
                span = e.args[1]
                if f is None or f != tf or not (isinstance(span, syn.Lit)
                                                and span.kind == "timespan"):
                    raise Unsupported(e.offset, "bin() of anything but the time column by a "
                                      "timespan", "the IR buckets the time column only")
                au = to_amount_unit(span.value, span.unit)
                if au is None or bucket is not None:
                    raise Unsupported(span.offset, "this time bucket", "a whole number of "
                                      "seconds, once")
                bucket = TimeBucket(amount=au[0], unit=TimeUnit(au[1]))
                col = b.binding.columns[tf]
                if a.alias and a.alias != col:
                    b.notes.append(f"the time bucket is named {col}, not {a.alias}")
                out_ns[a.alias or col] = tf
                return
            f = b.field_of(e)
            col = b.binding.columns.get(f) if f else None
            if f is not None and (a.alias is None or a.alias in (f, col)):
                group.append(f)
                out_ns[a.alias or (col if col and not is_path(col) else f)] = f
                return
            name = self.define(a, project=False)
            group.append(name)
            out_ns[name] = name

        read = 0

        def metric(a: syn.Assign) -> None:
            nonlocal read
            for m in self.metrics(a):
                metrics.append(m)
                out_ns[m.name] = m.name
            read += 1
        self.items(st.by, key)
        self.items(st.items, metric)
        if read < len(st.items):
            b.schema_lost = True  # the outputs of the aggregate not read are unknown
        if not metrics and not group and bucket is None:
            return
        b.agg = Aggregation(metrics=metrics, group_by=group, time_bucket=bucket)
        self.after_aggregation(out_ns, st.offset)

    def after_aggregation(self, out_ns: dict[str, str], offset: int) -> None:
        b = self.b
        b.dropped = {k: offset for k in [*b.ns, *b.removed] if k not in out_ns}
        b.removed = {}
        b.ns = out_ns

    def metrics(self, a: syn.Assign) -> list[Metric]:
        b = self.b
        e = a.expr
        if not isinstance(e, syn.Call):
            raise Unsupported(syn.node_offset(e), "this aggregation", "summarize takes "
                              "aggregation calls such as count(), dcount(x), avg(x)")
        if a.alias and a.alias.startswith("("):
            raise Unsupported(a.offset, f"{e.name}() with several output columns",
                              _INSTEAD.get(e.name, ""))
        fn, args = e.name, e.args
        if fn == "count" and len(args) <= 1:  # count(x) counts every row, as count() does
            part = _name_part(args[0]) if args else ""
            return [Metric(fn=MetricFn.count, alias=a.alias or f"count_{part}")]
        if fn == "countif" and len(args) == 1 and isinstance(args[0], syn.Call) \
                and args[0].name == "isnotempty" and len(args[0].args) == 1:
            f = self.metric_field(args[0].args[0], e)
            return [Metric(fn=MetricFn.count, field=f, alias=a.alias or "countif_")]
        if fn in _INSTEAD:
            raise Unsupported(e.offset, f"{fn}()" + (" with this condition"
                                                      if fn == "countif" else ""),
                              _INSTEAD[fn])
        if fn in ("percentile", "percentiles") and len(args) >= 2:
            f = self.metric_field(args[0], e)
            ps = [b.const(p) for p in args[1:]]
            if fn == "percentile" and len(ps) != 1 or a.alias and len(ps) != 1 \
                    or not all(isinstance(p, (int, float)) and 0 < p < 100 for p in ps):
                raise Unsupported(e.offset, f"{fn}() with these arguments", "percentile(x, p) "
                                  "with 0 < p < 100, or percentiles(x, p1, p2, …)")
            part = _name_part(args[0])
            return [Metric(fn=MetricFn.percentile, field=f, percentile=p, alias=a.alias or
                           f"percentile_{part}_{str(p).replace('.', '_')}") for p in ps]
        if fn == "dcount" and len(args) == 2:
            args = args[:1]  # the accuracy level: dcount is an estimate at any level
        if fn in _SIMPLE_METRICS and len(args) == 1:
            f = self.metric_field(args[0], e)
            mfn = _SIMPLE_METRICS[fn]
            if fn in ("min", "max") and f == b.source.time_field and b.agg is None:
                mfn = MetricFn.first_seen if fn == "min" else MetricFn.last_seen
                return [Metric(fn=mfn, alias=a.alias or f"{fn}_{_name_part(args[0])}")]
            prefix = _KQL_PREFIX.get(fn, fn)
            return [Metric(fn=mfn, field=f, alias=a.alias or f"{prefix}_{_name_part(args[0])}")]
        raise Unsupported(e.offset, f"the aggregation {fn}()", "the IR aggregates with count(), "
                          "countif(isnotempty(x)), dcount, sum, avg, min, max, percentile(s), "
                          "make_set and make_list")

    def metric_field(self, arg: syn.Node, call: syn.Call) -> str:
        f = self.b.field_of(arg)
        if f is None:
            raise Unsupported(syn.node_offset(arg), f"{call.name}() of an expression",
                              "extend the expression into a column first, then aggregate it")
        return f

    def op_distinct(self, st: syn.Stage) -> None:
        b = self.b
        self.start_aggregation(st, "distinct")
        group: list[str] = []
        out_ns: dict[str, str] = {}
        for a in st.items:
            f = b.field_of(a.expr)
            if f is None:
                raise Unsupported(a.offset, "distinct of an expression", "extend it first")
            group.append(f)
            out_ns[a.expr.text if isinstance(a.expr, syn.Name) else f] = f
        b.agg = Aggregation(group_by=group)
        self.after_aggregation(out_ns, st.offset)

    def op_count(self, st: syn.Stage) -> None:
        self.start_aggregation(st, "count")
        self.b.agg = Aggregation(metrics=[Metric(fn=MetricFn.count, alias="Count")])
        self.after_aggregation({"Count": "Count"}, st.offset)

    # ------------------------------------------------------------------ sort and limit

    def sort_keys(self, st: syn.Stage) -> list[SortKey]:
        b = self.b
        keys = []
        for k in st.keys:
            f = b.field_of(k.expr)
            if f is None:
                raise Unsupported(k.offset, "sorting by an expression", "extend it first")
            if k.nulls is not None and (k.nulls == "last") != k.descending:
                raise Unsupported(k.offset, f"nulls {k.nulls}", "the IR sorts nulls the way "
                                  "KQL does by default (last when descending)")
            keys.append(SortKey(field=f, descending=k.descending))
        return keys

    def op_sort(self, st: syn.Stage) -> None:
        self.order(st, "sort", after_limit=True)
        self.b.sort = self.sort_keys(st)

    def op_top(self, st: syn.Stage) -> None:
        self.order(st, "top", after_limit=True)
        self.b.sort = self.sort_keys(st)
        self.b.limit = st.count

    def op_take(self, st: syn.Stage) -> None:
        b = self.b
        assert st.count is not None
        b.limit = st.count if b.limit is None else min(b.limit, st.count)
