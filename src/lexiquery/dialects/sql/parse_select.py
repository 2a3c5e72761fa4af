"""The clauses of one SELECT read into the parts of a `QueryPlan` (see `sql.parse`).

Each piece that cannot be read (`Untranslatable`) becomes an ``unsupported`` issue at its
position and is left out of the plan; the rest of the query is still read, so a user sees
everything that was understood and exactly what was not.
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from lexiquery.dialects.parsing import syntax_error, unsupported_issue
from lexiquery.dialects.sql.parse_expr import Untranslatable, number, unparen
from lexiquery.dialects.sql.parse_time import absolute_time, bucket_of, time_point
from lexiquery.dialects.sql.parse_where import WhereReader, _flatten, _null_test
from lexiquery.ir import AbsoluteTime, FieldRef, Metric, SortKey, TimeBucket

# Dialects that resolve a GROUP BY / ORDER BY name to an input column before a SELECT alias.
_COLUMNS_BEFORE_ALIASES = {"postgres", "redshift", "trino"}


class SelectReader(WhereReader):
    """Reads one `exp.Select` into the keyword arguments of a `QueryPlan`."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.metrics: list[Metric] = []
        self.group_by: list[str] = []
        self.bucket: TimeBucket | None = None
        self.outputs: list[str] = []  # output name of each SELECT item, in order
        self.out_alias: dict[str, str] = {}  # SQL alias → output name
        self.items: list[tuple[exp.Expression, str]] = []  # (expression, output name)
        self.aggregated = False

    def skip(self, e: Untranslatable) -> None:
        self.issues.append(unsupported_issue(self.text, e.offset, e.construct, e.why))

    def is_time_col(self, col: exp.Column) -> bool:
        try:
            return self.column(col) == self.time_field() and self.time_field() is not None
        except Untranslatable:
            return False

    # ------------------------------------------------------------------ the statement

    def read(self, select: exp.Select) -> dict[str, Any]:
        items = list(select.expressions)
        group = select.args.get("group")
        distinct = isinstance(select.args.get("distinct"), exp.Distinct)
        self.aggregated = group is not None or distinct or any(
            self._has_aggregate(i) for i in items)
        for item in items:
            inner = item.this if isinstance(item, exp.Alias) else item
            if isinstance(item, exp.Alias):
                self.aliases[item.alias] = inner
        data: dict[str, Any] = {}
        if not self.aggregated:
            star = self._plain_items(items)
        else:
            star = False
            if group is not None:
                keys = list(group.expressions)
                if group.args.get("all"):  # GROUP BY ALL: every SELECT item but the aggregates
                    keys = [exp.Literal.number(i + 1) for i, it in enumerate(items)
                            if not self._has_aggregate(it)]
                for g in keys:
                    self._catch(self._group_key, g, items)
                for key in ("rollup", "cube", "grouping_sets"):
                    if group.args.get(key):
                        self.skip(Untranslatable(self.offset(group.args[key][0]
                                                             if isinstance(group.args[key],
                                                                           list)
                                                             else group.args[key]),
                                                 key.upper().replace("_", " ")))
            for item in items:
                self._catch(self._agg_item, item, distinct and group is None)
        where = select.args.get("where")
        filters: list[Any] = []
        if where is not None:
            data["time_range"], filters = self._where(where.this)
        having: list[Any] = []
        if select.args.get("having") is not None:
            having = self._top_filters(_flatten(select.args["having"].this, exp.And),
                                       after_agg=True)
        sort = self._order(select.args.get("order"))
        data["filters"] = filters
        data["limit"] = self._catch(self._limit, select.args.get("limit"))
        if self.aggregated and not (self.metrics or self.group_by or self.bucket):
            self.aggregated = False  # nothing of it could be read: each part is an issue
            data["project"] = []
            if having:
                self.skip(Untranslatable(self.offset(select.args["having"]), "HAVING",
                                         "the aggregation it filters could not be read"))
        elif self.aggregated:
            data["aggregation"] = {"metrics": [m.model_dump() for m in self.metrics],
                                   "group_by": self.group_by,
                                   "time_bucket": self.bucket.model_dump() if self.bucket
                                   else None}
            natural = self.group_by + ([self.time_field()] if self.bucket else []) + \
                [m.name for m in self.metrics]
            data["project"] = [] if self.outputs == natural else self.outputs
            data["having"] = having
        else:
            data["project"] = [] if star else self.outputs
        data["computed"] = [c.model_dump() for c in self.computed.values()]
        data["sort"] = [s.model_dump() for s in sort]
        if data.get("time_range") is None:
            data.pop("time_range", None)
        return data

    def _catch(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except Untranslatable as e:
            self.skip(e)
            return None

    def _has_aggregate(self, item: exp.Expression) -> bool:
        inner = unparen(item.this if isinstance(item, exp.Alias) else item)
        if isinstance(inner, exp.Window):
            return False
        return self.is_aggregate(inner) or any(
            self.is_aggregate(n) for n in inner.walk() if not isinstance(n, exp.Window)
            and n.find_ancestor(exp.Window) is None)

    # ------------------------------------------------------------------ SELECT list

    def _plain_items(self, items: list[exp.Expression]) -> bool:
        star = False
        for item in items:
            inner = item.this if isinstance(item, exp.Alias) else item
            alias = item.alias if isinstance(item, exp.Alias) else None
            if isinstance(inner, exp.Star):
                star = True
                continue
            try:
                if isinstance(inner, exp.Column) and isinstance(inner.this, exp.Star):
                    star = True  # t.*
                    continue
                if isinstance(inner, exp.Column) and (alias is None or alias == inner.name):
                    name = self.column(inner)
                else:
                    e = self.expr(inner)
                    name = self.computed_for(e, alias) if not (
                        isinstance(e, FieldRef) and alias is None) else e.name
            except Untranslatable as e:
                self.skip(e)
                continue
            self.outputs.append(name)
            self.items.append((inner, name))
            if alias:
                self.out_alias[alias] = name
        if star and self.outputs and any(n not in self.computed for n in self.outputs):
            self.notes.append("columns listed after * are already in *; the plan keeps *")
        return star

    def _group_key(self, g: exp.Expression, items: list[exp.Expression]) -> None:
        node = unparen(g)
        n = number(node)
        if isinstance(n, int) and isinstance(node, exp.Literal) and not node.is_string:
            if not 1 <= n <= len(items):
                raise Untranslatable(self.offset(node), f"GROUP BY {n}",
                                     f"the SELECT list has {len(items)} items")
            item = items[n - 1]
            node = unparen(item.this if isinstance(item, exp.Alias) else item)
            alias = item.alias if isinstance(item, exp.Alias) else None
            return self._group_node(node, alias)
        if isinstance(node, exp.Column) and not node.table and node.name in self.aliases:
            target = unparen(self.aliases[node.name])
            is_col = isinstance(target, exp.Column)
            if not is_col and (self.dialect not in _COLUMNS_BEFORE_ALIASES
                               or not self._is_column_name(node)):
                return self._group_node(target, node.name)
        alias = next((a for a, e in self.aliases.items() if unparen(e) == node), None)
        return self._group_node(node, alias)

    def _is_column_name(self, col: exp.Column) -> bool:
        try:
            self.column(col)
            return True
        except (Untranslatable, Exception):
            return False

    def _group_node(self, node: exp.Expression, alias: str | None) -> None:
        tb = bucket_of(node, self.is_time_col)
        if tb is not None:
            self.bucket = tb
            return
        if isinstance(node, exp.Column):
            name = self.column(node)
            if alias and alias not in {node.name, name}:  # `col AS other`: a renamed copy
                name = self.computed_for(FieldRef(name=name), alias)
        else:
            name = self.computed_for(self.expr(node), alias)
        if name not in self.group_by:
            self.group_by.append(name)

    def _agg_item(self, item: exp.Expression, distinct: bool) -> None:
        inner = unparen(item.this if isinstance(item, exp.Alias) else item)
        alias = item.alias if isinstance(item, exp.Alias) else None
        if isinstance(inner, exp.Star):
            raise Untranslatable(self.offset(item), "SELECT * with an aggregation")
        if isinstance(inner, exp.Window):
            raise Untranslatable(self.offset(inner), "a window function (OVER …)")
        if self.is_aggregate(inner):
            m = self.metric(inner, alias)
            if any(x.name == m.name for x in self.metrics):
                raise Untranslatable(self.offset(item), f"a second output named {m.name!r}")
            self.metrics.append(m)
            name = m.name
        elif self._has_aggregate(item):
            raise Untranslatable(self.offset(inner), "arithmetic on aggregates",
                                 "the IR outputs each aggregate as it is")
        else:
            tb = bucket_of(inner, self.is_time_col)
            if tb is not None:
                if self.bucket is None and distinct:
                    self.bucket = tb
                name = self.time_field() or ""
            elif isinstance(inner, exp.Column):
                name = self.column(inner)
                if alias and alias not in {inner.name, name}:  # renamed: a computed copy
                    renamed = self.computed_for(FieldRef(name=name), alias)
                    if name in self.group_by and renamed not in self.group_by:
                        self.group_by[self.group_by.index(name)] = renamed
                    name = renamed
            else:
                name = self.computed_for(self.expr(inner), alias)
            constant = isinstance(inner, (exp.Literal, exp.Boolean, exp.Null))
            if (distinct or constant) and tb is None and name not in self.group_by:
                # A constant needs no GROUP BY entry (SQL leaves it out: `GROUP BY 2` would be
                # a column position); grouping by it is what the plan said.
                self.group_by.append(name)
            elif tb is None and name not in self.group_by:
                raise Untranslatable(self.offset(item), f"{inner.sql(self.dialect)} outside "
                                     f"GROUP BY", "every non-aggregate must be grouped by")
        self.outputs.append(name)
        self.items.append((inner, name))
        if alias:
            self.out_alias[alias] = name

    # ------------------------------------------------------------------ WHERE

    def _where(self, node: exp.Expression) -> tuple[dict[str, Any] | None, list[Any]]:
        parts = _flatten(node, exp.And)
        start = end = None
        end_node: exp.Expression | None = None
        rest: list[exp.Expression] = []
        for p in parts:
            bound = self._time_bound(p)
            if bound is not None:
                kind, point = bound
                if kind == "start" and start is None:
                    start = point
                    continue
                if kind == "end" and end is None:
                    end, end_node = point, p
                    continue
            rest.append(p)
        time_range = None
        if start is not None:
            time_range = {"start": start.model_dump(mode="json"),
                          "end": end.model_dump(mode="json") if end else None}
        elif isinstance(end, AbsoluteTime) and end_node is not None:
            rest.insert(0, end_node)  # `time < '2024-01-01'` alone is a filter on the field
        elif end_node is not None:  # `time < NOW() - …` alone: the IR's range needs a start
            self.skip(Untranslatable(self.offset(end_node), "an upper time bound without a "
                                     "lower one", "add time >= …"))
        return time_range, self._top_filters(rest, after_agg=False)

    def _time_bound(self, p: exp.Expression) -> tuple[str, Any] | None:
        """('start'|'end', point) for `time >= point` / `time < point` on the time column."""
        p = unparen(p)
        ops = {exp.GTE: "ge", exp.GT: "gt", exp.LT: "lt", exp.LTE: "le"}
        op = ops.get(type(p))
        if op is None:
            return None
        left, right = unparen(p.this), unparen(p.expression)
        if not isinstance(left, exp.Column):
            left, right = right, left
            op = {"ge": "le", "gt": "lt", "lt": "gt", "le": "ge"}[op]
        if not isinstance(left, exp.Column) or not self.is_time_col(left):
            return None
        point = time_point(right)
        if point is None:
            return None
        if isinstance(point, AbsoluteTime) and op in {"gt", "le"}:
            return None  # an exact filter on the time field, not a [start, end) range
        return ("start" if op in {"ge", "gt"} else "end"), point

    def _pairs(self, parts: list[exp.Expression]) -> list[list[exp.Expression]]:
        """The conjuncts one by one, but an `IS NOT NULL` with its `<> ''` kept together."""
        groups: list[list[exp.Expression]] = []
        by_col: dict[str, list[exp.Expression]] = {}
        for p in parts:
            col = _null_test(p, want_not_null=True)
            if col is None and isinstance(p, exp.NEQ) and isinstance(p.expression,
                                                                     exp.Literal) and \
                    p.expression.is_string and p.expression.this == "":
                col = unparen(p.this).sql()
            if col is not None and col in by_col:
                by_col[col].append(p)
                continue
            g = [p]
            groups.append(g)
            if col is not None:
                by_col[col] = g
        return groups

    def _top_filters(self, parts: list[exp.Expression], after_agg: bool) -> list[Any]:
        """Top-level conjuncts: one that cannot be read is reported, the others kept."""
        out: list[Any] = []
        for group in self._pairs(parts):
            try:
                out += self._pair_empty(group, after_agg, exp.And)
            except Untranslatable as e:
                self.skip(e)
        return out

    # ------------------------------------------------------------------ after the SELECT

    def output_field(self, node: exp.Expression) -> str:
        """An aggregation output named by HAVING / ORDER BY: alias, metric, key or bucket."""
        node = unparen(node)
        if isinstance(node, exp.Column) and not node.table and node.name in self.out_alias:
            return self.out_alias[node.name]
        if self.is_aggregate(node):
            m = self.metric(node)
            for x in self.metrics:
                if (x.fn, x.field, x.percentile) == (m.fn, m.field, m.percentile):
                    return x.name
            self.metrics.append(m)
            return m.name
        for inner, name in self.items:
            if inner == node:
                return name
        if bucket_of(node, self.is_time_col) is not None and self.bucket is not None:
            return self.time_field() or ""
        if isinstance(node, exp.Column):
            name = self.column(node, outputs=True)
            if name in self.group_by or name in self.outputs or (
                    self.bucket is not None and name == self.time_field()):
                return name
            raise Untranslatable(self.offset(node), f"{name!r} after the aggregation",
                                 "only group-by fields and metrics exist there")
        e = self.expr(node)
        name = self.computed_for(e, None)
        if name in self.group_by:
            return name
        raise Untranslatable(self.offset(node), f"{node.sql(self.dialect)} after the "
                             f"aggregation")

    def _order(self, order: exp.Order | None) -> list[SortKey]:
        keys: list[SortKey] = []
        if order is None:
            return keys
        for o in order.expressions:
            node = unparen(o.this)
            try:
                name = self._sort_name(node)
            except Untranslatable as e:
                self.skip(e)
                continue
            if name is None:
                continue
            if not any(k.field == name for k in keys):
                keys.append(SortKey(field=name, descending=bool(o.args.get("desc"))))
        return keys

    def _sort_name(self, node: exp.Expression) -> str | None:
        if _is_null_flag(node):  # T-SQL/MySQL's emulated NULLS LAST: display only
            return None
        n = number(node)
        if isinstance(n, int) and isinstance(node, exp.Literal) and not node.is_string:
            if not 1 <= n <= len(self.outputs):
                raise Untranslatable(self.offset(node), f"ORDER BY {n}",
                                     f"the SELECT list has {len(self.outputs)} items")
            return self.outputs[n - 1]
        if self.aggregated:
            return self.output_field(node)
        if isinstance(node, exp.Column) and not node.table and node.name in self.out_alias:
            return self.out_alias[node.name]
        for inner, name in self.items:
            if inner == node:
                return name
        if isinstance(node, exp.Column):
            return self.column(node)
        return self.computed_for(self.expr(node), None)

    def _limit(self, limit: exp.Expression | None) -> int | None:
        if limit is None:
            return None
        opts = limit.args.get("limit_options")
        if opts is not None and opts.args.get("percent"):
            return None  # TOP n PERCENT is not n rows (reported as unsupported)
        count = limit.args.get("count") if isinstance(limit, exp.Fetch) else limit.expression
        n = number(count) if count is not None else None
        if isinstance(n, int) and n < 0:  # never "no limit": the user asked for something else
            raise syntax_error(self.text, self.offset(count), f"LIMIT {n} is negative",
                               expected="a row count of 1 or more")
        if n == 0:
            raise Untranslatable(self.offset(count), "LIMIT 0", "the query model keeps at "
                                 "least one row")
        return n if isinstance(n, int) else None


def _is_null_flag(node: exp.Expression) -> bool:
    """`CASE WHEN x IS NULL THEN 1 ELSE 0 END` (how sqlglot writes NULLS LAST without it)."""
    if not isinstance(node, exp.Case) or len(node.args.get("ifs") or []) != 1:
        return False
    cond = node.args["ifs"][0].this
    return isinstance(cond, exp.Is) and isinstance(cond.expression, exp.Null)


__all__ = ["SelectReader", "absolute_time"]
