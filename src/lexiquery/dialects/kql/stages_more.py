"""The KQL operators that make stages of their own (a mixin of `kql.stages.Stages`):

    summarize arg_max(T, *) by k         → TopPerGroup(by=[k], sort=[T desc]) (arg_min: asc);
                                           arg_max(T, a, b) adds a Step that projects k, T, a, b;
                                           without `by`, a Step that keeps the top row by T
    mv-expand X / mvexpand X / X = expr  → Expand(X); KQL makes no row for an empty array, so
                                           those rows are filtered out first (the renderer's
                                           own `X = iff(array_length(X) == 0, dynamic(null), X)`
                                           keeps them: it reads as Expand alone)
    parse x with * "a" Name "b" *        → Name = extract(x, "^.*?a(.*?)b.*$", 1), one per name

Joins, `in (subquery)` and lookups are `kql.joins`'.
"""

from __future__ import annotations

from lexiquery.dialects.kql import ast as syn
from lexiquery.dialects.kql.bind import Binder, Unsupported
from lexiquery.dialects.kql.bind_more import TEMP, temp_field
from lexiquery.dialects.kql.joins import JoinOps
from lexiquery.dialects.kql.render_stages import ROW_NUMBER
from lexiquery.ir import (
    Aggregation,
    Call,
    Compare,
    ComputedField,
    Condition,
    Expand,
    FieldRef,
    Function,
    Literal_,
    Metric,
    MetricFn,
    Operator,
    SortKey,
    TopPerGroup,
)

AGGREGATES = frozenset({"count", "countif", "dcount", "sum", "sumif", "avg", "min", "max",
                        "percentile", "make_set", "make_list"})
_REGEX_SPECIAL = set("\\.^$|?*+()[]{}")


def _escape(text: str) -> str:
    return "".join("\\" + ch if ch in _REGEX_SPECIAL else ch for ch in text)


class MoreOps(JoinOps):
    b: Binder

    def order(self, st: syn.Stage, what: str, *, after_limit: bool = False,
              after_agg: bool = False) -> None:  # `kql.stages.Stages.order`
        raise NotImplementedError

    def replace_scope(self, new_ns: dict[str, str], out: list[str], offset: int) -> None:
        raise NotImplementedError  # `kql.stages.Stages.replace_scope`

    def run(self, stages: list[syn.Stage]) -> None:
        raise NotImplementedError  # `kql.stages.Stages.run`

    # ------------------------------------------------------------------ arg_max

    def arg_max(self, st: syn.Stage) -> bool:
        b = self.b
        calls = [a for a in st.items if isinstance(a.expr, syn.Call)
                 and a.expr.name in ("arg_max", "arg_min")]
        if not calls:
            return False
        a = calls[0]
        e = a.expr
        assert isinstance(e, syn.Call)
        star = len(e.args) == 2 and isinstance(e.args[1], syn.Lit) and e.args[1].kind == "star"
        if len(st.items) > 1 or a.alias and (star or a.alias.startswith("(")) or len(e.args) < 2:
            raise Unsupported(e.offset, f"{e.name}() with other aggregates or named outputs",
                              f"write summarize {e.name}(Column, *) by keys on its own")
        t = b.field_of(e.args[0])
        by = [b.field_of(k.expr) if k.alias is None else None for k in st.by]
        if t is None or None in by:
            raise Unsupported(e.offset, f"{e.name}() of an expression or by a computed key",
                              "extend the column first")
        cols = [] if star else [b.field_of(x) for x in e.args[1:]]
        if None in cols:
            raise Unsupported(e.offset, f"{e.name}() returning an expression", "return columns")
        key = SortKey(field=t, descending=e.name == "arg_max")
        self.order(st, e.name, after_limit=True, after_agg=True)
        if by:
            b.add_stage(TopPerGroup(by=[k for k in by if k], sort=[key]))
        else:  # one row overall: the top row by T
            b.sort, b.limit = [key], 1
        if not star:
            shown = t
            if a.alias and a.alias != t:  # `FirstSeen = arg_min(TimeGenerated, …)`
                b.computed.append(ComputedField(name=a.alias, expr=FieldRef(name=t)))
                shown = a.alias
            keep = [*(k for k in by if k), shown, *(c for c in cols if c)]
            new_ns = {k: v for k, v in b.ns.items() if v in keep and v != t or v == t and
                      (shown == t or t in cols)}
            new_ns.update({shown: shown} if shown != t else {})
            self.replace_scope(new_ns, list(dict.fromkeys(keep)), st.offset)
        return True

    def metrics(self, a: syn.Assign) -> list[Metric]:  # `kql.stages.Stages.metrics`
        raise NotImplementedError

    def aggregate_expression(self, a: syn.Assign) -> tuple[list[Metric], syn.Node]:
        """`SentMB = sum(SentBytes) / 1048576.0`: each aggregate a hidden metric `_fN`, and the
        expression over them (computed in a step after the aggregation)."""
        b = self.b
        if a.alias is None:
            raise Unsupported(a.offset, "an unnamed expression of aggregates", "name it")
        hidden: list[Metric] = []

        def swap(e: syn.Node) -> syn.Node:
            if isinstance(e, syn.Bin):
                return syn.Bin(e.op, swap(e.left), swap(e.right), e.offset, e.paren)
            if isinstance(e, syn.Call) and e.name in AGGREGATES:
                b.temp_count += 1
                name = f"{TEMP}{b.temp_count}"
                hidden.extend(self.metrics(syn.Assign(name, e, e.offset)))
                b.temps.add(name)
                return syn.Name((name,), e.offset)
            return e
        return hidden, swap(a.expr)

    def computed_from_aggregates(self, pending: list[tuple[syn.Assign, syn.Node]]) -> None:
        b = self.b
        if not pending:
            return
        b.close()
        for a, node in pending:
            hidden = _temp_names(node)
            b.ns.update({m: m for m in hidden})  # visible while the expression is read
            assert a.alias is not None
            try:
                b.computed.append(ComputedField(name=a.alias, expr=b.expr(node)))
            finally:
                for m in hidden:
                    b.ns.pop(m, None)
            b.ns[a.alias] = a.alias

    def start_aggregation(self, st: syn.Stage, what: str) -> None:
        raise NotImplementedError  # `kql.stages.Stages.start_aggregation`

    def after_aggregation(self, out_ns: dict[str, str], offset: int) -> None:
        raise NotImplementedError  # `kql.stages.Stages.after_aggregation`

    def op_distinct(self, st: syn.Stage) -> None:
        b = self.b
        self.start_aggregation(st, "distinct")
        group: list[str] = []
        out_ns: dict[str, str] = {}
        for a in st.items:
            f = b.field_of(a.expr)
            if f is None:
                raise Unsupported(a.offset, "distinct of an expression", "extend it first")
            group.append(f)
            out_ns[a.expr.text if isinstance(a.expr, syn.Name) else f] = f
        b.agg = Aggregation(group_by=group)
        self.after_aggregation(out_ns, st.offset)

    def op_count(self, st: syn.Stage) -> None:
        self.start_aggregation(st, "count")
        self.b.agg = Aggregation(metrics=[Metric(fn=MetricFn.count, alias="Count")])
        self.after_aggregation({"Count": "Count"}, st.offset)

    # ------------------------------------------------------------------ sort and limit

    def sort_keys(self, st: syn.Stage) -> list[SortKey]:
        b = self.b
        keys = []
        for k in st.keys:
            f = b.field_of(k.expr)
            if f is None:
                raise Unsupported(k.offset, "sorting by an expression", "extend it first")
            if k.nulls is not None and (k.nulls == "last") != k.descending:
                raise Unsupported(k.offset, f"nulls {k.nulls}", "the IR sorts nulls the way "
                                  "KQL does by default (last when descending)")
            keys.append(SortKey(field=f, descending=k.descending))
        return keys

    def op_sort(self, st: syn.Stage) -> None:
        self.order(st, "sort", after_limit=True)
        self.b.sort = self.sort_keys(st)

    def op_top(self, st: syn.Stage) -> None:
        self.order(st, "top", after_limit=True)
        self.b.sort = self.sort_keys(st)
        self.b.limit = st.count

    def op_take(self, st: syn.Stage) -> None:
        b = self.b
        assert st.count is not None
        b.limit = st.count if b.limit is None else min(b.limit, st.count)

    def row_numbers(self, st: syn.Stage) -> bool:
        """`| sort by k, T desc | extend _rn = row_number(1, tostring(k) != tostring(prev(k)))`:
        the renderer's rows numbered per group, kept for the `where _rn <= n` that follows."""
        b = self.b
        if len(st.items) != 1 or st.items[0].alias != ROW_NUMBER or not b.sort \
                or b.limit is not None:
            return False
        e = st.items[0].expr
        if not (isinstance(e, syn.Call) and e.name == "row_number" and len(e.args) == 2
                and isinstance(e.args[0], syn.Lit) and e.args[0].value == 1):
            return False
        keys = _restart_keys(e.args[1])
        names = [b.field_of(syn.Name((k,), e.offset)) if k in b.ns else None for k in keys]
        lead = b.sort[:len(keys)]
        if not keys or None in names or [s.field for s in lead] != names \
                or any(s.descending for s in lead) or len(b.sort) == len(keys):
            return False
        self.numbered = ([n for n in names if n], b.sort[len(keys):])
        b.sort = []
        return True

    def first_rows(self, st: syn.Stage) -> bool:
        """`| where _rn <= n` after `row_numbers`: the first n rows of each group."""
        numbered = getattr(self, "numbered", None)
        e = st.expr
        if numbered is None or not (isinstance(e, syn.Bin) and e.op == "<="
                                    and isinstance(e.left, syn.Name)
                                    and e.left.text == ROW_NUMBER and isinstance(e.right, syn.Lit)
                                    and e.right.kind == "number" and e.right.value >= 1):
            return False
        self.numbered = None
        self.b.add_stage(TopPerGroup(by=numbered[0], sort=numbered[1], n=int(e.right.value)))
        self.b.hidden.add(ROW_NUMBER)
        return True

    # ------------------------------------------------------------------ mv-expand

    def op_mv_expand(self, st: syn.Stage) -> None:
        try:
            self.expand(st)
        except Unsupported:
            for a in st.items:  # a column it would have made is not guessed later
                if a.alias is not None:
                    self.b.opaque.add(a.alias)
            raise

    def expand(self, st: syn.Stage) -> None:
        b = self.b
        if st.join_kind:
            raise Unsupported(st.offset, f"mv-expand with {st.join_kind}", "the IR expands "
                              "one array column, every element, as dynamic")
        if len(st.items) != 1:
            raise Unsupported(st.offset, "mv-expand of several columns at once", "KQL "
                              "expands them side by side; expand one column")
        a = st.items[0]
        e = a.expr
        exact = a.alias is not None and _keeps_empty(e, a.alias)
        if exact:
            assert a.alias is not None
            field = b.resolve(syn.Name((a.alias,), a.offset))
        elif a.alias is not None:
            if b.agg is not None or b.limit is not None:
                b.close()
            field = a.alias
            b.computed.append(ComputedField(name=field, expr=b.expr(e)))
            b.ns[field] = field
        else:
            field = b.field_of(e) if isinstance(e, syn.Name) else None
            if field is None:
                raise Unsupported(syn.node_offset(e), "mv-expand of an expression",
                                  "name it: mv-expand Name = expression")
        if not exact:  # KQL makes no row for an empty array; the IR keeps one
            length = Call(fn=Function.array_length, args=[FieldRef(name=field)])
            keep = temp_field(b, None, Call(fn=Function.if_, args=[
                Compare(left=length, op=Operator.eq, right=Literal_(value=0)),
                Literal_(value=False), Literal_(value=True)]))
            b.filters.append(Condition(field=keep, op=Operator.eq, value=True))
        b.add_stage(Expand(field=field))

    # ------------------------------------------------------------------ parse

    def op_parse(self, st: syn.Stage) -> None:
        b = self.b
        if st.join_kind not in ("", "simple"):
            raise Unsupported(st.offset, f"parse kind={st.join_kind}", "the simple form "
                              'parse x with * "text" Name "text" * is read')
        assert st.expr is not None
        items = st.items
        pieces, names = ["^"], []
        for i, a in enumerate(items):
            e, last = a.expr, i == len(items) - 1
            if isinstance(e, syn.Lit) and e.kind == "star":
                pieces.append(".*" if last else ".*?")
            elif isinstance(e, syn.Lit):
                pieces.append(_escape(str(e.value)))
            else:
                assert isinstance(e, syn.Name)
                if a.alias not in (None, "string"):
                    raise Unsupported(a.offset, f"a parsed column of type {a.alias}",
                                      "parse text, then convert it with toint()/todouble()")
                pieces.append("(.*)" if last else "(.*?)")
                names.append(e.text)
        if not names:
            raise Unsupported(st.offset, "parse without a column to extract")
        if b.agg is not None or b.limit is not None:
            b.close()
        text, regex = b.expr(st.expr), "".join(pieces) + "$"
        for n, name in enumerate(names, start=1):
            b.computed.append(ComputedField(name=name, expr=Call(fn=Function.extract, args=[
                text, Literal_(value=regex), Literal_(value=n)])))
            b.ns[name] = name
            if b.project:
                b.project.append(name)


def _restart_keys(e: syn.Node) -> list[str]:
    """The columns of `tostring(k) != tostring(prev(k)) or …` (empty when it is not that)."""
    if isinstance(e, syn.Bin) and e.op == "or":
        left, right = _restart_keys(e.left), _restart_keys(e.right)
        return left + right if left and right else []
    if isinstance(e, syn.Bin) and e.op == "!=" and isinstance(e.left, syn.Call) \
            and e.left.name == "tostring" and len(e.left.args) == 1 \
            and isinstance(e.left.args[0], syn.Name) and isinstance(e.right, syn.Call) \
            and e.right.name == "tostring" and len(e.right.args) == 1:
        prev = e.right.args[0]
        key = e.left.args[0].text
        if isinstance(prev, syn.Call) and prev.name == "prev" and len(prev.args) == 1 \
                and isinstance(prev.args[0], syn.Name) and prev.args[0].text == key:
            return [key]
    return []


def _temp_names(e: syn.Node) -> list[str]:
    if isinstance(e, syn.Bin):
        return _temp_names(e.left) + _temp_names(e.right)
    return [e.text] if isinstance(e, syn.Name) and e.text.startswith(TEMP) else []


def _keeps_empty(e: syn.Node, name: str) -> bool:
    """Is `e` the renderer's `iff(array_length(X) == 0, dynamic(null), X)` with X `name`?"""
    if not (isinstance(e, syn.Call) and e.name in ("iff", "iif") and len(e.args) == 3):
        return False
    test, then, other = e.args
    return isinstance(test, syn.Bin) and test.op == "==" and isinstance(test.left, syn.Call) \
        and test.left.name == "array_length" and len(test.left.args) == 1 \
        and isinstance(test.left.args[0], syn.Name) and test.left.args[0].text == name \
        and isinstance(test.right, syn.Lit) and test.right.value == 0 \
        and isinstance(then, syn.Lit) and then.kind == "null" \
        and isinstance(other, syn.Name) and other.text == name


