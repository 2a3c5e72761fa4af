"""What every renderer shares: name resolution through a source's bindings, and value coercion.

`Names` answers "what is logical name X called at this point of the pipeline on this platform":

* before the aggregation, a source field maps to its bound column, a computed field keeps its
  name; an unbound field raises `PlanError` (code ``not_bound``), a name that is neither raises
  `PlanError` (code ``unknown_field``) — nothing invents a column;
* after the aggregation only its outputs exist: group-by fields (named as the platform names them,
  see `group_output`), metric names (`Metric.name`) and, with a time bucket, the time column.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from lexiquery.catalog.model import FieldType, Platform, Source
from lexiquery.errors import PlanError
from lexiquery.ir import QueryPlan, Scalar, iter_conditions


def plan_error(code: str, message: str, field: str | None = None) -> PlanError:
    return PlanError(message, issues=[{"code": code, "message": message, "field": field}])


class Names:
    """Resolves logical names for one plan on one platform."""

    def __init__(self, plan: QueryPlan, source: Source, platform: Platform,
                 group_output: Callable[[str, str], str] | None = None) -> None:
        self.plan = plan
        self.source = source
        self.platform = platform
        self.computed = {c.name for c in plan.computed}
        # How a group-by field is named in the aggregation's output (default: its column).
        self._group_output = group_output or (lambda logical, column: column)

    def column(self, name: str) -> str:
        """The platform column of a source field or the name of a computed field."""
        if name in self.computed:
            return name
        if self.source.field(name) is None:
            raise plan_error("unknown_field",
                             f"'{name}' is not a field of {self.source.name} ({self.source.id})",
                             name)
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

    def output(self, name: str) -> str:
        """A name after the aggregation (having/project/sort), or before it if there is none."""
        agg = self.plan.aggregation
        if agg is None:
            return self.column(name)
        if name in agg.group_by:
            return self.group_output(name)
        for m in agg.metrics:
            if m.name == name:
                return name
        if agg.time_bucket and name == self.source.time_field:
            return self.time_column()
        raise plan_error("unknown_field",
                         f"'{name}' is not an output of the aggregation "
                         f"(outputs: {', '.join(agg.output_names())})", name)

    def field_type(self, name: str) -> FieldType | None:
        f = self.source.field(name)
        return f.type if f else None

    def check_all(self) -> None:
        """Resolve every name up front so a bad plan fails before any text is produced."""
        for c in iter_conditions(self.plan.filters):
            self.column(c.field)
        if self.plan.time_range is not None:
            self.time_column()
        for h in iter_conditions(self.plan.having):
            self.output(h.field)
        for p in self.plan.project:
            self.output(p)
        for s in self.plan.sort:
            self.output(s.field)


def coerce(value: Scalar, ftype: FieldType | None) -> Scalar | datetime:
    """The value typed as the field is: "5" for a string field, 5 for a numeric one, an aware
    datetime for a time field (each dialect writes its own datetime literal)."""
    if ftype is None or isinstance(value, bool):
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
    if ftype is FieldType.datetime and isinstance(value, str):
        return parse_instant(value) or value
    if ftype is FieldType.bool and isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    if ftype in {FieldType.string, FieldType.guid} and not isinstance(value, str):
        return str(value)
    return value


def parse_instant(text: str) -> datetime | None:
    """An ISO date or date-time as an aware UTC datetime (naive and date-only values are UTC,
    as every platform here stores UTC); None when it is not one."""
    try:
        at = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    at = at if at.tzinfo else at.replace(tzinfo=timezone.utc)
    return at.astimezone(timezone.utc)


def has_letters(value: object) -> bool:
    return isinstance(value, str) and any(ch.isalpha() for ch in value)


def format_number(v: int | float) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return repr(v)


def reads_computed(f: object, computed: set[str]) -> bool:
    """Does filter `f` test a computed field? Such filters run after the fields are computed
    (KQL `extend`, SPL `eval`); the others run first, where the platform filters cheapest."""
    return any(c.field in computed for c in iter_conditions([f]))
