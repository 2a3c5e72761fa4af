"""SQL with CTEs, subqueries, joins and window functions read into a staged plan (IR v2).

    StagedReader(lexed, catalog, check).read(tree) → (source, plan data with stages)

A query is read as a chain: the SELECT that reads a catalog table is the plan's first part,
and every SELECT that reads a CTE or a subquery is one more stage over the outputs of what it
reads (`dialects.scope`: a column is the logical output whose platform name it is). The
renderer's forms (`sql.render_stages`) read back as the stages they were written from:

* a plain SELECT over a CTE → `Step` (WHERE, computed fields, GROUP BY, HAVING, ORDER BY,
  LIMIT as in the first part; a time condition there is a filter, not a time range);
* `FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY s) AS rn FROM x) WHERE rn <= n`
  (or `rn = 1`, `rn < n + 1`) → `TopPerGroup`;
* aggregates `OVER (PARTITION BY …)` beside `*` → `Window` (the renderer's dense-rank form and
  `COUNT(DISTINCT x) OVER` are the distinct count);
* `LEFT JOIN LATERAL UNNEST(x.f) … ON TRUE`, `LEFT JOIN UNNEST`, `LATERAL VIEW OUTER EXPLODE`,
  `LEFT ARRAY JOIN` → `Expand` (a CROSS JOIN UNNEST drops the rows with empty arrays: it is not
  read, and the query falls back to the single-SELECT reader's refusal);
* `[INNER|LEFT] JOIN y ON x.a = y.b AND …` → `Join` inner/left, the right side its own plan;
  `k IN (SELECT …)` and `EXISTS (SELECT 1 FROM y WHERE y.b = x.a …)` → semi;
  `NOT EXISTS (…)` → anti. `k NOT IN (SELECT …)` is refused: it keeps no row at all when the
  subquery returns a NULL key, which no anti join does.

A select list that is more than the stage's own outputs (a projection after a join, filters
beside a window) is one more `Step` after the stage; one that lists exactly the outputs is
none. A shape outside these raises `NotStaged`, and `sql.parse` reads the query as one SELECT,
reporting the construct it cannot hold.
"""

from __future__ import annotations

from typing import Any, Callable

from sqlglot import exp

from lexiquery.catalog.model import Catalog, Platform, Source
from lexiquery.dialects.parsing import source_for_table
from lexiquery.dialects.scope import Context, Scope, walk
from lexiquery.dialects.sql.parse_expr import Untranslatable, unparen
from lexiquery.dialects.sql.parse_lex import Lexed
from lexiquery.dialects.sql.parse_select import SelectReader
from lexiquery.dialects.sql.parse_stage_joins import JoinReader
from lexiquery.dialects.sql.parse_stage_parts import (  # noqa: F401 (NotStaged: this API)
    NotStaged,
    StepReader,
    _and,
    _conjuncts,
    _null_placement,
    _only_stars_and,
    _only_where,
    _rank_bound,
    _subquery_test,
    _window_aggregate,
    _window_item,
    _without,
)
from lexiquery.errors import LexiQueryError
from lexiquery.ir import PlanIssue, QueryPlan

MAX_DEPTH = 12  # CTEs reading CTEs, subqueries in subqueries


class StagedReader(JoinReader):
    """See the module docstring. `check(select, reader)` reports a SELECT's clauses the reader
    does not hold (`sql.parse`'s clause check)."""

    def __init__(self, lexed: Lexed, catalog: Catalog,
                 check: Callable[[exp.Select, SelectReader], None]) -> None:
        self.lexed = lexed
        self.catalog = catalog
        self.check = check
        self.issues: list[PlanIssue] = []
        self.notes: list[str] = []
        self.depth = 0

    def read(self, tree: exp.Expression) -> tuple[Source, dict[str, Any]]:
        source, data, stages = self.query(tree, {})
        return source, {**data, "stages": stages}

    # ------------------------------------------------------------------ structure

    def query(self, node: exp.Expression, ctes: dict[str, exp.Expression]) -> Any:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise NotStaged("nested too deeply")
        while isinstance(node, exp.Subquery):
            node = node.this
        if not isinstance(node, exp.Select):
            raise NotStaged(node.key)
        w = node.args.get("with_") or node.args.get("with")
        if w is not None:
            if w.args.get("recursive"):
                raise NotStaged("recursive CTE")
            ctes = dict(ctes)
            for cte in w.expressions:
                ctes[cte.alias_or_name.lower()] = cte.this
        try:
            return self.select(node, ctes)
        finally:
            self.depth -= 1

    def target(self, node: exp.Expression, ctes: dict[str, exp.Expression]) -> Any:
        """(chain, None, names) for a CTE or subquery; (None, source, names) for a table."""
        alias = str(node.alias_or_name).lower() if hasattr(node, "alias_or_name") else ""
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier) and \
                not node.db and node.name.lower() in ctes:
            inner = {k: v for k, v in ctes.items() if k != node.name.lower()}
            return self.query(ctes[node.name.lower()], inner), None, {node.name.lower(), alias}
        if isinstance(node, exp.Subquery):
            return self.query(node.this, ctes), None, {alias} if alias else set()
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier):
            parts = [p for p in (node.catalog, node.db, node.name) if p]
            source = source_for_table(self.catalog, Platform.sql, ".".join(parts))
            if source is None:
                raise NotStaged("unknown table")
            names = {node.name.lower(), alias}
            if node.db:
                names.add(f"{node.db}.{node.name}".lower())
            return None, source, names
        raise NotStaged(node.key)

    def scope(self, source: Source, data: dict[str, Any], stages: list[Any]) -> Scope:
        try:
            plan = QueryPlan.model_validate({"source": source.id, **data, "stages": stages})
            out: Scope = {}
            for _, out in walk(plan, Context(source, Platform.sql, None, self.catalog.get)):
                pass
        except (LexiQueryError, ValueError) as e:
            raise NotStaged(str(e)) from None
        return out

    # ------------------------------------------------------------------ one SELECT

    def select(self, s: exp.Select, ctes: dict[str, exp.Expression]) -> Any:
        s = s.copy()  # stages rewrite their SELECT list; the caller's tree stays as written
        from_ = s.args.get("from_") or s.args.get("from")
        if from_ is None:
            raise NotStaged("no FROM")
        top = self._top_per_group(s, ctes)
        if top is not None:
            return top
        joins = list(s.args.get("joins") or [])
        laterals = list(s.args.get("laterals") or [])
        chain, source, names = self.target(from_.this, ctes)
        windows = [i for i in s.expressions if _window_item(i)]
        subqueries = [p for p in _conjuncts(s) if _subquery_test(p)]
        if chain is None:
            if not (joins or laterals or windows or subqueries):
                return source, self.first_part(s, source, names), []
            if subqueries and not (joins or laterals or windows):
                return self._filtered_then_joined(s, source, names, subqueries, ctes)
            first = {}
            if windows and s.args.get("where") is not None:  # the table's rows, then the window
                first = self.first_part(_only_where(s), source, names)
                s.set("where", None)
            chain = (source, first, [])
        source, data, stages = chain
        stages = list(stages)
        if joins or laterals:
            if subqueries or windows or len(joins) + len(laterals) != 1:
                raise NotStaged("several joins")
            stage, extra = self._join_or_expand(s, joins, laterals, source, data, stages,
                                                names, ctes)
            stages.append(stage)
            names = names | extra
            self._then_step(s, source, data, stages, names, strip="join")
            return source, data, stages
        if windows:
            if s.args.get("group") or s.args.get("having") or s.args.get("distinct"):
                raise NotStaged("a window with GROUP BY")
            if s.args.get("where") is not None:
                self._then_step(_only_where(s), source, data, stages, names)
            stages.append(self._window(s, windows, source, data, stages, names))
            self._then_step(s, source, data, stages, names, strip="window")
            return source, data, stages
        for p in subqueries:
            stages.append(self._semi_anti(p, source, data, stages, names, ctes))
        self._then_step(_without(s, subqueries), source, data, stages, names)
        return source, data, stages

    def first_part(self, s: exp.Select, source: Source, names: set[str]) -> dict[str, Any]:
        return self.read_with(SelectReader(self.lexed, source, lenient=False,
                                           table_names=names), s)

    def read_with(self, reader: Any, s: exp.Select) -> dict[str, Any]:
        """`s` read by `reader` (an untranslatable part becomes its issue, not an error); the
        reader's issues and notes are kept."""
        self.check(s, reader)
        try:
            data = reader.read(s)
        except Untranslatable as e:
            reader.skip(e)
            data = {}
        self.issues += reader.issues
        self.notes += reader.notes
        return data

    def _then_step(self, s: exp.Select, source: Source, data: dict[str, Any],
                   stages: list[Any], names: set[str], strip: str = "") -> None:
        """`s` read as a Step over the outputs so far, appended unless it does nothing (an
        empty step, or a projection of exactly those outputs)."""
        scope = self.scope(source, data, stages)
        s = s.copy()
        for key in ("joins", "laterals", "with_", "with"):
            s.set(key, None)
        if strip == "window":
            s.set("where", None)
            s.set("expressions", [exp.column(e.alias) if _window_item(e) else e
                                  for e in s.expressions])
        if strip == "join" and _only_stars_and(s, scope):
            s.set("expressions", [exp.Star()])
        step = self.read_with(StepReader(self.lexed, source, lenient=False, table_names=names,
                                         scope=scope), s)
        step.pop("time_range", None)
        if step.get("project") == list(scope) and not step.get("computed"):
            step["project"] = []
        if not any(step.get(k) for k in ("filters", "computed", "aggregation", "project",
                                          "sort", "limit")):
            return
        stages.append({"kind": "step", **step})

    # ------------------------------------------------------------------ stages

    def _top_per_group(self, s: exp.Select, ctes: dict[str, exp.Expression]) -> Any:
        from_ = s.args.get("from_") or s.args.get("from")
        sub = from_.this
        if not isinstance(sub, exp.Subquery) or not isinstance(sub.this, exp.Select) or \
                s.args.get("joins"):
            return None
        inner = sub.this
        ranks = [i for i in inner.expressions if isinstance(i, exp.Alias) and
                 isinstance(i.this, exp.Window) and isinstance(i.this.this, exp.RowNumber)]
        if len(ranks) != 1 or not any(isinstance(i, exp.Star) for i in inner.expressions):
            return None
        rn, window = ranks[0].alias, ranks[0].this
        n, rest = None, []
        for p in _conjuncts(s):
            got = _rank_bound(p, rn)
            if got is not None and n is None:
                n = got
            else:
                rest.append(p)
        if n is None or window.args.get("order") is None:
            return None
        body = inner.copy()
        body.set("expressions", [e for e in body.expressions if e.alias != rn])
        source, data, stages = self.select(body, ctes)
        stages = list(stages)
        scope = self.scope(source, data, stages)
        names = {str(sub.alias).lower()} if sub.alias else set()
        reader = StepReader(self.lexed, source, table_names=names, scope=scope)
        try:
            by = [reader.column(unparen(p)) for p in window.args.get("partition_by") or []]
            keys = [o for o in window.args["order"].expressions if not _null_placement(o.this)]
            if not all(isinstance(unparen(o.this), exp.Column) for o in keys):
                raise NotStaged("ROW_NUMBER() ordered by an expression")
            sort = [{"field": reader.column(unparen(o.this)), "descending": bool(o.args.get(
                "desc"))} for o in keys]
        except Untranslatable as e:
            raise NotStaged(e.construct) from None
        if not by:
            raise NotStaged("ROW_NUMBER() without PARTITION BY")
        stages.append({"kind": "top_per_group", "by": by, "sort": sort, "n": n})
        outer = s.copy()
        outer.set("from_", exp.From(this=exp.Table(this=exp.to_identifier("ranked"))))
        outer.set("where", exp.Where(this=_and(rest)) if rest else None)
        self._then_step(outer, source, data, stages, names | {"ranked"})
        return source, data, stages

    def _window(self, s: exp.Select, items: list[exp.Expression], source: Source,
                data: dict[str, Any], stages: list[Any], names: set[str]) -> dict[str, Any]:
        scope = self.scope(source, data, stages)
        reader = StepReader(self.lexed, source, table_names=names, scope=scope)
        metrics, parts = [], None
        for item in items:
            node, alias = item.this, item.alias
            agg, partition = _window_aggregate(node)
            if agg is None or (parts is not None and partition != parts):
                raise NotStaged("a window other than an aggregate over one partition")
            parts = partition
            try:
                metrics.append(reader.metric(agg, alias).model_dump(mode="json"))
            except Untranslatable as e:
                raise NotStaged(e.construct) from None
        try:
            by = [reader.column(p) for p in parts or []]
        except Untranslatable as e:
            raise NotStaged(e.construct) from None
        return {"kind": "window", "metrics": metrics, "by": by}

