"""The query intermediate representation (IR): one `QueryPlan` that every platform is rendered from.

No agent writes KQL, SPL or SQL text directly. The NL layer produces a `QueryPlan`; each dialect
renders it. A plan refers to a *logical* source and *logical* field names from the catalog; the
dialects map those onto each platform's table and column names through the source's bindings.

A plan holds, in pipeline order:

    source → time_range → filters → computed → aggregation → having → project → sort → limit

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
    issues: list[PlanIssue] = Field(default_factory=list)

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


for _m in (And, Or, Not, Compare, Call):
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


def plan_json_schema() -> dict[str, Any]:
    """The JSON schema of `QueryPlan` — the schema an LLM answers in."""
    return QueryPlan.model_json_schema()
