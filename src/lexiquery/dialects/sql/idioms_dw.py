"""SQL idioms of the analytical engines and warehouses: Redshift, DuckDB, BigQuery, Snowflake,
Trino, Spark, Databricks, ClickHouse. See `sql.idioms` for the conventions every idiom follows."""

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
    lit,
    non_null_array_agg,
    num,
    unit_var,
)
from lexiquery.dialects.sql.idioms_db import Postgres
from lexiquery.ir import TimeBucket, TimeUnit


class Redshift(Postgres):
    name = "redshift"
    native_uuid = False

    def now(self) -> exp.Expression:
        return fn("GETDATE")

    def bucket(self, col: exp.Expression, tb: TimeBucket) -> exp.Expression:
        secs = num(tb.seconds)
        epoch = exp.Extract(this=exp.var("EPOCH"), expression=col)
        offset = exp.Mul(this=exp.Mul(this=exp.Floor(this=exp.Div(this=epoch, expression=secs,
                                                                  typed=True)),
                                      expression=secs.copy()),
                         expression=exp.Interval(this=lit("1 second")))
        return exp.Add(this=exp.cast(lit("epoch"), "TIMESTAMP"), expression=offset)

    def value_set(self, col: exp.Expression) -> exp.Expression | None:
        """Text, not an array (Redshift has no ARRAY_AGG): the distinct values joined by ", ".
        LISTAGG skips NULLs and empty strings and fails past 64K bytes of result."""
        return exp.GroupConcat(this=exp.Distinct(expressions=[col]), separator=lit(", "))

    def value_list(self, col: exp.Expression) -> exp.Expression | None:
        """Text, as `value_set`, duplicates kept."""
        return exp.GroupConcat(this=col, separator=lit(", "))

    def text(self, e: exp.Expression) -> exp.Expression:
        return exp.cast(e, "VARCHAR")


class DuckDb(Idiom):
    name = "duckdb"
    native_uuid = True
    ilike = True

    def now(self) -> exp.Expression:
        return fn("NOW")

    def start_of_day(self, e: exp.Expression) -> exp.Expression:
        return fn("DATE_TRUNC", lit("day"), e)

    def trunc(self, col: exp.Expression, unit: TimeUnit) -> exp.Expression:
        return fn("DATE_TRUNC", lit(unit.value), col)

    def bucket(self, col: exp.Expression, tb: TimeBucket) -> exp.Expression:
        unit = coarsest_unit(tb.seconds)
        width = exp.Interval(this=num(tb.seconds // _UNIT_SECONDS[unit]), unit=unit_var(unit))
        # TIME_BUCKET's default origin (2000-01-03) is a midnight: only buckets that do not
        # divide a day need 1970 spelled out to match KQL.
        if 86400 % tb.seconds == 0:
            return fn("TIME_BUCKET", width, col)
        return fn("TIME_BUCKET", width, col, exp.cast(lit(EPOCH), "TIMESTAMP"))

    def percentile(self, col: exp.Expression, p: float) -> exp.Expression | None:
        return fn("QUANTILE_CONT", col, num(p))

    def value_set(self, col: exp.Expression) -> exp.Expression | None:
        return non_null_array_agg(col, distinct=True)  # DuckDB's ARRAY_AGG keeps NULLs

    def value_list(self, col: exp.Expression) -> exp.Expression | None:
        return non_null_array_agg(col, distinct=False)

    def regex(self, col: exp.Expression, pattern: str, cs: bool) -> exp.Expression | None:
        args = [col, lit(pattern)] + ([] if cs else [lit("i")])
        return fn("REGEXP_MATCHES", *args)

    def text(self, e: exp.Expression) -> exp.Expression:
        return exp.cast(e, "VARCHAR")


class BigQuery(Idiom):
    name = "bigquery"
    like_escape = None
    regex_flag = True

    def now(self) -> exp.Expression:
        return fn("CURRENT_TIMESTAMP")

    def ago(self, n: int, unit: TimeUnit) -> exp.Expression:
        return fn("TIMESTAMP_SUB", self.now(), exp.Interval(this=num(n), unit=unit_var(unit)))

    def today(self) -> exp.Expression:
        return self.start_of_day(self.now())

    def days_ago(self, n: int) -> exp.Expression:
        return fn("TIMESTAMP_SUB", self.today(),
                  exp.Interval(this=num(n), unit=exp.var("DAY")))

    def start_of_day(self, e: exp.Expression) -> exp.Expression:
        return fn("TIMESTAMP_TRUNC", e, exp.var("DAY"))

    def absolute(self, at: datetime) -> exp.Expression:
        # BigQuery's TIMESTAMP is an instant (UTC when no zone is given); DATETIME would not
        # compare with a TIMESTAMP column.
        return cast(lit(iso_seconds(at, " ")), "TIMESTAMP", "bigquery")

    def trunc(self, col: exp.Expression, unit: TimeUnit) -> exp.Expression:
        return fn("TIMESTAMP_TRUNC", col, unit_var(unit))

    def bucket(self, col: exp.Expression, tb: TimeBucket) -> exp.Expression:
        secs = num(tb.seconds)
        return fn("TIMESTAMP_SECONDS", exp.Mul(this=fn("DIV", fn("UNIX_SECONDS", col), secs),
                                               expression=secs.copy()))

    def percentile(self, col: exp.Expression, p: float) -> exp.Expression | None:
        # APPROX_QUANTILES(x, n)[OFFSET(i)]: i of n quantiles; 1000 when p has a decimal.
        n = 100 if round(p * 100, 6).is_integer() else 1000
        return exp.Bracket(this=fn("APPROX_QUANTILES", col, num(n)),
                           expressions=[fn("OFFSET", num(int(round(p * n))))])

    def value_set(self, col: exp.Expression) -> exp.Expression | None:
        # IGNORE NULLS, not FILTER (which BigQuery lacks): an array holding a NULL is an error
        # in a BigQuery result.
        return exp.IgnoreNulls(this=exp.ArrayAgg(this=exp.Distinct(expressions=[col])))

    def value_list(self, col: exp.Expression) -> exp.Expression | None:
        return exp.IgnoreNulls(this=exp.ArrayAgg(this=col))

    def regex(self, col: exp.Expression, pattern: str, cs: bool) -> exp.Expression | None:
        return fn("REGEXP_CONTAINS", col, lit(pattern if cs else "(?i)" + pattern))

    def text(self, e: exp.Expression) -> exp.Expression:
        return exp.cast(e, "STRING")


class Snowflake(DateAddIdiom):
    name = "snowflake"
    ilike = True
    like_backslash = True

    def now(self) -> exp.Expression:
        return fn("CURRENT_TIMESTAMP")

    def today(self) -> exp.Expression:
        return fn("CURRENT_DATE")

    def start_of_day(self, e: exp.Expression) -> exp.Expression:
        return fn("DATE_TRUNC", lit("day"), e)

    def trunc(self, col: exp.Expression, unit: TimeUnit) -> exp.Expression:
        return fn("DATE_TRUNC", lit(unit.value), col)

    def bucket(self, col: exp.Expression, tb: TimeBucket) -> exp.Expression:
        unit = coarsest_unit(tb.seconds)  # TIME_SLICE aligns to 1970-01-01 like KQL's bin()
        return fn("TIME_SLICE", col, num(tb.seconds // _UNIT_SECONDS[unit]),
                  lit(unit.value.upper()))

    def regex(self, col: exp.Expression, pattern: str, cs: bool) -> exp.Expression | None:
        # REGEXP_LIKE/RLIKE anchor the pattern at both ends; REGEXP_INSTR searches.
        return exp.GT(this=fn("REGEXP_INSTR", col, lit(pattern), num(1), num(1), num(0),
                              lit("c" if cs else "i")), expression=num(0))


class Trino(Idiom):
    name = "trino"
    native_uuid = True
    regex_flag = True

    def ago(self, n: int, unit: TimeUnit) -> exp.Expression:
        # Trino's interval literal takes a quoted number: INTERVAL '24' HOUR.
        return exp.Sub(this=self.now(),
                       expression=exp.Interval(this=lit(str(n)), unit=unit_var(unit)))

    def days_ago(self, n: int) -> exp.Expression:
        return exp.Sub(this=self.today(),
                       expression=exp.Interval(this=lit(str(n)), unit=exp.var("DAY")))

    def start_of_day(self, e: exp.Expression) -> exp.Expression:
        return fn("DATE_TRUNC", lit("day"), e)

    def trunc(self, col: exp.Expression, unit: TimeUnit) -> exp.Expression:
        return fn("DATE_TRUNC", lit(unit.value), col)

    def bucket(self, col: exp.Expression, tb: TimeBucket) -> exp.Expression:
        secs = num(tb.seconds)
        return fn("FROM_UNIXTIME", exp.Mul(this=exp.Floor(this=exp.Div(
            this=fn("TO_UNIXTIME", col), expression=secs, typed=True)), expression=secs.copy()))

    def percentile(self, col: exp.Expression, p: float) -> exp.Expression | None:
        return fn("APPROX_PERCENTILE", col, num(p))

    def value_set(self, col: exp.Expression) -> exp.Expression | None:
        return non_null_array_agg(col, distinct=True)  # Trino's ARRAY_AGG keeps NULLs

    def value_list(self, col: exp.Expression) -> exp.Expression | None:
        return non_null_array_agg(col, distinct=False)

    def regex(self, col: exp.Expression, pattern: str, cs: bool) -> exp.Expression | None:
        return fn("REGEXP_LIKE", col, lit(pattern if cs else "(?i)" + pattern))


class Spark(Idiom):
    name = "spark"
    ilike = True  # Spark 3.3+
    like_backslash = True
    regex_flag = True

    def now(self) -> exp.Expression:
        return fn("CURRENT_TIMESTAMP")

    def today(self) -> exp.Expression:
        return fn("CURRENT_DATE")

    def days_ago(self, n: int) -> exp.Expression:
        return fn("DATE_SUB", self.today(), num(n))

    def start_of_day(self, e: exp.Expression) -> exp.Expression:
        return fn("DATE_TRUNC", lit("DAY"), e)

    def trunc(self, col: exp.Expression, unit: TimeUnit) -> exp.Expression:
        return fn("DATE_TRUNC", lit(unit.value.upper()), col)

    def bucket(self, col: exp.Expression, tb: TimeBucket) -> exp.Expression:
        secs = num(tb.seconds)
        return fn("TIMESTAMP_SECONDS", exp.Mul(this=exp.Floor(this=exp.Div(
            this=fn("UNIX_SECONDS", col), expression=secs, typed=True)), expression=secs.copy()))

    def percentile(self, col: exp.Expression, p: float) -> exp.Expression | None:
        return fn("PERCENTILE_APPROX", col, num(p))

    def value_set(self, col: exp.Expression) -> exp.Expression | None:
        return exp.ArrayUniqueAgg(this=col)  # COLLECT_SET: NULLs skipped, order not kept

    def value_list(self, col: exp.Expression) -> exp.Expression | None:
        return exp.ArrayAgg(this=col)  # COLLECT_LIST skips NULLs itself

    def text(self, e: exp.Expression) -> exp.Expression:
        return exp.cast(e, "STRING")


class Databricks(Spark):
    name = "databricks"


class ClickHouse(Idiom):
    name = "clickhouse"
    native_uuid = True
    like_escape = None
    ilike = True
    regex_flag = True

    def now(self) -> exp.Expression:
        return fn("now")

    def today(self) -> exp.Expression:
        return fn("today")

    def start_of_day(self, e: exp.Expression) -> exp.Expression:
        return fn("toStartOfDay", e)

    def absolute(self, at: datetime) -> exp.Expression:
        if at.microsecond:  # DateTime has whole seconds; DateTime64(6) keeps the fraction
            return fn("toDateTime64", lit(iso_seconds(at, " ")), num(6), lit("UTC"))
        return fn("toDateTime", lit(iso_seconds(at, " ")), lit("UTC"))

    def trunc(self, col: exp.Expression, unit: TimeUnit) -> exp.Expression:
        return self.bucket(col, TimeBucket(amount=1, unit=unit))

    def bucket(self, col: exp.Expression, tb: TimeBucket) -> exp.Expression:
        unit = coarsest_unit(tb.seconds)
        return fn("toStartOfInterval", col, exp.Interval(
            this=num(tb.seconds // _UNIT_SECONDS[unit]), unit=unit_var(unit)))

    def percentile(self, col: exp.Expression, p: float) -> exp.Expression | None:
        return exp.Quantile(this=col, quantile=num(p))

    def value_set(self, col: exp.Expression) -> exp.Expression | None:
        return fn("groupUniqArray", col)  # NULLs skipped, like groupArray

    def value_list(self, col: exp.Expression) -> exp.Expression | None:
        return fn("groupArray", col)

    def regex(self, col: exp.Expression, pattern: str, cs: bool) -> exp.Expression | None:
        return fn("match", col, lit(pattern if cs else "(?i)" + pattern))

    def text(self, e: exp.Expression) -> exp.Expression:
        return fn("toString", e)

    def number(self, e: exp.Expression, integer: bool) -> exp.Expression:
        return fn("accurateCastOrNull", e, lit("Int64" if integer else "Float64"))
