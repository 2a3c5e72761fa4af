"""SQL idioms of the transactional databases: PostgreSQL, SQL Server (T-SQL), MySQL, SQLite.
See `sql.idioms` for the conventions every idiom follows."""

from __future__ import annotations

from datetime import datetime

from sqlglot import exp

from lexiquery.dialects.base import iso_seconds
from lexiquery.dialects.sql.idioms import (
    _UNIT_SECONDS,
    EPOCH,
    DateAddIdiom,
    Idiom,
    cast,
    coarsest_unit,
    fn,
    idiv,
    lit,
    non_null_array_agg,
    num,
    plural,
    unit_var,
)
from lexiquery.ir import TimeBucket, TimeUnit


class Postgres(Idiom):
    name = "postgres"
    native_uuid = True
    ilike = True
    like_backslash = True

    def now(self) -> exp.Expression:
        return fn("NOW")

    def ago(self, n: int, unit: TimeUnit) -> exp.Expression:
        return exp.Sub(this=self.now(), expression=exp.Interval(this=lit(plural(n, unit))))

    def days_ago(self, n: int) -> exp.Expression:
        return exp.Sub(this=self.today(),
                       expression=exp.Interval(this=lit(plural(n, TimeUnit.day))))

    def start_of_day(self, e: exp.Expression) -> exp.Expression:
        return fn("DATE_TRUNC", lit("day"), e)

    def trunc(self, col: exp.Expression, unit: TimeUnit) -> exp.Expression:
        return fn("DATE_TRUNC", lit(unit.value), col)

    def bucket(self, col: exp.Expression, tb: TimeBucket) -> exp.Expression:
        # PostgreSQL 14+; the untyped origin literal takes the column's own type.
        unit = coarsest_unit(tb.seconds)
        return fn("DATE_BIN", lit(plural(tb.seconds // _UNIT_SECONDS[unit], unit)), col,
                  lit(EPOCH))

    def value_set(self, col: exp.Expression) -> exp.Expression | None:
        return non_null_array_agg(col, distinct=True)  # ARRAY_AGG keeps NULLs in postgres

    def value_list(self, col: exp.Expression) -> exp.Expression | None:
        return non_null_array_agg(col, distinct=False)

    def text(self, e: exp.Expression) -> exp.Expression:
        return exp.cast(e, "TEXT")


class TSql(DateAddIdiom):
    name = "tsql"
    native_uuid = True
    like_brackets = True

    def now(self) -> exp.Expression:
        return fn("SYSUTCDATETIME")

    def today(self) -> exp.Expression:
        return exp.cast(self.now(), "DATE")

    def start_of_day(self, e: exp.Expression) -> exp.Expression:
        return exp.cast(e, "DATE")

    def absolute(self, at: datetime) -> exp.Expression:
        # ISO 8601 with a `T` reads the same under every SET LANGUAGE / DATEFORMAT.
        return cast(lit(iso_seconds(at)), "DATETIME2", "tsql")

    def trunc(self, col: exp.Expression, unit: TimeUnit) -> exp.Expression:
        if unit is TimeUnit.second:
            return self.bucket(col, TimeBucket(amount=1, unit=unit))
        # The classic DATEADD(unit, DATEDIFF(unit, 0, col), 0): any SQL Server version.
        return fn("DATEADD", unit_var(unit), fn("DATEDIFF", unit_var(unit), num(0), col), num(0))

    def bucket(self, col: exp.Expression, tb: TimeBucket) -> exp.Expression:
        unit = coarsest_unit(tb.seconds)
        k = tb.seconds // _UNIT_SECONDS[unit]
        # Day 0 (1900-01-01) is a midnight, so it aligns buckets that divide a day like 1970
        # does; seconds since 1900 overflow DATEDIFF's int, and 7-day buckets need 1970.
        base: exp.Expression = num(0) if unit is not TimeUnit.second and 86400 % tb.seconds == 0 \
            else lit(EPOCH)
        diff = fn("DATEDIFF", unit_var(unit), base.copy(), col)
        return fn("DATEADD", unit_var(unit), exp.Mul(this=idiv(diff, k), expression=num(k)),
                  base)

    def percentile(self, col: exp.Expression, p: float) -> exp.Expression | None:
        # SQL Server 2022+ / Azure SQL; PERCENTILE_CONT is only a window function there.
        return exp.WithinGroup(this=fn("APPROX_PERCENTILE_CONT", num(p)),
                               expression=exp.Order(expressions=[exp.Ordered(this=col)]))

    value_set_hint = ("STRING_AGG takes no DISTINCT; 'list' gives every value (duplicates "
                      "kept), or group by the field for one row per value")

    def value_set(self, col: exp.Expression) -> exp.Expression | None:
        return None  # STRING_AGG(DISTINCT …) does not exist; a DISTINCT subquery is no aggregate

    def value_list(self, col: exp.Expression) -> exp.Expression | None:
        """Text, not an array: the values joined by ", " (SQL Server 2017+; NULLs skipped).
        The NVARCHAR(MAX) input lifts STRING_AGG's 4000/8000-byte result limit, which any
        busy group would hit with an error."""
        return exp.GroupConcat(this=self.text(col), separator=lit(", "))

    def regex(self, col: exp.Expression, pattern: str, cs: bool) -> exp.Expression | None:
        return None  # REGEXP_LIKE arrives only with SQL Server 2025

    def exact(self, col: exp.Expression) -> exp.Expression:
        return exp.Collate(this=col, expression=exp.var("Latin1_General_CS_AS"))

    def text(self, e: exp.Expression) -> exp.Expression:
        return cast(e, "NVARCHAR(MAX)", "tsql")


class MySql(Idiom):
    name = "mysql"
    like_backslash = True

    def now(self) -> exp.Expression:
        return fn("UTC_TIMESTAMP")

    def today(self) -> exp.Expression:
        return fn("UTC_DATE")

    def start_of_day(self, e: exp.Expression) -> exp.Expression:
        return fn("DATE", e)

    def absolute(self, at: datetime) -> exp.Expression:
        return fn("TIMESTAMP", lit(iso_seconds(at, " ")))

    def trunc(self, col: exp.Expression, unit: TimeUnit) -> exp.Expression:
        return self.bucket(col, TimeBucket(amount=1, unit=unit))

    def bucket(self, col: exp.Expression, tb: TimeBucket) -> exp.Expression:
        # Wall-clock arithmetic from 1970: unlike UNIX_TIMESTAMP() it ignores the session zone.
        unit = coarsest_unit(tb.seconds)
        k = tb.seconds // _UNIT_SECONDS[unit]
        diff: exp.Expression = fn("TIMESTAMPDIFF", unit_var(unit), lit(EPOCH), col)
        if k > 1:
            diff = exp.Mul(this=exp.IntDiv(this=diff, expression=num(k)), expression=num(k))
        return fn("TIMESTAMPADD", unit_var(unit), diff, fn("TIMESTAMP", lit(EPOCH)))

    def percentile(self, col: exp.Expression, p: float) -> exp.Expression | None:
        return None

    def value_set(self, col: exp.Expression) -> exp.Expression | None:
        """Text, not an array: the distinct values joined by "," (NULLs skipped). MySQL cuts
        the text at `group_concat_max_len` bytes (1024 by default) with only a warning: raise
        it for large groups."""
        return exp.GroupConcat(this=exp.Distinct(expressions=[col]))

    def value_list(self, col: exp.Expression) -> exp.Expression | None:
        """Text, as `value_set`, duplicates kept."""
        return exp.GroupConcat(this=col)

    def regex(self, col: exp.Expression, pattern: str, cs: bool) -> exp.Expression | None:
        return fn("REGEXP_LIKE", col, lit(pattern), lit("c" if cs else "i"))

    def exact(self, col: exp.Expression) -> exp.Expression:
        return exp.cast(col, "BINARY")  # byte comparison whatever the column's collation

    def text(self, e: exp.Expression) -> exp.Expression:
        return exp.cast(e, "CHAR")


class Sqlite(Idiom):
    name = "sqlite"
    regex_flag = True

    def now(self) -> exp.Expression:
        return fn("DATETIME", lit("now"))

    def ago(self, n: int, unit: TimeUnit) -> exp.Expression:
        return fn("DATETIME", lit("now"), lit(f"-{plural(n, unit)}"))

    def today(self) -> exp.Expression:
        return fn("DATETIME", lit("now"), lit("start of day"))

    def days_ago(self, n: int) -> exp.Expression:
        return fn("DATETIME", lit("now"), lit("start of day"), lit(f"-{plural(n, TimeUnit.day)}"))

    def start_of_day(self, e: exp.Expression) -> exp.Expression:
        if isinstance(e, exp.Anonymous) and e.name == "DATETIME":  # add a modifier
            return fn("DATETIME", *[a.copy() for a in e.expressions], lit("start of day"))
        return fn("DATETIME", e, lit("start of day"))

    def absolute(self, at: datetime) -> exp.Expression:
        return lit(iso_seconds(at, " "))  # SQLite compares its own 'YYYY-MM-DD HH:MM:SS' text

    def trunc(self, col: exp.Expression, unit: TimeUnit) -> exp.Expression:
        if unit is TimeUnit.day:
            return fn("DATETIME", col, lit("start of day"))
        fmt = {TimeUnit.second: "%Y-%m-%d %H:%M:%S", TimeUnit.minute: "%Y-%m-%d %H:%M:00",
               TimeUnit.hour: "%Y-%m-%d %H:00:00"}[unit]
        return fn("STRFTIME", lit(fmt), col)

    def bucket(self, col: exp.Expression, tb: TimeBucket) -> exp.Expression:
        epoch = exp.cast(fn("STRFTIME", lit("%s"), col), "INTEGER")
        return fn("DATETIME", exp.Mul(this=idiv(epoch, tb.seconds), expression=num(tb.seconds)),
                  lit("unixepoch"))

    def percentile(self, col: exp.Expression, p: float) -> exp.Expression | None:
        return None

    def value_set(self, col: exp.Expression) -> exp.Expression | None:
        """Text, not an array: the distinct values joined by "," (NULLs skipped). With DISTINCT
        SQLite allows no separator argument, so "," it is, for `value_list` too."""
        return exp.GroupConcat(this=exp.Distinct(expressions=[col]))

    def value_list(self, col: exp.Expression) -> exp.Expression | None:
        """Text, as `value_set`, duplicates kept."""
        return exp.GroupConcat(this=col)

    def regex(self, col: exp.Expression, pattern: str, cs: bool) -> exp.Expression | None:
        # REGEXP calls the application-defined regexp() (Python's sqlite3, sqlean, the CLI's
        # extension); stock SQLite has none. `(?i)` is understood by PCRE and Python's re.
        return exp.RegexpLike(this=col, expression=lit(pattern if cs else "(?i)" + pattern))

    def glob(self, col: exp.Expression, value: str, kind: str) -> exp.Expression | None:
        # LIKE ignores ASCII case in SQLite; GLOB is its case-sensitive matcher.
        v = "".join(f"[{ch}]" if ch in "*?[" else ch for ch in value)
        pattern = {"contains": f"*{v}*", "startswith": f"{v}*", "endswith": f"*{v}"}[kind]
        return exp.Glob(this=col, expression=lit(pattern))

    def text(self, e: exp.Expression) -> exp.Expression:
        return exp.cast(e, "TEXT")
