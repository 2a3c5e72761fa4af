"""The time parts of the IR: units, points (relative or absolute), ranges and buckets.

Re-exported by `lexiquery.ir`, where every other part of the plan lives; import them from there.
`span_cap` is the furthest back (and the widest bucket) a plan may reach in a unit
(`limits.MAX_LOOKBACK_DAYS`); `ir.QueryPlan` clamps to it.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from lexiquery.limits import MAX_LOOKBACK_DAYS


class _Model(BaseModel):  # the base of every IR model: an unknown field is an error
    model_config = ConfigDict(extra="forbid", frozen=False)


class TimeUnit(str, Enum):
    second = "second"
    minute = "minute"
    hour = "hour"
    day = "day"
    week = "week"


UNIT_SECONDS: dict[TimeUnit, int] = {
    TimeUnit.second: 1,
    TimeUnit.minute: 60,
    TimeUnit.hour: 3600,
    TimeUnit.day: 86400,
    TimeUnit.week: 604800,
}


def span_cap(unit: TimeUnit) -> int:
    """The most `unit`s a plan reaches back or buckets by: `limits.MAX_LOOKBACK_DAYS`."""
    return MAX_LOOKBACK_DAYS * UNIT_SECONDS[TimeUnit.day] // UNIT_SECONDS[unit]


class RelativeTime(_Model):
    """A point `amount` `unit`s before now, optionally snapped back to the start of that day.

    `amount=0, unit=day, snap="day"` is the start of today; `amount=1, unit=day, snap="day"` is
    the start of yesterday.
    """

    kind: Literal["relative"] = "relative"
    amount: int = Field(ge=0)
    unit: TimeUnit
    snap: Literal["day"] | None = None


class AbsoluteTime(_Model):
    """A fixed instant. Naive datetimes are taken as UTC (every platform here stores UTC)."""

    kind: Literal["absolute"] = "absolute"
    at: datetime


def _time_kind(v: Any) -> str:
    if isinstance(v, dict):
        return v.get("kind") or ("absolute" if "at" in v else "relative")
    return getattr(v, "kind", "relative")


TimePoint = Annotated[
    Union[Annotated[RelativeTime, Tag("relative")], Annotated[AbsoluteTime, Tag("absolute")]],
    Discriminator(_time_kind),
]


class TimeRange(_Model):
    """`start <= time < end`; `end=None` means up to now."""

    start: TimePoint
    end: TimePoint | None = None


class TimeBucket(_Model):
    """Fixed-width time bins for a trend, e.g. 1 hour."""

    amount: int = Field(default=1, ge=1)
    unit: TimeUnit

    @property
    def seconds(self) -> int:
        return self.amount * UNIT_SECONDS[self.unit]
