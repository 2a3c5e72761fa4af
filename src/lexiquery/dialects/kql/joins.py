"""The KQL operators that combine two queries (a mixin of `kql.stages.Stages`):

    join kind=inner|leftouter|leftsemi|leftanti (R) on k, $left.a == $right.b → Join; a right
                                           column named like a left one is renamed `Name1` in
                                           R, as KQL names it
    where x in (T | … | project y) / !in → Join semi / anti
    lookup (<the query so far> | summarize m by k) on k → Window(m, by k) (the renderer's)

The default join kind, `innerunique`, de-duplicates the left keys before joining: it is read as
an inner join only where the left keys are already unique (the left side was summarized by
exactly those keys), and refused elsewhere, saying to write kind=inner.
"""

from __future__ import annotations

from typing import Callable

from lexiquery.dialects.kql import ast as syn
from lexiquery.dialects.kql.bind import Binder, Unsupported
from lexiquery.dialects.kql.bind_more import temp_field
from lexiquery.dialects.kql.bind_stages import drop_temps, final_scope
from lexiquery.dialects.kql.lex import tokenize
from lexiquery.dialects.kql.render_stages import WINDOW_KEY
from lexiquery.dialects.kql.time import time_range
from lexiquery.errors import QueryError
from lexiquery.ir import (
    Call,
    ComputedField,
    FieldRef,
    Function,
    Join,
    JoinKey,
    JoinKind,
    QueryPlan,
    Window,
)

_KINDS = {"inner": JoinKind.inner, "leftouter": JoinKind.left, "leftsemi": JoinKind.semi,
          "leftanti": JoinKind.anti, "anti": JoinKind.anti, "leftantisemi": JoinKind.anti}


class JoinOps:
    b: Binder
    prev: syn.Stage | None

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
        """`project-away` of a join's right key columns (the renderer's own, or among others):
        nothing to do for them, the IR never outputs them; True when nothing else is left."""
        b = self.b
        hidden = [a for a in st.items if isinstance(a.expr, syn.Name) and a.expr.text in b.hidden]
        for a in hidden:
            assert isinstance(a.expr, syn.Name)
            b.hidden.discard(a.expr.text)
            b.ns.pop(a.expr.text, None)
        st.items = [a for a in st.items if not any(a is h for h in hidden)]
        return bool(hidden) and not st.items

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
        if helper and prev is not None:
            # The helper columns: out of the left pipeline (its computed fields, and its
            # projection when the extend followed one), and `project-away`ed next.
            names = {a.alias for a in prev.items}
            b.computed = [c for c in b.computed if c.name not in names]
            b.project = [p for p in b.project if p not in names]
            for k in list(b.ns):
                if k in names:
                    b.ns.pop(k)
                    b.hidden.add(k)
        b.add_stage(Window(metrics=agg.metrics, by=by))
        for m in agg.metrics:
            b.ns[m.name] = m.name


def _same_tokens(a: str, b: str) -> bool:
    """Do two query texts (each up to its last `|`) read as the same tokens?"""
    def toks(text: str) -> list[str]:
        return [t.text for t in tokenize(text.rstrip().rstrip("|"))[:-1]]
    try:
        return toks(a) == toks(b)
    except QueryError:
        return False
