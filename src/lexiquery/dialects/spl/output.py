"""The SPL commands that shape the output: `table`, `fields`, `rename`, `sort`, `head`,
`tail`, `dedup`, `fieldformat` — and `Pipeline`, the class with every command.

* `sort N …` is sort + limit (`sort 0` = all rows); a bare `sort` stops at 10,000 rows in
  Splunk, which is reported (as a warning) rather than guessed into a limit;
* `stats count by f | fields - count` (the renderer's form) is the distinct values of f, and
  `dedup f | table f` the same;
* renaming a metric changes its alias; renaming other columns only changes the display.
"""

from __future__ import annotations

from lexiquery.dialects.parsing import syntax_error
from lexiquery.dialects.spl.bind import Ref, Unsupported
from lexiquery.dialects.spl.eval import ECall, EField, ELit, parse_assignments
from lexiquery.dialects.spl.lookup import LookupStages
from lexiquery.dialects.spl.stages import Args, Command
from lexiquery.dialects.spl.text import TIME_FORMAT
from lexiquery.ir import MetricFn, SortKey


class Pipeline(LookupStages):
    """Every SPL command this parser reads (see `Stages.run`)."""


    def _output_names(self) -> list[str]:
        if self.project:
            return list(self.project)
        if self.agg is None and self.first is not None:  # a step: what the stages before give
            return list(dict.fromkeys(r.name for r in self.scope.names.values()))
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
        if "*" in old or "*" in new:
            prefix = old[:-1].lower()
            if new == "*" and old.endswith(".*") and "*" not in old[:-1]:
                # `Processes.* AS *` (ESCU's drop_dm_object_name): each field named with the
                # dataset prefix answers to its bare name too (the plan names fields without
                # the prefix already; before an aggregation the scope resolves either form).
                names = self.names.names
                for name, ref in list(names.items()):
                    if name.lower().startswith(prefix) and len(name) > len(prefix):
                        names.setdefault(name[len(prefix):], ref)
                return
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
            limit = args.row_count(opt[1], opt[2], "sort limit=") if opt[0] == "limit" else None
            if limit is None:
                raise Unsupported(opt[2], f"the sort option {opt[0]}=")
            counted = True
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
        self.after_pipeline(3)
        if not counted:
            self.issue(Unsupported(cmd.pos, "a sort without a count",
                                   "Splunk stops a bare sort at 10,000 rows; write sort 0 for "
                                   "all rows", changes_results=False))
        self.sort = keys
        self.limit = limit or None

    def cmd_head(self, cmd: Command) -> None:
        args = Args(self.text, cmd.args, cmd.end)
        n = args.leading_count("head")
        if n is None:
            opt = args.option()
            n = args.row_count(opt[1], opt[2], "head limit=") \
                if opt is not None and opt[0] == "limit" else None
            if n is None and (opt is not None or not args.at_end()):
                raise Unsupported(cmd.pos, "head with a condition or options",
                                  "the IR limits by a row count")
        if not args.at_end():
            raise syntax_error(self.text, args.peek().start, "head takes one number",
                               expected="head 10")
        n = 10 if n is None else n
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
        """`dedup f… | table f…` is the distinct values of f…; other dedups keep the first
        rows of each value (`MoreStages.dedup_stage`). Returns how many following commands
        were consumed."""
        args = Args(self.text, cmd.args, cmd.end)
        if args.leading_count("dedup") is not None:
            self.dedup_stage(cmd)
            return 0
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
        self.dedup_stage(cmd)
        return 0

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
