"""Time idioms of every SQL dialect read back: points in time and time buckets.

A point is read as "now (or the start of today), minus an amount, possibly snapped to the start
of its day" — the three things `RelativeTime` holds — whatever each dialect calls them:

* now: NOW(), CURRENT_TIMESTAMP, GETDATE(), GETUTCDATE(), SYSUTCDATETIME(), UTC_TIMESTAMP(),
  DATETIME('now'), ClickHouse now(), …;
* the start of today: CURRENT_DATE, UTC_DATE(), today(), CAST(now AS DATE), DATE(now),
  DATE_TRUNC('day', now), TIMESTAMP_TRUNC(now, DAY), toStartOfDay(now), DATETIME('now',
  'start of day');
* minus: `x - INTERVAL '24 hours'`, `x - INTERVAL 24 HOUR`, DATEADD(hour, -24, x),
  DATE_SUB / TIMESTAMP_SUB / DATETIME_SUB(x, INTERVAL n unit), DATE_SUB(x, n) (Spark: days),
  TIMESTAMPADD(unit, -n, x), DATETIME('now', '-24 hours'), subtractHours(x, n)…

Literal timestamps (`'2024-03-01'`, CAST('…' AS TIMESTAMP), TIMESTAMP '…', TIMESTAMP('…'),
toDateTime('…')) are `AbsoluteTime`.

A bucket is the time column floored to N units: DATE_TRUNC / TIMESTAMP_TRUNC (1 unit), DATE_BIN,
TIME_BUCKET, TIME_SLICE, toStartOfInterval, and the epoch arithmetic of T-SQL (DATEADD(u,
DATEDIFF(u, 0, t) / k * k, 0)), MySQL (TIMESTAMPADD/TIMESTAMPDIFF from 1970), SQLite (STRFTIME,
DATETIME(… 'unixepoch')), BigQuery/Spark/Trino (seconds since the epoch, divided and
multiplied back) and Redshift (EXTRACT(EPOCH …)).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Callable

from sqlglot import exp

from lexiquery.dialects.base import parse_datetime
from lexiquery.dialects.sql.parse_expr import fn_name, number, type_name, unparen
from lexiquery.ir import UNIT_SECONDS, AbsoluteTime, RelativeTime, TimeBucket, TimeUnit

IsTimeCol = Callable[[exp.Column], bool]  # does this column name the source's time field?
_UNITS = {"s": TimeUnit.second, "sec": TimeUnit.second, "second": TimeUnit.second,
          "ss": TimeUnit.second, "mi": TimeUnit.minute, "n": TimeUnit.minute,
          "min": TimeUnit.minute, "minute": TimeUnit.minute, "h": TimeUnit.hour,
          "hh": TimeUnit.hour, "hr": TimeUnit.hour, "hour": TimeUnit.hour, "d": TimeUnit.day,
          "dd": TimeUnit.day, "day": TimeUnit.day, "w": TimeUnit.week, "wk": TimeUnit.week,
          "week": TimeUnit.week}
_NOW = {"NOW", "GETDATE", "GETUTCDATE", "SYSUTCDATETIME", "SYSDATETIME", "UTC_TIMESTAMP",
        "CURRENT_TIMESTAMP", "LOCALTIMESTAMP", "SYSDATE", "CURRENT_DATETIME",
        "TRANSACTION_TIMESTAMP", "STATEMENT_TIMESTAMP", "CLOCK_TIMESTAMP", "UTCNOW"}
_TODAY = {"CURRENT_DATE", "UTC_DATE", "TODAY", "CURDATE"}
_SUBTRACT_FNS = {"SUBTRACTSECONDS": TimeUnit.second, "SUBTRACTMINUTES": TimeUnit.minute,
                 "SUBTRACTHOURS": TimeUnit.hour, "SUBTRACTDAYS": TimeUnit.day,
                 "SUBTRACTWEEKS": TimeUnit.week}
_DATE_TYPES = {"DATE", "DATE32"}
_TIME_TYPES = {"TIMESTAMP", "TIMESTAMPTZ", "TIMESTAMPNTZ", "TIMESTAMPLTZ", "DATETIME",
               "DATETIME2", "DATETIMEOFFSET", "SMALLDATETIME", "DATETIME64", "DATE"}
_SQLITE_FORMATS = {"%Y-%m-%d %H:%M:%S": TimeUnit.second, "%Y-%m-%d %H:%M:00": TimeUnit.minute,
                   "%Y-%m-%d %H:00:00": TimeUnit.hour, "%Y-%m-%d": TimeUnit.day,
                   "%Y-%m-%d 00:00:00": TimeUnit.day}


def unit_of(node: exp.Expression | str | None) -> TimeUnit | None:
    """HOUR, 'hours', hh, DAYS… as a TimeUnit."""
    if node is None:
        return None
    word = node if isinstance(node, str) else node.name
    word = word.strip().lower()
    if word.endswith("s") and word[:-1] in _UNITS:
        word = word[:-1]
    return _UNITS.get(word)


def interval_seconds(node: exp.Expression) -> int | None:
    """INTERVAL '24 hours', INTERVAL 24 HOUR, INTERVAL '24' HOUR, '5 minutes' in seconds."""
    node = unparen(node)
    if isinstance(node, exp.Interval):
        unit = unit_of(node.args.get("unit"))
        n = number(node.this)
        if unit is not None and n is not None and float(n).is_integer():
            return int(n) * UNIT_SECONDS[unit]
        if unit is None and isinstance(node.this, exp.Literal):
            return text_seconds(node.this.this)
        return None
    if isinstance(node, exp.Literal) and node.is_string:
        return text_seconds(node.this)
    return None


def text_seconds(text: str) -> int | None:
    """'24 hours', '-36 hours', '1 day' in seconds (the sign kept)."""
    m = re.fullmatch(r"\s*([+-]?\d+)\s*([A-Za-z]+)\s*", text)
    if not m:
        return None
    unit = unit_of(m.group(2))
    return int(m.group(1)) * UNIT_SECONDS[unit] if unit else None


class _Point:
    """now − `seconds`, snapped to the start of that day when `snap`."""

    def __init__(self, seconds: int = 0, snap: bool = False) -> None:
        self.seconds, self.snap = seconds, snap

    def minus(self, seconds: int) -> "_Point | None":
        if self.snap and seconds % 86400:  # "start of today minus 3 hours" has no IR form
            return None
        return _Point(self.seconds + seconds, self.snap)

    def relative(self) -> RelativeTime | None:
        if self.seconds < 0:
            return None
        s = self.seconds
        for unit in (TimeUnit.week, TimeUnit.day, TimeUnit.hour, TimeUnit.minute):
            if self.snap and unit is TimeUnit.week:
                continue
            if s % UNIT_SECONDS[unit] == 0 and s:
                return RelativeTime(amount=s // UNIT_SECONDS[unit], unit=unit,
                                    snap="day" if self.snap else None)
        return RelativeTime(amount=s, unit=TimeUnit.day if self.snap and s == 0
                            else TimeUnit.second, snap="day" if self.snap else None)


def time_point(node: exp.Expression) -> RelativeTime | AbsoluteTime | None:
    """The point in time `node` denotes, or None when it is not one of the idioms."""
    at = absolute_time(node)
    if at is not None:
        return AbsoluteTime(at=at)
    p = _point(node)
    return p.relative() if p is not None else None


def absolute_time(node: exp.Expression) -> datetime | None:
    node = unparen(node)
    if isinstance(node, exp.Literal) and node.is_string:
        text = re.sub(r"\s*(UTC|GMT)$", "", node.this.strip(), flags=re.IGNORECASE)
        return parse_datetime(text) if re.match(r"\d{4}-\d\d-\d\d", text) else None
    if isinstance(node, (exp.Cast, exp.TryCast)) and type_name(node.args.get("to")) in \
            _TIME_TYPES and isinstance(node.this, exp.Literal):
        return absolute_time(node.this)
    if isinstance(node, (exp.Timestamp, exp.TimeStrToTime, exp.TsOrDsToTimestamp,
                         exp.TsOrDsToDate)) and isinstance(node.this, exp.Literal):
        return absolute_time(node.this)
    if isinstance(node, exp.Anonymous) and fn_name(node) in {
            "TODATETIME", "TODATETIME64", "TIMESTAMP", "DATETIME", "PARSEDATETIMEBESTEFFORT"} \
            and node.expressions and isinstance(node.expressions[0], exp.Literal):
        return absolute_time(node.expressions[0])
    return None


def _point(node: exp.Expression) -> _Point | None:
    node = unparen(node)
    name = fn_name(node)
    if isinstance(node, (exp.CurrentTimestamp, exp.UtcTimestamp, exp.CurrentDatetime)) or (
            isinstance(node, exp.Anonymous) and name in _NOW and not node.expressions):
        return _Point()
    if isinstance(node, (exp.CurrentDate, exp.UtcDate)) or (
            isinstance(node, exp.Anonymous) and name in _TODAY and not node.expressions):
        return _Point(snap=True)
    if isinstance(node, exp.Anonymous) and name in {"DATETIME", "DATE"} and node.expressions \
            and all(isinstance(a, exp.Literal) and a.is_string for a in node.expressions) \
            and node.expressions[0].this.lower() == "now":
        return _sqlite_modifiers([a.this for a in node.expressions[1:]],
                                 snap=name == "DATE")
    if isinstance(node, exp.Sub):
        base, secs = _point(node.this), interval_seconds(node.expression)
        return base.minus(secs) if base is not None and secs is not None else None
    if isinstance(node, (exp.DateAdd, exp.DateSub, exp.TimestampAdd, exp.TimestampSub,
                         exp.DatetimeAdd, exp.DatetimeSub, exp.TsOrDsAdd, exp.DateDiff)) and \
            not isinstance(node, exp.DateDiff):
        return _date_add(node)
    if isinstance(node, exp.TimestampTrunc) or isinstance(node, exp.DateTrunc):
        if unit_of(node.args.get("unit")) is not TimeUnit.day:
            return None
        return _snap(_point(node.this))
    if isinstance(node, (exp.Cast, exp.TryCast)) and type_name(node.args.get("to")) in \
            _DATE_TYPES:
        return _snap(_point(node.this))
    if isinstance(node, (exp.TsOrDsToDate, exp.Date)) and node.this is not None:
        return _snap(_point(node.this))
    if isinstance(node, exp.Anonymous) and name in {"TOSTARTOFDAY", "DATE", "TODATE"} and \
            len(node.expressions) == 1:
        return _snap(_point(node.expressions[0]))
    if isinstance(node, exp.Anonymous) and name in _SUBTRACT_FNS and len(node.expressions) == 2:
        base, n = _point(node.expressions[0]), number(node.expressions[1])
        if base is None or not isinstance(n, int):
            return None
        return base.minus(n * UNIT_SECONDS[_SUBTRACT_FNS[name]])
    if isinstance(node, exp.Anonymous) and name in {"DATEADD", "TIMESTAMPADD", "DATE_SUB",
                                                   "TIMESTAMP_SUB", "DATE_ADD"}:
        return _anon_date_add(node)
    return None


def _snap(p: _Point | None) -> _Point | None:
    return _Point(p.seconds, True) if p is not None else None


def _sqlite_modifiers(mods: list[str], snap: bool) -> _Point | None:
    """DATETIME('now', '-24 hours', 'start of day', …): modifiers apply left to right."""
    p: _Point | None = _Point()
    for m in mods:
        if p is None:
            return None
        if m.strip().lower() == "start of day":
            p = _snap(p)
            continue
        secs = text_seconds(m)
        if secs is None:
            return None
        p = p.minus(-secs)
    return _snap(p) if snap else p


def _date_add(node: exp.Expression) -> _Point | None:
    """DATEADD(unit, -n, x) / DATE_SUB(x, INTERVAL n unit) / TIMESTAMP_SUB / DATE_SUB(x, n)."""
    base = _point(node.this)
    if base is None:
        return None
    amount = node.expression
    unit = unit_of(node.args.get("unit")) or TimeUnit.day
    secs: int | None
    if isinstance(unparen(amount), exp.Interval):
        secs = interval_seconds(amount)
    else:
        amount = unparen(amount)
        if isinstance(amount, exp.Mul):  # Spark DATE_SUB(x, n) reads as x + n * -1
            a, b = number(amount.this), number(amount.expression)
            n = a * b if a is not None and b is not None else None
        else:
            n = number(amount)
        secs = int(n) * UNIT_SECONDS[unit] if n is not None and float(n).is_integer() else None
    if secs is None:
        return None
    subtract = isinstance(node, (exp.DateSub, exp.TimestampSub, exp.DatetimeSub))
    return base.minus(secs if subtract else -secs)


def _anon_date_add(node: exp.Anonymous) -> _Point | None:
    args, name = node.expressions, fn_name(node)
    if name in {"DATEADD", "TIMESTAMPADD"} and len(args) == 3:
        unit, n, base = unit_of(args[0]), number(args[1]), _point(args[2])
        if unit is None or base is None or not isinstance(n, int):
            return None
        return base.minus(-n * UNIT_SECONDS[unit])
    if len(args) == 2:
        base, secs = _point(args[0]), interval_seconds(args[1])
        if base is None or secs is None:
            return None
        return base.minus(secs if name.endswith("SUB") else -secs)
    return None


# --------------------------------------------------------------------------- buckets


def bucket_of(node: exp.Expression, is_time_col: IsTimeCol) -> TimeBucket | None:
    """The bucket `node` computes from the time column (`is_time_col(column_node)`), or None."""
    secs = _bucket_seconds(unparen(node), is_time_col)
    if not secs or secs <= 0:
        return None
    for unit in (TimeUnit.week, TimeUnit.day, TimeUnit.hour, TimeUnit.minute, TimeUnit.second):
        if secs % UNIT_SECONDS[unit] == 0:
            return TimeBucket(amount=secs // UNIT_SECONDS[unit], unit=unit)
    return None


def _is_col(node: exp.Expression | None, is_time_col: IsTimeCol) -> bool:
    if node is None:
        return False
    node = unparen(node)
    if isinstance(node, (exp.TimeStrToTime, exp.TsOrDsToTimestamp, exp.Cast)):
        node = unparen(node.this)  # sqlglot's own wrapping of a column it reads as text
    return isinstance(node, exp.Column) and is_time_col(node)


def _bucket_seconds(node: exp.Expression, is_time_col: IsTimeCol) -> int | None:
    name = fn_name(node)
    if isinstance(node, (exp.TimestampTrunc, exp.DateTrunc, exp.DatetimeTrunc)) and \
            _is_col(node.this, is_time_col):
        unit = unit_of(node.args.get("unit"))
        return UNIT_SECONDS[unit] if unit else None
    if isinstance(node, exp.DateBin) and _is_col(node.expression, is_time_col):
        return interval_seconds(node.this)
    if isinstance(node, exp.TimeSlice) and _is_col(node.this, is_time_col):
        n, unit = number(node.expression), unit_of(node.args.get("unit"))
        return int(n) * UNIT_SECONDS[unit] if isinstance(n, int) and unit else None
    if isinstance(node, exp.Anonymous):
        args = node.expressions
        if name == "TOSTARTOFINTERVAL" and len(args) == 2 and _is_col(args[0], is_time_col):
            return interval_seconds(args[1])
        simple = {"TOSTARTOFSECOND": 1, "TOSTARTOFMINUTE": 60, "TOSTARTOFHOUR": 3600,
                  "TOSTARTOFDAY": 86400, "TOSTARTOFFIVEMINUTES": 300,
                  "TOSTARTOFFIFTEENMINUTES": 900}
        if name in simple and len(args) == 1 and _is_col(args[0], is_time_col):
            return simple[name]
        if name in {"TIME_BUCKET", "DATE_BIN"} and len(args) >= 2 and \
                _is_col(args[1], is_time_col):
            return interval_seconds(args[0])
        if name == "DATETIME" and len(args) == 2 and isinstance(args[1], exp.Literal):
            mod = args[1].this.lower()
            if mod == "start of day" and _is_col(args[0], is_time_col):
                return 86400
            if mod == "unixepoch":
                return _floor_mul(args[0], is_time_col, 1)
        if name in {"TIMESTAMP_SECONDS", "FROM_UNIXTIME", "TO_TIMESTAMP"} and len(args) == 1:
            return _floor_mul(args[0], is_time_col, 1)
    if isinstance(node, exp.TimeToStr) and _is_col(node.this, is_time_col):
        fmt = node.args.get("format")
        unit = _SQLITE_FORMATS.get(fmt.this) if isinstance(fmt, exp.Literal) else None
        return UNIT_SECONDS[unit] if unit else None
    if isinstance(node, (exp.UnixToTime,)):
        return _floor_mul(node.this, is_time_col, 1)
    if isinstance(node, exp.DateAdd) and not isinstance(node.this, exp.Column):
        # T-SQL: DATEADD(unit, DATEDIFF(unit, 0, t) [/ k * k], 0)
        unit = unit_of(node.args.get("unit"))
        if unit is None:
            return None
        return _diff_steps(node.expression, is_time_col, unit)
    if isinstance(node, exp.TimestampAdd):  # MySQL: TIMESTAMPADD(u, TIMESTAMPDIFF(…) …, 1970)
        unit = unit_of(node.args.get("unit"))
        return _diff_steps(node.expression, is_time_col, unit) if unit else None
    if isinstance(node, exp.Add) and isinstance(unparen(node.this), exp.Cast) and \
            isinstance(unparen(node.this).this, exp.Literal) and \
            unparen(node.this).this.this.lower() == "epoch":
        # Redshift: 'epoch'::timestamp + FLOOR(EXTRACT(EPOCH FROM t) / n) * n * INTERVAL '1 second'
        e = unparen(node.expression)
        if isinstance(e, exp.Mul) and interval_seconds(e.expression) == 1:
            return _floor_mul(e.this, is_time_col, 1)
    if isinstance(node, (exp.Cast, exp.TryCast)) and type_name(node.args.get("to")) == "DATE" \
            and _is_col(node.this, is_time_col):
        return 86400
    if isinstance(node, (exp.TsOrDsToDate, exp.Date)) and _is_col(node.this, is_time_col):
        return 86400
    return None


def _epoch_of(node: exp.Expression, is_time_col: IsTimeCol) -> bool:
    """Seconds since 1970 of the time column, in any dialect's words."""
    node = unparen(node)
    if isinstance(node, (exp.Cast, exp.TryCast)) and not _is_col(node, is_time_col):
        node = unparen(node.this)
    if isinstance(node, (exp.TimeToUnix, exp.UnixSeconds)) and _is_col(node.this, is_time_col):
        return True
    if isinstance(node, exp.Extract) and node.this.name.upper() == "EPOCH":
        return _is_col(node.expression, is_time_col)
    if isinstance(node, exp.TimeToStr) and isinstance(node.args.get("format"), exp.Literal) \
            and node.args["format"].this == "%s":
        return _is_col(node.this, is_time_col)
    if isinstance(node, exp.Anonymous) and fn_name(node) in {
            "UNIX_SECONDS", "TO_UNIXTIME", "UNIX_TIMESTAMP", "EPOCH", "TOUNIXTIMESTAMP"} \
            and len(node.expressions) == 1:
        return _is_col(node.expressions[0], is_time_col)
    return False


def _floor_mul(node: exp.Expression, is_time_col: IsTimeCol, scale: int) -> int | None:
    """`FLOOR(epoch / n) * n`, `DIV(epoch, n) * n`, `epoch / n * n` (integer division)."""
    node = unparen(node)
    if not isinstance(node, exp.Mul):
        return None
    n = number(node.expression)
    q = unparen(node.this)
    if isinstance(q, exp.Floor):
        q = unparen(q.this)
    if isinstance(q, (exp.Div, exp.IntDiv)) and number(q.expression) == n and \
            _epoch_of(q.this, is_time_col) and isinstance(n, int):
        return n * scale
    return None


def _diff_steps(node: exp.Expression, is_time_col: IsTimeCol,
                unit: TimeUnit) -> int | None:
    """DATEDIFF(unit, 0, t) [/ k * k] or TIMESTAMPDIFF(unit, '1970-01-01', t) [DIV k * k]."""
    node = unparen(node)
    k = 1
    if isinstance(node, exp.Mul):
        k_num = number(node.expression)
        q = unparen(node.this)
        if not isinstance(q, (exp.Div, exp.IntDiv)) or number(q.expression) != k_num or \
                not isinstance(k_num, int):
            return None
        k, node = k_num, unparen(q.this)
    if isinstance(node, exp.DateDiff) and unit_of(node.args.get("unit")) is unit:
        if _is_col(node.this, is_time_col):
            return k * UNIT_SECONDS[unit]
    if isinstance(node, exp.TimestampDiff) and unit_of(node.args.get("unit")) is unit:
        if _is_col(node.this, is_time_col):
            return k * UNIT_SECONDS[unit]
    return None
