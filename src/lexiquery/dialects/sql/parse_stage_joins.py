"""Joins and expansions for the staged SQL reader (a mixin of `sql.parse_stages.StagedReader`):
`JOIN … ON` (inner, left), `IN (SELECT …)` / `EXISTS` (semi), `NOT EXISTS` (anti), and the
outer UNNEST / EXPLODE / ARRAY JOIN forms of an expansion. See `sql.parse_stages`."""

from __future__ import annotations

from typing import Any, Callable

from sqlglot import exp

from lexiquery.catalog.model import Source
from lexiquery.dialects.scope import Scope
from lexiquery.dialects.sql.parse_expr import Untranslatable, unparen
from lexiquery.dialects.sql.parse_lex import Lexed
from lexiquery.dialects.sql.parse_stage_parts import (
    NotStaged,
    StepReader,
    _and,
    _names_of,
    _without,
)
from lexiquery.dialects.sql.parse_where import _flatten


class JoinReader:
    """Needs from the class it is mixed into: `lexed`, `scope`, `target`, `query`,
    `first_part` and `_then_step` (see `StagedReader`)."""

    lexed: Lexed
    scope: Callable[..., Scope]
    target: Callable[..., Any]
    query: Callable[..., Any]
    first_part: Callable[..., dict[str, Any]]
    _then_step: Callable[..., None]

    def _join_or_expand(self, s: exp.Select, joins: list[exp.Join],
                        laterals: list[exp.Expression], source: Source, data: dict[str, Any],
                        stages: list[Any], names: set[str],
                        ctes: dict[str, exp.Expression]) -> tuple[dict[str, Any], set[str]]:
        scope = self.scope(source, data, stages)
        reader = StepReader(self.lexed, source, table_names=names, scope=scope)
        node: exp.Expression = laterals[0] if laterals else joins[0]
        arrays = list(node.find_all(exp.Unnest, exp.Explode)) + [
            a for a in node.find_all(exp.Anonymous)  # PostgreSQL's expansion of a JSON array
            if str(a.name).upper() == "JSONB_ARRAY_ELEMENTS_TEXT"]
        if arrays or (isinstance(node, exp.Join) and node.args.get("kind") == "ARRAY"):
            return self._expand(node, arrays, reader, s, scope)
        join = joins[0]
        side, kind = (join.args.get("side") or "").upper(), (join.args.get("kind") or "").upper()
        if kind not in ("", "INNER", "OUTER") or side not in ("", "LEFT"):
            raise NotStaged("join kind")
        right, rsource, rnames = self.target(join.this, ctes)
        table = right is None
        if table:
            right = (rsource, {}, [])
        rsource, rdata, rstages = right
        rscope = self.scope(rsource, rdata, rstages)
        rreader = StepReader(self.lexed, rsource, table_names=rnames, scope=rscope)
        if table:  # a table joined as is: the columns the query reads of it (names may clash)
            used: list[str] = []
            for col in s.find_all(exp.Column):
                if col.table.lower() in rnames and not isinstance(col.this, exp.Star):
                    try:
                        used.append(rreader.column(col))
                    except Untranslatable as e:
                        raise NotStaged(e.construct) from None
            rdata = {"project": list(dict.fromkeys(used))}
            rscope = self.scope(rsource, rdata, rstages)
            rreader = StepReader(self.lexed, rsource, table_names=rnames, scope=rscope)
        on = join.args.get("on")
        if on is None:
            raise NotStaged("a join without ON")
        keys = []
        for eq in _flatten(on, exp.And):
            eq = unparen(eq)
            if not isinstance(eq, exp.EQ) or not all(isinstance(x, exp.Column)
                                                     for x in (eq.this, eq.expression)):
                raise NotStaged("a join condition other than equal columns")
            a, b = eq.this, eq.expression
            if a.table.lower() in rnames and b.table.lower() not in rnames:
                a, b = b, a
            try:
                keys.append({"left": reader.column(a), "right": rreader.column(b)})
            except Untranslatable as e:
                raise NotStaged(e.construct) from None
        plan = {"source": rsource.id, **rdata, "stages": rstages}
        stage = {"kind": "join", "how": "left" if side == "LEFT" else "inner",
                 "right": plan, "on": keys}
        return stage, rnames

    def _expand(self, node: exp.Expression, arrays: list[exp.Expression],
                reader: StepReader, s: exp.Select, scope: Scope) -> tuple[dict[str, Any], set]:
        flatten_outer = any(  # Snowflake's FLATTEN(INPUT => x, OUTER => TRUE)
            isinstance(k, exp.Kwarg) and k.this.name.upper() == "OUTER" and
            isinstance(k.expression, exp.Boolean) and k.expression.this
            for a in arrays for k in a.find_all(exp.Kwarg))
        outer = isinstance(node, exp.Lateral) and node.args.get("outer") or \
            isinstance(node, exp.Join) and (node.args.get("side") or "").upper() == "LEFT" or \
            flatten_outer
        if not outer:
            raise NotStaged("an expansion that drops empty arrays")
        if arrays and (isinstance(arrays[0], exp.Anonymous) or flatten_outer):
            arg = next(arrays[0].find_all(exp.Column), arrays[0])  # the array read
        elif arrays:
            arg = arrays[0].expressions[0] if isinstance(arrays[0], exp.Unnest) and \
                arrays[0].expressions else arrays[0].this
        else:
            arg = node.this
        if isinstance(arg, exp.Alias):  # ClickHouse `ARRAY JOIN x.f AS e`
            extra_alias = str(arg.alias).lower()
            arg = arg.this
        else:
            extra_alias = ""
        arg = unparen(arg)
        if not isinstance(arg, exp.Column):
            raise NotStaged("an expansion of an expression")
        try:
            field = reader.column(arg)
        except Untranslatable as e:
            raise NotStaged(e.construct) from None
        # the element's names (the alias of the unnested table and of its column)
        extra: set[str] = {extra_alias} - {""}
        for a in node.find_all(exp.TableAlias):
            extra.add(str(a.name).lower())
            extra |= {str(c.name).lower() for c in a.columns}
        alias = node.args.get("alias")
        if isinstance(alias, exp.Expression):
            extra.add(str(alias.name).lower())
        for item in s.expressions:
            if isinstance(item, exp.Alias) and item.alias.lower() in (
                    scope[field].column.lower(), field.lower()):
                item.replace(exp.column(item.alias))
        return {"kind": "expand", "field": field}, extra

    def _semi_anti(self, p: exp.Expression, source: Source, data: dict[str, Any],
                   stages: list[Any], names: set[str],
                   ctes: dict[str, exp.Expression]) -> dict[str, Any]:
        scope = self.scope(source, data, stages)
        reader = StepReader(self.lexed, source, table_names=names, scope=scope)
        p = unparen(p)
        negate = isinstance(p, exp.Not)
        inner = unparen(p.this) if negate else p
        if isinstance(inner, exp.In):
            if negate:
                raise NotStaged("NOT IN (SELECT …)")
            query = inner.args["query"]
            sub = query.this if isinstance(query, exp.Subquery) else query
            if not isinstance(sub, exp.Select) or len(sub.expressions) != 1:
                raise NotStaged("IN (SELECT …) of several columns")
            col = unparen(sub.expressions[0])
            col = col.this if isinstance(col, exp.Alias) else col
            body = sub.copy()
            body.set("expressions", [exp.Star()] if isinstance(col, exp.Column) else [col])
            right = self._right(sub, ctes)
            rsource, rdata, rstages = right
            rscope = self.scope(rsource, rdata, rstages)
            rnames = _names_of(sub)
            rreader = StepReader(self.lexed, rsource, table_names=rnames, scope=rscope)
            left = unparen(inner.this)
            if not isinstance(left, exp.Column) or not isinstance(col, exp.Column):
                raise NotStaged("IN (SELECT …) of an expression")
            try:
                keys = [{"left": reader.column(left), "right": rreader.column(col)}]
            except Untranslatable as e:
                raise NotStaged(e.construct) from None
            return {"kind": "join", "how": "semi", "on": keys,
                    "right": {"source": rsource.id, **rdata, "stages": rstages}}
        assert isinstance(inner, exp.Exists)
        sub = inner.this
        if not isinstance(sub, exp.Select):
            raise NotStaged("EXISTS of a non-SELECT")
        where = sub.args.get("where")
        if where is None:
            raise NotStaged("EXISTS without a correlation")
        rnames = _names_of(sub)
        eqs, rest = [], []
        for c in _flatten(where.this, exp.And):
            c = unparen(c)
            if isinstance(c, exp.EQ) and all(isinstance(x, exp.Column) for x in (
                    c.this, c.expression)) and {c.this.table.lower(), c.expression.table.lower()
                                                } & names:
                eqs.append(c)
            else:
                rest.append(c)
        if not eqs:
            raise NotStaged("EXISTS without an equality to the outer query")
        body = sub.copy()
        body.set("where", exp.Where(this=_and(rest)) if rest else None)
        body.set("expressions", [exp.Star()])
        rsource, rdata, rstages = self._right(body, ctes)
        rscope = self.scope(rsource, rdata, rstages)
        rreader = StepReader(self.lexed, rsource, table_names=rnames, scope=rscope)
        keys = []
        for c in eqs:
            a, b = c.this, c.expression
            if a.table.lower() in rnames and b.table.lower() not in rnames:
                a, b = b, a
            try:
                keys.append({"left": reader.column(a), "right": rreader.column(b)})
            except Untranslatable as e:
                raise NotStaged(e.construct) from None
        return {"kind": "join", "how": "anti" if negate else "semi", "on": keys,
                "right": {"source": rsource.id, **rdata, "stages": rstages}}

    def _right(self, sub: exp.Select, ctes: dict[str, exp.Expression]) -> Any:
        """The right-hand plan of a subquery: its SELECT read as a chain; a bare `SELECT col
        FROM y` is y itself (every output)."""
        body = sub.copy()
        only = [unparen(e) for e in body.expressions]
        if len(only) == 1 and isinstance(only[0], exp.Column) and not any(
                body.args.get(k) for k in ("group", "having", "order", "limit", "distinct")):
            body.set("expressions", [exp.Star()])
        return self.query(body, ctes)

    def _filtered_then_joined(self, s: exp.Select, source: Source, names: set[str],
                              subqueries: list[exp.Expression],
                              ctes: dict[str, exp.Expression]) -> Any:
        """`SELECT … FROM t WHERE … AND k IN (SELECT …)`: the first part filters t (its time
        range included), the semi/anti joins follow, then the rest of the SELECT."""
        rows = _without(s, subqueries).copy()
        for key in ("group", "having", "order", "limit", "distinct"):
            rows.set(key, None)
        rows.set("expressions", [exp.Star()])
        data = self.first_part(rows, source, names)
        stages: list[Any] = []
        for p in subqueries:
            stages.append(self._semi_anti(p, source, data, stages, names, ctes))
        rest = _without(s, subqueries).copy()
        rest.set("where", None)
        self._then_step(rest, source, data, stages, names)
        return source, data, stages


