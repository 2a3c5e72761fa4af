"""Per-dialect SQL idioms, as sqlglot nodes: time arithmetic, buckets, percentiles, collected
values (the IR's `values` and `list`), regexes, case-sensitive and pattern matching.

sqlglot transpiles most of a SELECT faithfully; these are the constructs where the text it
derives from a generic node is wrong or unidiomatic for some dialect (e.g. `INTERVAL 24 HOUR`
in Trino, which needs `INTERVAL '24' HOUR`; `DATE_TRUNC` in MySQL; `REGEXP_LIKE` in Snowflake,
which anchors the pattern). `Idiom` holds the generic, dialect-neutral nodes; one small subclass
per dialect overrides what that dialect writes differently: `sql.idioms_db` for PostgreSQL,
SQL Server, MySQL and SQLite, `sql.idioms_dw` for the analytical engines and warehouses.
Dialect-specific functions are `exp.Anonymous` nodes, which sqlglot prints verbatim: the tree is
still built node by node, no SQL text is ever concatenated.

Collected values follow KQL's make_set/make_list and SPL's values/list: NULLs are skipped, and
the elements come in no promised order. An array where the dialect has one (`ARRAY_AGG`,
`COLLECT_SET`, `groupArray`…); a delimited text where it has none (MySQL, SQLite, T-SQL,
Redshift), which each idiom's docstring says.

Time conventions: data is UTC (the IR's rule). "Now" is the UTC clock where the dialect has one
(`SYSUTCDATETIME()`, `UTC_TIMESTAMP()`); elsewhere it is the session clock, and "start of today"
follows the session time zone (postgres, duckdb, snowflake, trino, spark): set it to UTC to
match KQL and SPL exactly. Buckets are aligned to 1970-01-01 like KQL's `bin()`; a week bucket is
seven days from that Thursday, not a calendar week.
"""

from __future__ import annotations

from datetime import datetime

from sqlglot import exp

from lexiquery.dialects.base import iso_seconds
from lexiquery.ir import TimeBucket, TimeUnit

_UNIT_SECONDS = {TimeUnit.second: 1, TimeUnit.minute: 60, TimeUnit.hour: 3600,
                 TimeUnit.day: 86400}
EPOCH = "1970-01-01"


def fn(name: str, *args: exp.Expression) -> exp.Anonymous:
    """A function call printed exactly as named (sqlglot does not rewrite `Anonymous`)."""
    return exp.Anonymous(this=name, expressions=list(args))


def num(n: int | float) -> exp.Literal:
    return exp.Literal.number(n)


def lit(s: str) -> exp.Literal:
    return exp.Literal.string(s)


def unit_var(unit: TimeUnit) -> exp.Var:
    return exp.var(unit.value.upper())


def plural(n: int, unit: TimeUnit) -> str:
    return f"{n} {unit.value}{'' if n == 1 else 's'}"


def cast(e: exp.Expression, to: str, dialect: str | None = None) -> exp.Cast:
    """CAST to a type named in `dialect`'s own words (DATETIME2, NVARCHAR(MAX)…)."""
    return exp.Cast(this=e, to=exp.DataType.build(to, dialect=dialect))


def idiv(a: exp.Expression, b: int) -> exp.Div:
    """Integer division where both sides are integers (`typed`: no cast to a real)."""
    return exp.Div(this=a, expression=num(b), typed=True)


def non_null_array_agg(col: exp.Expression, distinct: bool) -> exp.Filter:
    """`ARRAY_AGG([DISTINCT] col) FILTER (WHERE col IS NOT NULL)`, for dialects whose ARRAY_AGG
    keeps NULLs. Built as a node: sqlglot's own `nulls_excluded` rendering of it pretty-prints
    a DISTINCT argument with stray indentation."""
    arg = exp.Distinct(expressions=[col]) if distinct else col
    return exp.Filter(this=exp.ArrayAgg(this=arg), expression=exp.Where(
        this=exp.Is(this=col.copy(), expression=exp.null(), negate=True)))


def coarsest_unit(seconds: int) -> TimeUnit:
    """The largest of day/hour/minute/second that divides `seconds` (5 minutes → minute)."""
    for unit in (TimeUnit.day, TimeUnit.hour, TimeUnit.minute):
        if seconds % _UNIT_SECONDS[unit] == 0:
            return unit
    return TimeUnit.second


class Idiom:
    """Dialect-neutral nodes; what `build_select(plan, source)` uses without a dialect."""

    name: str | None = None
    like_escape: str | None = "!"  # None: a backslash escapes and there is no ESCAPE clause
    like_brackets = False  # T-SQL: `[` is a LIKE wildcard too
    like_backslash = False  # a backslash is LIKE's default escape (so it must be disarmed)
    ilike = False  # ILIKE is the natural case-insensitive LIKE
    regex_flag = False  # case-insensitive regex through `(?i)` in the pattern
    # GUIDs live in a native UUID type that compares without case (and LOWER() may not take);
    # elsewhere they are text and LOWER(col) is needed like for any string.
    native_uuid = False

    # -------------------------------------------------------------- time points
    def now(self) -> exp.Expression:
        return exp.CurrentTimestamp()

    def ago(self, n: int, unit: TimeUnit) -> exp.Expression:
        return exp.Sub(this=self.now(), expression=exp.Interval(this=num(n), unit=unit_var(unit)))

    def today(self) -> exp.Expression:
        return exp.CurrentDate()

    def days_ago(self, n: int) -> exp.Expression:
        return exp.Sub(this=self.today(),
                       expression=exp.Interval(this=num(n), unit=exp.var("DAY")))

    def start_of_day(self, e: exp.Expression) -> exp.Expression:
        return exp.TimestampTrunc(this=e, unit=exp.var("DAY"))

    def absolute(self, at: datetime) -> exp.Expression:
        return exp.cast(lit(iso_seconds(at, " ")), "TIMESTAMP")

    # -------------------------------------------------------------- buckets
    def trunc(self, col: exp.Expression, unit: TimeUnit) -> exp.Expression:
        """A one-`unit` bucket (second, minute, hour or day)."""
        return exp.TimestampTrunc(this=col, unit=unit_var(unit))

    def bucket(self, col: exp.Expression, tb: TimeBucket) -> exp.Expression:
        """An N-unit bucket aligned to 1970-01-01, through epoch seconds."""
        secs = tb.seconds
        return exp.UnixToTime(this=exp.Mul(
            this=exp.Floor(this=idiv(exp.TimeToUnix(this=col), secs)), expression=num(secs)))

    # -------------------------------------------------------------- aggregates, matching
    def percentile(self, col: exp.Expression, p: float) -> exp.Expression | None:
        """`p` is a fraction (0.95); None when the dialect has no percentile aggregate."""
        return exp.WithinGroup(this=exp.PercentileCont(this=num(p)),
                               expression=exp.Order(expressions=[exp.Ordered(this=col)]))

    # Why `value_set` is None, for the PlanError (a dialect that returns None says it).
    value_set_hint = ""

    def value_set(self, col: exp.Expression) -> exp.Expression | None:
        """The distinct non-NULL values of `col` in a group (IR `values`); None when the dialect
        cannot aggregate them. Generic: `ARRAY_AGG(DISTINCT col)` marked NULL-free, which
        sqlglot transpiles with a NULL filter where ARRAY_AGG keeps NULLs and bare where it
        skips them (snowflake); the dialects that keep NULLs spell the filter out
        (`non_null_array_agg`)."""
        return exp.ArrayAgg(this=exp.Distinct(expressions=[col]), nulls_excluded=True)

    def value_list(self, col: exp.Expression) -> exp.Expression | None:
        """Every non-NULL value of `col` in a group, duplicates kept (IR `list`)."""
        return exp.ArrayAgg(this=col, nulls_excluded=True)

    def regex(self, col: exp.Expression, pattern: str, cs: bool) -> exp.Expression | None:
        """Unanchored regex search; None when the dialect has no regex."""
        if cs:
            return exp.RegexpLike(this=col, expression=lit(pattern))
        if self.regex_flag:
            return exp.RegexpLike(this=col, expression=lit("(?i)" + pattern))
        return exp.RegexpILike(this=col, expression=lit(pattern))

    def exact(self, col: exp.Expression) -> exp.Expression:
        """`col` compared case-sensitively (a no-op where `=` and LIKE already are)."""
        return col

    def glob(self, col: exp.Expression, value: str, kind: str) -> exp.Expression | None:
        """A case-sensitive contains/startswith/endswith where LIKE is not (SQLite)."""
        return None

    def text(self, e: exp.Expression) -> exp.Expression:
        return exp.cast(e, "VARCHAR")

    def number(self, e: exp.Expression, integer: bool) -> exp.Expression:
        """`e` as a number, NULL when it does not convert (KQL's toint, SPL's tonumber):
        TRY_CAST / SAFE_CAST where the dialect has it, sqlglot's choice of CAST elsewhere."""
        return exp.TryCast(this=e, to=exp.DataType.build("BIGINT" if integer else "DOUBLE"))


NEUTRAL = Idiom()


class DateAddIdiom(Idiom):
    """The DATEADD family (SQL Server, Snowflake): "n units ago" is DATEADD(unit, -n, now) and
    "n days ago" counts from today's midnight."""

    def ago(self, n: int, unit: TimeUnit) -> exp.Expression:
        return fn("DATEADD", unit_var(unit), num(-n), self.now())

    def days_ago(self, n: int) -> exp.Expression:
        return fn("DATEADD", exp.var("DAY"), num(-n), self.today())
