"""The plan a KQL query is read into, stage by stage: `StagedDraft`, the base of `kql.bind.Binder`.

KQL applies its operators in any order; the IR's pipeline has a fixed one. The binder gathers the
current pipeline's parts (`PlanDraft`); where the next operator cannot join it (`kql.stages`),
`close` ends it — it becomes the plan's first part, or a `Step` after the stages so far — and
`add_stage` appends another kind of stage. `prev_scope` is then what the next pipeline reads: the
outputs of everything before it by logical name (`dialects.scope`), which gives names their types.
"""

from __future__ import annotations

from typing import Any

from lexiquery.catalog.model import Catalog, Platform
from lexiquery.dialects.base import Names, Out
from lexiquery.dialects.kql.bind_more import scope_names
from lexiquery.dialects.kql.render_stages import kql_context
from lexiquery.dialects.parsing import PlanDraft
from lexiquery.dialects.scope import walk
from lexiquery.errors import PlanError
from lexiquery.ir import QueryPlan, Step, iter_conditions


class StagedDraft(PlanDraft):
    def start_stages(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.first: dict[str, Any] | None = None  # the first part, once it is closed
        self.stage_list: list[Any] = []
        self.prev_scope: dict[str, Out] = {}
        self.temps: set[str] = set()  # computed columns only a filter reads (`bind_more`)
        self.temp_count = 0
        self.hidden: set[str] = set()  # right-hand join keys a `project-away` may name

    @property
    def staged(self) -> bool:
        return self.first is not None

    def parts(self) -> dict[str, Any]:
        # Filters on computed columns after the others, as the renderer writes them (after
        # the extend): the order of ANDed filters means nothing, and a join's right-hand plan
        # is compared as written.
        names = {c.name for c in self.computed}
        late = [f for f in self.filters if {c.field for c in iter_conditions([f])} & names]
        filters = [f for f in self.filters if not any(f is g for g in late)] + late
        return dict(filters=filters, computed=self.computed, aggregation=self.agg,
                    having=self.having if self.agg else [], project=self.project,
                    sort=self.sort, limit=self.limit)

    def close(self) -> None:
        """End the current pipeline where KQL goes on in an order the IR's fixed one cannot
        hold: it becomes the first part, or a `Step` after the stages so far."""
        parts = self.parts()
        if self.first is None:
            self.first = parts
        elif any(parts.values()):
            self.stage_list.append(Step(**parts))
        self.filters, self.computed, self.agg, self.having = [], [], None, []
        self.project, self.sort, self.limit = [], [], None
        self.prev_scope = self.scope_now()

    def add_stage(self, stage: Any) -> None:
        self.close()
        self.stage_list.append(stage)
        self.prev_scope = self.scope_now()

    def draft(self, time_range: Any) -> QueryPlan:
        if self.first is None:
            self.filters = self.parts()["filters"]
            return super().draft(time_range)
        parts = self.parts()
        tail = [Step(**parts)] if any(parts.values()) else []
        return QueryPlan(source=self.source.id, time_range=time_range, **self.first,
                         stages=[*self.stage_list, *tail], issues=self.issues)

    def scope_now(self) -> dict[str, Out]:
        """The outputs of the plan so far (empty when its names do not resolve)."""
        try:
            plan = self.draft(None)
            scope: dict[str, Out] = {}
            for _, scope in walk(plan, kql_context(self.source, self.catalog.get)):
                pass
            return scope
        except (PlanError, ValueError):
            return {}

    def names_for(self, plan: QueryPlan) -> Names:
        return scope_names(plan, self) if self.staged else Names(plan, self.source, Platform.kql)


def final_scope(b: StagedDraft) -> dict[str, Any] | None:
    try:
        scope: dict[str, Any] = {}
        for _, scope in walk(b.draft(None), kql_context(b.source, b.catalog.get)):
            pass
        return scope
    except (PlanError, ValueError):
        return None


def drop_temps(b: StagedDraft) -> None:
    """Project the columns `bind_more.temp_field` added away where they would reach the
    output (a pipeline with neither project nor summarize after them)."""
    if not b.temps or b.schema_lost:
        return
    scope = final_scope(b)
    if scope is not None and b.temps & set(scope):
        b.project = [n for n in scope if n not in b.temps]
