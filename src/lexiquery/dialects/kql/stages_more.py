"""The KQL operators that make stages of their own (a mixin of `kql.stages.Stages`):

    summarize arg_max(T, *) by k         → TopPerGroup(by=[k], sort=[T desc]) (arg_min: asc);
                                           arg_max(T, a, b) adds a Step that projects k, T, a, b;
                                           without `by`, a Step that keeps the top row by T
    mv-expand X / mvexpand X / X = expr  → Expand(X); KQL makes no row for an empty array, so
                                           those rows are filtered out first (the renderer's
                                           own `X = iff(array_length(X) == 0, dynamic(null), X)`
                                           keeps them: it reads as Expand alone)
    join kind=inner|leftouter|leftsemi|leftanti (R) on k, $left.a == $right.b → Join; a right
                                           column named like a left one is renamed `Name1` in
                                           R, as KQL names it
    where x in (T | … | project y) / !in → Join semi / anti
    lookup (<the query so far> | summarize m by k) on k → Window(m, by k) (the renderer's)
    parse x with * "a" Name "b" *        → Name = extract(x, "^.*?a(.*?)b.*$", 1), one per name

The default join kind, `innerunique`, de-duplicates the left keys before joining: it is read as
an inner join only where the left keys are already unique (the left side was summarized by
exactly those keys), and refused elsewhere, saying to write kind=inner.
"""

from __future__ import annotations

from typing import Any, Callable

from lexiquery.dialects.kql import ast as syn
from lexiquery.dialects.kql.bind import Binder, Unsupported
from lexiquery.dialects.kql.bind_more import TEMP, temp_field
from lexiquery.dialects.kql.lex import tokenize
from lexiquery.dialects.kql.render_stages import WINDOW_KEY, kql_context
from lexiquery.dialects.kql.time import time_range
from lexiquery.dialects.scope import walk
from lexiquery.errors import PlanError, QueryError
from lexiquery.ir import (
    Call,
    Compare,
    ComputedField,
    Condition,
    Expand,
    FieldRef,
    Function,
    Join,
    JoinKey,
    JoinKind,
    Literal_,
    Metric,
    Operator,
    QueryPlan,
    SortKey,
    TopPerGroup,
    Window,
)

AGGREGATES = frozenset({"count", "countif", "dcount", "sum", "sumif", "avg", "min", "max",
                        "percentile", "make_set", "make_list"})
_KINDS = {"inner": JoinKind.inner, "leftouter": JoinKind.left, "leftsemi": JoinKind.semi,
          "leftanti": JoinKind.anti, "anti": JoinKind.anti, "leftantisemi": JoinKind.anti}
_REGEX_SPECIAL = set("\\.^$|?*+()[]{}")


def _escape(text: str) -> str:
    return "".join("\\" + ch if ch in _REGEX_SPECIAL else ch for ch in text)


def final_scope(b: Binder) -> dict[str, Any] | None:
    try:
        scope: dict[str, Any] = {}
        for _, scope in walk(b.draft(None), kql_context(b.source, b.catalog.get)):
            pass
        return scope
    except (PlanError, ValueError):
        return None


def drop_temps(b: Binder) -> None:
    """Project the columns `bind_more.temp_field` added away where they would reach the
    output (a pipeline with neither project nor summarize after them)."""
    if not b.temps or b.schema_lost:
        return
    scope = final_scope(b)
    if scope is not None and b.temps & set(scope):
        b.project = [n for n in scope if n not in b.temps]


class MoreOps:
    b: Binder

    def order(self, st: syn.Stage, what: str, *, after_limit: bool = False,
              after_agg: bool = False) -> None:  # `kql.stages.Stages.order`
        raise NotImplementedError

    def replace_scope(self, new_ns: dict[str, str], out: list[str], offset: int) -> None:
        raise NotImplementedError  # `kql.stages.Stages.replace_scope`

    def run(self, stages: list[syn.Stage]) -> None:
        raise NotImplementedError  # `kql.stages.Stages.run`

    # ------------------------------------------------------------------ subqueries

    def bind_query(self, query: syn.Query,
                   adjust: Callable[[Binder], None] | None = None) -> tuple[QueryPlan, Binder]:
        """A subquery's plan, its issues moved onto this query (they point into its text);
        `adjust` changes the subquery's binder before its plan is drafted."""
        sub = Binder(self.b.text, query, self.b.catalog)
        type(self)(sub).run(query.stages)  # type: ignore[call-arg]
        if adjust is not None:
            adjust(sub)
        drop_temps(sub)
        plan = sub.draft(time_range(sub))
        self.b.issues += plan.issues
        self.b.notes += sub.notes
        return plan.model_copy(update={"issues": []}), sub

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

    # ------------------------------------------------------------------ joins

    def op_join(self, st: syn.Stage) -> None:
        b = self.b
        assert st.query is not None
        kind = st.join_kind
        lefts = [b.resolve(left) for left, _ in st.on if isinstance(left, syn.Name)]
        how = _KINDS.get(kind)
        if kind in ("", "innerunique"):
            agg = b.agg
            if agg is None or agg.time_bucket is not None or not set(agg.group_by) <= set(lefts):
                raise Unsupported(st.offset, "a join of KQL's default kind (innerunique)",
                                  "it keeps one left row per key; write kind=inner (or "
                                  "kind=leftsemi, leftouter, leftanti)")
            how = JoinKind.inner  # the left keys are unique: innerunique is inner
        if how is None:
            raise Unsupported(st.offset, f"join kind={kind}", "the IR joins inner, leftouter, "
                              "leftsemi and leftanti")
        keys = {r.text for _, r in st.on if isinstance(r, syn.Name)}

        def rename(sub: Binder) -> None:
            """A right column named like a left one is `Name1`, as KQL names it."""
            clash = [k for k in sub.ns if k in b.ns and k not in keys]
            if not clash or how in (JoinKind.semi, JoinKind.anti) or sub.schema_lost:
                return
            if sub.agg is not None or sub.limit is not None:
                sub.close()
            for k in clash:
                new = f"{k}1"
                if new in sub.ns or new in b.ns:
                    raise Unsupported(st.offset, f"a join whose sides both have '{k}' and "
                                      f"'{new}'", "rename one in the right-hand query")
                sub.computed.append(ComputedField(name=new, expr=FieldRef(name=sub.ns.pop(k))))
                sub.ns[new] = new
            sub.project = list(dict.fromkeys(sub.ns.values()))
        plan, sub = self.bind_query(st.query, rename)
        on = []
        for (left, right), lname in zip(st.on, lefts):
            assert isinstance(right, syn.Name)
            on.append(JoinKey(left=lname, right=sub.resolve(right)))
        shown = {k: v for k, v in sub.ns.items() if v not in {j.right for j in on}}
        hidden = {r.text for _, r in st.on if isinstance(r, syn.Name)}
        if how in (JoinKind.inner, JoinKind.left):
            clash = sorted(set(shown) & set(b.ns))
            if clash:
                b.schema_lost = True
                raise Unsupported(st.offset, f"a join whose sides both have '{clash[0]}'",
                                  "KQL names the right one with a suffix; project it away or "
                                  "rename it in the right-hand query")
        stage = Join(how=how, right=plan, on=on)
        b.add_stage(stage)
        if final_scope(b) is None:
            b.schema_lost = True  # the columns after it are not known
            b.stage_list.pop()
            b.prev_scope = b.scope_now()
            raise Unsupported(st.offset, "this join", "its two sides' columns do not combine "
                              "(a name on both sides, or a key not in scope)")
        if how in (JoinKind.inner, JoinKind.left):
            for n in hidden:  # the right key: `k1` when named like the left key, else itself
                b.hidden.add(f"{n}1" if n in b.ns else n)
                if how is JoinKind.inner and n not in b.ns:
                    b.ns[n] = on[[r.text for _, r in st.on].index(n)].left
            b.ns.update(shown)

    def semi_join(self, e: syn.Node) -> bool:
        """`where x in (T | … | project y)`: a semi join (`!in`: anti)."""
        b = self.b
        if not (isinstance(e, syn.InList) and e.subquery is not None):
            return False
        if e.op not in ("in", "!in"):
            raise Unsupported(e.offset, f"{e.op} with a subquery", "the IR matches a subquery's "
                              "values exactly: use in or !in")
        left = b.field_of(e.left)
        if left is None:
            left = temp_field(b, e.left)
        plan, sub = self.bind_query(e.subquery)
        outs = list(dict.fromkeys(sub.ns.values()))
        if len(outs) != 1:
            raise Unsupported(e.offset, "in with a subquery of several columns",
                              "end the subquery with project or distinct of one column")
        how = JoinKind.anti if e.op == "!in" else JoinKind.semi
        b.add_stage(Join(how=how, right=plan, on=[JoinKey(left=left, right=outs[0])]))
        return True

    def hidden_away(self, st: syn.Stage) -> bool:
        """`project-away` of a join's right key columns (the renderer's own): nothing to do,
        the IR never outputs them."""
        b = self.b
        names = [a.expr.text for a in st.items if isinstance(a.expr, syn.Name)]
        if not names or not all(n in b.hidden for n in names):
            return False
        for n in names:
            b.hidden.discard(n)
            b.ns.pop(n, None)
        return True

    # ------------------------------------------------------------------ windows

    def op_lookup(self, st: syn.Stage) -> None:
        """`| lookup (<the query so far> | summarize m by k) on k`: the renderer's window
        (`kql.render_stages`), every row with its group's aggregates. Any other lookup is
        refused (it is a left join whose right keys must be unique)."""
        b = self.b
        assert st.query is not None
        prev = self.prev
        keys = [left.text for left, right in st.on if isinstance(left, syn.Name)
                and isinstance(right, syn.Name) and left.text == right.text]
        helper = prev is not None and prev.kind == "extend" and all(
            a.alias and a.alias.startswith(WINDOW_KEY) for a in prev.items)
        end = prev.offset if helper and prev is not None else st.offset
        sub = st.query
        last = sub.stages[-1] if sub.stages else None
        if st.join_kind not in ("", "leftouter") or len(keys) != len(st.on) or last is None \
                or last.kind != "summarize" or not _same_tokens(
                    b.text[b.query.table_offset:end], b.text[sub.table_offset:last.offset]):
            raise Unsupported(st.offset, "this lookup", "a lookup of the same query's "
                              "summarize by the lookup keys is read (a window); write other "
                              "lookups as join kind=leftouter")
        plan, sub_b = self.bind_query(sub)
        agg = plan.stages[-1].aggregation if plan.stages else plan.aggregation
        assert agg is not None
        computed = {c.name: c.expr for c in (plan.stages[-1].computed if plan.stages
                                             else plan.computed)}
        by = []
        for g in agg.group_by:
            e = computed.get(g)
            if g.startswith(WINDOW_KEY) and isinstance(e, Call) and e.fn is Function.to_string:
                by.append(e.args[0].name)  # type: ignore[union-attr]
            elif not g.startswith(WINDOW_KEY):
                by.append(g)
        if helper:  # the helper columns: out of the left pipeline, and `project-away`ed next
            b.computed = [c for c in b.computed if not c.name.startswith(WINDOW_KEY)]
            for k in list(b.ns):
                if k.startswith(WINDOW_KEY):
                    b.ns.pop(k)
                    b.hidden.add(k)
        b.add_stage(Window(metrics=agg.metrics, by=by))
        for m in agg.metrics:
            b.ns[m.name] = m.name

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


def _temp_names(e: syn.Node) -> list[str]:
    if isinstance(e, syn.Bin):
        return _temp_names(e.left) + _temp_names(e.right)
    return [e.text] if isinstance(e, syn.Name) and e.text.startswith(TEMP) else []


def _same_tokens(a: str, b: str) -> bool:
    """Do two query texts (each up to its last `|`) read as the same tokens?"""
    def toks(text: str) -> list[str]:
        return [t.text for t in tokenize(text.rstrip().rstrip("|"))[:-1]]
    try:
        return toks(a) == toks(b)
    except QueryError:
        return False


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


