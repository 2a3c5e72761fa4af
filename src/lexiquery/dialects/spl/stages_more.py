"""The SPL commands that become stages of their own or computed fields (schema version 2):

    eventstats m… by k…          → Window
    dedup [N] k… [sortby ±f…]    → TopPerGroup (without sortby: the order the rows are in)
    mvexpand f                   → Expand
    rex field=f "(?<a>…)(?<b>…)" → a = extract(f, re, 1), b = extract(f, re, 2)
    spath input=x path=a.b{0}.c output=y → y = member(index(member(parse_json(x), …)))
    convert ctime(firstTime)     → display only (a warning) on a time output
    join …, search [ … ], NOT [ … ] → Join (see `spl.subsearch`)
    lookup name k AS f OUTPUT o  → Join (see `spl.lookup`)

Refused precisely: `streamstats` (a running aggregate in event order: the IR has none),
`fillnull` (it overwrites fields; the IR's computed fields have new names), `rex` options
other than `field=` and `max_match=1`, `spath` without `path=` (it extracts every field),
paths with `{}` before their end (every element of an array), and `dedup` options.
"""

from __future__ import annotations

from lexiquery.catalog.model import FieldType
from lexiquery.dialects.parsing import syntax_error
from lexiquery.dialects.spl.aggregate import AggregateStages
from lexiquery.dialects.spl.bind import CMP_OPS, Ref, Unsupported
from lexiquery.dialects.spl.eval import EBin, ENode
from lexiquery.dialects.spl.expr import ExprBinder
from lexiquery.dialects.spl.functions import json_chain, named_groups, plain_groups
from lexiquery.dialects.spl.lex import Tok
from lexiquery.dialects.spl.stages import Args, Command
from lexiquery.ir import (
    Call,
    ComputedField,
    Condition,
    Expand,
    FieldRef,
    Function,
    Literal_,
    Operator,
    SortKey,
    Step,
    TopPerGroup,
    Window,
)

_TRUE = {"t", "true", "1", "yes"}


class MoreStages(AggregateStages):
    """`AggregateStages` plus the commands above."""

    def _new_name(self, name: str, pos: int, command: str) -> None:
        if self.names.lookup(name) is not None or name in {c.name for c in self.computed}:
            raise Unsupported(pos, f"{command} that overwrites the field '{name}'",
                              "the IR's computed fields have new names")

    def _compute(self, name: str, expr: object) -> None:
        self.computed.append(ComputedField(name=name, expr=expr))
        self.scope.names[name] = Ref(name, None)

    def _no_agg(self) -> None:
        """Computed fields join the part being read while its fixed order allows."""
        self.after_pipeline(0)

    def where_expression(self, node: ENode, u: Unsupported) -> None:
        """`| where a != b` (two expressions): a computed true/false flag, tested — the
        flag is projected away before the output (`hide_temps`)."""
        if not (isinstance(node, EBin) and node.op in CMP_OPS):
            raise u
        self.after_pipeline(0)
        test = ExprBinder(self.scope).compare(node)
        n = len(self.temps) + 1
        while self.scope.lookup(f"_f{n}") is not None:
            n += 1
        name = f"_f{n}"
        self.computed.append(ComputedField(name=name, expr=test))
        self.scope.names[name] = Ref(name, FieldType.bool)
        self.temps.add(name)
        self.filters.append(Condition(field=name, op=Operator.eq, value=True))

    # ------------------------------------------------------------------ stages of their own

    def cmd_eventstats(self, cmd: Command) -> None:
        args = Args(self.text, cmd.args, cmd.end)
        for name, (_, pos) in args.options().items():
            raise Unsupported(pos, f"the eventstats option {name}=")
        self.new_step()
        reported = len(self.issues)
        metrics = self._metrics(args, ("by",))
        cols, span = self._by(args, cmd)
        if span is not None or not args.at_end():
            raise Unsupported(cmd.pos, "eventstats with span= or extra arguments")
        if not metrics and len(self.issues) > reported:
            return  # every aggregate was reported as not held
        if not metrics:
            raise syntax_error(self.text, cmd.args, "eventstats needs an aggregate",
                               expected="e.g. avg(count) AS avg_count")
        by = [self.scope.resolve(c, p).name for c, p in cols]
        for m in metrics:
            if self.scope.lookup(m.name) is not None:
                raise Unsupported(cmd.pos, f"eventstats that overwrites the field '{m.name}'",
                                  "give the aggregate a new name with AS")
        self.new_step(Window(metrics=metrics, by=by))  # after any count(eval()) flag
        for m in metrics:
            t = FieldType.datetime if m.fn.value in {"first_seen", "last_seen"} else None
            self.scope.names[m.name] = Ref(m.name, t, epoch=t is not None)

    def cmd_streamstats(self, cmd: Command) -> None:
        raise Unsupported(cmd.pos, "streamstats", "a running aggregate over the rows in event "
                          "order; the IR aggregates whole groups (eventstats) or the first rows "
                          "per group (dedup)")

    def dedup_stage(self, cmd: Command) -> None:
        args = Args(self.text, cmd.args, cmd.end)
        n = args.leading_count("dedup") or 1
        for name, (_, pos) in args.options().items():
            raise Unsupported(pos, f"the dedup option {name}=", "dedup keeps the first row "
                              "of each value; the IR holds no other form")
        cols = args.field_names("dedup", stop=("sortby",))
        if not cols:
            raise syntax_error(self.text, cmd.end, "dedup needs a field", expected="dedup user")
        sort: list[SortKey] = []
        if args.keyword("sortby"):
            sort = self._sortby(args)
        self.new_step()
        by = [self.scope.resolve(c, p).name for c, p in cols]
        if sort:
            sort = [k.model_copy(update={"field": self.scope.resolve(k.field, 0).name})
                    for k in sort]
        else:
            sort = self._row_order(cmd)
        self.stages.append(TopPerGroup(by=by, sort=sort, n=n))

    def _sortby(self, args: Args) -> list[SortKey]:
        keys: list[SortKey] = []
        sign = "+"
        while not args.at_end():
            tok = args.next()
            if tok.is_word("-", "+"):
                sign = tok.text
                continue
            name = str(tok.value)
            if tok.kind == "word" and name[:1] in "+-" and len(name) > 1:
                sign, name = name[0], name[1:]
            if tok.kind not in {"word", "str"}:
                raise syntax_error(self.text, tok.start, f"unexpected '{tok.text}' in sortby",
                                   expected="a field, with - for descending")
            keys.append(SortKey(field=name, descending=sign == "-"))
            sign = "+"
            args.comma()
        return keys

    def _row_order(self, cmd: Command) -> list[SortKey]:
        """The order rows arrive in at this point, for a dedup without sortby: the last sort,
        or newest first for events straight from the search."""
        prior = self.stages[-1] if self.stages else None
        first = self.first or {}
        if isinstance(prior, Step) and prior.sort:
            return list(prior.sort)
        if prior is None and first.get("sort"):
            return list(first["sort"])
        if prior is None and first.get("aggregation") is None:  # `table` keeps the order
            tf = self.source.time_field
            if tf and any(r.name == tf for r in self.scope.names.values()):
                return [SortKey(field=tf, descending=True)]
        raise Unsupported(cmd.pos, "dedup without sortby here", "it keeps the first row in an "
                          "order the plan does not hold; add sortby")

    def cmd_mvexpand(self, cmd: Command) -> None:
        args = Args(self.text, cmd.args, cmd.end)
        for name, (_, pos) in args.options().items():
            raise Unsupported(pos, f"the mvexpand option {name}=", "the IR expands every value")
        cols = args.field_names("mvexpand")
        if len(cols) != 1:
            raise syntax_error(self.text, cmd.args, "mvexpand takes one field",
                               expected="mvexpand field")
        self.new_step()
        ref = self.scope.resolve(*cols[0])
        self.stages.append(Expand(field=ref.name))
        self.scope.names[cols[0][0]] = Ref(ref.name, None)

    # ------------------------------------------------------------------ computed fields

    def cmd_rex(self, cmd: Command) -> None:
        args = Args(self.text, cmd.args, cmd.end)
        opts = args.options()
        tok: Tok = args.next()
        if tok.kind != "str" or not args.at_end():
            raise syntax_error(self.text, tok.start, "rex needs one quoted regular expression",
                               expected='rex field=f "(?<name>…)"')
        for name, (value, pos) in opts.items():
            if name == "max_match" and value == "1":
                continue
            if name != "field":
                raise Unsupported(pos, f"rex {name}={value}", "the IR extracts the first match "
                                  "of a regular expression into new fields")
        self._no_agg()
        if "field" in opts:
            ref = self.names.resolve(*opts["field"])
        elif self.raw_ref is not None:
            ref = self.raw_ref
        else:
            raise Unsupported(cmd.pos, "rex on the raw event", "this source binds _raw to no "
                              "field; name the field: rex field=…")
        regex = str(tok.value)
        groups = named_groups(regex)
        if not groups:
            raise Unsupported(tok.start, "rex without a named group", "it extracts nothing")
        plain = plain_groups(regex)
        for n, name in groups:
            self._new_name(name, tok.start, "rex")
        for n, name in groups:
            self._compute(name, Call(fn=Function.extract, args=[
                FieldRef(name=ref.name), Literal_(value=plain), Literal_(value=n)]))

    def cmd_spath(self, cmd: Command) -> None:
        args = Args(self.text, cmd.args, cmd.end)
        opts = args.options()
        if not args.at_end():  # `spath a.b` is `spath path=a.b`
            tok = args.next()
            opts.setdefault("path", (str(tok.value), tok.start))
        for name, (_, pos) in opts.items():
            if name not in {"input", "path", "output"}:
                raise Unsupported(pos, f"the spath option {name}=")
        if "path" not in opts:
            raise Unsupported(cmd.pos, "spath without path=", "it extracts every field of the "
                              "JSON; name the path and output")
        self._no_agg()
        if "input" in opts:
            ref = self.names.resolve(*opts["input"])
        elif self.raw_ref is not None:
            ref = self.raw_ref
        else:
            raise Unsupported(cmd.pos, "spath on the raw event", "this source binds _raw to no "
                              "field; name the input: spath input=…")
        path, pos = opts["path"]
        output = opts.get("output", (path, pos))[0]
        self._new_name(output, opts.get("output", opts["path"])[1], "spath")
        root: object = FieldRef(name=ref.name)
        if ref.ftype is not FieldType.dynamic:
            root = Call(fn=Function.parse_json, args=[root])
        self._compute(output, json_chain(root, path, pos))

    def cmd_fillnull(self, cmd: Command) -> None:
        args = Args(self.text, cmd.args, cmd.end)
        args.options()
        cols = args.field_names("fillnull")
        what = f"fillnull of {', '.join(c for c, _ in cols)}" if cols else \
            "fillnull without a field list (it fills every field)"
        raise Unsupported(cmd.pos, what, "it overwrites fields; the IR's computed fields have "
                          "new names")

    def cmd_convert(self, cmd: Command) -> None:
        args = Args(self.text, cmd.args, cmd.end)
        opts = args.options()
        for name, (_, pos) in opts.items():
            if name != "timeformat":
                raise Unsupported(pos, f"the convert option {name}=")
        while not args.at_end():
            fn = args.next()
            if not (fn.kind == "word" and args.peek().is_op("(")):
                raise syntax_error(self.text, fn.start, "convert needs a function",
                                   expected="convert ctime(field)")
            args.next()
            field = args.next()
            if not args.next().is_op(")"):
                raise syntax_error(self.text, field.start, f"unfinished {fn.text}(",
                                   expected="')'")
            if args.keyword("as"):
                raise Unsupported(fn.start, f"convert {fn.text}(…) AS a new field")
            ref = self.names.resolve(str(field.value), field.start)
            if fn.text.lower() != "ctime" or not ref.epoch:
                raise Unsupported(fn.start, f"convert {fn.text}({field.value})",
                                  "only ctime() of a time is read, as display formatting")
            self.issue(Unsupported(fn.start, f"convert ctime({field.value})", "display "
                                   "formatting: the time is shown as text", changes_results=False))
            args.comma()
