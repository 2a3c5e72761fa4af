"""SQL with CTEs, subqueries, joins and window functions read into a staged plan (IR v2).

    StagedReader(lexed, catalog, check).read(tree) → (source, plan data with stages)

A query is read as a chain: the SELECT that reads a catalog table is the plan's first part,
and every SELECT that reads a CTE or a subquery is one more stage over the outputs of what it
reads (`dialects.scope`: a column is the logical output whose platform name it is). The
renderer's forms (`sql.render_stages`) read back as the stages they were written from:

* a plain SELECT over a CTE → `Step` (WHERE, computed fields, GROUP BY, HAVING, ORDER BY,
  LIMIT as in the first part; a time condition there is a filter, not a time range);
* `FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY s) AS rn FROM x) WHERE rn <= n`
  (or `rn = 1`, `rn < n + 1`) → `TopPerGroup`;
* aggregates `OVER (PARTITION BY …)` beside `*` → `Window` (the renderer's dense-rank form and
  `COUNT(DISTINCT x) OVER` are the distinct count);
* `LEFT JOIN LATERAL UNNEST(x.f) … ON TRUE`, `LEFT JOIN UNNEST`, `LATERAL VIEW OUTER EXPLODE`,
  `LEFT ARRAY JOIN` → `Expand` (a CROSS JOIN UNNEST drops the rows with empty arrays: it is not
  read, and the query falls back to the single-SELECT reader's refusal);
* `[INNER|LEFT] JOIN y ON x.a = y.b AND …` → `Join` inner/left, the right side its own plan;
  `k IN (SELECT …)` and `EXISTS (SELECT 1 FROM y WHERE y.b = x.a …)` → semi;
  `NOT EXISTS (…)` → anti. `k NOT IN (SELECT …)` is refused: it keeps no row at all when the
  subquery returns a NULL key, which no anti join does.

A select list that is more than the stage's own outputs (a projection after a join, filters
beside a window) is one more `Step` after the stage; one that lists exactly the outputs is
none. A shape outside these raises `NotStaged`, and `sql.parse` reads the query as one SELECT,
reporting the construct it cannot hold.
"""

from __future__ import annotations

from typing import Any, Callable

from sqlglot import exp

from lexiquery.catalog.model import Catalog, FieldType, Platform, Source
from lexiquery.dialects.parsing import source_for_table
from lexiquery.dialects.scope import Context, Scope, walk
from lexiquery.dialects.sql.parse_expr import Untranslatable, number, unparen
from lexiquery.dialects.sql.parse_lex import Lexed
from lexiquery.dialects.sql.parse_select import SelectReader
from lexiquery.dialects.sql.parse_where import _flatten
from lexiquery.errors import LexiQueryError
from lexiquery.ir import PlanIssue, QueryPlan

MAX_DEPTH = 12  # CTEs reading CTEs, subqueries in subqueries


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


class StagedReader:
    """See the module docstring. `check(select, reader)` reports a SELECT's clauses the reader
    does not hold (`sql.parse`'s clause check)."""

    def __init__(self, lexed: Lexed, catalog: Catalog,
                 check: Callable[[exp.Select, SelectReader], None]) -> None:
        self.lexed = lexed
        self.catalog = catalog
        self.check = check
        self.issues: list[PlanIssue] = []
        self.notes: list[str] = []
        self.depth = 0

    def read(self, tree: exp.Expression) -> tuple[Source, dict[str, Any]]:
        source, data, stages = self.query(tree, {})
        return source, {**data, "stages": stages}

    # ------------------------------------------------------------------ structure

    def query(self, node: exp.Expression, ctes: dict[str, exp.Expression]) -> Any:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise NotStaged("nested too deeply")
        while isinstance(node, exp.Subquery):
            node = node.this
        if not isinstance(node, exp.Select):
            raise NotStaged(node.key)
        w = node.args.get("with_") or node.args.get("with")
        if w is not None:
            if w.args.get("recursive"):
                raise NotStaged("recursive CTE")
            ctes = dict(ctes)
            for cte in w.expressions:
                ctes[cte.alias_or_name.lower()] = cte.this
        try:
            return self.select(node, ctes)
        finally:
            self.depth -= 1

    def target(self, node: exp.Expression, ctes: dict[str, exp.Expression]) -> Any:
        """(chain, None, names) for a CTE or subquery; (None, source, names) for a table."""
        alias = str(node.alias_or_name).lower() if hasattr(node, "alias_or_name") else ""
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier) and \
                not node.db and node.name.lower() in ctes:
            inner = {k: v for k, v in ctes.items() if k != node.name.lower()}
            return self.query(ctes[node.name.lower()], inner), None, {node.name.lower(), alias}
        if isinstance(node, exp.Subquery):
            return self.query(node.this, ctes), None, {alias} if alias else set()
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier):
            parts = [p for p in (node.catalog, node.db, node.name) if p]
            source = source_for_table(self.catalog, Platform.sql, ".".join(parts))
            if source is None:
                raise NotStaged("unknown table")
            names = {node.name.lower(), alias}
            if node.db:
                names.add(f"{node.db}.{node.name}".lower())
            return None, source, names
        raise NotStaged(node.key)

    def scope(self, source: Source, data: dict[str, Any], stages: list[Any]) -> Scope:
        try:
            plan = QueryPlan.model_validate({"source": source.id, **data, "stages": stages})
            out: Scope = {}
            for _, out in walk(plan, Context(source, Platform.sql, None, self.catalog.get)):
                pass
        except (LexiQueryError, ValueError) as e:
            raise NotStaged(str(e)) from None
        return out

    # ------------------------------------------------------------------ one SELECT

    def select(self, s: exp.Select, ctes: dict[str, exp.Expression]) -> Any:
        s = s.copy()  # stages rewrite their SELECT list; the caller's tree stays as written
        from_ = s.args.get("from_") or s.args.get("from")
        if from_ is None:
            raise NotStaged("no FROM")
        top = self._top_per_group(s, ctes)
        if top is not None:
            return top
        joins = list(s.args.get("joins") or [])
        laterals = list(s.args.get("laterals") or [])
        chain, source, names = self.target(from_.this, ctes)
        windows = [i for i in s.expressions if _window_item(i)]
        subqueries = [p for p in _conjuncts(s) if _subquery_test(p)]
        if chain is None:
            if not (joins or laterals or windows or subqueries):
                return source, self.first_part(s, source, names), []
            if subqueries and not (joins or laterals or windows):
                return self._filtered_then_joined(s, source, names, subqueries, ctes)
            first = {}
            if windows and s.args.get("where") is not None:  # the table's rows, then the window
                first = self.first_part(_only_where(s), source, names)
                s.set("where", None)
            chain = (source, first, [])
        source, data, stages = chain
        stages = list(stages)
        if joins or laterals:
            if subqueries or windows or len(joins) + len(laterals) != 1:
                raise NotStaged("several joins")
            stage, extra = self._join_or_expand(s, joins, laterals, source, data, stages,
                                                names, ctes)
            stages.append(stage)
            names = names | extra
            self._then_step(s, source, data, stages, names, strip="join")
            return source, data, stages
        if windows:
            if s.args.get("group") or s.args.get("having") or s.args.get("distinct"):
                raise NotStaged("a window with GROUP BY")
            if s.args.get("where") is not None:
                self._then_step(_only_where(s), source, data, stages, names)
            stages.append(self._window(s, windows, source, data, stages, names))
            self._then_step(s, source, data, stages, names, strip="window")
            return source, data, stages
        for p in subqueries:
            stages.append(self._semi_anti(p, source, data, stages, names, ctes))
        self._then_step(_without(s, subqueries), source, data, stages, names)
        return source, data, stages

    def first_part(self, s: exp.Select, source: Source, names: set[str]) -> dict[str, Any]:
        reader = SelectReader(self.lexed, source, lenient=False, table_names=names)
        self.check(s, reader)
        try:
            data = reader.read(s)
        except Untranslatable as e:
            reader.skip(e)
            data = {}
        self.issues += reader.issues
        self.notes += reader.notes
        return data

    def _then_step(self, s: exp.Select, source: Source, data: dict[str, Any],
                   stages: list[Any], names: set[str], strip: str = "") -> None:
        """`s` read as a Step over the outputs so far, appended unless it does nothing (an
        empty step, or a projection of exactly those outputs)."""
        scope = self.scope(source, data, stages)
        s = s.copy()
        for key in ("joins", "laterals", "with_", "with"):
            s.set(key, None)
        if strip == "window":
            s.set("where", None)
            s.set("expressions", [exp.column(e.alias) if _window_item(e) else e
                                  for e in s.expressions])
        if strip == "join" and _only_stars_and(s, scope):
            s.set("expressions", [exp.Star()])
        reader = StepReader(self.lexed, source, lenient=False, table_names=names, scope=scope)
        self.check(s, reader)
        try:
            step = reader.read(s)
        except Untranslatable as e:
            reader.skip(e)
            step = {}
        self.issues += reader.issues
        self.notes += reader.notes
        step.pop("time_range", None)
        if step.get("project") == list(scope) and not step.get("computed"):
            step["project"] = []
        if not any(step.get(k) for k in ("filters", "computed", "aggregation", "project",
                                          "sort", "limit")):
            return
        stages.append({"kind": "step", **step})

    # ------------------------------------------------------------------ stages

    def _top_per_group(self, s: exp.Select, ctes: dict[str, exp.Expression]) -> Any:
        from_ = s.args.get("from_") or s.args.get("from")
        sub = from_.this
        if not isinstance(sub, exp.Subquery) or not isinstance(sub.this, exp.Select) or \
                s.args.get("joins"):
            return None
        inner = sub.this
        ranks = [i for i in inner.expressions if isinstance(i, exp.Alias) and
                 isinstance(i.this, exp.Window) and isinstance(i.this.this, exp.RowNumber)]
        if len(ranks) != 1 or not any(isinstance(i, exp.Star) for i in inner.expressions):
            return None
        rn, window = ranks[0].alias, ranks[0].this
        n, rest = None, []
        for p in _conjuncts(s):
            got = _rank_bound(p, rn)
            if got is not None and n is None:
                n = got
            else:
                rest.append(p)
        if n is None or window.args.get("order") is None:
            return None
        body = inner.copy()
        body.set("expressions", [e for e in body.expressions if e.alias != rn])
        source, data, stages = self.select(body, ctes)
        stages = list(stages)
        scope = self.scope(source, data, stages)
        names = {str(sub.alias).lower()} if sub.alias else set()
        reader = StepReader(self.lexed, source, table_names=names, scope=scope)
        try:
            by = [reader.column(unparen(p)) for p in window.args.get("partition_by") or []]
            sort = [{"field": reader.column(unparen(o.this)), "descending": bool(o.args.get(
                "desc"))} for o in window.args["order"].expressions]
        except Untranslatable as e:
            raise NotStaged(e.construct) from None
        if not by:
            raise NotStaged("ROW_NUMBER() without PARTITION BY")
        stages.append({"kind": "top_per_group", "by": by, "sort": sort, "n": n})
        outer = s.copy()
        outer.set("from_", exp.From(this=exp.Table(this=exp.to_identifier("ranked"))))
        outer.set("where", exp.Where(this=_and(rest)) if rest else None)
        self._then_step(outer, source, data, stages, names | {"ranked"})
        return source, data, stages

    def _window(self, s: exp.Select, items: list[exp.Expression], source: Source,
                data: dict[str, Any], stages: list[Any], names: set[str]) -> dict[str, Any]:
        scope = self.scope(source, data, stages)
        reader = StepReader(self.lexed, source, table_names=names, scope=scope)
        metrics, parts = [], None
        for item in items:
            node, alias = item.this, item.alias
            agg, partition = _window_aggregate(node)
            if agg is None or (parts is not None and partition != parts):
                raise NotStaged("a window other than an aggregate over one partition")
            parts = partition
            try:
                metrics.append(reader.metric(agg, alias).model_dump(mode="json"))
            except Untranslatable as e:
                raise NotStaged(e.construct) from None
        try:
            by = [reader.column(p) for p in parts or []]
        except Untranslatable as e:
            raise NotStaged(e.construct) from None
        return {"kind": "window", "metrics": metrics, "by": by}

    def _join_or_expand(self, s: exp.Select, joins: list[exp.Join],
                        laterals: list[exp.Expression], source: Source, data: dict[str, Any],
                        stages: list[Any], names: set[str],
                        ctes: dict[str, exp.Expression]) -> tuple[dict[str, Any], set[str]]:
        scope = self.scope(source, data, stages)
        reader = StepReader(self.lexed, source, table_names=names, scope=scope)
        node: exp.Expression = laterals[0] if laterals else joins[0]
        arrays = list(node.find_all(exp.Unnest, exp.Explode))
        if arrays or (isinstance(node, exp.Join) and node.args.get("kind") == "ARRAY"):
            return self._expand(node, arrays, reader, s, scope)
        join = joins[0]
        side, kind = (join.args.get("side") or "").upper(), (join.args.get("kind") or "").upper()
        if kind not in ("", "INNER", "OUTER") or side not in ("", "LEFT"):
            raise NotStaged("join kind")
        right, rsource, rnames = self.target(join.this, ctes)
        if right is None:
            right = (rsource, {}, [])
        rsource, rdata, rstages = right
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
        outer = isinstance(node, exp.Lateral) and node.args.get("outer") or \
            isinstance(node, exp.Join) and (node.args.get("side") or "").upper() == "LEFT"
        if not outer:
            raise NotStaged("an expansion that drops empty arrays")
        if arrays:
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
