"""The SPL pipeline read into one `QueryPlan`: what each command does to the plan's stages.

`Pipeline` holds the plan being built and the names visible at this point (the source's
fields and computed fields before the aggregation, its outputs after). Each `cmd_*` method is
one SPL command. The IR's order is fixed — filters, computed, aggregation, having, project,
sort, limit — so a command is taken only when moving it into that order keeps the results;
otherwise it becomes an ``unsupported`` issue at its position (`head 10 | where …`, a second
`stats`, `eventstats`, `eval` after `stats`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from lexiquery.catalog.model import FieldType, Platform, Source
from lexiquery.dialects.parsing import syntax_error, unsupported_issue
from lexiquery.dialects.spl_bind import (
    ExprBinder,
    Ref,
    Scope,
    Unsupported,
    and_items,
    fold_and,
    span_bucket,
    term_filter,
    time_point,
    where_filter,
)
from lexiquery.dialects.spl_lex import EVAL, Scanner, Tok
from lexiquery.dialects.spl_search import (
    EBin,
    ECall,
    EField,
    ELit,
    ENode,
    OpaqueInEval,
    SNode,
    STerm,
    SValue,
    parse_assignments,
    parse_eval,
    parse_search,
)
from lexiquery.dialects.spl_text import TIME_FORMAT
from lexiquery.ir import (
    AbsoluteTime,
    Aggregation,
    ComputedField,
    Metric,
    MetricFn,
    PlanIssue,
    QueryPlan,
    Severity,
    SortKey,
    TimeBucket,
    TimeRange,
)

HANDLED = frozenset({"search", "where", "eval", "stats", "eventstats", "tstats", "datamodel",
                     "table", "fields", "rename", "sort", "head", "tail", "dedup", "top",
                     "rare", "timechart", "bin", "bucket", "fieldformat"})
_SIMPLE_METRICS = {"count": MetricFn.count, "c": MetricFn.count, "dc": MetricFn.count_distinct,
                   "distinct_count": MetricFn.count_distinct, "sum": MetricFn.sum,
                   "avg": MetricFn.avg, "mean": MetricFn.avg, "min": MetricFn.min,
                   "max": MetricFn.max, "values": MetricFn.values, "list": MetricFn.list}
_PERCENTILE = ("exactperc", "upperperc", "percentile", "perc", "p")


@dataclass(frozen=True)
class Command:
    """One `| name args` of the pipeline: `pos` is the name, `args` where its arguments start."""

    name: str
    pos: int
    args: int
    end: int
    pipe: int


class Args:
    """Search-mode tokens of a command's arguments, with the small helpers commands need."""

    def __init__(self, text: str, start: int, end: int) -> None:
        self.text = text
        self.sc = Scanner(text, start, end)

    def peek(self) -> Tok:
        return self.sc.peek()

    def next(self) -> Tok:
        return self.sc.next()

    def at_end(self) -> bool:
        return self.sc.at_end()

    def keyword(self, *words: str) -> Tok | None:
        tok = self.peek()
        if tok.kind == "word" and tok.text.lower() in words:
            return self.next()
        return None

    def option(self) -> tuple[str, str, int] | None:
        """`name=value` at this point (a command option), else None and nothing consumed."""
        tok = self.peek()
        if tok.kind != "word":
            return None
        save = self.sc.pos
        self.next()
        if self.peek().is_op("="):
            self.next()
            val = self.next()
            if val.kind in {"word", "str"}:
                return tok.text.lower(), str(val.value), tok.start
            raise syntax_error(self.text, val.start, f"{tok.text}= needs a value",
                               expected="a value")
        self.sc.pos = save
        return None

    def options(self) -> dict[str, tuple[str, int]]:
        out: dict[str, tuple[str, int]] = {}
        while (opt := self.option()) is not None:
            out[opt[0]] = (opt[1], opt[2])
        return out

    def skip_until(self, *words: str) -> None:
        while not self.at_end():
            tok = self.peek()
            if tok.kind == "word" and tok.text.lower() in words:
                return
            self.next()

    def comma(self) -> None:
        if self.peek().is_op(","):
            self.next()

    def field_names(self, what: str, stop: tuple[str, ...] = ()) -> list[tuple[str, int]]:
        """Field names separated by spaces and/or commas, up to the end or a `stop` word."""
        out: list[tuple[str, int]] = []
        while not self.at_end():
            tok = self.peek()
            if tok.kind == "word" and tok.text.lower() in stop:
                break
            if tok.kind not in {"word", "str"}:
                raise syntax_error(self.text, tok.start, f"unexpected '{tok.text}' in {what}",
                                   expected="a field name")
            self.next()
            out.append((str(tok.value), tok.start))
            self.comma()
        return out


def _epoch_start() -> AbsoluteTime:
    """The start of time: the IR's time range needs a start when only `latest=` is given."""
    return AbsoluteTime(at=datetime.fromtimestamp(0, tz=timezone.utc))


class Pipeline:
    """The plan under construction (see module docstring)."""

    def __init__(self, text: str, source: Source, scope: Scope, *, generating: bool) -> None:
        self.text = text
        self.source = source
        self.scope = scope
        self.generating = generating
        self.out: Scope | None = None  # the aggregation's outputs, once there is one
        self.start: Any = None
        self.end: Any = None
        self.filters: list[Any] = []
        self.computed: list[ComputedField] = []
        self.agg: Aggregation | None = None
        self.having: list[Any] = []
        self.project: list[str] = []
        self.sort: list[SortKey] = []
        self.limit: int | None = None
        self.issues: list[PlanIssue] = []
        self.notes: list[str] = []
        self.pending_bin: tuple[TimeBucket, int] | None = None
        raw = next((col for col in source.bindings.columns(Platform.spl).values()
                    if col == "_raw"), None)
        self.raw_ref = scope.lookup(raw) if raw else None

    # ------------------------------------------------------------------ results

    def issue(self, u: Unsupported) -> None:
        self.issues.append(unsupported_issue(self.text, u.pos, u.what, u.why,
                                             changes_results=u.changes_results))

    def plan(self) -> QueryPlan:
        if self.pending_bin is not None:
            self.issue(Unsupported(self.pending_bin[1], "bin without a following stats by "
                                   "_time", "the IR buckets time only to aggregate"))
        tr = None
        if self.start is not None or self.end is not None:
            tr = TimeRange(start=self.start or _epoch_start(), end=self.end)
        return QueryPlan(source=self.source.id, time_range=tr, filters=self.filters,
                         computed=self.computed, aggregation=self.agg,
                         having=self.having if self.agg else [], project=self.project,
                         sort=self.sort, limit=self.limit, issues=self.issues)

    @property
    def names(self) -> Scope:
        return self.out if self.out is not None else self.scope

    # ------------------------------------------------------------------ search terms

    def base_terms(self, terms: list[SNode], used: set[int], narrowed: list[int]) -> None:
        """The base search (or tstats where) minus the source prefix's own terms."""
        for i in narrowed:
            t = terms[i]
            self.issue(Unsupported(t.pos, f"'{self.text[t.pos:getattr(t, 'end', t.pos + 1)]}'"
                                   f" (part of {self.source.id}'s prefix)",
                                   "the plan searches the whole source "
                                   f"({self.source.bindings.spl.search})"))  # type: ignore
        rest = [t for i, t in enumerate(terms) if i not in used]
        self.filters += self._search_filters(rest, self.scope, allow_time=True)

    def _search_filters(self, terms: list[SNode], scope: Scope, *, allow_time: bool) -> list:
        out: list[Any] = []
        for t in terms:
            if allow_time and isinstance(t, STerm) and t.field and t.op == "=" \
                    and t.field.lower() in {"earliest", "latest"}:
                assert isinstance(t.value, SValue)
                try:
                    self._set_time(t.field.lower() == "earliest", t.value.text, t.value.pos)
                except Unsupported as u:
                    self.issue(u)
                continue
            if isinstance(t, STerm) and t.field and t.field.lower() in {
                    "index", "sourcetype", "source"} and scope.lookup(t.field) is None:
                self.issue(Unsupported(t.pos, f"the extra source term {t.field}="
                                       f"{t.value.text if isinstance(t.value, SValue) else ''}",
                                       f"the catalog source {self.source.id} is searched as "
                                       f"{self.source.bindings.spl.search}"))  # type: ignore
                continue
            try:
                out.append(term_filter(t, scope, self.raw_ref if scope is self.scope else None))
            except Unsupported as u:
                self.issue(u)
        return fold_and(out)

    def _set_time(self, is_start: bool, value: str, pos: int) -> None:
        point, is_now = time_point(value, pos)
        if "/" in value:
            self.notes.append(f"{value!r} is read as UTC; Splunk reads it in the user's time "
                              "zone")
        if is_start:
            self.start = point
        else:
            self.end = None if is_now else point

    # ------------------------------------------------------------------ commands

    def run(self, commands: list[Command]) -> None:
        i = 0
        while i < len(commands):
            cmd = commands[i]
            name = cmd.name.lower()
            if self.pending_bin is not None and name not in {"stats"}:
                self.issue(Unsupported(self.pending_bin[1], "bin without a following stats "
                                       "by _time", "the IR buckets time only to aggregate"))
                self.pending_bin = None
            nxt = commands[i + 1] if i + 1 < len(commands) else None
            try:
                handler = getattr(self, f"cmd_{name}", None)
                if handler is None:
                    self._lenient()
                    self.issue(Unsupported(cmd.pos, f"the {name} command",
                                           "the IR cannot hold it",
                                           changes_results=name not in {"highlight",
                                                                        "iconify"}))
                elif name == "dedup":
                    i += handler(cmd, nxt)
                else:
                    handler(cmd)
            except Unsupported as u:
                self.issue(u)
                self._lenient()
            except OpaqueInEval as e:
                self.issue(Unsupported(e.tok.start, "a subsearch or macro in an expression",
                                       "it cannot be expanded without the Splunk server"))
            i += 1

    def _lenient(self) -> None:
        """Names after a construct that was not held may come from it: see `Scope.lenient`."""
        self.scope.lenient = True
        if self.out is not None:
            self.out.lenient = True

    def _late(self, cmd: Command, what: str, why: str) -> Unsupported:
        return Unsupported(cmd.pos, what, why)

    def cmd_search(self, cmd: Command) -> None:
        terms, _ = parse_search(self.text, cmd.args, cmd.end)
        if self.limit is not None:
            raise self._late(cmd, "search after head or a limited sort",
                             "the IR filters before it limits")
        if self.agg is None:
            self.filters += self._search_filters(terms, self.scope, allow_time=False)
        else:
            self.having += self._search_filters(terms, self.names, allow_time=False)

    def cmd_where(self, cmd: Command) -> None:
        node = parse_eval(self.text, cmd.args, cmd.end)
        if self.limit is not None:
            raise self._late(cmd, "where after head or a limited sort",
                             "the IR filters before it limits")
        out: list[Any] = []
        for item in and_items(node):
            try:
                if self.agg is None and self._time_bound(item):
                    continue
                out.append(where_filter(item, self.names))
            except Unsupported as u:
                self.issue(u)
        (self.filters if self.agg is None else self.having).extend(fold_and(out))

    def _time_bound(self, node: ENode) -> bool:
        """`_time>=relative_time(now(), "-24h")` (and the renderer's `_time>=epoch` after a
        generating prefix) is the time range, not a filter."""
        if not (isinstance(node, EBin) and node.op in {">=", ">", "<", "<="}
                and isinstance(node.left, EField)):
            return False
        ref = self.scope.lookup(node.left.name)
        if ref is None or ref.name != self.source.time_field:
            return False
        is_start = node.op in {">=", ">"}
        right = node.right
        if isinstance(right, ECall) and right.name == "relative_time" and len(right.args) == 2 \
                and isinstance(right.args[0], ECall) and right.args[0].name == "now" \
                and isinstance(right.args[1], ELit) and isinstance(right.args[1].value, str):
            point, is_now = time_point(right.args[1].value, right.args[1].pos)
        elif isinstance(right, ECall) and right.name == "now" and not right.args:
            point, is_now = None, True
        elif self.generating and isinstance(right, ELit) \
                and isinstance(right.value, (int, float)) and not isinstance(right.value, bool):
            point, is_now = AbsoluteTime(at=datetime.fromtimestamp(right.value,
                                                                   tz=timezone.utc)), False
        else:
            return False
        if (self.start if is_start else self.end) is not None:
            return False
        if is_start:
            self.start = point if point is not None else _epoch_start()
        else:
            self.end = None if is_now else point
        return True

    def cmd_eval(self, cmd: Command) -> None:
        assigns = parse_assignments(self.text, cmd.args, cmd.end)
        if self.agg is not None:
            raise self._late(cmd, "eval after the aggregation",
                             "the IR computes fields before it aggregates")
        binder = ExprBinder(self.scope)
        for name, pos, node in assigns:
            try:
                if name in {c.name for c in self.computed} or self.scope.lookup(name):
                    raise Unsupported(pos, f"eval that overwrites the field '{name}'",
                                      "the IR's computed fields have new names")
                expr = binder.expr(node)
            except Unsupported as u:
                self.issue(u)
                self.scope.names[name] = Ref(name, None, opaque=True)
                continue
            self.computed.append(ComputedField(name=name, expr=expr))
            self.scope.names[name] = Ref(name, None)
            if self.project:
                self.project.append(name)

    # ------------------------------------------------------------------ aggregation

    def _metrics(self, args: Args, stop: tuple[str, ...]) -> list[Metric]:
        out: list[Metric] = []
        while not args.at_end():
            tok = args.peek()
            if tok.kind == "word" and tok.text.lower() in stop:
                break
            args.next()
            if tok.kind != "word":
                raise syntax_error(self.text, tok.start, f"unexpected '{tok.text}'",
                                   expected="an aggregate such as count or dc(field)")
            field_tok = None
            if args.peek().is_op("(") and args.sc.adjacent(tok):
                args.next()
                field_tok = args.next()
                if field_tok.kind == "word" and args.peek().is_op("("):
                    self._skip_parens(args, tok, depth=1)
                    if args.keyword("as"):
                        args.next()
                    self.issue(Unsupported(tok.start, f"{tok.text}({field_tok.text}(…))",
                                           "an aggregate of an expression; eval it first"))
                    self._lenient()
                    args.comma()
                    continue
                close = args.next()
                if field_tok.kind not in {"word", "str"} or not close.is_op(")"):
                    raise syntax_error(self.text, close.start, f"unfinished {tok.text}(",
                                       expected="a field name and ')'")
            alias = None
            if args.keyword("as"):
                a = args.next()
                if a.kind not in {"word", "str"}:
                    raise syntax_error(self.text, a.start, "AS needs a name",
                                       expected="a column name")
                alias = str(a.value)
            try:
                out.append(self._metric(tok, field_tok, alias))
            except Unsupported as u:
                self.issue(u)
                self._lenient()
            args.comma()
        return out

    def _skip_parens(self, args: Args, opener: Tok, depth: int) -> None:
        while depth:
            tok = args.next()
            if tok.kind == "eof":
                raise syntax_error(self.text, opener.start, f"unfinished {opener.text}(",
                                   expected="')'", hint="add the missing ')'")
            depth += 1 if tok.is_op("(") else -1 if tok.is_op(")") else 0

    def _metric(self, fn_tok: Tok, field_tok: Tok | None, alias: str | None) -> Metric:
        fn = fn_tok.text.lower()
        field_text = str(field_tok.value) if field_tok is not None else None
        default = fn_tok.text + (f"({field_text})" if field_text is not None else "")
        ref = self.scope.resolve(field_text, field_tok.start) \
            if field_tok is not None and field_text != "*" else None
        name = alias or default
        is_time = ref is not None and ref.name == self.source.time_field
        if fn in {"earliest", "latest", "min", "max"} and is_time:
            mfn = MetricFn.first_seen if fn in {"earliest", "min"} else MetricFn.last_seen
            return Metric(fn=mfn, alias=name)
        if fn in _SIMPLE_METRICS:
            if ref is None and fn not in {"count", "c"}:
                raise syntax_error(self.text, fn_tok.start, f"{fn_tok.text} needs a field",
                                   expected=f"{fn_tok.text}(field)")
            return Metric(fn=_SIMPLE_METRICS[fn], field=ref.name if ref else None, alias=name)
        if fn == "median" and ref is not None:
            return Metric(fn=MetricFn.percentile, field=ref.name, percentile=50, alias=name)
        for prefix in _PERCENTILE:
            rest = fn[len(prefix):]
            if fn.startswith(prefix) and rest and ref is not None:
                try:
                    p = float(rest)
                except ValueError:
                    break
                if 0 < p < 100:
                    return Metric(fn=MetricFn.percentile, field=ref.name,
                                  percentile=int(p) if p.is_integer() else p, alias=name)
        raise Unsupported(fn_tok.start, f"the aggregate {default}",
                          "the IR has count, dc, sum, avg, min, max, percentiles, values, "
                          "list and first/last seen")

    def _group(self, cols: list[tuple[str, int]], span: tuple[str, int] | None,
               metrics: list[Metric], cmd: Command) -> None:
        bucket = None
        group: list[str] = []
        out = Scope(self.text, self.source)
        tcol = self.source.column(Platform.spl, self.source.time_field or "")
        for col, pos in cols:
            ref = self.scope.resolve(col, pos)
            if ref.name == self.source.time_field and (span or self.pending_bin):
                bucket = span_bucket(*span) if span else self.pending_bin[0]  # type: ignore
                out.names[col] = Ref(ref.name, FieldType.datetime, epoch=True)
                continue
            group.append(ref.name)
            out.names[col] = ref
        if span is not None and bucket is None:
            self.issue(Unsupported(span[1], "span= without _time in by",
                                   "it has no effect there", changes_results=False))
        if self.pending_bin is not None and bucket is None:
            self.issue(Unsupported(self.pending_bin[1], "bin without _time in the next stats"))
        self.pending_bin = None
        for m in metrics:
            ftype = self.scope.lookup(m.field).ftype if m.field and \
                self.scope.lookup(m.field) else None
            t = {MetricFn.count: FieldType.long, MetricFn.count_distinct: FieldType.long,
                 MetricFn.first_seen: FieldType.datetime, MetricFn.last_seen: FieldType.datetime,
                 MetricFn.min: ftype, MetricFn.max: ftype, MetricFn.values: ftype,
                 MetricFn.list: ftype}.get(m.fn, FieldType.real)
            out.names[m.name] = Ref(m.name, t, epoch=t is FieldType.datetime and tcol is not None)
        if not metrics and not group and bucket is None:
            raise syntax_error(self.text, cmd.pos, f"{cmd.name} needs an aggregate",
                               expected="e.g. count, dc(field)")
        self.agg = Aggregation(metrics=metrics, group_by=group, time_bucket=bucket)
        self.out = out
        self.sort = []  # a sort before the aggregation has no effect on it
        self.project = []

    def _by(self, args: Args, cmd: Command) -> tuple[list[tuple[str, int]],
                                                     tuple[str, int] | None]:
        by = args.keyword("by")
        cols: list[tuple[str, int]] = []
        span = None
        if by is None:
            return cols, span
        while not args.at_end():
            opt = args.option()
            if opt is not None:
                if opt[0] != "span":
                    raise Unsupported(opt[2], f"the option {opt[0]}=")
                span = (opt[1], opt[2])
                continue
            cols += self._one_name(args, cmd)
        if not cols:
            raise syntax_error(self.text, by.end, f"'{cmd.name} … by' names no field",
                               expected="a field after by", hint="add the field to group by, "
                               f"or remove 'by': {cmd.name} count by user")
        return cols, span

    def _one_name(self, args: Args, cmd: Command) -> list[tuple[str, int]]:
        tok = args.next()
        if tok.kind not in {"word", "str"}:
            raise syntax_error(self.text, tok.start, f"unexpected '{tok.text}' in {cmd.name}",
                               expected="a field name")
        args.comma()
        return [(str(tok.value), tok.start)]

    def _check_can_aggregate(self, cmd: Command) -> None:
        if self.agg is not None:
            raise self._late(cmd, f"a second aggregation ({cmd.name})",
                             "the IR aggregates once")
        if self.limit is not None:
            raise self._late(cmd, f"{cmd.name} after head or a limited sort",
                             "the IR aggregates before it limits")

    def cmd_stats(self, cmd: Command) -> None:
        args = Args(self.text, cmd.args, cmd.end)
        opts = args.options()
        metrics = self._metrics(args, ("by",))
        cols, span = self._by(args, cmd)
        if not args.at_end():
            tok = args.peek()
            raise syntax_error(self.text, tok.start, f"unexpected '{tok.text}'",
                               expected="',' and another aggregate, or by")
        self._check_can_aggregate(cmd)
        for name, (_, pos) in opts.items():
            raise Unsupported(pos, f"the stats option {name}=")
        if span is not None:
            raise Unsupported(span[1], "span= in stats", "bin _time span=… before stats")
        if not metrics:
            raise syntax_error(self.text, cmd.args, "stats needs an aggregate",
                               expected="e.g. count, dc(field)")
        self._group(cols, None, metrics, cmd)

    def cmd_eventstats(self, cmd: Command) -> None:
        args = Args(self.text, cmd.args, cmd.end)
        args.options()
        self._metrics(args, ("by",))
        self._by(args, cmd)
        raise Unsupported(cmd.pos, "eventstats", "it adds an aggregate to every event; the IR "
                          "aggregates into groups")

    def tstats_options(self, opts: dict[str, tuple[str, int]]) -> None:
        for name, (value, pos) in opts.items():
            if name == "summariesonly":
                if value.lower() in {"t", "true", "1"}:
                    self.notes.append("summariesonly=t: only accelerated data-model summaries "
                                      "are searched")
            elif name in {"prestats", "append"} and value.lower() in {"t", "true", "1"}:
                self.issue(Unsupported(pos, f"tstats {name}=t"))
            elif name not in {"allow_old_summaries", "chunk_size", "local", "fillnull_value",
                              "include_reduced_buckets"}:
                self.issue(Unsupported(pos, f"the tstats option {name}="))

    def tstats_aggregation(self, aggs_at: int, aggs_end: int, args: Args) -> None:
        """The aggregates (`aggs_at`…`aggs_end`) and the `by … span=` rest of a tstats."""
        metrics = self._metrics(Args(self.text, aggs_at, aggs_end), ("from", "where", "by"))
        cmd = Command("tstats", aggs_at, aggs_at, args.sc.end, -1)
        cols, span = self._by(args, cmd)
        if not args.at_end():
            tok = args.peek()
            raise syntax_error(self.text, tok.start, f"unexpected '{tok.text}'",
                               expected="by fields or span=")
        if not metrics:
            raise syntax_error(self.text, aggs_at, "tstats needs an aggregate",
                               expected="e.g. count, dc(field)")
        self._group(cols, span, metrics, cmd)

    def cmd_bin(self, cmd: Command) -> None:
        args = Args(self.text, cmd.args, cmd.end)
        span = None
        cols: list[tuple[str, int]] = []
        while not args.at_end():
            opt = args.option()
            if opt is not None:
                if opt[0] != "span":
                    raise Unsupported(opt[2], f"bin {opt[0]}=", "the IR bins by a fixed span")
                span = (opt[1], opt[2])
                continue
            if args.keyword("as"):
                raise Unsupported(cmd.pos, "bin … AS a new field")
            cols += self._one_name(args, cmd)
        if len(cols) != 1:
            raise syntax_error(self.text, cmd.args, "bin needs one field",
                               expected="bin _time span=1h")
        ref = self.scope.resolve(*cols[0])
        if ref.name != self.source.time_field:
            raise Unsupported(cmd.pos, f"bin of {cols[0][0]}", "the IR bins time only")
        if span is None:
            raise Unsupported(cmd.pos, "bin without span=", "Splunk picks the span itself")
        if self.agg is not None or self.limit is not None:
            raise self._late(cmd, "bin after the aggregation or a limit", "")
        self.pending_bin = (span_bucket(*span), cmd.pos)

    cmd_bucket = cmd_bin

    def cmd_timechart(self, cmd: Command) -> None:
        args = Args(self.text, cmd.args, cmd.end)
        opts = args.options()
        metrics = self._metrics(args, ("by",))
        cols: list[tuple[str, int]] = []
        if args.keyword("by"):
            cols = self._one_name(args, cmd)
        opts.update(args.options())
        if not args.at_end():
            tok = args.peek()
            raise syntax_error(self.text, tok.start, f"unexpected '{tok.text}'",
                               expected="one field after by")
        self._check_can_aggregate(cmd)
        if "span" not in opts:
            raise Unsupported(cmd.pos, "timechart without span=",
                              "Splunk picks the span from the time range")
        for name, (_, pos) in opts.items():
            if name not in {"span", "limit", "useother", "usenull"}:
                raise Unsupported(pos, f"the timechart option {name}=")
        tcol = self.source.column(Platform.spl, self.source.time_field or "") or "_time"
        if not metrics:
            raise syntax_error(self.text, cmd.args, "timechart needs an aggregate",
                               expected="e.g. count")
        self._group(cols + [(tcol, cmd.pos)], opts["span"], metrics, cmd)
        self.sort = [SortKey(field=self.source.time_field or "time")]
        if cols:
            limited = opts.get("limit", ("10", 0))[0] != "0"
            self.issue(Unsupported(cmd.pos, f"timechart … by {cols[0][0]} (one column per "
                                   "value)", "the plan shows one row per time and value" +
                                   ("; Splunk also keeps only the top 10 values and sums the "
                                    "rest as OTHER" if limited else ""),
                                   changes_results=limited))

    def cmd_top(self, cmd: Command, rare: bool = False) -> None:
        args = Args(self.text, cmd.args, cmd.end)
        limit = 10
        if args.peek().kind == "word" and args.peek().text.isdigit():
            limit = int(args.next().text)
        opts = args.options()
        fields = args.field_names(cmd.name, stop=("by",))
        by = args.field_names(cmd.name + " by") if args.keyword("by") else []
        if not fields:
            raise syntax_error(self.text, args.peek().start, f"{cmd.name} needs a field",
                               expected=f"{cmd.name} limit=5 user")
        self._check_can_aggregate(cmd)
        count_name = "count"
        show_perc = True
        for name, (value, pos) in opts.items():
            if name == "limit":
                limit = int(value) if value.isdigit() else limit
            elif name == "countfield":
                count_name = value
            elif name == "showperc":
                show_perc = value.lower() not in {"f", "false", "0"}
            elif name not in {"percentfield", "showcount", "otherstr", "useother"}:
                raise Unsupported(pos, f"the {cmd.name} option {name}=")
        self._group(by + fields, None, [Metric(fn=MetricFn.count, alias=count_name)], cmd)
        self.sort = [SortKey(field=count_name, descending=not rare)]
        if by:
            self.issue(Unsupported(cmd.pos, f"{cmd.name} … by {by[0][0]}",
                                   "the limit applies per group; the plan keeps every group"))
        elif limit:
            self.limit = limit
        if show_perc:
            self.issue(Unsupported(cmd.pos, f"the percent column of {cmd.name}",
                                   "the IR has no share-of-total metric", changes_results=False))

    def cmd_rare(self, cmd: Command) -> None:
        self.cmd_top(cmd, rare=True)

    # ------------------------------------------------------------------ output

    def _output_names(self) -> list[str]:
        if self.project:
            return list(self.project)
        if self.agg is not None:
            extra = [self.source.time_field] if self.agg.time_bucket and \
                self.source.time_field else []
            return [*self.agg.group_by, *extra, *(m.name for m in self.agg.metrics)]
        return []

    def _refs(self, cols: list[tuple[str, int]]) -> list[str]:
        out = []
        for col, pos in cols:
            if "*" in col:
                raise Unsupported(pos, f"the wildcard field list {col}",
                                  "the IR lists the fields to show", changes_results=False)
            out.append(self.names.resolve(col, pos).name)
        return out

    def cmd_table(self, cmd: Command) -> None:
        args = Args(self.text, cmd.args, cmd.end)
        cols = args.field_names("table")
        if not cols:
            raise syntax_error(self.text, cmd.end, "table needs fields",
                               expected="table field1 field2")
        self.project = self._refs(cols)

    def cmd_fields(self, cmd: Command) -> None:
        args = Args(self.text, cmd.args, cmd.end)
        sign = args.peek()
        minus = sign.is_word("-")
        if sign.is_word("-", "+"):
            args.next()
        cols = args.field_names("fields")
        if not cols:
            raise syntax_error(self.text, cmd.end, "fields needs field names",
                               expected="fields a b, or fields - a")
        if not minus:
            self.project = self._refs(cols)
            return
        removed = self._refs(cols)
        agg = self.agg
        if agg is not None and not self.project and not self.having and not self.sort \
                and {m.name for m in agg.metrics} == set(removed) \
                and (agg.group_by or agg.time_bucket):
            # `stats count by f | fields - count` is the renderer's "distinct values of f".
            for m in agg.metrics:
                self.out.names.pop(m.name, None)  # type: ignore[union-attr]
            self.agg = agg.model_copy(update={"metrics": []})
            return
        names = self._output_names()
        if not names:
            raise Unsupported(cmd.pos, "fields - on events", "the IR lists the fields to keep",
                              changes_results=False)
        self.project = [n for n in names if n not in removed]

    def cmd_rename(self, cmd: Command) -> None:
        args = Args(self.text, cmd.args, cmd.end)
        while not args.at_end():
            old = args.next()
            if not args.keyword("as"):
                raise syntax_error(self.text, args.peek().start, "rename needs AS",
                                   expected="rename old AS new")
            new = args.next()
            if old.kind not in {"word", "str"} or new.kind not in {"word", "str"}:
                raise syntax_error(self.text, new.start, "rename needs two names",
                                   expected="rename old AS new")
            args.comma()
            self._rename(str(old.value), old.start, str(new.value))

    def _rename(self, old: str, pos: int, new: str) -> None:
        dm = self.scope.datamodel
        if "*" in old or "*" in new:
            if dm and old.lower() == f"{dm.lower()}.*" and new == "*":
                return  # `Authentication.* AS *`: the plan names fields without the prefix
            raise Unsupported(pos, f"rename {old} AS {new}", "wildcard renames",
                              changes_results=False)
        ref = self.names.resolve(old, pos)
        agg = self.agg
        metric = next((m for m in agg.metrics if m.name == ref.name), None) if agg else None
        if metric is not None and agg is not None and not self.having and not self.sort \
                and not self.project:
            metrics = [m.model_copy(update={"alias": new}) if m is metric else m
                       for m in agg.metrics]
            self.agg = agg.model_copy(update={"metrics": metrics})
            self.out.names.pop(old, None)  # type: ignore[union-attr]
            self.out.names[new] = Ref(new, ref.ftype, epoch=ref.epoch)  # type: ignore
            return
        self.names.names[new] = ref
        self.issue(Unsupported(pos, f"rename {old} AS {new}", "the column keeps its catalog "
                               "name", changes_results=False))

    def cmd_sort(self, cmd: Command) -> None:
        args = Args(self.text, cmd.args, cmd.end)
        limit: int | None = None
        counted = False
        if args.peek().kind == "word" and args.peek().text.isdigit():
            limit, counted = int(args.next().text), True
        opt = args.option()
        if opt is not None:
            if opt[0] != "limit" or not opt[1].isdigit():
                raise Unsupported(opt[2], f"the sort option {opt[0]}=")
            limit, counted = int(opt[1]), True
        keys: list[SortKey] = []
        sign: str | None = None
        while not args.at_end():
            tok = args.next()
            if tok.is_word("-", "+"):
                sign = tok.text
                continue
            if tok.kind == "word" and tok.text.lower() in {"desc", "d"} and args.at_end() \
                    and keys:
                keys = [k.model_copy(update={"descending": not k.descending}) for k in keys]
                continue
            name, pos = str(tok.value), tok.start
            if tok.kind == "word" and name[:1] in "+-" and len(name) > 1:
                sign, name, pos = name[0], name[1:], pos + 1
            if tok.kind == "word" and name.lower() in {"num", "str", "ip", "auto"} \
                    and args.peek().is_op("("):
                args.next()
                inner = args.next()
                args.next()
                name, pos = str(inner.value), inner.start
            if tok.kind not in {"word", "str"}:
                raise syntax_error(self.text, tok.start, f"unexpected '{tok.text}' in sort",
                                   expected="a field, with - for descending")
            field = self.names.resolve(name, pos).name
            keys.append(SortKey(field=field, descending=sign == "-"))
            sign = None
            args.comma()
        if not keys:
            raise syntax_error(self.text, cmd.end, "sort needs a field",
                               expected="sort - count", hint="e.g. sort 0 - count")
        if self.limit is not None:
            raise self._late(cmd, "sort after head or a limited sort",
                             "the IR sorts before it limits")
        if not counted:
            self.issue(Unsupported(cmd.pos, "a sort without a count",
                                   "Splunk stops a bare sort at 10,000 rows; write sort 0 for "
                                   "all rows", changes_results=False))
        self.sort = keys
        self.limit = limit or None

    def cmd_head(self, cmd: Command) -> None:
        args = Args(self.text, cmd.args, cmd.end)
        n = 10
        tok = args.peek()
        if tok.kind == "word" and tok.text.isdigit():
            n = int(args.next().text)
        else:
            opt = args.option()
            if opt is not None and opt[0] == "limit" and opt[1].isdigit():
                n = int(opt[1])
            elif opt is not None or not args.at_end():
                raise Unsupported(cmd.pos, "head with a condition or options",
                                  "the IR limits by a row count")
        if not args.at_end():
            raise syntax_error(self.text, args.peek().start, "head takes one number",
                               expected="head 10")
        if n < 1:
            raise Unsupported(cmd.pos, "head 0")
        self.limit = min(self.limit, n) if self.limit else n

    def cmd_tail(self, cmd: Command) -> None:
        args = Args(self.text, cmd.args, cmd.end)
        tok = args.peek()
        n = int(args.next().text) if tok.kind == "word" and tok.text.isdigit() else 10
        if not self.sort or self.limit is not None:
            raise Unsupported(cmd.pos, "tail without a sort before it",
                              "the IR takes the first rows of a sorted result")
        # The last N rows, last first, are the first N of the reversed order.
        self.sort = [k.model_copy(update={"descending": not k.descending}) for k in self.sort]
        self.limit = n

    def cmd_dedup(self, cmd: Command, nxt: Command | None) -> int:
        """`dedup f… | table f…` is the distinct values of f…; other dedups are not held.
        Returns how many following commands were consumed."""
        args = Args(self.text, cmd.args, cmd.end)
        opts = args.options()
        cols = args.field_names("dedup", stop=("sortby",))
        if not cols:
            raise syntax_error(self.text, cmd.end, "dedup needs a field", expected="dedup user")
        if nxt is not None and nxt.name.lower() == "table" and not opts and args.at_end() \
                and self.agg is None and self.limit is None:
            tcols = Args(self.text, nxt.args, nxt.end).field_names("table")
            names = self._refs(cols)
            tnames = self._refs(tcols)
            if set(names) == set(tnames) and len(names) == len(tnames):
                self._group(tcols, None, [], cmd)
                return 1
        raise Unsupported(cmd.pos, "dedup", "it keeps one whole event per value; only "
                          "dedup f | table f (distinct values) is held")

    def cmd_fieldformat(self, cmd: Command) -> None:
        assigns = parse_assignments(self.text, cmd.args, cmd.end)
        for name, pos, node in assigns:
            metric = next((m for m in self.agg.metrics if m.name == name), None) \
                if self.agg else None
            renderer_form = (metric is not None and metric.fn in {MetricFn.first_seen,
                                                                   MetricFn.last_seen}
                             and isinstance(node, ECall) and node.name == "strftime"
                             and len(node.args) == 2 and isinstance(node.args[0], EField)
                             and node.args[0].name == name and isinstance(node.args[1], ELit)
                             and node.args[1].value == TIME_FORMAT)
            if not renderer_form:
                self.issue(Unsupported(pos, f"fieldformat {name}=…", "display formatting",
                                       changes_results=False))

    def cmd_tstats(self, cmd: Command) -> None:
        raise Unsupported(cmd.pos, "tstats after the first command", "it starts a search")

    def cmd_datamodel(self, cmd: Command) -> None:
        raise Unsupported(cmd.pos, "datamodel after the first command", "it starts a search")
