"""QueryPlan → SQL, built as a sqlglot expression tree and emitted for one dialect.

The tree is never built by concatenating SQL text. The few constructs whose idiom differs per
dialect and that sqlglot does not transpile faithfully (current time arithmetic, start of day,
time buckets, percentiles) come from small per-dialect templates (`_DIALECT`) that are *parsed*
with the target dialect into tree nodes, with the column inserted as a node.

Case-insensitive string comparisons lower the column (`LOWER(col) = 'value'`) unless the value
has no letters; `contains`/`startswith`/`endswith` use `LIKE` with `%`, `_` and the escape
character in the value escaped, and an explicit `ESCAPE` clause.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

import sqlglot
from sqlglot import exp

from lexiquery.catalog.model import Platform, Source
from lexiquery.dialects.common import Names, coerce, has_letters, plan_error
from lexiquery.errors import DialectError
from lexiquery.ir import (
    AbsoluteTime,
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
    Operator,
    Or,
    QueryPlan,
    RelativeTime,
    TimeBucket,
    TimeUnit,
)


@dataclass(frozen=True)
class _Idiom:
    """Templates in the dialect's own SQL. {n} amount, {unit}/{UNIT} unit name, {col} column,
    {ts} 'YYYY-MM-DD HH:MM:SS', {sec} bucket seconds, {p} percentile fraction."""

    ago: str
    today: str
    days_ago: str  # start of the day {n} days ago
    absolute: str
    trunc: str  # 1-unit bucket
    bucket: str  # {sec}-second bucket
    percentile: str | None
    regex: str | None  # {col} {pat} — case-sensitive
    iregex: str | None


_DIALECT: dict[str, _Idiom] = {
    "postgres": _Idiom(
        "NOW() - INTERVAL '{n} {unit}'", "CURRENT_DATE", "CURRENT_DATE - INTERVAL '{n} day'",
        "TIMESTAMP '{ts}'", "DATE_TRUNC('{unit}', {col})",
        "TO_TIMESTAMP(FLOOR(EXTRACT(EPOCH FROM {col}) / {sec}) * {sec})",
        "PERCENTILE_CONT({p}) WITHIN GROUP (ORDER BY {col})", "{col} ~ {pat}", "{col} ~* {pat}"),
    "redshift": _Idiom(
        "GETDATE() - INTERVAL '{n} {unit}'", "TRUNC(GETDATE())",
        "DATEADD(day, -{n}, TRUNC(GETDATE()))", "CAST('{ts}' AS TIMESTAMP)",
        "DATE_TRUNC('{unit}', {col})",
        "TIMESTAMP 'epoch' + FLOOR(EXTRACT(EPOCH FROM {col}) / {sec}) * {sec} * INTERVAL '1 second'",
        "PERCENTILE_CONT({p}) WITHIN GROUP (ORDER BY {col})", "{col} ~ {pat}", "{col} ~* {pat}"),
    "tsql": _Idiom(
        "DATEADD({unit}, -{n}, SYSUTCDATETIME())", "CAST(CAST(SYSUTCDATETIME() AS DATE) AS DATETIME2)",
        "CAST(DATEADD(day, -{n}, CAST(SYSUTCDATETIME() AS DATE)) AS DATETIME2)",
        "CAST('{ts}' AS DATETIME2)", "DATEADD({unit}, DATEDIFF({unit}, 0, {col}), 0)",
        "DATEADD(second, (DATEDIFF_BIG(second, '1970-01-01', {col}) / {sec}) * {sec}, "
        "CAST('1970-01-01' AS DATETIME2))",
        None, "REGEXP_LIKE({col}, {pat})", "REGEXP_LIKE({col}, {pat}, 'i')"),
    "mysql": _Idiom(
        "UTC_TIMESTAMP() - INTERVAL {n} {UNIT}", "DATE(UTC_TIMESTAMP())",
        "DATE(UTC_TIMESTAMP()) - INTERVAL {n} DAY",
        "TIMESTAMP('{ts}')", "FROM_UNIXTIME(FLOOR(UNIX_TIMESTAMP({col}) / {sec}) * {sec})",
        "FROM_UNIXTIME(FLOOR(UNIX_TIMESTAMP({col}) / {sec}) * {sec})",
        None, "REGEXP_LIKE({col}, {pat}, 'c')", "REGEXP_LIKE({col}, {pat}, 'i')"),
    "sqlite": _Idiom(
        "DATETIME('now', '-{n} {unit}s')", "DATETIME('now', 'start of day')",
        "DATETIME('now', 'start of day', '-{n} days')", "'{ts}'",
        "DATETIME((CAST(STRFTIME('%s', {col}) AS INTEGER) / {sec}) * {sec}, 'unixepoch')",
        "DATETIME((CAST(STRFTIME('%s', {col}) AS INTEGER) / {sec}) * {sec}, 'unixepoch')",
        None, "{col} REGEXP {pat}", None),
    "duckdb": _Idiom(
        "NOW() - INTERVAL {n} {UNIT}", "CURRENT_DATE", "CURRENT_DATE - INTERVAL {n} DAY",
        "TIMESTAMP '{ts}'", "DATE_TRUNC('{unit}', {col})",
        "TIME_BUCKET(INTERVAL {sec} SECOND, {col})",
        "QUANTILE_CONT({col}, {p})", "REGEXP_MATCHES({col}, {pat})",
        "REGEXP_MATCHES({col}, {pat}, 'i')"),
    "bigquery": _Idiom(
        "TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL {n} {UNIT})", "TIMESTAMP(CURRENT_DATE())",
        "TIMESTAMP(DATE_SUB(CURRENT_DATE(), INTERVAL {n} DAY))", "TIMESTAMP '{ts}+00'",
        "TIMESTAMP_TRUNC({col}, {UNIT})",
        "TIMESTAMP_SECONDS(DIV(UNIX_SECONDS({col}), {sec}) * {sec})",
        "APPROX_QUANTILES({col}, 1000)[OFFSET({permille})]",
        "REGEXP_CONTAINS({col}, {pat})", "REGEXP_CONTAINS({col}, {ipat})"),
    "snowflake": _Idiom(
        "DATEADD({unit}, -{n}, CURRENT_TIMESTAMP())", "CURRENT_DATE()",
        "DATEADD(day, -{n}, CURRENT_DATE())", "'{ts}'::TIMESTAMP",
        "DATE_TRUNC('{unit}', {col})", "TIME_SLICE({col}, {sec}, 'SECOND')",
        "PERCENTILE_CONT({p}) WITHIN GROUP (ORDER BY {col})", "REGEXP_LIKE({col}, {pat})",
        "REGEXP_LIKE({col}, {pat}, 'i')"),
    "trino": _Idiom(
        "CURRENT_TIMESTAMP - INTERVAL '{n}' {UNIT}", "CAST(CURRENT_DATE AS TIMESTAMP)",
        "CAST(CURRENT_DATE - INTERVAL '{n}' DAY AS TIMESTAMP)", "TIMESTAMP '{ts}'",
        "DATE_TRUNC('{unit}', {col})",
        "FROM_UNIXTIME(FLOOR(TO_UNIXTIME({col}) / {sec}) * {sec})",
        "APPROX_PERCENTILE({col}, {p})", "REGEXP_LIKE({col}, {pat})",
        "REGEXP_LIKE({col}, {ipat})"),
}

SQL_DIALECTS: tuple[str, ...] = tuple(_DIALECT)
# Words that must be quoted as identifiers in at least one supported dialect.
_RESERVED = frozenset("""all alter and any as asc between by case cast check column constraint
create cross current current_date current_time current_timestamp current_user database default
delete desc distinct drop else end except exists false fetch for foreign from full grant group
having in index inner insert intersect interval into is join key left like limit natural not null
of offset on or order outer primary references right rows schema select session_user set some
table then time timestamp to top true union unique update user using values view when where with
date level size status value window""".split())
_SAFE = re.compile(r"^[a-z_][a-z0-9_]*$")
_ESCAPE = "!"


def ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=not _SAFE.match(name) or name in _RESERVED)


def column(name: str) -> exp.Column:
    return exp.Column(this=ident(name))


def table(name: str) -> exp.Table:
    parts = name.split(".")
    t = exp.Table(this=ident(parts[-1]))
    if len(parts) >= 2:
        t.set("db", ident(parts[-2]))
    if len(parts) >= 3:
        t.set("catalog", ident(parts[-3]))
    return t


def literal(v: object) -> exp.Expression:
    if v is None:
        return exp.null()
    if isinstance(v, bool):
        return exp.true() if v else exp.false()
    if isinstance(v, (int, float)):
        return exp.Literal.number(v)
    return exp.Literal.string(str(v))


def like_pattern(value: str, dialect: str) -> tuple[str, bool]:
    """`value` with LIKE's wildcards made literal, and whether an ESCAPE clause must follow.

    Most dialects take an explicit ``ESCAPE '!'``, which also overrides the backslash that
    postgres and mysql use by default (so a Windows path is safe). BigQuery has no ESCAPE
    clause: there the backslash escapes. T-SQL also treats ``[`` as a wildcard."""
    if dialect == "bigquery":
        out = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return out, False
    special = "%_\\" + _ESCAPE + ("[" if dialect == "tsql" else "")
    if not any(ch in value for ch in special):
        return value, False
    out = value.replace(_ESCAPE, _ESCAPE * 2)
    for ch in "%_" + ("[" if dialect == "tsql" else ""):
        out = out.replace(ch, _ESCAPE + ch)
    return out, True


class SqlBuilder:
    def __init__(self, plan: QueryPlan, source: Source, dialect: str) -> None:
        if dialect not in _DIALECT:
            raise DialectError(f"unknown SQL dialect {dialect!r}; supported: "
                               f"{', '.join(SQL_DIALECTS)}")
        self.plan = plan
        self.source = source
        self.dialect = dialect
        self.idiom = _DIALECT[dialect]
        self.names = Names(plan, source, Platform.sql)

    def ref(self, name: str) -> exp.Expression:
        """A field as an expression: its column, or a computed field's expression inlined (SQL
        cannot use a select alias in WHERE, GROUP BY or an aggregate)."""
        for c in self.plan.computed:
            if c.name == name:
                return self.expr(c.expr)  # arithmetic comes back parenthesised
        return column(self.names.column(name))

    def template(self, tmpl: str, **kw: object) -> exp.Expression:
        """Parse a dialect template; `col` is given as an expression and inlined as SQL."""
        col = kw.pop("col", None)
        if isinstance(col, exp.Expression):
            kw["col"] = col.sql(dialect=self.dialect)
        return sqlglot.parse_one(tmpl.format(**kw), read=self.dialect)

    # ------------------------------------------------------------------ time

    def value(self, v: object) -> exp.Expression:
        """A literal; datetimes in the dialect's own timestamp-literal form."""
        if isinstance(v, datetime):
            return self.time_point(AbsoluteTime(at=v))
        return literal(v)

    def time_point(self, p: RelativeTime | AbsoluteTime) -> exp.Expression:
        if isinstance(p, AbsoluteTime):
            at = p.at if p.at.tzinfo else p.at.replace(tzinfo=timezone.utc)
            ts = at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
            return self.template(self.idiom.absolute, ts=ts)
        n, unit = p.amount, p.unit
        if unit is TimeUnit.week:
            n, unit = n * 7, TimeUnit.day
        if p.snap == "day":
            days = n if unit is TimeUnit.day else 0
            if days == 0:
                return self.template(self.idiom.today)
            return self.template(self.idiom.days_ago, n=days)
        if n == 0:
            return self.template(self.idiom.ago.replace("{n}", "0"), unit=unit.value,
                                 UNIT=unit.value.upper())
        return self.template(self.idiom.ago, n=n, unit=unit.value, UNIT=unit.value.upper())

    def bucket(self, tb: TimeBucket) -> exp.Expression:
        col = column(self.names.time_column())
        if tb.amount == 1 and tb.unit is not TimeUnit.week and "{sec}" not in self.idiom.trunc:
            return self.template(self.idiom.trunc, col=col, unit=tb.unit.value,
                                 UNIT=tb.unit.value.upper())
        return self.template(self.idiom.bucket, col=col, sec=tb.seconds)

    # ------------------------------------------------------------------ conditions

    def condition(self, c: Condition, *, after_agg: bool = False) -> exp.Expression:
        col: exp.Expression = self.agg_ref(c.field) if after_agg else \
            self.ref(c.field)
        ftype = None if after_agg else self.names.field_type(c.field)
        op, cs = c.op, c.case_sensitive
        if op is Operator.exists:
            return exp.Not(this=exp.Is(this=col, expression=exp.null()))
        if op is Operator.not_exists:
            return exp.Is(this=col, expression=exp.null())
        vals = c.value if isinstance(c.value, list) else [c.value]
        typed = [coerce(v, ftype) for v in vals]  # type: ignore[arg-type]
        if op is Operator.regex:
            pat = str(c.value)
            tmpl = self.idiom.regex if cs else self.idiom.iregex
            if tmpl is None:
                raise plan_error("unsupported", f"regular expressions "
                                 f"{'' if cs else '(case-insensitive) '}are not available in "
                                 f"{self.dialect}", c.field)
            return self.template(tmpl, col=col, pat=exp.Literal.string(pat).sql(self.dialect),
                                 ipat=exp.Literal.string("(?i)" + pat).sql(self.dialect))
        fold = not cs and any(has_letters(v) for v in typed)
        lhs: exp.Expression = exp.Lower(this=col) if fold else col
        typed = [v.lower() if fold and isinstance(v, str) else v for v in typed]
        if op in {Operator.in_, Operator.not_in}:
            e: exp.Expression = exp.In(this=lhs, expressions=[self.value(v) for v in typed])
            return exp.Not(this=e) if op is Operator.not_in else e
        v = typed[0]
        cmp = {Operator.eq: exp.EQ, Operator.ne: exp.NEQ, Operator.gt: exp.GT,
               Operator.ge: exp.GTE, Operator.lt: exp.LT, Operator.le: exp.LTE}
        if op in cmp:
            return cmp[op](this=lhs, expression=self.value(v))
        s, needs_escape = like_pattern(str(v), self.dialect)
        pattern = {Operator.contains: f"%{s}%", Operator.not_contains: f"%{s}%",
                   Operator.has: f"%{s}%", Operator.startswith: f"{s}%",
                   Operator.endswith: f"%{s}"}[op]
        like: exp.Expression = exp.Like(this=lhs, expression=exp.Literal.string(pattern))
        if needs_escape:
            like = exp.Escape(this=like, expression=exp.Literal.string(_ESCAPE))
        return exp.Not(this=exp.paren(like)) if op is Operator.not_contains else like

    def filter(self, f: object, *, after_agg: bool = False) -> exp.Expression:
        if isinstance(f, Condition):
            return self.condition(f, after_agg=after_agg)
        if isinstance(f, And):
            return exp.and_(*[exp.paren(self.filter(i, after_agg=after_agg), copy=False)
                              if isinstance(i, Or) else self.filter(i, after_agg=after_agg)
                              for i in f.items])
        if isinstance(f, Or):
            return exp.paren(exp.or_(*[self.filter(i, after_agg=after_agg) for i in f.items]))
        if isinstance(f, Not):
            return exp.Not(this=exp.paren(self.filter(f.item, after_agg=after_agg)))
        raise TypeError(f"not a filter: {f!r}")

    # ------------------------------------------------------------------ expressions

    def expr(self, e: object) -> exp.Expression:
        if isinstance(e, FieldRef):
            return self.ref(e.name)
        if isinstance(e, Literal_):
            return literal(e.value)
        if isinstance(e, Compare):
            left = self.expr(e.left)
            if e.op is Operator.exists:
                return exp.Not(this=exp.Is(this=left, expression=exp.null()))
            if e.op is Operator.not_exists:
                return exp.Is(this=left, expression=exp.null())
            cmp = {Operator.eq: exp.EQ, Operator.ne: exp.NEQ, Operator.gt: exp.GT,
                   Operator.ge: exp.GTE, Operator.lt: exp.LT, Operator.le: exp.LTE}
            if e.op in cmp and e.right is not None:
                return cmp[e.op](this=left, expression=self.expr(e.right))
            raise plan_error("unsupported", f"'{e.op.value}' inside a computed field")
        if isinstance(e, Call):
            a = [self.expr(x) for x in e.args]
            binop = {Function.add: exp.Add, Function.sub: exp.Sub, Function.mul: exp.Mul,
                     Function.div: exp.Div, Function.mod: exp.Mod}
            if e.fn in binop:
                out = a[0]
                for x in a[1:]:
                    out = binop[e.fn](this=out, expression=x)
                return exp.paren(out)
            if e.fn is Function.lower:
                return exp.Lower(this=a[0])
            if e.fn is Function.upper:
                return exp.Upper(this=a[0])
            if e.fn is Function.length:
                return exp.Length(this=a[0])
            if e.fn is Function.concat:
                return exp.Concat(expressions=a)
            if e.fn is Function.substring:  # IR is 0-based; SQL SUBSTRING is 1-based
                start = exp.Add(this=a[1], expression=exp.Literal.number(1))
                return exp.Substring(this=a[0], start=start, length=a[2] if len(a) > 2 else None)
            if e.fn is Function.coalesce:
                return exp.Coalesce(this=a[0], expressions=a[1:])
            if e.fn is Function.if_:
                return exp.If(this=a[0], true=a[1], false=a[2] if len(a) > 2 else exp.null())
            to = {Function.to_string: "TEXT", Function.to_int: "BIGINT",
                  Function.to_real: "DOUBLE"}[e.fn]
            return exp.cast(a[0], to)
        raise TypeError(f"not an expression: {e!r}")

    # ------------------------------------------------------------------ aggregation

    def metric_expr(self, m: Metric) -> exp.Expression:
        f = self.ref(m.field) if m.field else None
        t = column(self.names.time_column()) if m.fn in {MetricFn.first_seen,
                                                         MetricFn.last_seen} else None
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
                return exp.Min(this=t)
            case MetricFn.last_seen:
                return exp.Max(this=t)
            case MetricFn.percentile:
                if self.idiom.percentile is None:
                    raise plan_error("unsupported", f"percentiles are not available as an "
                                     f"aggregate in {self.dialect}", m.field)
                p = (m.percentile or 0) / 100
                return self.template(self.idiom.percentile, col=f, p=repr(p),
                                     permille=int(round(p * 1000)))
        raise TypeError(m.fn)

    def agg_ref(self, name: str) -> exp.Expression:
        """An aggregation output as an expression usable in HAVING / ORDER BY (where most
        dialects do not accept select aliases)."""
        agg = self.plan.aggregation
        assert agg is not None
        if name in agg.group_by:
            return self.ref(name)
        for m in agg.metrics:
            if m.name == name:
                return self.metric_expr(m)
        if agg.time_bucket and name == self.source.time_field:
            return self.bucket(agg.time_bucket)
        self.names.output(name)  # raises unknown_field
        raise AssertionError

    # ------------------------------------------------------------------ statement

    def _natural_nulls_first(self, desc: bool) -> bool:
        """The target's own NULL placement, so no NULLS FIRST/LAST emulation clutters the
        ORDER BY (sqlglot otherwise adds CASE WHEN … IS NULL for T-SQL)."""
        ordering = sqlglot.Dialect.get_or_raise(self.dialect).NULL_ORDERING
        if ordering == "nulls_are_small":
            return not desc
        if ordering == "nulls_are_large":
            return desc
        return False

    def build(self) -> exp.Select:
        self.names.check_all()
        binding = self.source.bindings.sql
        assert binding is not None
        select = exp.Select().from_(table(binding.table))
        where: list[exp.Expression] = []
        tr = self.plan.time_range
        if tr is not None:
            tcol = column(self.names.time_column())
            where.append(exp.GTE(this=tcol.copy(), expression=self.time_point(tr.start)))
            if tr.end is not None:
                where.append(exp.LT(this=tcol.copy(), expression=self.time_point(tr.end)))
        where += [self.filter(f) for f in self.plan.filters]
        agg = self.plan.aggregation
        computed = {c.name: self.expr(c.expr) for c in self.plan.computed}
        if computed and agg is None and not self.plan.project:
            select = select.select(exp.Star(), append=True)
        if agg is None:
            cols = self.plan.project
            for p in cols:
                select = select.select(exp.alias_(computed[p], ident(p)) if p in computed
                                       else column(self.names.column(p)), append=True)
            if not cols and not computed:
                select = select.select(exp.Star())
            elif not cols:
                for name, e in computed.items():
                    select = select.select(exp.alias_(e, ident(name)), append=True)
        else:
            outputs: list[tuple[str, exp.Expression]] = []
            for g in agg.group_by:
                g_expr = self.ref(g)
                outputs.append((g, g_expr if isinstance(g_expr, exp.Column)
                                else exp.alias_(g_expr, ident(g))))
            if agg.time_bucket:
                tname = self.names.time_column()
                outputs.append((self.source.time_field or tname,
                                exp.alias_(self.bucket(agg.time_bucket), ident(tname))))
            for m in agg.metrics:
                outputs.append((m.name, exp.alias_(self.metric_expr(m), ident(m.name))))
            wanted = self.plan.project or [n for n, _ in outputs]
            by_name = dict(outputs)
            for name in wanted:
                self.names.output(name)
                select = select.select(by_name[name], append=True)
            groups = [self.ref(g) for g in agg.group_by]
            if agg.time_bucket:
                groups.append(self.bucket(agg.time_bucket))
            if groups:
                select = select.group_by(*groups)
            if not agg.metrics and not agg.time_bucket:
                select = select.distinct()
                select.set("group", None)
            for h in self.plan.having:
                select = select.having(self.filter(h, after_agg=True))
        if where:
            select = select.where(exp.and_(*where))
        selected = {e.alias_or_name for e in select.expressions}
        for s in self.plan.sort:
            if agg is not None:
                out = self.names.output(s.field)
                key: exp.Expression = exp.Column(this=ident(out)) if out in selected \
                    else self.agg_ref(s.field)
            else:
                key = column(self.names.column(s.field)) if s.field not in computed \
                    else exp.Column(this=ident(s.field))
            select = select.order_by(exp.Ordered(this=key, desc=s.descending,
                                                 nulls_first=self._natural_nulls_first(
                                                     s.descending)), append=True)
        if self.plan.limit:
            select = select.limit(self.plan.limit)
        return select


def build_select(plan: QueryPlan, source: Source, dialect: str = "postgres") -> exp.Select:
    """The statement as a sqlglot tree; dialect-specific nodes are made for `dialect`."""
    return SqlBuilder(plan, source, dialect).build()


def render_sql(plan: QueryPlan, source: Source, dialect: str = "postgres") -> str:
    tree = build_select(plan, source, dialect)
    return tree.sql(dialect=dialect, pretty=True)

