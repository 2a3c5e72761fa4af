"""The aggregating SPL commands: `stats`, `tstats`, `timechart`, `top`, `rare`, `bin`/`bucket`
(`eventstats` is a stage of its own: `spl.stages_more`).

SPL names an aggregate's column as written (`count`, `dc(user)`, `perc95(x)`) unless `AS`
renames it; that name becomes the metric's alias so later stages that refer to it resolve.
`earliest(_time)`/`min(_time)` are first seen, `latest(_time)`/`max(_time)` last seen;
`median` and every `percNN` spelling are percentiles. `bin _time span=…` followed by `stats
… by _time` is the IR's time bucket.
"""

from __future__ import annotations

from lexiquery.catalog.model import FieldType, Platform
from lexiquery.dialects.parsing import syntax_error
from lexiquery.dialects.spl.bind import Ref, Scope, Unsupported
from lexiquery.dialects.spl.eval import parse_eval
from lexiquery.dialects.spl.expr import ExprBinder
from lexiquery.dialects.spl.lex import Tok
from lexiquery.dialects.spl.source import span_bucket
from lexiquery.dialects.spl.stages import Args, Command, Stages
from lexiquery.ir import (
    Aggregation,
    Call,
    ComputedField,
    Function,
    Literal_,
    Metric,
    MetricFn,
    SortKey,
    TopPerGroup,
)

_SIMPLE_METRICS = {"count": MetricFn.count, "c": MetricFn.count, "dc": MetricFn.count_distinct,
                   "distinct_count": MetricFn.count_distinct, "sum": MetricFn.sum,
                   "avg": MetricFn.avg, "mean": MetricFn.avg, "min": MetricFn.min,
                   "max": MetricFn.max, "values": MetricFn.values, "list": MetricFn.list}
_PERCENTILE = ("exactperc", "upperperc", "percentile", "perc", "p")


class AggregateStages(Stages):
    """`Stages` plus the commands that aggregate."""

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
                    inner = args.peek().end
                    self._skip_parens(args, tok, depth=1)
                    body = self.text[inner:args.sc.pos - 1].rstrip()
                    name = str(args.next().value) if args.keyword("as") else None
                    try:
                        if not (tok.text.lower() in {"count", "c"} and body.endswith(")")
                                and field_tok.text.lower() == "eval" and name):
                            raise Unsupported(tok.start, f"{tok.text}({field_tok.text}(…))",
                                              "an aggregate of an expression; eval it first")
                        out.append(self._count_if(inner, inner + len(body) - 1, name))
                    except Unsupported as u:
                        self.issue(u)
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

    def _count_if(self, start: int, end: int, name: str) -> Metric:
        """`count(eval(cond)) AS name` — the events where cond is true — as the sum of a
        computed 1/0 flag (`name_flag`), exactly; the renderer writes that form."""
        cond = ExprBinder(self.scope).compare(parse_eval(self.text, start, end))
        flag = f"{name}_flag"
        while self.scope.lookup(flag) is not None or flag in {c.name for c in self.computed}:
            flag += "_"
        self.computed.append(ComputedField(name=flag, expr=Call(fn=Function.if_, args=[
            cond, Literal_(value=1), Literal_(value=0)])))
        self.scope.names[flag] = Ref(flag, FieldType.long)
        self.temps.add(flag)  # shown nowhere (see `hide_temps`)
        return Metric(fn=MetricFn.sum, field=flag, alias=name)

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
        out.lenient = self.scope.lenient  # names a construct reported above may have made
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
        self.after_pipeline(1)  # a second aggregation, or one after a sort or limit

    def cmd_stats(self, cmd: Command) -> None:
        self._check_can_aggregate(cmd)
        args = Args(self.text, cmd.args, cmd.end)
        opts = args.options()
        reported = len(self.issues)
        metrics = self._metrics(args, ("by",))
        cols, span = self._by(args, cmd)
        if not args.at_end():
            tok = args.peek()
            raise syntax_error(self.text, tok.start, f"unexpected '{tok.text}'",
                               expected="',' and another aggregate, or by")
        for name, (_, pos) in opts.items():
            raise Unsupported(pos, f"the stats option {name}=")
        if span is not None:
            raise Unsupported(span[1], "span= in stats", "bin _time span=… before stats")
        if not metrics and len(self.issues) > reported:
            return  # every aggregate was reported as not held
        if not metrics:
            raise syntax_error(self.text, cmd.args, "stats needs an aggregate",
                               expected="e.g. count, dc(field)")
        self._group(cols, None, metrics, cmd)

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
        self.after_pipeline(1)
        self.pending_bin = (span_bucket(*span), cmd.pos)

    cmd_bucket = cmd_bin

    def cmd_timechart(self, cmd: Command) -> None:
        self._check_can_aggregate(cmd)
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
        self._check_can_aggregate(cmd)
        args = Args(self.text, cmd.args, cmd.end)
        limit = args.leading_count(cmd.name)
        limit = 10 if limit is None else limit
        opts = args.options()
        fields = args.field_names(cmd.name, stop=("by",))
        by = args.field_names(cmd.name + " by") if args.keyword("by") else []
        if not fields:
            raise syntax_error(self.text, args.peek().start, f"{cmd.name} needs a field",
                               expected=f"{cmd.name} limit=5 user")
        count_name = "count"
        show_perc = True
        for name, (value, pos) in opts.items():
            if name == "limit":
                n = args.row_count(value, pos, f"{cmd.name} limit=")
                limit = limit if n is None else n
            elif name == "countfield":
                count_name = value
            elif name == "showperc":
                show_perc = value.lower() not in {"f", "false", "0"}
            elif name not in {"percentfield", "showcount", "otherstr", "useother"}:
                raise Unsupported(pos, f"the {cmd.name} option {name}=")
        self._group(by + fields, None, [Metric(fn=MetricFn.count, alias=count_name)], cmd)
        self.sort = [SortKey(field=count_name, descending=not rare)]
        if by and limit:  # the first `limit` values of each group: a stage of its own
            keys = [self.scope.resolve(c, p).name for c, p in by]
            self.new_step(TopPerGroup(by=keys, sort=list(self.sort), n=limit))
        elif limit:
            self.limit = limit
        if show_perc:
            self.issue(Unsupported(cmd.pos, f"the percent column of {cmd.name}",
                                   "the IR has no share-of-total metric", changes_results=False))

    def cmd_rare(self, cmd: Command) -> None:
        self.cmd_top(cmd, rare=True)

    # ------------------------------------------------------------------ output
