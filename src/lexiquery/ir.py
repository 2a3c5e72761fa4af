"""The query intermediate representation (IR): one `QueryPlan` that every platform is rendered from.

No agent writes KQL, SPL or SQL text directly. The NL layer produces a `QueryPlan`; each dialect
renders it. A plan refers to a *logical* source and *logical* field names from the catalog; the
dialects map those onto each platform's table and column names through the source's bindings.

A plan holds, in pipeline order:

    source → time_range → filters → computed → aggregation → having → project → sort → limit
           → stages…

`stages` (schema version 2) continue the pipeline over the rows the part before them returns,
in order: a `Step` is the fixed pipeline again (filters → computed → aggregation → having →
project → sort → limit: `extend` after `summarize`, a second `summarize`, `where` after
`take`); `Expand` makes one row per element of a multi-value field; `TopPerGroup` keeps the
first rows of each group in a sort order (KQL `arg_max`, SPL `dedup`); `Window` adds
aggregates over each row's group to every row (SPL `eventstats`); `Join` combines the rows with
those of another plan (inner, left, semi — `in (subquery)` — and anti). A stage names the
*outputs* of the stages before it by their logical names (`stage_outputs`). A plan of version 1
(no `version`, no `stages`) reads unchanged.

`filters` are ANDed together; each item may itself be an `and`/`or`/`not` tree of conditions.
`having` filters refer to the aggregation's output names (metric aliases and group-by fields).

The JSON schema of `QueryPlan` (see `plan_json_schema`) is the schema an LLM must answer in, so
every model here is plain data with a `kind` discriminator where a union is involved.

Where a question needs something the IR cannot hold, the plan carries a `PlanIssue` with code
``unsupported`` that names it — the feature is never silently dropped. A row limit above
`limits.MAX_ROWS`, or a time span (range or bucket) beyond `limits.MAX_LOOKBACK_DAYS`, is clamped
when the plan is built, whoever built it, with a ``clamped`` warning saying so.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, Literal, Union

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

# The time parts live in ir_time and are part of this module's API (imported from here).
from lexiquery.ir_time import (  # noqa: F401
    UNIT_SECONDS,
    AbsoluteTime,
    RelativeTime,
    TimeBucket,
    TimePoint,
    TimeRange,
    TimeUnit,
    _Model,
    span_cap,
)
from lexiquery.limits import MAX_LOOKBACK_YEARS, MAX_ROWS

Scalar = Union[str, int, float, bool]


# --------------------------------------------------------------------------- filters


class Operator(str, Enum):
    eq = "eq"
    ne = "ne"
    gt = "gt"
    ge = "ge"
    lt = "lt"
    le = "le"
    in_ = "in"
    not_in = "not_in"
    contains = "contains"
    not_contains = "not_contains"
    startswith = "startswith"
    endswith = "endswith"
    has = "has"  # whole-term match (KQL `has`, SPL bare term); rendered as contains where absent
    regex = "regex"
    exists = "exists"  # field is present and not empty
    not_exists = "not_exists"


LIST_OPERATORS = frozenset({Operator.in_, Operator.not_in})
UNARY_OPERATORS = frozenset({Operator.exists, Operator.not_exists})

# `not (f op v)` as one operator. COMPLEMENT holds the pairs that are exact wherever a missing
# value reads as empty text; ORDER_COMPLEMENT adds the comparisons, exact where `not` of an
# unknown comparison is unknown too (SQL's NULL logic).
COMPLEMENT: dict[Operator, Operator] = {
    Operator.eq: Operator.ne, Operator.ne: Operator.eq,
    Operator.in_: Operator.not_in, Operator.not_in: Operator.in_,
    Operator.contains: Operator.not_contains, Operator.not_contains: Operator.contains,
    Operator.exists: Operator.not_exists, Operator.not_exists: Operator.exists}
ORDER_COMPLEMENT: dict[Operator, Operator] = {
    **COMPLEMENT, Operator.gt: Operator.le, Operator.le: Operator.gt,
    Operator.ge: Operator.lt, Operator.lt: Operator.ge}

class Condition(_Model):
    """`field op value`. String comparisons are case-insensitive unless `case_sensitive`."""

    kind: Literal["condition"] = "condition"
    field: str
    op: Operator
    value: Scalar | list[Scalar] | None = None
    case_sensitive: bool = False

    @model_validator(mode="after")
    def _value_matches_operator(self) -> "Condition":
        if self.op in UNARY_OPERATORS:
            if self.value is not None:
                raise ValueError(f"operator {self.op.value!r} takes no value")
        elif self.op in LIST_OPERATORS:
            if not isinstance(self.value, list) or not self.value:
                raise ValueError(f"operator {self.op.value!r} needs a non-empty list of values")
        else:
            if self.value is None or isinstance(self.value, list):
                raise ValueError(f"operator {self.op.value!r} needs a single value")
        return self


class And(_Model):
    kind: Literal["and"] = "and"
    items: list["Filter"] = Field(min_length=1)


class Or(_Model):
    kind: Literal["or"] = "or"
    items: list["Filter"] = Field(min_length=1)


class Not(_Model):
    kind: Literal["not"] = "not"
    item: "Filter"


def _filter_kind(v: Any) -> str:
    """Discriminate filter items; a bare ``{field, op, value}`` mapping is a condition."""
    if isinstance(v, dict):
        return v.get("kind", "condition")
    return getattr(v, "kind", "condition")


Filter = Annotated[
    Union[
        Annotated[Condition, Tag("condition")],
        Annotated[And, Tag("and")],
        Annotated[Or, Tag("or")],
        Annotated[Not, Tag("not")],
    ],
    Discriminator(_filter_kind),
]


# --------------------------------------------------------------------------- expressions


class FieldRef(_Model):
    kind: Literal["field"] = "field"
    name: str


class Literal_(_Model):
    kind: Literal["literal"] = "literal"
    value: Scalar | None


class Function(str, Enum):
    """Functions a computed field may use; every dialect renders each one."""

    add = "add"
    sub = "sub"
    mul = "mul"
    div = "div"
    mod = "mod"
    lower = "lower"
    upper = "upper"
    length = "length"
    concat = "concat"
    substring = "substring"  # (text, start0, length)
    coalesce = "coalesce"
    if_ = "if"  # (condition, then, else) — condition is a `Compare`
    to_string = "to_string"
    to_int = "to_int"
    to_real = "to_real"
    # Text, time and dynamic data as detections use them (schema version 2).
    extract = "extract"  # (text, regex, group) — the group's text, empty/missing on no match
    replace = "replace"  # (text, regex, replacement) — every match; \\1 … refer to groups
    split = "split"  # (text, delimiter) → a multi-value/array
    index = "index"  # (multi-value/array, i) — from 0; a negative i counts from the end
    member = "member"  # (dynamic/JSON, key) — one property of an object: parse_json(x).key
    parse_json = "parse_json"  # (text) → dynamic
    array_length = "array_length"  # (multi-value/array) → its number of elements
    start_of = "start_of"  # (time, "day"|"week"|"month"|"year") — weeks start on Sunday
    time_diff = "time_diff"  # ("second"|"minute"|"hour"|"day", end, start) — whole units
    now = "now"  # () — the time the query runs
    trim = "trim"  # (text) — without leading and trailing white space


class Compare(_Model):
    """A boolean test inside an expression (first argument of `if`)."""

    kind: Literal["compare"] = "compare"
    left: "Expr"
    op: Operator
    right: "Expr | None" = None


class Call(_Model):
    kind: Literal["call"] = "call"
    fn: Function
    args: list["Expr"] = Field(default_factory=list)


Expr = Annotated[Union[FieldRef, Literal_, Call, Compare], Field(discriminator="kind")]


class ComputedField(_Model):
    name: str
    expr: Expr


# --------------------------------------------------------------------------- aggregation


class MetricFn(str, Enum):
    count = "count"
    count_distinct = "count_distinct"
    sum = "sum"
    avg = "avg"
    min = "min"
    max = "max"
    percentile = "percentile"
    first_seen = "first_seen"  # min of the source's time field
    last_seen = "last_seen"  # max of the source's time field
    values = "values"  # the distinct values of a field (KQL make_set, SPL values)
    list = "list"  # every value of a field, duplicates kept (KQL make_list, SPL list)


class Metric(_Model):
    """One aggregate. `field` is required except for count/first_seen/last_seen."""

    fn: MetricFn
    field: str | None = None
    percentile: float | None = Field(default=None, gt=0, lt=100)
    alias: str | None = None

    @model_validator(mode="after")
    def _check(self) -> "Metric":
        if self.fn in {MetricFn.sum, MetricFn.avg, MetricFn.min, MetricFn.max,
                       MetricFn.count_distinct, MetricFn.percentile, MetricFn.values,
                       MetricFn.list} and not self.field:
            raise ValueError(f"metric {self.fn.value!r} needs a field")
        if self.fn is MetricFn.percentile and self.percentile is None:
            raise ValueError("metric 'percentile' needs a percentile, e.g. 95")
        return self

    @property
    def name(self) -> str:
        """Output column name: the alias, or a stable default every dialect uses alike."""
        if self.alias:
            return self.alias
        f = self.field or ""
        match self.fn:
            case MetricFn.count:
                return "event_count" if not f else f"count_{f}"
            case MetricFn.count_distinct:
                return f"distinct_{f}"
            case MetricFn.sum:
                return f"total_{f}"
            case MetricFn.percentile:
                p = self.percentile or 0
                return f"p{int(p) if float(p).is_integer() else str(p).replace('.', '_')}_{f}"
            case MetricFn.first_seen | MetricFn.last_seen:
                return self.fn.value
            case _:
                return f"{self.fn.value}_{f}"


class Aggregation(_Model):
    """Metrics grouped by fields and/or a time bucket. No metrics + group_by = distinct values."""

    metrics: list[Metric] = Field(default_factory=list)
    group_by: list[str] = Field(default_factory=list)
    time_bucket: TimeBucket | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> "Aggregation":
        if not self.metrics and not self.group_by and self.time_bucket is None:
            raise ValueError("an aggregation needs at least one metric or group-by field")
        return self

    def output_names(self) -> list[str]:
        return [*self.group_by, *(m.name for m in self.metrics)]


class SortKey(_Model):
    field: str
    descending: bool = False


# --------------------------------------------------------------------------- stages


class Step(_Model):
    """The fixed pipeline once more, over the rows of the stages before it (see the module
    docstring). Its names are the outputs before it; `having` refers to its own aggregation."""

    kind: Literal["step"] = "step"
    filters: list[Filter] = Field(default_factory=list)
    computed: list[ComputedField] = Field(default_factory=list)
    aggregation: Aggregation | None = None
    having: list[Filter] = Field(default_factory=list)
    project: list[str] = Field(default_factory=list)
    sort: list[SortKey] = Field(default_factory=list)
    limit: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _not_empty(self) -> "Step":
        if self.having and self.aggregation is None:
            raise ValueError("'having' filters need an aggregation")
        if not (self.filters or self.computed or self.aggregation or self.project
                or self.sort or self.limit):
            raise ValueError("a step needs at least one filter, computed field, aggregation, "
                             "project, sort or limit")
        return self


class Expand(_Model):
    """One row per element of the multi-value (array) field `field`, which then holds the
    element (KQL `mv-expand`, SPL `mvexpand`, SQL `UNNEST`). A row whose field is empty or
    missing is kept once, with the field empty, as SPL's `mvexpand` keeps it (KQL's `mv-expand`
    drops a row whose array is empty: the KQL renderer expands a null there instead, and the
    parser filters such rows out before an expansion it reads)."""

    kind: Literal["expand"] = "expand"
    field: str


class TopPerGroup(_Model):
    """For each distinct `by`, the first `n` rows in `sort` order, whole (KQL
    `summarize arg_max(T, *) by k`, SPL `dedup k sortby -T`, SQL `ROW_NUMBER() OVER (…)`)."""

    kind: Literal["top_per_group"] = "top_per_group"
    by: list[str] = Field(min_length=1)
    sort: list[SortKey] = Field(min_length=1)
    n: int = Field(default=1, ge=1)


class Window(_Model):
    """Every row kept, with `metrics` over its group of `by` (all rows when `by` is empty)
    added as columns (SPL `eventstats`, SQL `… OVER (PARTITION BY …)`)."""

    kind: Literal["window"] = "window"
    metrics: list[Metric] = Field(min_length=1)
    by: list[str] = Field(default_factory=list)


class JoinKind(str, Enum):
    inner = "inner"  # rows of both sides whose keys are equal
    left = "left"  # every row of the left side; the right side's columns empty without a match
    semi = "semi"  # left rows with a match (`x in (subquery)`), left columns only, once each
    anti = "anti"  # left rows without a match (`x !in (subquery)`, KQL `leftanti`)


class JoinKey(_Model):
    left: str = Field(description="An output of the stages before the join")
    right: str = Field(description="An output of the right-hand plan")


class Join(_Model):
    """The rows so far combined with those of `right`, another plan (its own source), on equal
    keys. The output is the left side's columns then the right side's other outputs (none for
    semi/anti); a right output named like a left one must be renamed in `right` first."""

    kind: Literal["join"] = "join"
    how: JoinKind = JoinKind.inner
    right: "QueryPlan"
    on: list[JoinKey] = Field(min_length=1)


Stage = Annotated[Union[Step, Expand, TopPerGroup, Window, Join], Field(discriminator="kind")]
PLAN_VERSION = 2


# --------------------------------------------------------------------------- issues and plan


class Severity(str, Enum):
    error = "error"
    warning = "warning"
    info = "info"


class PlanIssue(_Model):
    """Something the plan (or a query rendered from it) could not do, or should say.

    Codes are stable strings scripts can match: ``unsupported``, ``unknown_field``,
    ``unknown_source``, ``not_bound``, ``read_only``, ``syntax``, ``ambiguous``, …
    """

    code: str
    message: str
    severity: Severity = Severity.warning
    field: str | None = None
    line: int | None = Field(default=None, ge=1,
                             description="Where in a parsed query text (1-based), if anywhere")
    column: int | None = Field(default=None, ge=1)


class QueryPlan(_Model):
    """One query in platform-neutral form. See the module docstring for the pipeline order."""

    source: str = Field(description="Logical source id from the catalog, e.g. 'signin_logs'.")
    time_range: TimeRange | None = None
    filters: list[Filter] = Field(default_factory=list)
    computed: list[ComputedField] = Field(default_factory=list)
    aggregation: Aggregation | None = None
    having: list[Filter] = Field(default_factory=list)
    project: list[str] = Field(default_factory=list)
    sort: list[SortKey] = Field(default_factory=list)
    limit: int | None = Field(default=None, ge=1)
    stages: list[Stage] = Field(default_factory=list,
                                description="Further stages over the rows above, in order")
    issues: list[PlanIssue] = Field(default_factory=list)
    version: int = Field(default=PLAN_VERSION, ge=1, le=PLAN_VERSION,
                         description="Schema version: 1 has no stages; 2 adds them")

    @field_validator("source")
    @classmethod
    def _source_not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("source must name a catalog source")
        return v

    @model_validator(mode="after")
    def _having_needs_aggregation(self) -> "QueryPlan":
        if self.having and self.aggregation is None:
            raise ValueError("'having' filters need an aggregation")
        if self.stages and self.version < 2:
            raise ValueError("stages need a plan of version 2")
        return self

    @model_validator(mode="after")
    def _within_bounds(self) -> "QueryPlan":
        """Clamp what no platform holds (see the module docstring); each clamp is a warning."""
        def clamped(what: str) -> None:
            self.issues.append(PlanIssue(code="clamped", message=what))

        if self.limit is not None and self.limit > MAX_ROWS:
            clamped(f"a limit of {self.limit:,} rows is above the {MAX_ROWS:,} a query returns "
                    f"here; limited to {MAX_ROWS:,}")
            self.limit = MAX_ROWS
        years = MAX_LOOKBACK_YEARS
        tr, points = self.time_range, {}  # copies: the caller's objects are left as they were
        for name in ("start", "end") if tr is not None else ():
            p = getattr(tr, name)
            if isinstance(p, RelativeTime) and p.amount > span_cap(p.unit):
                points[name] = p.model_copy(update={"amount": span_cap(p.unit)})
                clamped(f"a time range reaching {p.amount:,} {p.unit.value}s back is beyond the "
                        f"{years} years the platforms hold; reading the last "
                        f"{span_cap(p.unit):,} {p.unit.value}s")
        if tr is not None and points:
            self.time_range = tr.model_copy(update=points)
        for i, stage in enumerate(self.stages):
            if isinstance(stage, Step) and stage.limit is not None and stage.limit > MAX_ROWS:
                clamped(f"a limit of {stage.limit:,} rows (stage {i + 1}) is above the "
                        f"{MAX_ROWS:,} a query returns here; limited to {MAX_ROWS:,}")
                self.stages[i] = stage.model_copy(update={"limit": MAX_ROWS})
        agg = self.aggregation
        b = agg.time_bucket if agg is not None else None
        if agg is not None and b is not None and b.amount > span_cap(b.unit):
            self.aggregation = agg.model_copy(update={"time_bucket": b.model_copy(
                update={"amount": span_cap(b.unit)})})
            clamped(f"a time bucket of {b.amount:,} {b.unit.value}s is wider than {years} years; "
                    f"buckets of {span_cap(b.unit):,} {b.unit.value}s")
        return self

    def unsupported(self, what: str) -> None:
        """Record that the question needs `what`, which the IR cannot express."""
        self.issues.append(PlanIssue(code="unsupported", message=f"not supported: {what}"))


for _m in (And, Or, Not, Compare, Call, Join, QueryPlan):
    _m.model_rebuild()


def iter_conditions(filters: list[Any]) -> list[Condition]:
    """Every leaf condition in a filter list, depth first."""
    out: list[Condition] = []
    stack = list(reversed(filters))
    while stack:
        f = stack.pop()
        if isinstance(f, Condition):
            out.append(f)
        elif isinstance(f, (And, Or)):
            stack.extend(reversed(f.items))
        elif isinstance(f, Not):
            stack.append(f.item)
    return out


def iter_expr_fields(expr: Any) -> list[str]:
    """Every field an expression reads."""
    if isinstance(expr, FieldRef):
        return [expr.name]
    if isinstance(expr, Call):
        return [n for a in expr.args for n in iter_expr_fields(a)]
    if isinstance(expr, Compare):
        return iter_expr_fields(expr.left) + (iter_expr_fields(expr.right) if expr.right else [])
    return []


def step_plan(plan: QueryPlan, step: Step) -> QueryPlan:
    """A `Step` as a plan over `plan`'s source, so the code that writes one pipeline writes it;
    its names are those of the stages before it (see `dialects.scope`)."""
    return QueryPlan.model_construct(
        source=plan.source, time_range=None, filters=step.filters, computed=step.computed,
        aggregation=step.aggregation, having=step.having, project=step.project, sort=step.sort,
        limit=step.limit, stages=[], issues=[], version=PLAN_VERSION)


def plan_json_schema() -> dict[str, Any]:
    """The JSON schema of `QueryPlan` (version 2, stages included)."""
    return QueryPlan.model_json_schema()


def question_plan_schema() -> dict[str, Any]:
    """The schema an LLM answers a question in: one pipeline, no `stages` (nor `version`).

    A question read into English-sized plans never needs a join or a second aggregation the
    rules reader could not check, and a recursive schema (a join holds a plan) makes a larger,
    slower grammar for constrained decoding; translation of staged queries is the parsers'.
    """
    full = QueryPlan.model_json_schema()
    defs = full.get("$defs", {})
    # A join holds a plan, so pydantic puts the plan itself among the definitions.
    schema = dict(defs["QueryPlan"]) if "$ref" in full else dict(full)
    schema["properties"] = dict(schema["properties"])
    for key in ("stages", "version"):
        schema["properties"].pop(key, None)
    used: set[str] = set()
    todo = [schema["properties"]]
    while todo:  # the definitions still reachable, so the schema holds nothing unused
        node = todo.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                name = ref.rsplit("/", 1)[1]
                if name not in used:
                    used.add(name)
                    todo.append(defs.get(name, {}))
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    schema["$defs"] = {k: v for k, v in defs.items() if k in used}
    return schema
