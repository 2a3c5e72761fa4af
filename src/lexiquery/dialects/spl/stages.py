"""The SPL pipeline read into one `QueryPlan`: what each command does to the plan's stages.

`Stages` holds the part of the plan being read and the names visible at this point (the
source's fields and computed fields before the aggregation, its outputs after); each `cmd_*`
method is one SPL command — `search`, `where` and `eval` here, the aggregating ones in
`spl.aggregate`, the output ones in `spl.output`, the stages of their own in
`spl.stages_more`, `spl.subsearch` and `spl.lookup`. A part's order is fixed — filters,
computed, aggregation, having, project, sort, limit — so a command joins the part being read
when moving it into that order keeps the results; otherwise (`head 10 | where …`, a second
`stats`, `eval` after `stats`) the part is closed and the command starts a new `Step` over its
outputs (`new_step`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from lexiquery.catalog.model import Platform, Source
from lexiquery.dialects.parsing import PlanDraft, syntax_error, unsupported_issue
from lexiquery.dialects.spl.bind import Ref, Scope, Unsupported, fold_and, term_filter
from lexiquery.dialects.spl.eval import (
    EBin,
    ECall,
    EField,
    ELit,
    ENode,
    OpaqueInEval,
    parse_assignments,
    parse_eval,
)
from lexiquery.dialects.spl.expr import ExprBinder, and_items, fold_where, where_filter
from lexiquery.dialects.spl.lex import Scanner, Tok
from lexiquery.dialects.spl.search import SNode, STerm, SValue, is_subsearch, parse_search
from lexiquery.dialects.spl.source import time_point
from lexiquery.ir import (
    AbsoluteTime,
    ComputedField,
    QueryPlan,
    RelativeTime,
    Stage,
    Step,
    TimeBucket,
    TimeRange,
    TimeUnit,
)

HANDLED = frozenset({"search", "where", "eval", "stats", "eventstats", "tstats", "datamodel",
                     "table", "fields", "rename", "sort", "head", "tail", "dedup", "top",
                     "rare", "timechart", "bin", "bucket", "fieldformat", "mvexpand", "rex",
                     "spath", "fillnull", "convert", "streamstats", "lookup", "join"})


@dataclass(frozen=True)
class Command:
    """One `| name args` of the pipeline: `pos` is the name, `args` where its arguments start."""

    name: str
    pos: int
    args: int
    end: int
    pipe: int


_WHOLE = re.compile(r"[+-]?\d+")


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

    def row_count(self, value: str, pos: int, what: str) -> int | None:
        """`value` as a row count when it is a whole number, else None. A negative count is a
        ``syntax`` error rather than a default: `head -5` asks for something, not for 10."""
        if not _WHOLE.fullmatch(value):
            return None
        n = int(value)
        if n < 0:
            said = what + ("" if what.endswith("=") else " ") + value
            raise syntax_error(self.text, pos, f"{said}: a row count cannot be negative",
                               expected="a row count such as 10")
        return n

    def leading_count(self, what: str) -> int | None:
        """A row count as the first argument (`head 5`, `top 3 user`), consumed; else None."""
        tok = self.peek()
        n = self.row_count(tok.text, tok.start, what) if tok.kind == "word" else None
        if n is not None:
            self.next()
        return n

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


class Stages(PlanDraft):
    """The plan under construction and the filtering / computing commands. The aggregating
    commands are added by `spl.aggregate.AggregateStages`, the output ones by
    `spl.output.Pipeline` (the class the parser uses)."""

    def __init__(self, text: str, source: Source, scope: Scope, *, generating: bool) -> None:
        super().__init__(source)
        self.text = text
        self.scope = scope
        self.generating = generating
        self.out: Scope | None = None  # the aggregation's outputs, once there is one
        self.start: Any = None
        self.end: Any = None
        self.pending_bin: tuple[TimeBucket, int] | None = None
        raw = next((col for col in source.bindings.columns(Platform.spl).values()
                    if col == "_raw"), None)
        self.raw_ref = scope.lookup(raw) if raw else None
        # Once a command cannot join the part being read (`eval` after `stats`, `where` after
        # `head`, `dedup`, `eventstats` …), that part is closed: the first one is kept here, the
        # others become `Step`s, and what follows reads their outputs (`new_step`).
        self.first: dict[str, Any] | None = None
        self.stages: list[Stage] = []
        self.temps: set[str] = set()  # computed only to test a condition (`where_expression`)

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
        self.hide_temps()
        if self.first is None:
            return self.draft(tr)
        self.new_step()
        return QueryPlan(source=self.source.id, time_range=tr, **self.first,
                         stages=self.stages, issues=self.issues)

    def hide_temps(self) -> None:
        """A flag `where_expression` computed that would reach the output is projected away."""
        visible = list(dict.fromkeys(r.name for r in self.names.names.values() if not r.opaque))
        if self.temps & set(visible) and self.agg is None and not self.project:
            self.project = [n for n in visible if n not in self.temps]

    def _part(self) -> dict[str, Any]:
        return {"filters": self.filters, "computed": self.computed, "aggregation": self.agg,
                "having": self.having if self.agg else [], "project": self.project,
                "sort": self.sort, "limit": self.limit}

    def outputs(self) -> Scope:
        """The SPL names of the part being read's outputs (its aggregation's, or its
        projection's, or every field in scope), as the stages after it see them."""
        names = dict((self.out or self.scope).names)
        if self.project:
            names = {k: v for k, v in names.items() if v.name in self.project}
        return Scope(self.text, self.source, names, datamodel=self.scope.datamodel,
                     lenient=self.names.lenient)

    def after_pipeline(self, rank: int) -> None:
        """A new step unless a command of `rank` (0 filter or compute, 1 aggregate, 2 having,
        3 project or sort) continues the fixed order of the part being read."""
        held = 4 if self.limit is not None else 3 if self.project or self.sort else \
            1 if self.agg is not None else 0
        if held > rank or (rank == 1 and self.agg is not None):
            self.new_step()

    def new_step(self, stage: Stage | None = None) -> None:
        """Close the part being read (then add `stage`, if given); what follows is a new
        `Step` over their outputs."""
        scope = self.outputs()
        part = self._part()
        if self.first is None:
            self.first = part
        elif any(part.values()):
            self.stages.append(Step(**part))
        if stage is not None:
            self.stages.append(stage)
        self.filters, self.computed, self.having, self.project, self.sort = [], [], [], [], []
        self.agg, self.limit, self.out = None, None, None
        if self.raw_ref not in scope.names.values():
            self.raw_ref = None  # the raw text is an output no more
        self.scope = scope

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
        self.filters += self._search_filters([t for t in rest if not is_subsearch(t)],
                                             self.scope, allow_time=True)
        self._semi_joins(rest)

    def _search_filters(self, terms: list[SNode], scope: Scope, *, allow_time: bool) -> list:
        out: list[Any] = []
        for t in terms:
            if isinstance(t, STerm) and t.field is None and isinstance(t.value, SValue) \
                    and t.value.text == "*" and not t.value.quoted:
                continue  # `search *` (what a filter macro left empty says): every event
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
        self.after_pipeline(2 if self.agg is not None else 0)
        plain = [t for t in terms if not is_subsearch(t)]
        if self.agg is None:
            self.filters += self._search_filters(plain, self.scope, allow_time=False)
        else:
            self.having += self._search_filters(plain, self.names, allow_time=False)
        self._semi_joins(terms)

    def _semi_joins(self, terms: list[SNode]) -> None:
        for t in terms:
            if is_subsearch(t):
                try:
                    self.semi_join(t)
                except Unsupported as u:
                    self.issue(u)
                    self._lenient()

    def semi_join(self, node: SNode) -> None:
        """A `[ … ]` search term (see `spl.subsearch`, which reads it)."""
        raise Unsupported(getattr(node, "pos", 0), "a subsearch [ … ]")

    def cmd_where(self, cmd: Command) -> None:
        node = parse_eval(self.text, cmd.args, cmd.end)
        self.after_pipeline(2 if self.agg is not None else 0)
        out: list[tuple[ENode, Any]] = []
        late: list[tuple[ENode, Unsupported]] = []
        for item in and_items(node):
            try:
                if self.agg is None and self.first is None and self._time_bound(item):
                    continue
                out.append((item, where_filter(item, self.names)))
            except Unsupported as u:
                late.append((item, u))
        (self.filters if self.agg is None else self.having).extend(fold_where(out))
        for item, u in late:  # after the others: it may start a step of its own
            try:
                self.where_expression(item, u)
            except Unsupported as e:
                self.issue(e)

    def where_expression(self, node: ENode, u: Unsupported) -> None:
        """A where condition no filter holds (see `spl.stages_more`); here: `u`."""
        raise u

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
            point, is_now = RelativeTime(amount=0, unit=TimeUnit.second), True
        elif self.generating and isinstance(right, ELit) \
                and isinstance(right.value, (int, float)) and not isinstance(right.value, bool):
            point, is_now = AbsoluteTime(at=datetime.fromtimestamp(right.value,
                                                                   tz=timezone.utc)), False
        else:
            return False
        if (self.start if is_start else self.end) is not None:
            return False
        if is_start:
            self.start = point
        else:
            self.end = None if is_now else point
        return True

    def cmd_eval(self, cmd: Command) -> None:
        assigns = parse_assignments(self.text, cmd.args, cmd.end)
        self.after_pipeline(0)
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

    # ------------------------------------------------------------------ aggregation
