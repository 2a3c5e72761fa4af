"""One pipeline of a plan (source → … → limit) as one SELECT, a sqlglot tree for one dialect:
`SqlBuilder`, and the table of dialects (`IDIOMS`, `idiom_for`). `sql.render` holds the entry
points; `sql.render_stages` reuses `SqlBuilder` for each Step of a staged plan.

The tree is never built by concatenating SQL text. Where a dialect's idiom differs from what
sqlglot derives from a generic node, `sql.idioms` (and its `_db`/`_dw` families) supplies that
dialect's node; `sql.filters` builds conditions and expressions; `sql.text` quotes identifiers
and prints.

Semantics an analyst should know (see also `sql.filters` and `sql.idioms`):
* `<>`, `NOT IN`, `NOT LIKE` exclude NULLs, as SQL always does;
* a computed field is written out where it is used (SQL cannot name it before the SELECT list);
* a descending sort on a metric or computed field puts NULLs last in every dialect (explicit
  `NULLS LAST` where the dialect's default differs), like KQL's `top`; sorts on stored columns
  keep each dialect's own NULL placement, so an index can serve `ORDER BY col DESC LIMIT n`;
* group-by only (no metric) is `SELECT DISTINCT` when that makes the same rows (every group key
  selected, no HAVING), else GROUP BY;
* a constant sort or group key (a computed literal) is left out of ORDER BY / GROUP BY: it
  orders and groups nothing, and a bare literal there is a column position (`ORDER BY 2`);
* regexes are unanchored searches; T-SQL has none (PlanError ``unsupported``; REGEXP_LIKE arrives
  with SQL Server 2025), SQLite's REGEXP needs an application-defined regexp() function; MySQL
  and SQLite have no percentile aggregate (PlanError ``unsupported``); T-SQL's is
  APPROX_PERCENTILE_CONT (SQL Server 2022+); BigQuery, Trino, Spark, ClickHouse and T-SQL
  percentiles are approximate, like KQL's and Splunk's;
* `values`/`list` skip NULLs and return an array, except in MySQL and SQLite (text joined by
  ","), Redshift and T-SQL (text joined by ", "); T-SQL has no distinct `values` (PlanError
  ``unsupported``: STRING_AGG takes no DISTINCT). See `sql_idioms`.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from lexiquery.catalog.model import Platform, Source
from lexiquery.dialects.base import Names, plan_error
from lexiquery.dialects.sql.filters import SqlPredicates, all_of
from lexiquery.dialects.sql.functions import SqlFunctions
from lexiquery.dialects.sql.idioms import NEUTRAL, Idiom
from lexiquery.dialects.sql.idioms_db import MySql, Postgres, Sqlite, TSql
from lexiquery.dialects.sql.idioms_dw import (
    BigQuery,
    ClickHouse,
    Databricks,
    DuckDb,
    Redshift,
    Snowflake,
    Spark,
    Trino,
)
from lexiquery.dialects.sql.text import identifier
from lexiquery.errors import DialectError
from lexiquery.ir import (
    AbsoluteTime,
    Metric,
    MetricFn,
    QueryPlan,
    RelativeTime,
    TimeUnit,
)

IDIOMS: dict[str, Idiom] = {i.name: i for i in (  # type: ignore[misc]
    Postgres(), Redshift(), TSql(), MySql(), Sqlite(), DuckDb(), BigQuery(), Snowflake(),
    Trino(), Spark(), Databricks(), ClickHouse())}
SQL_DIALECTS: tuple[str, ...] = tuple(IDIOMS)
_NON_NULL_METRICS = {MetricFn.count, MetricFn.count_distinct}


def idiom_for(dialect: str) -> Idiom:
    """The dialect's idioms; `DialectError` (listing the supported ones) for an unknown one."""
    idiom = IDIOMS.get(dialect)
    if idiom is None:
        raise DialectError(f"unknown SQL dialect {dialect!r}; supported: "
                           f"{', '.join(SQL_DIALECTS)}")
    return idiom


class SqlBuilder(SqlPredicates, SqlFunctions):
    """One plan as one SELECT for one dialect (or generic nodes when `dialect` is None).

    `names` and `from_name` let a later stage reuse it (`sql.render_stages`): the names are
    then those of the stages before it, and it reads the CTE `from_name`."""

    def __init__(self, plan: QueryPlan, source: Source, dialect: str | None = None, *,
                 names: Names | None = None, from_name: str | None = None) -> None:
        self.plan = plan
        self.source = source
        self.dialect = dialect
        self.idiom = NEUTRAL if dialect is None else idiom_for(dialect)
        self.names = names or Names(plan, source, Platform.sql)
        self.from_name = from_name
        self._computed: dict[str, exp.Expression] = {}

    # ------------------------------------------------------------------ names

    def ident(self, name: str) -> exp.Identifier:
        return identifier(name, self.dialect)

    def column(self, name: str) -> exp.Column:
        return exp.Column(this=self.ident(name))

    def table(self, name: str) -> exp.Table:
        *qual, last = name.split(".")
        t = exp.Table(this=self.ident(last))
        if qual:
            t.set("db", self.ident(qual[-1]))
        if len(qual) > 1:
            t.set("catalog", self.ident(qual[-2]))
        return t

    def ref(self, name: str) -> exp.Expression:
        """A source column, or a computed field's expression (SQL cannot name it before the
        SELECT list exists, so it is written out where it is used)."""
        if name in self.names.computed:
            if name not in self._computed:
                self._computed[name] = self.expr(self.names.computed[name].expr)
            return self._computed[name].copy()
        return self.column(self.names.column(name))

    def agg_ref(self, name: str) -> exp.Expression:
        """An aggregation output as an expression, for HAVING and for ORDER BY keys that are
        not selected (most dialects do not accept select aliases there)."""
        agg = self.plan.aggregation
        assert agg is not None
        self.names.output(name)  # raises unknown_field for a non-output
        if name in agg.group_by:
            return self.ref(name)
        m = self.names.metric(name)
        if m is not None:
            return self.metric_expr(m)
        return self.bucket()

    # ------------------------------------------------------------------ time

    def time_point(self, p: RelativeTime | AbsoluteTime) -> exp.Expression:
        i = self.idiom
        if isinstance(p, AbsoluteTime):
            return i.absolute(p.at)
        n, unit = p.amount, p.unit
        if unit is TimeUnit.week:
            n, unit = n * 7, TimeUnit.day
        if p.snap == "day":
            if n == 0:
                return i.today()
            return i.days_ago(n) if unit is TimeUnit.day else i.start_of_day(i.ago(n, unit))
        return i.now() if n == 0 else i.ago(n, unit)

    def bucket(self) -> exp.Expression:
        agg = self.plan.aggregation
        assert agg is not None and agg.time_bucket is not None
        tb = agg.time_bucket
        col = self.column(self.names.time_column())
        if tb.amount == 1 and tb.unit is not TimeUnit.week:
            return self.idiom.trunc(col, tb.unit)
        return self.idiom.bucket(col, tb)

    # ------------------------------------------------------------------ aggregation

    def metric_expr(self, m: Metric) -> exp.Expression:
        f = self.ref(m.field) if m.field else None
        match m.fn:
            case MetricFn.count:
                return exp.Count(this=f if f is not None else exp.Star())
            case MetricFn.count_distinct:
                return exp.Count(this=exp.Distinct(expressions=[f]))
            case MetricFn.sum:
                return exp.Sum(this=f)
            case MetricFn.avg:
                return exp.Avg(this=f)
            case MetricFn.min:
                return exp.Min(this=f)
            case MetricFn.max:
                return exp.Max(this=f)
            case MetricFn.first_seen:
                return exp.Min(this=self.column(self.names.time_column()))
            case MetricFn.last_seen:
                return exp.Max(this=self.column(self.names.time_column()))
            case MetricFn.values | MetricFn.list:
                assert f is not None
                coll = self.idiom.value_set(f) if m.fn is MetricFn.values \
                    else self.idiom.value_list(f)
                if coll is None:
                    what = "the distinct values" if m.fn is MetricFn.values else "every value"
                    hint = self.idiom.value_set_hint if m.fn is MetricFn.values else ""
                    raise plan_error("unsupported", f"{what} of '{m.field}' ('{m.fn.value}') "
                                     f"cannot be aggregated in {self.dialect}"
                                     + (f": {hint}" if hint else ""), m.field)
                return coll
            case MetricFn.percentile:
                assert f is not None
                node = self.idiom.percentile(f, round((m.percentile or 0) / 100, 6))
                if node is None:
                    raise plan_error("unsupported", f"percentiles are not available as an "
                                     f"aggregate in {self.dialect}", m.field)
                for o in node.find_all(exp.Ordered):
                    o.set("nulls_first", self._natural_nulls_first(False))
                return node
        raise TypeError(m.fn)

    def _natural_nulls_first(self, desc: bool) -> bool | None:
        """The dialect's own NULL placement, so no NULLS FIRST/LAST (or T-SQL's CASE WHEN
        emulation of it) clutters an ORDER BY."""
        if self.dialect is None:
            return None
        ordering = sqlglot.Dialect.get_or_raise(self.dialect).NULL_ORDERING
        if ordering == "nulls_are_small":
            return not desc
        if ordering == "nulls_are_large":
            return desc
        return False

    def _nulls_last_matters(self, name: str) -> bool:
        """A descending key that may be NULL and is computed, not stored: a metric other than a
        count, or a computed field. (A stored column keeps the dialect's placement, so that an
        index on it can still serve `ORDER BY col DESC LIMIT n`.)"""
        m = self.names.metric(name)
        if m is not None:
            return m.fn not in _NON_NULL_METRICS
        return name in self.names.computed

    # ------------------------------------------------------------------ statement

    def outputs(self) -> list[tuple[str, exp.Expression]]:
        """(logical name, select item) for each aggregation output, in the IR's order."""
        agg = self.plan.aggregation
        assert agg is not None
        out: list[tuple[str, exp.Expression]] = []
        for g in agg.group_by:
            out.append((g, exp.alias_(self.ref(g), self.ident(g)) if g in self.names.computed
                        else self.ref(g)))
        if agg.time_bucket:
            tcol = self.names.time_column()
            out.append((self.source.time_field or tcol,
                        exp.alias_(self.bucket(), self.ident(tcol))))
        for m in agg.metrics:
            out.append((m.name, exp.alias_(self.metric_expr(m), self.ident(m.name))))
        return out

    def build(self) -> exp.Select:
        self.names.check_all()
        plan, agg = self.plan, self.plan.aggregation
        if self.from_name is not None:
            select = exp.Select().from_(exp.Table(this=self.ident(self.from_name)))
        else:
            binding = self.source.bindings.sql
            assert binding is not None
            select = exp.Select().from_(self.table(binding.table))
        where: list[exp.Expression] = []
        if plan.time_range is not None:
            tcol = self.column(self.names.time_column())
            where.append(exp.GTE(this=tcol, expression=self.time_point(plan.time_range.start)))
            if plan.time_range.end is not None:
                where.append(exp.LT(this=tcol.copy(),
                                    expression=self.time_point(plan.time_range.end)))
        where += [self.filter(f) for f in plan.filters]
        if where:
            select = select.where(all_of(where))
        if agg is None:
            names = plan.project or [c.name for c in plan.computed]
            if not plan.project:
                select = select.select(exp.Star())
            for p in names:
                select = select.select(exp.alias_(self.ref(p), self.ident(p))
                                       if p in self.names.computed else self.ref(p), append=True)
        else:
            by_name = dict(self.outputs())
            for name in plan.project or list(by_name):
                self.names.output(name)
                select = select.select(by_name[name], append=True)
            if self._distinct_form():
                select = select.distinct()
            else:
                # A constant key (a computed literal) groups nothing; written bare it would even
                # be a column position (`GROUP BY 2`). It stays in the SELECT list.
                groups = [k for k in (self.ref(g) for g in agg.group_by) if not constant(k)]
                if agg.time_bucket:
                    groups.append(self.bucket())
                if groups:
                    select = select.group_by(*groups)
            if plan.having:
                select = select.having(all_of([self.filter(h, after_agg=True)
                                               for h in plan.having]))
        selected = {e.alias_or_name for e in select.expressions}
        for s in plan.sort:
            key = self._order_key(s.field, s.descending, selected)
            if key is not None:
                select = select.order_by(key, append=True)
        if plan.limit:
            select = select.limit(plan.limit)
        return select

    def _distinct_form(self) -> bool:
        """Is this group-by-only aggregation ("the distinct values of …") `SELECT DISTINCT`?

        Only when DISTINCT over the selected columns makes the same rows as grouping: every
        group key is selected (a hidden key would merge rows KQL and SPL keep apart, one per
        key combination), every sort key is selected (DISTINCT can only order by what it
        selects), and there is no HAVING (which needs a GROUP BY)."""
        plan, agg = self.plan, self.plan.aggregation
        assert agg is not None
        shown = set(plan.project or agg.group_by)
        return not agg.metrics and not agg.time_bucket and not plan.having \
            and set(agg.group_by) <= shown and {s.field for s in plan.sort} <= shown

    def _order_key(self, name: str, desc: bool, selected: set[str]) -> exp.Ordered | None:
        """The ORDER BY item for a sort key; None for a constant one (a computed literal that
        is not selected): sorting by it is a no-op, and the bare literal would be refused
        (T-SQL, DuckDB for `0.5`) or read as a column position (`ORDER BY 2`)."""
        if self.plan.aggregation is not None:
            out = self.names.output(name)
            key = self.column(out) if out in selected else self.agg_ref(name)
        elif name in self.names.computed:
            key = self.column(name) if name in selected else self.ref(name)
        else:
            key = self.ref(name)
        if constant(key):
            return None
        nulls_first = self._natural_nulls_first(desc)
        if desc and nulls_first and self._nulls_last_matters(name):
            nulls_first = False  # KQL's placement: NULLs after the values in a descending sort
        return exp.Ordered(this=key, desc=desc, nulls_first=nulls_first)


def constant(e: exp.Expression) -> bool:
    """Does `e` read no column and aggregate nothing (a literal, or arithmetic on literals)?
    As a GROUP BY or ORDER BY key it is a no-op, and a bare integer there is a position."""
    return e.find(exp.Column, exp.AggFunc, exp.Star) is None


