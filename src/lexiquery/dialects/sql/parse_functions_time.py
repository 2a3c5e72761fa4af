"""The time functions' SQL spellings read back (start_of, time_diff, now): a mixin of
`sql.parse_functions.FunctionReader` (see that module and `sql.functions`)."""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from lexiquery.dialects.sql.parse_expr_base import Untranslatable, number, unparen
from lexiquery.dialects.sql.parse_function_parts import (
    _SECONDS,
    _UNITS,
    _call,
    _lit,
    _name,
    _text,
)
from lexiquery.ir import Function


class TimeFunctionReader:
    """Needs from the class it is mixed into: `expr`, `offset`, `dialect`."""

    dialect: str

    def expr(self, node: exp.Expression) -> Any:
        raise NotImplementedError

    def offset(self, node: exp.Expression | None) -> int:
        raise NotImplementedError

    def _sqlite_datetime(self, node: exp.Anonymous) -> Any:
        args = node.expressions
        mods = [_text(a) for a in args[1:]]
        if len(args) == 1 and _text(args[0]) == "now":
            return _call(Function.now)
        units = {("start of day",): "day", ("start of month",): "month",
                 ("start of year",): "year", ("start of day", "-6 days", "weekday 0"): "week"}
        unit = units.get(tuple(mods))  # type: ignore[arg-type]
        if unit is None:
            return None
        return _call(Function.start_of, self.expr(args[0]), _lit(unit))

    def _snowflake_week(self, node: exp.DateAdd) -> Any:
        """`DATEADD(DAY, -1, DATE_TRUNC('week', DATEADD(DAY, 1, t)))`."""
        trunc = unparen(node.this)
        if number(unparen(node.expression)) != -1 or not isinstance(trunc, exp.TimestampTrunc):
            return None
        shifted = unparen(trunc.this)
        unit = trunc.args.get("unit")
        if str(unit.name if unit is not None else "").lower() != "week" or not (
                isinstance(shifted, exp.DateAdd) and number(unparen(shifted.expression)) == 1):
            return None
        return _call(Function.start_of, self.expr(shifted.this), _lit("week"))

    def _weekday_week(self, node: exp.Expression) -> Any:
        """T-SQL's `DATEADD(DAY, -(DATEDIFF(DAY, '19000107', t) % 7), <day of t>)` and MySQL's
        `DATE_SUB(DATE(t), INTERVAL (DAYOFWEEK(t) - 1) DAY)`: the Sunday starting t's week."""
        day = unparen(node.this)
        while isinstance(day, (exp.Cast, exp.TsOrDsToDate, exp.TsOrDsToTimestamp)):
            day = unparen(day.this)  # CAST(CAST(t AS DATE) AS DATETIME2), DATE(t)
        back = unparen(node.expression)
        if self.dialect == "tsql":
            diff = unparen(unparen(back.this).this) if isinstance(back, exp.Neg) else None
            sunday = diff.find(exp.Literal) if isinstance(diff, exp.DateDiff) else None
            if not (isinstance(unparen(back.this), exp.Mod) and sunday is not None and
                    sunday.name in ("1900-01-07", "19000107")):
                return None
        elif not (isinstance(back, exp.Sub) and isinstance(unparen(back.this), exp.DayOfWeek)
                  and number(unparen(back.expression)) == 1):
            return None
        return _call(Function.start_of, self.expr(day), _lit("week"))

    def _seconds_diff(self, node: exp.Expression) -> Any:
        """T-SQL's `DATEDIFF_BIG(SECOND, start, end) / n`, Snowflake's
        `TRUNC(TIMESTAMPDIFF(SECOND, start, end) / n)`."""
        div = unparen(node.this) if isinstance(node, exp.Trunc) else node
        if isinstance(node, exp.Div) and self.dialect == "snowflake" and not isinstance(
                node.parent, exp.Trunc):
            return None
        if not isinstance(div, exp.Div):
            return None
        diff, secs = unparen(div.this), number(unparen(div.expression))
        if not isinstance(diff, (exp.DateDiff, exp.TimestampDiff)) or secs not in _SECONDS:
            return None
        unit = str(diff.args.get("unit").name if diff.args.get("unit") else "").lower()
        if unit != "second":
            return None
        return _call(Function.time_diff, _lit(_SECONDS[secs]), self.expr(_time_value(diff.this)),
                     self.expr(_time_value(diff.expression)))

    def _strftime_diff(self, node: exp.Div) -> Any:
        """SQLite's `(CAST(STRFTIME('%s', end) AS INTEGER) - CAST(STRFTIME('%s', start) AS
        INTEGER)) / n`: whole units elapsed."""
        secs, sub = number(unparen(node.expression)), unparen(node.this)
        if secs not in _SECONDS or not isinstance(sub, exp.Sub):
            return None
        ends = []
        for side in (sub.this, sub.expression):
            side = unparen(side)
            inner = unparen(side.this) if isinstance(side, exp.Cast) else None
            if not (isinstance(inner, exp.TimeToStr) and
                    _text(inner.args.get("format")) == "%s"):
                return None
            ends.append(_time_value(inner.this))
        return _call(Function.time_diff, _lit(_SECONDS[secs]), self.expr(ends[0]),
                     self.expr(ends[1]))

    def _trunc(self, node: exp.Expression) -> Any:
        if isinstance(node, exp.Anonymous):
            unit, value = _text(node.expressions[0]), node.expressions[1]
        else:
            unit_node = node.args.get("unit")
            unit = "week" if isinstance(unit_node, exp.WeekStart) else str(
                unit_node.name if unit_node is not None else "").lower()
            value = node.this
        unit = (unit or "").lower()
        if unit in ("week", "weekstart") and self.dialect == "bigquery":  # BigQuery: Sundays
            return _call(Function.start_of, self.expr(value), _lit("week"))
        if unit == "week":
            raise Untranslatable(self.offset(node), "DATE_TRUNC('week', …)",
                                 "its weeks start on Monday; the IR's on Sunday")
        if unit not in _UNITS:
            return None
        return _call(Function.start_of, self.expr(value), _lit(unit))

    def _week(self, node: exp.Sub) -> Any:
        """`DATE_TRUNC('week', t + 1 day) - 1 day`: weeks from Sunday."""
        trunc, back = unparen(node.this), unparen(node.expression)
        if not (isinstance(trunc, exp.TimestampTrunc) and _is_one_day(back)):
            return None
        unit = trunc.args.get("unit")
        shifted = unparen(trunc.this)
        if str(unit.name if unit is not None else "").lower() != "week" or not (
                isinstance(shifted, exp.Add) and _is_one_day(unparen(shifted.expression))):
            return None
        return _call(Function.start_of, self.expr(shifted.this), _lit("week"))

    def _epoch_diff(self, node: exp.Cast) -> Any:
        """PostgreSQL's `CAST(TRUNC(EXTRACT(EPOCH FROM (end - start)) / n) AS BIGINT)`."""
        div = unparen(unparen(node.this).this)
        if not isinstance(div, exp.Div):
            return None
        secs = number(unparen(div.expression))
        epoch = unparen(div.this)
        if isinstance(epoch, exp.Cast):
            epoch = unparen(epoch.this)
        if secs not in _SECONDS or not isinstance(epoch, exp.Extract) or \
                str(epoch.this.name).upper() != "EPOCH":
            return None
        diff = unparen(epoch.expression)
        if not isinstance(diff, exp.Sub):
            return None
        return _call(Function.time_diff, _lit(_SECONDS[secs]), self.expr(diff.this),
                     self.expr(diff.expression))


def _is_now(node: exp.Expression) -> bool:
    return isinstance(node, (exp.CurrentTimestamp, exp.UtcTimestamp)) or _name(node) in (
        "NOW", "GETDATE", "SYSUTCDATETIME", "UTC_TIMESTAMP") or (
        _name(node) == "DATETIME" and len(node.expressions) == 1 and
        _text(node.expressions[0]) == "now")


def _time_value(node: exp.Expression) -> exp.Expression:
    """The time a conversion the dialect adds wraps (MySQL's TIMESTAMP(x) in DATE_FORMAT,
    T-SQL's DATEDIFF arguments)."""
    node = unparen(node)
    while isinstance(node, (exp.TsOrDsToTimestamp, exp.TsOrDsToDate, exp.TimeStrToTime)) or (
            isinstance(node, exp.Cast) and node.to.this in (
                exp.DataType.Type.DATETIME, exp.DataType.Type.TIMESTAMP)):
        node = unparen(node.this)
    return node


def _is_one_day(node: exp.Expression) -> bool:
    if not isinstance(node, exp.Interval):
        return False
    text = str(node.this.name if node.this is not None else "").strip().lower()
    unit = str(node.args.get("unit").name if node.args.get("unit") is not None else "").lower()
    return text in ("1 day", "1 days") or (text == "1" and unit == "day")
