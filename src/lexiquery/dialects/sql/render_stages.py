"""A staged plan (IR v2) as one SQL statement: one CTE per stage.

    WITH s0 AS (<the first part>), s1 AS (<stage 1 over s0>) … SELECT … FROM s<n-1>

Every supported dialect has CTEs (MySQL 8, SQLite 3.8.3, ClickHouse, T-SQL…), so there is one
form for all. Each stage reads the columns of the CTE before it, named as `dialects.scope`
gives them (a source field's bound column, a group key, a metric's or computed field's name):

* `Step` — the fixed pipeline again (`SqlBuilder` with `StepNames` over the CTE's columns);
* `Expand` — `LEFT JOIN LATERAL UNNEST(…) ON TRUE` (PostgreSQL, DuckDB), `LEFT JOIN UNNEST`
  (Trino, BigQuery), `LATERAL FLATTEN(…, OUTER => TRUE)` (Snowflake), `LATERAL VIEW OUTER
  EXPLODE` (Spark, Databricks), `LEFT ARRAY JOIN` (ClickHouse): a row whose array is empty or
  NULL is kept once with the field NULL (ClickHouse: empty). MySQL, SQLite, T-SQL and Redshift
  hold collected values as text, not arrays: refused (``unsupported``). Any other field (a
  dynamic or text column, a parsed value) holds a JSON array: expanded in PostgreSQL
  (JSONB_ARRAY_ELEMENTS_TEXT) and DuckDB (`->> '$[*]'`) only, its elements as JSON text;
* `TopPerGroup` — `ROW_NUMBER() OVER (PARTITION BY … ORDER BY …)` in a derived table, then
  `WHERE rn <= n`, selecting the scope's columns (not `rn`); rows whose sort key is NULL come
  last in their group (KQL's arg_max/arg_min skip NULLs); ties are broken arbitrarily;
* `Window` — `agg(…) OVER (PARTITION BY …)`; a distinct count over a window (which most
  dialects refuse) is the exact `DENSE_RANK() ASC + DENSE_RANK() DESC - 1`, less one when the
  group holds a NULL; `values`, `list` and percentiles over a window are refused;
* `Join` — the right-hand plan (its own source, resolved through `sources`) is a CTE of its
  own (`j<k>`, with its stages as `j<k>_0`, …); inner/left are `JOIN … ON`, semi is
  `k IN (SELECT …)` (EXISTS for several keys), anti is `NOT EXISTS` (NOT IN would keep no row
  when the right side holds a NULL key). Equality is the dialect's: exact, except where the
  collation folds case (MySQL, T-SQL by default).

Order: an ORDER BY without a LIMIT inside a CTE is dropped (T-SQL refuses it, and no dialect
keeps a CTE's order); when only Steps that neither aggregate nor sort follow it (KQL's and SPL's
`where`/`extend` keep the order), the final SELECT — or the first such Step with a LIMIT
(`sort | where | take n`) — sorts by it again (`carried_order`). After
any other stage the rows come in no promised order, as the SQL of a CTE chain does anyway.
"""

from __future__ import annotations

from typing import Any

import sqlglot
from sqlglot import exp

from lexiquery.catalog.model import Platform, Source
from lexiquery.dialects.base import Out, plan_error
from lexiquery.dialects.language import Sources
from lexiquery.dialects.scope import Context, Scope, StepNames, check_stages, walk
from lexiquery.dialects.sql.builder import SqlBuilder
from lexiquery.dialects.sql.filters import all_of
from lexiquery.dialects.sql.functions import TEXT_ARRAYS
from lexiquery.dialects.sql.text import identifier
from lexiquery.ir import (
    Aggregation,
    Call,
    Expand,
    Function,
    Join,
    JoinKind,
    MetricFn,
    QueryPlan,
    Stage,
    Step,
    TopPerGroup,
    Window,
)

# The FROM clause of an Expand per dialect: `_p` (the CTE before), `_f` (the field), `_u`/`_e`
# (the unnested table and element) are replaced by the real names.
_EXPAND = {
    "postgres": ("SELECT * FROM _p LEFT JOIN LATERAL UNNEST(_p._f) AS _u(_e) ON TRUE", "_u._e"),
    "duckdb": ("SELECT * FROM _p LEFT JOIN LATERAL UNNEST(_p._f) AS _u(_e) ON TRUE", "_u._e"),
    "trino": ("SELECT * FROM _p LEFT JOIN UNNEST(_p._f) AS _u(_e) ON TRUE", "_u._e"),
    "bigquery": ("SELECT * FROM _p LEFT JOIN UNNEST(_p._f) AS _e", "_e"),
    "snowflake": ("SELECT * FROM _p, LATERAL FLATTEN(INPUT => _p._f, OUTER => TRUE) AS _u",
                  "_u.value"),
    "spark": ("SELECT * FROM _p LATERAL VIEW OUTER EXPLODE(_p._f) _u AS _e", "_e"),
    "databricks": ("SELECT * FROM _p LATERAL VIEW OUTER EXPLODE(_p._f) _u AS _e", "_e"),
    "clickhouse": ("SELECT * FROM _p LEFT ARRAY JOIN _p._f AS _e", "_e"),
}
_JSON_EXPAND = {
    "postgres": ("SELECT * FROM _p LEFT JOIN LATERAL JSONB_ARRAY_ELEMENTS_TEXT(CASE WHEN _p._f "
                 "IS JSON ARRAY THEN CAST(_p._f AS JSONB) END) AS _u(_e) ON TRUE", "_u._e"),
    "duckdb": ("SELECT * FROM _p LEFT JOIN LATERAL UNNEST(_p._f ->> '$[*]') AS _u(_e) ON TRUE",
               "_u._e"),
}
RN = "rn"
RANKED = "ranked"


def _array_valued(plan: QueryPlan, name: str) -> bool:
    """Is `name` an array the plan makes (a values/list metric, a split) rather than JSON (a
    dynamic or text field, a parsed value)?"""
    parts: list[Any] = [plan, *(s for s in plan.stages if isinstance(s, Step))]
    for part in parts:
        agg = part.aggregation
        if agg is not None and any(m.name == name and m.fn in (MetricFn.values, MetricFn.list)
                                   for m in agg.metrics):
            return True
        if any(c.name == name and isinstance(c.expr, Call) and c.expr.fn is Function.split
               for c in part.computed):
            return True
    return False


def carried_order(stage: Stage, order: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """The sort that still orders the rows after `stage`: one before it survives a Step that
    neither aggregates nor sorts and keeps its keys (KQL and SPL keep the order through
    `where`/`extend`); any other stage reorders (its own sort, if any, is in its SELECT)."""
    if isinstance(stage, Step) and not stage.sort and stage.aggregation is None and \
            all(k in stage.project for k, _ in order if stage.project):
        return order
    return []


class StagedSql:
    """One staged plan as `WITH … SELECT` for one dialect (None: DuckDB's spellings)."""

    def __init__(self, plan: QueryPlan, source: Source, dialect: str | None,
                 sources: Sources = None, prefix: str = "s") -> None:
        self.plan = plan
        self.source = source
        self.dialect = dialect
        self.sources = sources
        self.prefix = prefix
        self.ctx = Context(source, Platform.sql, None, sources)
        # (select, builder) of the first part and of every Step, for callers that adjust a
        # pipeline's SELECT (the sandbox's platform semantics).
        self.pipelines: list[tuple[exp.Select, SqlBuilder]] = []
        self.ctes: list[tuple[str, exp.Query]] = []

    def ident(self, name: str) -> exp.Identifier:
        return identifier(name, self.dialect)

    def col(self, name: str, table: str | None = None) -> exp.Column:
        return exp.Column(this=self.ident(name),
                          table=self.ident(table) if table is not None else None)

    # ------------------------------------------------------------------ the statement

    def build(self) -> exp.Select:
        return self.assemble(self.chain())

    def assemble(self, final: exp.Select) -> exp.Select:
        """`final` with the CTEs `chain` gathered (call `chain` first; the pipelines' SELECTs
        may be adjusted in between, e.g. by the sandbox)."""
        for name, body in self.ctes:
            final = final.with_(self.ident(name), as_=body, append=True, copy=False)
        return final

    def chain(self) -> exp.Select:
        """The CTEs of the stages before the last (into `self.ctes`), and the last SELECT."""
        check_stages(self.plan, self.ctx)
        scopes = [scope for _, scope in walk(self.plan, self.ctx)]
        builder = SqlBuilder(self.plan, self.source, self.dialect)
        current = builder.build()
        self.pipelines.append((current, builder))
        order = [(s.field, s.descending) for s in self.plan.sort]
        if not all(k in scopes[0] for k, _ in order):
            order = []  # sorted by a column it does not output: nothing after can keep it
        for i, stage in enumerate(self.plan.stages, start=1):
            name = f"{self.prefix}{i - 1}"
            if current.args.get("order") is not None and current.args.get("limit") is None:
                current.set("order", None)
            self.ctes.append((name, current))
            current = self.stage(stage, i, name, scopes[i - 1])
            order = carried_order(stage, order)
            if order and isinstance(stage, Step) and stage.limit is not None:
                current = self._sorted(current, order, scopes[i])  # `sort | take n`
            if isinstance(stage, Step) and stage.sort:
                order = [(k.field, k.descending) for k in stage.sort]
                if not all(k in scopes[i] for k, _ in order):
                    order = []
        if order and current.args.get("order") is None:
            current = self._sorted(current, order, scopes[-1])
        return current

    def _sorted(self, select: exp.Select, order: list[tuple[str, bool]],
                scope: Scope) -> exp.Select:
        return select.order_by(*(exp.Ordered(this=self.col(scope[k].column), desc=desc)
                                 for k, desc in order), copy=False)

    def stage(self, stage: Stage, position: int, prev: str, scope: Scope) -> exp.Select:
        if isinstance(stage, Step):
            names = StepNames(self.plan, stage, self.ctx, scope, position)
            builder = SqlBuilder(names.plan, self.source, self.dialect, names=names,
                                 from_name=prev)
            select = builder.build()
            self.pipelines.append((select, builder))
            return select
        if isinstance(stage, Expand):
            return self.expand(stage, position, prev, scope)
        if isinstance(stage, TopPerGroup):
            return self.top_per_group(stage, prev, scope)
        if isinstance(stage, Window):
            return self.window(stage, position, prev, scope)
        assert isinstance(stage, Join)
        return self.join(stage, position, prev, scope)

    # ------------------------------------------------------------------ stages

    def expand(self, stage: Expand, position: int, prev: str, scope: Scope) -> exp.Select:
        d = self.dialect or "duckdb"
        out = scope[stage.field]
        json = not _array_valued(self.plan, stage.field)
        templates = _JSON_EXPAND if json else _EXPAND
        if d not in templates:
            why = ("a JSON array is expanded in PostgreSQL and DuckDB only" if json else
                   "it has no array type to UNNEST (collected values are text there)"
                   if d in TEXT_ARRAYS else "")
            raise plan_error("unsupported", f"stage {position}: mv-expand (Expand of "
                             f"'{stage.field}') into {d} without UNNEST" +
                             (f": {why}" if why else ""), stage.field)
        text, element = templates[d]
        tree = sqlglot.parse_one(text, read=d)
        ids = {"_p": prev, "_f": out.column, "_u": "u", "_e": f"{out.column}_item"}
        taken = {o.column.lower() for o in scope.values()}
        for key in ("_u", "_e"):
            while ids[key].lower() in taken:
                ids[key] += "_"
        for node in list(tree.find_all(exp.Identifier)):
            if node.this in ids:
                node.replace(self.ident(ids[node.this]))
        elem = sqlglot.parse_one(element, read=d)
        for node in list(elem.find_all(exp.Identifier)):
            if node.this in ids:
                node.replace(self.ident(ids[node.this]))
        items = [exp.alias_(elem.copy(), self.ident(o.column)) if name == stage.field
                 else self.col(o.column, prev) for name, o in scope.items()]
        tree.set("expressions", items)
        return tree  # type: ignore[return-value]

    def top_per_group(self, stage: TopPerGroup, prev: str, scope: Scope) -> exp.Select:
        taken = {o.column.lower() for o in scope.values()}
        rn = RN
        while rn in taken:
            rn += "_"
        order = exp.Order(expressions=[
            exp.Ordered(this=self.col(scope[s.field].column), desc=s.descending,
                        nulls_first=False) for s in stage.sort])
        window = exp.Window(this=exp.RowNumber(), partition_by=[
            self.col(scope[b].column) for b in stage.by], order=order, over="OVER")
        inner = exp.Select(expressions=[exp.Star(), exp.alias_(window, self.ident(rn))]) \
            .from_(exp.Table(this=self.ident(prev)))
        cond: exp.Expression = exp.LTE(this=self.col(rn), expression=exp.Literal.number(
            stage.n)) if stage.n > 1 else exp.EQ(this=self.col(rn),
                                                 expression=exp.Literal.number(1))
        return exp.Select(expressions=[self.col(o.column) for o in scope.values()]).from_(
            exp.Subquery(this=inner, alias=exp.TableAlias(this=self.ident(RANKED)))).where(cond)

    def window(self, stage: Window, position: int, prev: str, scope: Scope) -> exp.Select:
        step = Step.model_construct(filters=[], computed=[], aggregation=Aggregation.
                                    model_construct(metrics=stage.metrics, group_by=stage.by,
                                                    time_bucket=None),
                                    having=[], project=[], sort=[], limit=None)
        names = StepNames(self.plan, step, self.ctx, scope, position)
        b = SqlBuilder(names.plan, self.source, self.dialect, names=names, from_name=prev)
        parts = [self.col(scope[k].column) for k in stage.by]
        items: list[exp.Expression] = [exp.Star()]
        for m in stage.metrics:
            if m.fn in (MetricFn.values, MetricFn.list, MetricFn.percentile):
                raise plan_error("unsupported", f"stage {position}: '{m.fn.value}' over a "
                                 f"window (eventstats) is not written in SQL", m.field)
            if m.fn is MetricFn.count_distinct:
                assert m.field is not None
                node = self._distinct_over(b.ref(m.field), parts)
            else:
                node = exp.Window(this=b.metric_expr(m), partition_by=[p.copy() for p in parts],
                                  over="OVER")
            items.append(exp.alias_(node, self.ident(m.name)))
        return exp.Select(expressions=items).from_(exp.Table(this=self.ident(prev)))

    def _distinct_over(self, f: exp.Expression, parts: list[exp.Column]) -> exp.Expression:
        """COUNT(DISTINCT f) over the partition, exactly, without DISTINCT in a window: NULL
        sorts last ascending and first descending, so the two dense ranks add up to the number
        of distinct values (NULL counted) plus one."""
        def rank(desc: bool) -> exp.Window:
            return exp.Window(this=exp.Anonymous(this="DENSE_RANK", expressions=[]),
                              partition_by=[p.copy() for p in parts], order=exp.Order(
                                  expressions=[exp.Ordered(this=f.copy(), desc=desc,
                                                           nulls_first=desc)]), over="OVER")
        has_null = exp.Window(this=exp.Max(this=exp.Case(ifs=[exp.If(
            this=exp.Is(this=f.copy(), expression=exp.null()), true=exp.Literal.number(1))],
            default=exp.Literal.number(0))), partition_by=[p.copy() for p in parts],
            over="OVER")
        return exp.Sub(this=exp.Sub(this=exp.Add(this=rank(False), expression=rank(True)),
                                    expression=exp.Literal.number(1)), expression=has_null)

    def join(self, stage: Join, position: int, prev: str, scope: Scope) -> exp.Select:
        right_source = self.ctx.right_source(stage)
        rname = f"j{position}" if self.prefix == "s" else f"{self.prefix}j{position}"
        right = StagedSql(stage.right, right_source, self.dialect, self.sources,
                          prefix=f"{rname}_")
        body = right.chain()
        self.ctes.extend(right.ctes)
        self.pipelines.extend(right.pipelines)
        self.ctes.append((rname, body))
        rscope: Scope = {}
        for _, rscope in walk(stage.right, Context(right_source, Platform.sql, None,
                                                   self.sources)):
            pass
        def key(out: Out, table: str, other: Out) -> exp.Expression:
            # Keys of two types (a GUID column and a text one) compare as text: a database
            # would otherwise cast the text to the other type and fail on a value like ''.
            col = self.col(out.column, table)
            return col if out.type == other.type else exp.Cast(
                this=col, to=exp.DataType.build("varchar"))

        pairs = [(scope[k.left], rscope[k.right]) for k in stage.on]
        eqs = [exp.EQ(this=key(lo, prev, ro), expression=key(ro, rname, lo))
               for lo, ro in pairs]
        if stage.how in (JoinKind.inner, JoinKind.left):
            keys = {k.right for k in stage.on}
            items: list[exp.Expression] = [exp.Column(this=exp.Star(), table=self.ident(prev))]
            items += [self.col(o.column, rname) for n, o in rscope.items() if n not in keys]
            return exp.Select(expressions=items).from_(exp.Table(this=self.ident(prev))).join(
                exp.Table(this=self.ident(rname)), on=all_of(eqs),
                join_type="LEFT" if stage.how is JoinKind.left else "INNER")
        select = exp.Select(expressions=[exp.Star()]).from_(exp.Table(this=self.ident(prev)))
        if stage.how is JoinKind.semi and len(stage.on) == 1:
            (lo, ro), = pairs
            sub = exp.Select(expressions=[key(ro, rname, lo)]).from_(
                exp.Table(this=self.ident(rname)))
            return select.where(exp.In(this=key(lo, prev, ro), query=exp.Subquery(this=sub)))
        sub = exp.Select(expressions=[exp.Literal.number(1)]).from_(
            exp.Table(this=self.ident(rname))).where(all_of(eqs))
        exists: exp.Expression = exp.Exists(this=sub)
        return select.where(exp.Not(this=exists) if stage.how is JoinKind.anti else exists)
