"""The pieces the staged SQL reader (`sql.parse_stages`) is made of: `StepReader` (a SELECT
over the outputs of the stages before it), `NotStaged`, and the small tree tests of its shapes."""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from lexiquery.catalog.model import FieldType
from lexiquery.dialects.scope import Scope
from lexiquery.dialects.sql.parse_expr import Untranslatable, number, unparen
from lexiquery.dialects.sql.parse_select import SelectReader
from lexiquery.dialects.sql.parse_where import _flatten


class NotStaged(Exception):
    """Not a shape this reader knows (the single-SELECT reader then says what it is)."""


class StepReader(SelectReader):
    """A SELECT over the outputs of the stages before it: names come from `scope`."""

    def __init__(self, *args: Any, scope: Scope, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.scope = scope
        self.by_column = {o.column.lower(): name for name, o in scope.items()}
        self.by_column.update({name.lower(): name for name in scope})

    def column(self, col: exp.Column, *, outputs: bool = False) -> str:
        qual = col.table.lower() if col.table else ""
        if qual and qual not in self.table_names:
            raise Untranslatable(self.offset(col), f"the column {col.sql(self.dialect)} of "
                                 f"another table")
        name = col.name
        if name in self.computed:
            return name
        logical = self.by_column.get(name.lower())
        if logical is not None:
            return logical
        raise Untranslatable(self.offset(col), f"the column {name!r}",
                             f"it is not an output of the query it reads "
                             f"({', '.join(self.scope)})")

    def field_type(self, name: str) -> FieldType | None:
        if name in self.computed:
            return None
        out = self.scope.get(name)
        return out.type if out is not None else None

    def time_field(self) -> str | None:
        tf = self.source.time_field
        return tf if tf in self.scope else None

    def _time_bound(self, p: exp.Expression) -> tuple[str, Any] | None:
        return None  # a later stage has no time range: a time condition is a filter


# ---------------------------------------------------------------------- tree helpers


def _conjuncts(s: exp.Select) -> list[exp.Expression]:
    where = s.args.get("where")
    return _flatten(where.this, exp.And) if where is not None else []


def _and(parts: list[exp.Expression]) -> exp.Expression:
    out = parts[0]
    for p in parts[1:]:
        out = exp.And(this=out, expression=p)
    return out


def _without(s: exp.Select, parts: list[exp.Expression]) -> exp.Select:
    rest = [p for p in _conjuncts(s) if not any(p is q for q in parts)]
    out = s.copy()
    out.set("where", exp.Where(this=_and([r.copy() for r in rest])) if rest else None)
    return out


def _only_where(s: exp.Select) -> exp.Select:
    out = s.copy()
    for key in ("group", "having", "order", "limit", "distinct"):
        out.set(key, None)
    out.set("expressions", [exp.Star()])
    return out


def _subquery_test(p: exp.Expression) -> bool:
    p = unparen(p)
    inner = unparen(p.this) if isinstance(p, exp.Not) else p
    return (isinstance(inner, exp.In) and inner.args.get("query") is not None) or \
        isinstance(inner, exp.Exists)


def _window_item(e: exp.Expression) -> bool:
    return isinstance(e, exp.Alias) and e.find(exp.Window) is not None


def _window_aggregate(node: exp.Expression) -> tuple[exp.Expression | None, list[str]]:
    """(the aggregate, the partition's column names) of `agg OVER (PARTITION BY …)`, or of the
    renderer's dense-rank distinct count (as COUNT(DISTINCT x))."""
    node = unparen(node)
    if isinstance(node, exp.Window) and node.args.get("order") is None and \
            not isinstance(node.this, (exp.RowNumber,)) and \
            not (isinstance(node.this, exp.Anonymous) and node.this.name.upper() in (
                "DENSE_RANK", "RANK")):
        return node.this, _partition(node)
    ranks = [w for w in node.find_all(exp.Window) if isinstance(w.this, exp.Anonymous) and
             w.this.name.upper() == "DENSE_RANK" or type(w.this).__name__ == "DenseRank"]
    if isinstance(node, exp.Sub) and len(ranks) == 2 and ranks[0].args.get("order") and \
            _partition(ranks[0]) == _partition(ranks[1]):
        col = ranks[0].args["order"].expressions[-1].this  # after a NULLS LAST emulation
        return exp.Count(this=exp.Distinct(expressions=[col.copy()])), _partition(ranks[0])
    return None, []


def _null_placement(node: exp.Expression) -> bool:
    """`CASE WHEN x IS NULL THEN 1 ELSE 0 END`: how T-SQL and MySQL are told NULLS LAST."""
    node = unparen(node)
    if not isinstance(node, exp.Case) or len(node.args.get("ifs") or []) != 1:
        return False
    test = unparen(node.args["ifs"][0].this)
    return isinstance(test, exp.Is) and isinstance(test.expression, exp.Null) and \
        number(node.args["ifs"][0].args.get("true")) == 1 and \
        number(node.args.get("default")) == 0


def _partition(w: exp.Window) -> list[Any]:
    return [unparen(p) for p in w.args.get("partition_by") or []]


def _rank_bound(p: exp.Expression, rn: str) -> int | None:
    """n for `rn <= n`, `rn = 1`, `rn < n + 1` (either side)."""
    p = unparen(p)
    if not isinstance(p, (exp.LTE, exp.LT, exp.EQ, exp.GTE, exp.GT)):
        return None
    left, right = unparen(p.this), unparen(p.expression)
    flipped = isinstance(right, exp.Column) and right.name == rn
    if flipped:
        left, right = right, left
    if not (isinstance(left, exp.Column) and left.name == rn):
        return None
    n = number(right)
    if not isinstance(n, int):
        return None
    kind = type(p)
    if flipped:
        kind = {exp.GTE: exp.LTE, exp.GT: exp.LT}.get(kind, kind)
    if kind is exp.EQ:
        return 1 if n == 1 else None
    if kind is exp.LTE and n >= 1:
        return n
    if kind is exp.LT and n >= 2:
        return n - 1
    return None


def _names_of(sub: exp.Select) -> set[str]:
    from_ = sub.args.get("from_") or sub.args.get("from")
    t = from_.this if from_ is not None else None
    if t is None:
        return set()
    return {str(t.alias_or_name).lower(), str(getattr(t, "name", "")).lower()} - {""}


def _only_stars_and(s: exp.Select, scope: Scope) -> bool:
    """Is the select list `x.*` and plain columns that are all outputs already (a join's
    `s0.*, j1.col…`, an expansion's column list)?"""
    cols = {o.column.lower() for o in scope.values()} | {n.lower() for n in scope}
    for e in s.expressions:
        e = e.this if isinstance(e, exp.Alias) and isinstance(e.this, exp.Column) and \
            e.alias.lower() == e.this.name.lower() else e
        if isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this,
                                                                                 exp.Star)):
            continue
        if isinstance(e, exp.Column) and e.name.lower() in cols:
            continue
        return False
    return len(s.expressions) >= len(scope) or any(
        isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star))
        for e in s.expressions)
