"""Subsearches read as joins: the `[ … ]` is parsed as a search of its own (its own source,
through the same catalog) and becomes a `Join` stage's right-hand plan.

    | join [type=inner|left|outer] [max=0] k… [search …]   → Join(inner | left)
    … [search … | fields k…]  (a search term)              → Join(semi)
    … NOT [search … | fields k…]                           → Join(anti)

* `join` keeps only the first matching right row per left row unless `max=0`; the default
  `max=1` is read when the subsearch returns one row per key (it ends with `stats … by` those
  keys, or `dedup` of them), and refused otherwise;
* a search-term subsearch returns its rows as `(k="v1") OR …` terms: its outputs (after
  `fields`/`table`/`stats`) are the keys, named as the left side names them; one that returns
  whole events is refused. Splunk matches those values case-insensitively (see `spl.join`);
* a right-hand field that the left side has too is refused (`join` would overwrite it).
"""

from __future__ import annotations

from typing import Any, Callable

from lexiquery.dialects.parsing import ParsedQuery
from lexiquery.dialects.spl.bind import Scope, Unsupported
from lexiquery.dialects.spl.search import SNode, SNot
from lexiquery.dialects.spl.stages import Args, Command
from lexiquery.dialects.spl.stages_more import MoreStages
from lexiquery.errors import QueryError
from lexiquery.ir import Join, JoinKey, JoinKind, QueryPlan, Severity, Step, TopPerGroup

# (start, end) of a subsearch's inside → its parse and the SPL names of its outputs.
SubsearchReader = Callable[[int, int], tuple[ParsedQuery, Scope]]


def _unique_on(plan: QueryPlan, keys: set[str]) -> bool:
    """Does the plan return one row per value of `keys` (its last aggregation or dedup is by
    some of them)?"""
    for stage in reversed(plan.stages):
        if isinstance(stage, TopPerGroup):
            return stage.n == 1 and set(stage.by) <= keys
        if isinstance(stage, Step) and stage.aggregation is not None:
            agg = stage.aggregation
            return agg.time_bucket is None and set(agg.group_by) <= keys
        if not isinstance(stage, Step) or stage.computed:
            return False
    agg = plan.aggregation
    return agg is not None and agg.time_bucket is None and set(agg.group_by) <= keys


def _last_project(plan: QueryPlan) -> list[str]:
    last = plan.stages[-1] if plan.stages else None
    return list(last.project) if isinstance(last, Step) else \
        list(plan.project) if last is None else []


class JoinStages(MoreStages):
    """`MoreStages` plus `join` and search-term subsearches."""

    read_subsearch: SubsearchReader | None = None

    def _right(self, start: int, end: int, pos: int) -> tuple[QueryPlan, Scope]:
        if self.read_subsearch is None:
            raise Unsupported(pos, "a subsearch", "it cannot be read here")
        try:
            parsed, scope = self.read_subsearch(start, end)
        except QueryError as e:
            raise Unsupported(pos, "this subsearch", str(e)) from None
        errors = [i for i in parsed.plan.issues if i.severity is Severity.error]
        if errors:
            raise Unsupported(pos, "this subsearch", errors[0].message)
        self.issues += parsed.plan.issues
        self.notes += parsed.notes
        return parsed.plan.model_copy(update={"issues": []}), scope

    def _drop_key_renames(self, keys: list[str]) -> None:
        """`| rename rk AS k` in the subsearch names a key as the left side does: not a loss."""
        self.issues = [i for i in self.issues if not any(
            f" AS {k} is not supported" in i.message and "rename " in i.message
            for k in keys)]

    def cmd_join(self, cmd: Command) -> None:
        args = Args(self.text, cmd.args, cmd.end)
        opts = args.options()
        names: list[tuple[str, int]] = []
        sub = None
        while not args.at_end():
            tok = args.next()
            if tok.kind == "subsearch":
                sub = tok
                break
            if tok.kind not in {"word", "str"}:
                raise Unsupported(tok.start, f"'{tok.text}' in join")
            names.append((str(tok.value), tok.start))
            args.comma()
        if sub is None or not args.at_end():
            raise Unsupported(cmd.pos, "join without a subsearch at its end")
        how = {"inner": JoinKind.inner, "left": JoinKind.left,
               "outer": JoinKind.left}.get(opts.pop("type", ("inner", 0))[0].lower())
        if how is None:
            raise Unsupported(cmd.pos, "this join type", "inner, left and outer are read")
        max_rows = opts.pop("max", ("1", 0))[0]
        for name, (value, pos) in opts.items():
            if not (name == "overwrite" and value.lower() in {"t", "true", "1"}):
                raise Unsupported(pos, f"the join option {name}={value}")
        if not names:
            raise Unsupported(cmd.pos, "join without key fields", "it joins on every field "
                              "both sides have")
        self.new_step()
        right, rscope = self._right(sub.start + 1, sub.end - 1, sub.start)
        on = self._keys(names, rscope)
        if max_rows != "0" and not (max_rows == "1" and _unique_on(
                right, {k.right for k in on})):
            raise Unsupported(cmd.pos, f"join max={max_rows}", "each event joins only its "
                              "first matching rows; write max=0 for every match")
        for spl_name, ref in rscope.names.items():
            if ref.name not in {k.right for k in on} and self.scope.lookup(spl_name) is not None:
                raise Unsupported(sub.start, f"a join whose subsearch returns '{spl_name}'",
                                  "the left side has it too and join would overwrite it")
        self._drop_key_renames([n for n, _ in names])
        self.stages.append(Join(how=how, right=right, on=on))
        keys = {k.right for k in on}
        for spl_name, ref in rscope.names.items():  # the right side's other outputs follow
            if ref.name not in keys:
                self.scope.names[spl_name] = ref

    def _keys(self, names: list[tuple[str, int]], rscope: Scope) -> list[JoinKey]:
        on = []
        for name, pos in names:
            left = self.scope.resolve(name, pos)
            right = rscope.lookup(name)
            if right is None or right.opaque:
                raise Unsupported(pos, f"the join key {name}", "the subsearch does not return it")
            on.append(JoinKey(left=left.name, right=right.name))
        return on

    def semi_join(self, node: SNode) -> None:
        """A top-level `[ … ]` (or `NOT [ … ]`) search term: a semi (anti) join after the part
        being read."""
        anti = isinstance(node, SNot)
        opaque: Any = node.item if isinstance(node, SNot) else node
        start, end = opaque.pos, opaque.pos + len(opaque.text)
        right, rscope = self._right(start + 1, end - 1, start)
        agg = right.aggregation if not right.stages else None
        if not _last_project(right) and agg is None and not any(
                isinstance(s, Step) and s.aggregation for s in right.stages):
            raise Unsupported(start, "a subsearch that returns whole events", "end it with "
                              "| fields k (the fields to match)")
        spl_names: dict[str, str] = {}
        for spl_name, ref in rscope.names.items():  # the last name of each output (renames)
            spl_names[ref.name] = spl_name
        keys = list(spl_names.values())
        self.new_step()
        on = self._keys([(k, start) for k in keys], rscope)
        self._drop_key_renames(keys)
        self.notes.append("a subsearch's values match case-insensitively in Splunk (they "
                          "become search terms); the plan's join compares them exactly")
        self.new_step(Join(how=JoinKind.anti if anti else JoinKind.semi, right=right, on=on))
