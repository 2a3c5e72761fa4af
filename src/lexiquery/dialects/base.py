"""What every renderer shares: name resolution through a source's bindings, typing, values.

`Names` answers "what is logical name X called at this point of the pipeline on this platform":

* before the aggregation a source field maps to its bound column and a computed field keeps its
  name; an unbound field raises `PlanError` (code ``not_bound``), a name that is neither raises
  `PlanError` (code ``unknown_field``) — nothing invents a column;
* after the aggregation only its outputs exist: group-by fields (named as the platform names
  them, see `group_output`), metric names (`Metric.name`) and, with a time bucket, the time
  column.

Renderers call `Names.check_all()` first, so a bad plan fails before any text is produced. It also
refuses what no platform can do alike: a `having` or `sort` on a `values`/`list` output (an
array, or on some SQL dialects a text list: see `collection_misuse`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from lexiquery.catalog.model import FieldType, Platform, Source
from lexiquery.errors import PlanError
from lexiquery.ir import (
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
    Or,
    QueryPlan,
    Scalar,
    iter_conditions,
    iter_expr_fields,
)

_TEXTUAL = frozenset({FieldType.string, FieldType.guid})
# Metrics whose output is a collection of values (a dynamic array in KQL, a multivalue field in
# SPL, an array or a delimited text in SQL) rather than one number or time.
COLLECTION_METRICS = frozenset({MetricFn.values, MetricFn.list})


def plan_error(code: str, message: str, field: str | None = None) -> PlanError:
    """A `PlanError` with one structured issue (``code`` is a stable string scripts match)."""
    return PlanError(message, issues=[{"code": code, "message": message, "field": field}])


@dataclass(frozen=True)
class Out:
    """One output of a query's stages so far: its name on the platform and its type (None:
    unknown). See `dialects.scope`."""

    column: str
    type: FieldType | None


class Names:
    """Resolves logical names for one plan on one platform (with `platform` None, the logical
    names themselves: what a plan reads, whatever the platform binds)."""

    def __init__(self, plan: QueryPlan, source: Source, platform: Platform | None,
                 group_output: Callable[[str, str], str] | None = None) -> None:
        self.plan = plan
        self.source = source
        self.platform = platform
        self.computed = {c.name: c for c in plan.computed}
        # How a group-by field is named in the aggregation's output (default: its column).
        self._group_output = group_output or (lambda logical, column: column)

    def column(self, name: str) -> str:
        """The platform column of a source field, or the name of a computed field."""
        if name in self.computed:
            return name
        if self.source.field(name) is None:
            raise plan_error("unknown_field",
                             f"'{name}' is not a field of {self.source.name} ({self.source.id})",
                             name)
        if self.platform is None:  # logical names only (a plan checked for no one platform)
            return name
        col = self.source.column(self.platform, name)
        if col is None:
            raise plan_error("not_bound",
                             f"{self.source.name} has no '{name}' on {self.platform.value}", name)
        return col

    def time_column(self) -> str:
        tf = self.source.time_field
        if not tf:
            raise plan_error("no_time_field", f"{self.source.name} has no time field")
        return self.column(tf)

    def group_output(self, name: str) -> str:
        return self._group_output(name, self.column(name))

    def metric(self, name: str) -> Metric | None:
        agg = self.plan.aggregation
        return next((m for m in agg.metrics if m.name == name), None) if agg else None

    def output(self, name: str) -> str:
        """A name after the aggregation (having/project/sort), or before it if there is none."""
        agg = self.plan.aggregation
        if agg is None:
            return self.column(name)
        if name in agg.group_by:
            return self.group_output(name)
        if self.metric(name) is not None:
            return name
        if agg.time_bucket and name == self.source.time_field:
            return self.time_column()
        outputs = agg.output_names() + ([self.source.time_field]
                                        if agg.time_bucket and self.source.time_field else [])
        raise plan_error("unknown_field",
                         f"'{name}' is not an output of the aggregation "
                         f"(outputs: {', '.join(outputs)})", name)

    def all_columns(self) -> "dict[str, Out]":
        """Every field the source binds on the platform, then the computed fields, as
        `scope.Out`s by logical name: what a plan without aggregation or projection returns."""
        out = {}
        for f in self.source.fields:
            col = f.name if self.platform is None else self.source.column(self.platform, f.name)
            if col is not None:
                out[f.name] = Out(col, f.type)
        for c in self.plan.computed:
            out[c.name] = Out(c.name, self.field_type(c.name))
        return out

    # ------------------------------------------------------------------ types

    def field_type(self, name: str) -> FieldType | None:
        """Type of a source field or computed field (inferred); None when unknown."""
        if name in self.computed:
            return expr_type(self.computed[name].expr, self)
        f = self.source.field(name)
        return f.type if f else None

    def output_type(self, name: str) -> FieldType | None:
        """Type of a name after the aggregation (metrics are numbers or times; values/list
        are collections, `dynamic`)."""
        m = self.metric(name)
        if m is None:
            return self.field_type(name)
        if m.fn in COLLECTION_METRICS:
            return FieldType.dynamic
        if m.fn in {MetricFn.first_seen, MetricFn.last_seen}:
            return FieldType.datetime
        if m.fn in {MetricFn.min, MetricFn.max} and m.field:
            return self.field_type(m.field)
        return FieldType.long if m.fn in {MetricFn.count, MetricFn.count_distinct} \
            else FieldType.real

    # ------------------------------------------------------------------ checks

    def check_all(self) -> None:
        """Resolve every name up front so a bad plan fails before any text is produced."""
        plan = self.plan
        for c in iter_conditions(plan.filters):
            self.column(c.field)
        if plan.time_range is not None:
            self.time_column()
        for cf in plan.computed:
            for n in iter_expr_fields(cf.expr):
                self.column(n)
        agg = plan.aggregation
        if agg is not None:
            for g in agg.group_by:
                self.column(g)
            for m in agg.metrics:
                if m.field:
                    self.column(m.field)
                if m.fn in {MetricFn.first_seen, MetricFn.last_seen}:
                    self.time_column()
            if agg.time_bucket:
                self.time_column()
        for h in iter_conditions(plan.having):
            self.output(h.field)
        for p in plan.project:
            self.output(p)
        for s in plan.sort:
            self.output(s.field)
        misuse = collection_misuse(plan)
        if misuse:
            _, name, message = misuse[0]
            raise plan_error("unsupported", message, name)

    def uses_computed(self, f: object) -> bool:
        """Does this filter read a computed field? Such filters run after the computation."""
        return any(c.field in self.computed for c in iter_conditions([f]))


def collection_misuse(plan: QueryPlan) -> list[tuple[str, str, str]]:
    """(stage, output name, message) for each `having` filter or `sort` key on a values/list
    output, once per name and stage.

    Such an output is a dynamic array in KQL (which refuses to sort by one), a multivalue field
    in SPL (compared and sorted by Splunk's own multivalue rules), an array in most SQL dialects
    and a delimited text in others (MySQL, SQLite, T-SQL, Redshift): no filter or order means
    the same on every platform, so none is written. The renderers raise the first as a
    `PlanError`; the validator reports them all as issues."""
    agg = plan.aggregation
    if agg is None:
        return []
    collections = {m.name: m for m in agg.metrics if m.fn in COLLECTION_METRICS}
    out: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str]] = set()
    uses = [("having", c.field) for c in iter_conditions(plan.having)] + \
        [("sort", s.field) for s in plan.sort]
    for stage, name in uses:
        m = collections.get(name)
        if m is None or (stage, name) in seen:
            continue
        seen.add((stage, name))
        what = f"'{name}' holds {'the distinct' if m.fn is MetricFn.values else 'all the'} " \
            f"values of {m.field} (a {m.fn.value} metric), not one value"
        if stage == "having":
            hint = (f"filter the events before the aggregation, or filter on a count such as "
                    f"count_distinct of {m.field}")
            out.append((stage, name, f"a having filter cannot test {what}; {hint}"))
        else:
            hint = f"sort by a group key or by a count such as count_distinct of {m.field}"
            out.append((stage, name, f"the result cannot be sorted by {what}; {hint}"))
    return out


def expr_type(e: object, names: Names) -> FieldType | None:
    """The type an expression produces, as far as it can be known without data."""
    if isinstance(e, FieldRef):
        return names.field_type(e.name)
    if isinstance(e, Literal_):
        return literal_type(e.value)
    if isinstance(e, Compare):
        return FieldType.bool
    if isinstance(e, Call):
        fn = e.fn
        if fn in {Function.lower, Function.upper, Function.concat, Function.substring,
                  Function.to_string}:
            return FieldType.string
        if fn in {Function.length, Function.to_int}:
            return FieldType.long
        if fn in {Function.to_real, Function.div}:
            return FieldType.real
        if fn in {Function.add, Function.sub, Function.mul, Function.mod}:
            types = [expr_type(a, names) for a in e.args]
            if any(t is FieldType.real for t in types):
                return FieldType.real
            return FieldType.long if all(t is not None and t.numeric for t in types) else None
        if fn is Function.if_:
            return expr_type(e.args[1], names) if len(e.args) > 1 else None
        if fn is Function.coalesce:
            return expr_type(e.args[0], names) if e.args else None
    return None


def literal_type(v: object) -> FieldType | None:
    if isinstance(v, bool):
        return FieldType.bool
    if isinstance(v, int):
        return FieldType.long
    if isinstance(v, float):
        return FieldType.real
    if isinstance(v, str):
        return FieldType.string
    return None


def coerce(value: Scalar, ftype: FieldType | None) -> Scalar:
    """The value typed as the field is: "5" for a string field, 5 for a numeric one."""
    if isinstance(value, bool):
        return ("true" if value else "false") if ftype in _TEXTUAL else value
    if ftype is None:
        return value
    if ftype.numeric:
        if isinstance(value, str):
            try:
                return int(value) if ftype in {FieldType.int, FieldType.long} else float(value)
            except ValueError:
                try:
                    return float(value)
                except ValueError:
                    return value
        return value
    if ftype is FieldType.bool and isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    if ftype in _TEXTUAL and not isinstance(value, str):
        return str(value)
    return value


def has_letters(value: object) -> bool:
    """Case folding matters only for values with letters ("0", "10.0.0.1" compare exactly)."""
    return isinstance(value, str) and any(ch.isalpha() for ch in value)


def format_number(v: int | float) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return repr(v)


def as_utc(at: datetime) -> datetime:
    """Naive datetimes are UTC (the IR's rule); aware ones are converted to UTC."""
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)


def parse_datetime(value: object) -> datetime | None:
    """An ISO 8601 value (``2024-03-01``, ``2024-03-01T10:00:00Z``) as UTC, else None."""
    if isinstance(value, datetime):
        return as_utc(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError:
        return None


def iso_seconds(at: datetime, sep: str = "T") -> str:
    """``2024-03-01T00:00:00`` (with ``.ffffff`` only when there are sub-seconds), UTC."""
    at = as_utc(at)
    text = at.strftime(f"%Y-%m-%d{sep}%H:%M:%S")
    return text + (f".{at.microsecond:06d}" if at.microsecond else "")


def parenthesised(text: str) -> bool:
    """Is all of `text` one parenthesised group, e.g. `(a OR b)` but not `(a) OR (b)`?"""
    if not (text.startswith("(") and text.endswith(")")):
        return False
    depth, quote = 0, ""
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote and text[i - 1] != "\\" else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0 and i != len(text) - 1:
                return False
    return depth == 0


def walk_filter(f: object, leaf: Callable[[Condition], str], join_and: str, join_or: str,
                negate: Callable[[str], str], *, top: bool = True) -> str:
    """Render an and/or/not tree with `leaf` for conditions; nested groups are parenthesised.

    The top level is left bare: each renderer puts a top-level filter on its own line, or wraps
    it itself where it shares a line (the SPL base search)."""
    if isinstance(f, Condition):
        return leaf(f)
    if isinstance(f, And):
        text = join_and.join(walk_filter(i, leaf, join_and, join_or, negate, top=False)
                             for i in f.items)
        return text if top or len(f.items) == 1 else f"({text})"
    if isinstance(f, Or):
        text = join_or.join(walk_filter(i, leaf, join_and, join_or, negate, top=False)
                            for i in f.items)
        return text if top or len(f.items) == 1 else f"({text})"
    if isinstance(f, Not):
        return negate(walk_filter(f.item, leaf, join_and, join_or, negate, top=True))
    raise TypeError(f"not a filter: {f!r}")
