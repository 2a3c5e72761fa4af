"""The KQL pipeline applied stage by stage: `bind` (a parsed query → `ParsedQuery`) and `Stages`.

The stages are walked once, in the order written, on one `kql.bind.Binder`, which keeps what
KQL itself would see at each point: the names in scope (`ns`: KQL column or output name → IR
name), the names a `project` removed, and how far along the IR's fixed order (filters →
computed → aggregation → having → project → sort → limit) the current pipeline has come. A
stage that cannot join that pipeline without changing the results (`take 10 | where …`, a
second summarize, `extend` after summarize) ends it and starts a new `Step`
(`kql.bind_stages`); the operators that are stages of their own (arg_max, mv-expand, join,
lookup, parse, `in (subquery)`) are `kql.stages_more`'s. An unnamed aggregate gets the name
KQL would give it (`count_`, `dcount_User`, `percentile_x_95`, `set_x`) so later stages that
use that name resolve.
"""

from __future__ import annotations

from typing import Any, Callable

from lexiquery.catalog.model import Catalog, FieldType, Platform
from lexiquery.dialects.fusion import defined_names
from lexiquery.dialects.kql import ast as syn
from lexiquery.dialects.kql.bind import Binder, Unsupported
from lexiquery.dialects.kql.bind_more import temp_field
from lexiquery.dialects.kql.bind_stages import drop_temps
from lexiquery.dialects.kql.lex import to_amount_unit
from lexiquery.dialects.kql.stages_more import MoreOps
from lexiquery.dialects.kql.text import is_path
from lexiquery.dialects.kql.time import time_bound, time_range
from lexiquery.dialects.parsing import ParsedQuery
from lexiquery.ir import (
    Aggregation,
    And,
    Call,
    ComputedField,
    FieldRef,
    Function,
    Literal_,
    Metric,
    MetricFn,
    TimeBucket,
    TimeUnit,
    iter_conditions,
    iter_expr_fields,
)

_SIMPLE_METRICS = {"sum": MetricFn.sum, "avg": MetricFn.avg, "min": MetricFn.min,
                   "max": MetricFn.max, "dcount": MetricFn.count_distinct,
                   "count_distinct": MetricFn.count_distinct, "make_set": MetricFn.values,
                   "make_list": MetricFn.list,
                   # the old spellings detections still use (Kusto accepts both)
                   "makeset": MetricFn.values, "makelist": MetricFn.list}
_KQL_PREFIX = {"make_set": "set", "make_list": "list",  # KQL's own output names
               "makeset": "set", "makelist": "list"}
_MAX_SET = 1_048_576  # make_set/make_list keep at most this many values, with or without a cap
# Skipped operators after which the columns in scope are no longer known.
_KEEPS_SCHEMA = frozenset({"render", "as", "serialize", "project-reorder", "sample"})
_INSTEAD = {
    "countif": "filter with where before summarize, or count a column with "
               "countif(isnotempty(Column))",
}


def _name_part(e: syn.Node) -> str:
    if isinstance(e, syn.Name):
        return e.text.replace(".", "_")
    if isinstance(e, syn.Call) and len(e.args) == 1:
        return _name_part(e.args[0])
    return ""


def bind(text: str, query: syn.Query, catalog: Catalog) -> ParsedQuery:
    """The plan `query` means over `catalog` (see the module docstring)."""
    b = Binder(text, query, catalog)
    Stages(b).run(query.stages)
    drop_temps(b)
    plan = b.draft(time_range(b))
    return ParsedQuery(platform=Platform.kql, dialect="kql", text=text, plan=plan,
                       source=b.source, notes=b.notes)


class Stages(MoreOps):
    """Applies each `| operator` to the binder's state, in the IR's fixed order, with a new
    `Step` where KQL leaves that order."""

    def __init__(self, b: Binder) -> None:
        self.b = b

    def run(self, stages: list[syn.Stage]) -> None:
        self.prev: syn.Stage | None = None
        for st in stages:
            try:
                getattr(self, "op_" + st.kind.replace("-", "_"))(st)
            except Unsupported as u:
                self.b.issue(u)
            self.prev = st

    def items(self, things: list[Any], fn: Callable[[Any], Any]) -> None:
        """Apply `fn` to each item; an unsupported item is reported and the rest still read."""
        for t in things:
            try:
                fn(t)
            except Unsupported as u:
                self.b.issue(u)

    def order(self, st: syn.Stage, what: str, *, after_limit: bool = False,
              after_agg: bool = False) -> None:
        """Start a new `Step` where the stage cannot join the current pipeline in the IR's
        fixed order (`where` after `take`, `extend` or a second `summarize` after one)."""
        b = self.b
        if after_limit and b.limit is not None or after_agg and b.agg is not None:
            b.close()

    # ------------------------------------------------------------------ operators

    def op_skip(self, st: syn.Stage) -> None:
        why = syn.UNSUPPORTED.get(st.name, "")
        if st.name not in _KEEPS_SCHEMA:
            self.b.schema_lost = True
        raise Unsupported(st.offset, f"the {st.name} operator" if " " not in st.name
                          else st.name, why, changes=not st.display_only)

    def op_where(self, st: syn.Stage) -> None:
        b = self.b
        if self.first_rows(st):
            return
        self.order(st, "where", after_limit=True)
        assert st.expr is not None
        conj: list[tuple[syn.Node, bool]] = []
        stack = [(st.expr, False)]
        while stack:  # the `and` parts, in order; `nested` inside a parenthesised group
            e, nested = stack.pop()
            if isinstance(e, syn.Bin) and e.op == "and":
                inner = nested or e.paren
                stack += [(e.right, inner), (e.left, inner)]
            else:
                conj.append((e, nested))
        b.where_count += 1

        def one(item: tuple[syn.Node, bool]) -> None:
            e, nested = item
            if not b.staged and time_bound(b, e, nested) or self.semi_join(e):
                return
            f = b.filt(e)  # may start a new step (a column computed after summarize)
            target = b.having if b.agg is not None else b.filters
            target.extend(f.items if isinstance(f, And) else [f])
        self.items(conj, one)

    def op_extend(self, st: syn.Stage) -> None:
        if self.row_numbers(st):
            return
        self.order(st, "extend", after_agg=True, after_limit=True)
        # `extend Column` of a column already there adds nothing.
        items = [a for a in st.items if a.alias is not None
                 or not (isinstance(a.expr, syn.Name) and a.expr.text in self.b.ns)]
        b = self.b
        if {a.alias for a in items} & (defined_names(b) | set(b.project)):
            b.close()  # a name this pipeline computes, reads or projects: a step of its own
        self.items(items, lambda a: self.define(a, project=bool(self.b.project)))

    def define(self, a: syn.Assign, project: bool) -> str:
        b = self.b
        # KQL's own naming: a bare column keeps its name, any other expression is ColumnN.
        name = a.alias or (a.expr.text if isinstance(a.expr, syn.Name) else "")
        if not name:
            b.unnamed += 1
            name = f"Column{b.unnamed}"
        try:
            expr = b.expr(a.expr)
            if name in iter_expr_fields(expr):  # the IR names one value once
                raise Unsupported(a.offset, f"overwriting '{name}' with an expression that "
                                  "reads it", "give the new column another name")
        except Unsupported:
            b.opaque.add(name)
            b.ns.pop(name, None)
            raise
        b.computed.append(ComputedField(name=name, expr=expr))
        b.ns[name] = name
        b.opaque.discard(name)
        if project and name not in b.project:
            b.project.append(name)
        return name

    def op_project(self, st: syn.Stage) -> None:
        b = self.b
        if b.agg is not None and any(not isinstance(a.expr, syn.Name) for a in st.items):
            b.close()  # a column computed after summarize: the project is a step of its own
        new_ns: dict[str, str] = {}
        out: list[str] = []

        def one(a: syn.Assign) -> None:
            if b.agg is not None:
                if a.alias is None and isinstance(a.expr, syn.Name):
                    ir = b.resolve(a.expr)
                    new_ns[a.expr.text] = ir
                elif a.alias and isinstance(a.expr, syn.Name):
                    ir = self.rename_output(b.resolve(a.expr), a.alias, a.offset)
                    new_ns[a.alias] = ir
                else:
                    raise Unsupported(a.offset, "a computed column after summarize",
                                      "the IR computes columns before the aggregation")
                out.append(ir)
                return
            f = b.field_of(a.expr)
            if f is not None and (a.alias is None or a.alias == f):
                key = a.alias or (a.expr.text if isinstance(a.expr, syn.Name) else f)
                new_ns[key] = f
                out.append(f)
                return
            self.order(st, "a computed column", after_agg=True)
            name = self.define(a, project=False)
            new_ns[name] = name
            out.append(name)
        self.items(st.items, one)
        self.replace_scope(new_ns, out, st.offset)

    def replace_scope(self, new_ns: dict[str, str], out: list[str], offset: int) -> None:
        b = self.b
        for k in b.ns:
            if k not in new_ns:
                b.removed[k] = offset
        for k in new_ns:
            b.removed.pop(k, None)
        b.ns = new_ns
        b.project = list(dict.fromkeys(out))

    def op_project_away(self, st: syn.Stage) -> None:
        b = self.b
        if self.hidden_away(st):
            return
        away = set()
        for a in st.items:
            assert isinstance(a.expr, syn.Name)
            if "*" in a.expr.text:
                raise Unsupported(a.offset, "project-away with a wildcard", "name the columns")
            b.resolve(a.expr)
            away.add(a.expr.text)
        keep = {k: v for k, v in b.ns.items() if k not in away}
        self.replace_scope(keep, list(keep.values()), st.offset)

    def op_project_rename(self, st: syn.Stage) -> None:
        b = self.b
        for a in st.items:
            assert a.alias is not None and isinstance(a.expr, syn.Name)
            old = b.resolve(a.expr)
            if b.agg is not None:
                new = self.rename_output(old, a.alias, a.offset)
            else:
                b.computed.append(ComputedField(name=a.alias, expr=FieldRef(name=old)))
                new = a.alias
            ns = {(a.alias if k == a.expr.text else k): (new if k == a.expr.text else v)
                  for k, v in b.ns.items()}
            self.replace_scope(ns, list(ns.values()), st.offset)

    def rename_output(self, old: str, new: str, offset: int) -> str:
        """Renaming an aggregate after summarize is the same as naming it there."""
        b = self.b
        assert b.agg is not None
        m = next((m for m in b.agg.metrics if m.name == old), None)
        if m is not None:
            m.alias = new
        elif old in b.agg.group_by and b.source.field(old) is not None \
                and new not in b.ns.values():
            # A group key renamed afterwards is the same as one named in the by clause.
            b.computed.append(ComputedField(name=new, expr=FieldRef(name=old)))
            b.agg.group_by = [new if g == old else g for g in b.agg.group_by]
        else:
            raise Unsupported(offset, f"renaming '{old}' after summarize",
                              "name it in the summarize: NewName = count() … by NewName = "
                              "Column")
        for c in iter_conditions(b.having):
            if c.field == old:
                c.field = new
        b.sort = [s.model_copy(update={"field": new}) if s.field == old else s for s in b.sort]
        b.project = [new if p == old else p for p in b.project]
        return new

    # ------------------------------------------------------------------ aggregation

    def start_aggregation(self, st: syn.Stage, what: str) -> None:
        b = self.b
        self.order(st, what, after_limit=True, after_agg=True)
        if b.sort:
            b.notes.append("a sort before the aggregation has no effect and was dropped")
            b.sort = []
        b.project = []

    def op_summarize(self, st: syn.Stage) -> None:
        b = self.b
        if self.arg_max(st):
            return
        self.start_aggregation(st, "summarize")
        metrics: list[Metric] = []
        group: list[str] = []
        bucket: TimeBucket | None = None
        out_ns: dict[str, str] = {}

        def key(a: syn.Assign) -> None:
            nonlocal bucket
            e = a.expr
            if isinstance(e, syn.Call) and e.name == "tostring" and len(e.args) == 1 and \
                    isinstance(e.args[0], syn.Name) and a.alias == e.args[0].text and \
                    b.field_of(e.args[0]) is not None and \
                    b.ftype(b.resolve(e.args[0])) in (FieldType.dynamic, None):
                e = e.args[0]  # the renderer's `k = tostring(k)` for a dynamic key
            if isinstance(e, syn.Call) and e.name in ("bin", "floor") and len(e.args) == 2:
                tf = b.source.time_field
                f = b.field_of(e.args[0])
                span = e.args[1]
                if f is None or f != tf or not (isinstance(span, syn.Lit)
                                                and span.kind == "timespan"):
                    raise Unsupported(e.offset, "bin() of anything but the time column by a "
                                      "timespan", "the IR buckets the time column only")
                au = to_amount_unit(span.value, span.unit)
                if au is None or bucket is not None:
                    raise Unsupported(span.offset, "this time bucket", "a whole number of "
                                      "seconds, once")
                bucket = TimeBucket(amount=au[0], unit=TimeUnit(au[1]))
                col = b.binding.columns[tf]
                if a.alias and a.alias != col:
                    b.notes.append(f"the time bucket is named {col}, not {a.alias}")
                out_ns[a.alias or col] = tf
                return
            f = b.field_of(e)
            col = b.binding.columns.get(f) if f else None
            if f is not None and (a.alias is None or a.alias in (f, col)):
                group.append(f)
                out_ns[a.alias or (col if col and not is_path(col) else f)] = f
                return
            name = self.define(a, project=False)
            group.append(name)
            out_ns[name] = name

        read = 0

        pending: list[tuple[syn.Assign, syn.Node]] = []

        def metric(a: syn.Assign) -> None:
            nonlocal read
            if isinstance(a.expr, syn.Bin) and a.expr.op in ("+", "-", "*", "/", "%"):
                hidden, node = self.aggregate_expression(a)
                metrics.extend(hidden)
                pending.append((a, node))
            else:
                for m in self.metrics(a):
                    metrics.append(m)
                    out_ns[m.name] = m.name
            read += 1
        self.items(st.by, key)
        self.items(st.items, metric)
        if read < len(st.items):
            b.schema_lost = True  # the outputs of the aggregate not read are unknown
        if not metrics and not group and bucket is None:
            return
        b.agg = Aggregation(metrics=metrics, group_by=group, time_bucket=bucket)
        self.after_aggregation(out_ns, st.offset)
        self.computed_from_aggregates(pending)

    def after_aggregation(self, out_ns: dict[str, str], offset: int) -> None:
        b = self.b
        b.dropped = {k: offset for k in [*b.ns, *b.removed] if k not in out_ns}
        b.removed = {}
        b.ns = out_ns

    def metrics(self, a: syn.Assign) -> list[Metric]:
        b = self.b
        e = a.expr
        if not isinstance(e, syn.Call):
            raise Unsupported(syn.node_offset(e), "this aggregation", "summarize takes "
                              "aggregation calls such as count(), dcount(x), avg(x)")
        if a.alias and a.alias.startswith("("):
            raise Unsupported(a.offset, f"{e.name}() with several output columns",
                              _INSTEAD.get(e.name, ""))
        fn, args = e.name, e.args
        if fn == "count" and len(args) <= 1:  # count(x) counts every row, as count() does
            part = _name_part(args[0]) if args else ""
            return [Metric(fn=MetricFn.count, alias=a.alias or f"count_{part}")]
        if fn == "countif" and len(args) == 1 and isinstance(args[0], syn.Call) \
                and args[0].name == "isnotempty" and len(args[0].args) == 1:
            f = self.metric_field(args[0].args[0], e)
            return [Metric(fn=MetricFn.count, field=f, alias=a.alias or "countif_")]
        if fn in ("countif", "sumif") and len(args) == (1 if fn == "countif" else 2):
            # countif(p) = sum(iff(p, 1, 0)); sumif(x, p) = sum(iff(p, x, 0)): exact
            value = Literal_(value=1) if fn == "countif" else b.expr(args[0])
            flag = temp_field(b, None, Call(fn=Function.if_, args=[
                b.test(args[-1]), value, Literal_(value=0)]))
            return [Metric(fn=MetricFn.sum, field=flag, alias=a.alias or f"{fn}_")]
        if fn in _INSTEAD:
            raise Unsupported(e.offset, f"{fn}()" + (" with this condition"
                                                      if fn == "countif" else ""),
                              _INSTEAD[fn])
        if fn in ("percentile", "percentiles") and len(args) >= 2:
            f = self.metric_field(args[0], e)
            ps = [b.const(p) for p in args[1:]]
            if fn == "percentile" and len(ps) != 1 or a.alias and len(ps) != 1 \
                    or not all(isinstance(p, (int, float)) and 0 < p < 100 for p in ps):
                raise Unsupported(e.offset, f"{fn}() with these arguments", "percentile(x, p) "
                                  "with 0 < p < 100, or percentiles(x, p1, p2, …)")
            part = _name_part(args[0])
            return [Metric(fn=MetricFn.percentile, field=f, percentile=p, alias=a.alias or
                           f"percentile_{part}_{str(p).replace('.', '_')}") for p in ps]
        if fn == "dcount" and len(args) == 2:
            args = args[:1]  # the accuracy level: dcount is an estimate at any level
        if fn in _KQL_PREFIX and len(args) == 2:
            cap = args[1]
            if not (isinstance(cap, syn.Lit) and cap.kind == "number"):
                raise Unsupported(syn.node_offset(cap), f"{fn}() with a computed size cap")
            if cap.value < _MAX_SET:  # the cap can only change results below Kusto's own
                # A warning, not an error: detections cap the list to keep alerts small, and
                # which values KQL keeps is arbitrary, so every value is no less an answer; the
                # results differ only for a group with more values than the cap, and the
                # warning says so (the sample check shows it when it happens).
                b.issue(Unsupported(cap.offset, f"the size cap of {fn}(…, {cap.value})",
                                    f"the translation lists every value of each group; KQL "
                                    f"keeps at most {cap.value}, chosen arbitrarily, so only "
                                    f"a group with more values differs", changes=False))
            args = args[:1]
        if fn in _SIMPLE_METRICS and len(args) == 1:
            f = self.metric_field(args[0], e)
            mfn = _SIMPLE_METRICS[fn]
            if fn in ("min", "max") and f == b.source.time_field and b.agg is None:
                mfn = MetricFn.first_seen if fn == "min" else MetricFn.last_seen
                return [Metric(fn=mfn, alias=a.alias or f"{fn}_{_name_part(args[0])}")]
            prefix = _KQL_PREFIX.get(fn, fn)
            return [Metric(fn=mfn, field=f, alias=a.alias or f"{prefix}_{_name_part(args[0])}")]
        raise Unsupported(e.offset, f"the aggregation {fn}()", "the IR aggregates with count(), "
                          "countif(isnotempty(x)), dcount, sum, avg, min, max, percentile(s), "
                          "make_set and make_list")

    def metric_field(self, arg: syn.Node, call: syn.Call) -> str:
        f = self.b.field_of(arg)
        return f if f is not None else temp_field(self.b, arg)  # max(strlen(x))
