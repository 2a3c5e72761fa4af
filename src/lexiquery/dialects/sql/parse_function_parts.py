"""Small pieces the SQL function readers share (`sql.parse_functions`, `_time`)."""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from lexiquery.dialects.sql.parse_expr_base import unparen
from lexiquery.ir import Call, Function, Literal_

_UNITS = {"day", "month", "year"}
_SECONDS = {1: "second", 60: "minute", 3600: "hour", 86400: "day"}
_DOLLAR_GROUPS = frozenset({"trino", "spark", "databricks", "mysql", "redshift"})
_WHITE = " \t\r\n"


def _call(fn: Function, *args: Any) -> Call:
    return Call(fn=fn, args=list(args))


def _lit(v: Any) -> Literal_:
    return Literal_(value=v)


def _name(node: exp.Expression) -> str:
    return str(node.name).upper() if isinstance(node, exp.Anonymous) else ""


def _text(node: exp.Expression | None) -> str | None:
    node = unparen(node) if node is not None else None
    return str(node.this) if isinstance(node, exp.Literal) and node.is_string else None
