"""The working state shared by the passes that turn items into a plan.

Each pass marks the items it understood as `used`; whatever is left at the end is reported as
"not understood" and lowers the confidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lexiquery.catalog.model import Source
from lexiquery.ir import ComputedField, Filter, Metric, PlanIssue, SortKey, TimeBucket, TimeRange
from lexiquery.nl.index import SourceIndex
from lexiquery.nl.match import Item
from lexiquery.nl.tokens import Token


@dataclass
class State:
    si: SourceIndex
    items: list[Item]
    tokens: list[Token]
    question: str
    time_range: TimeRange | None = None
    bucket: TimeBucket | None = None
    default_bucket: bool = False
    filters: list[Filter] = field(default_factory=list)
    computed: list[ComputedField] = field(default_factory=list)  # length(field) ... filters read
    concept_filters: list[Filter] = field(default_factory=list)  # added for a concept word
    metrics: list[Metric] = field(default_factory=list)
    group_by: list[str] = field(default_factory=list)
    distinct_only: bool = False  # group_by without metrics: the distinct values
    having: list[Filter] = field(default_factory=list)
    sort: list[SortKey] = field(default_factory=list)
    limit: int | None = None
    project: list[str] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    issues: list[PlanIssue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    clamps: int = 0  # numbers cut to what a query holds (`preds.row_count`)
    ranking: bool = False  # top/bottom N asked for

    @property
    def src(self) -> Source:
        return self.si.source

    def nxt(self, k: int, *, skip_used: bool = True) -> int | None:
        """Index of the next meaningful item after k (stop words skipped), or None."""
        j = k + 1
        while j < len(self.items):
            it = self.items[j]
            if not it.is_filler and not (skip_used and it.used):
                return j
            j += 1
        return None

    def prv(self, k: int) -> int | None:
        j = k - 1
        while j >= 0:
            if not self.items[j].is_filler:
                return j
            j -= 1
        return None

    def at(self, k: int | None) -> Item | None:
        return self.items[k] if k is not None and 0 <= k < len(self.items) else None

    def use(self, *ks: int | None) -> None:
        for k in ks:
            if k is not None:
                self.items[k].used = True

    def add_group(self, name: str) -> None:
        if name not in self.group_by:
            self.group_by.append(name)

    def add_metric(self, m: Metric) -> Metric:
        for old in self.metrics:
            if old.fn == m.fn and old.field == m.field and old.percentile == m.percentile:
                return old
        self.metrics.append(m)
        return m
