"""`| lookup` against a lookup table the catalog declares (`catalog.lookups`), read as a left
join with the table's source (`| inputlookup name` on SPL, a table of that name elsewhere):

    | lookup threat_intel_ips ip AS DestinationIp OUTPUT threat_category AS category
      → Join(left, on=[DestinationIp = ip],
             right=QueryPlan(source=threat_intel_ips, computed=[category = threat_category],
                             project=[ip, category]))

which the renderer writes back as `| join type=left max=0 DestinationIp [| inputlookup … ]`.

Exactness: Splunk matches a lookup exactly and case-sensitively unless its definition says
otherwise — a `WILDCARD(f)`/`CIDR(f)` match type is refused, naming the lookup and field; a
`case_sensitive_match = false` lookup joins on both keys lower-cased (`_kN` columns, kept out
of the output); `OUTPUTNEW` (fill only what is missing) and outputs that would
overwrite an event field are refused too. A key that matches several rows of the table gives
Splunk multivalue outputs and the join one row per match: the catalog's lookup keys are taken
as unique (a note says so).
"""

from __future__ import annotations

from typing import Any, Callable

from lexiquery.catalog.model import FieldType
from lexiquery.dialects.spl.bind import Ref, Unsupported
from lexiquery.dialects.spl.stages import Args, Command
from lexiquery.dialects.spl.subsearch import JoinStages
from lexiquery.ir import (
    Call,
    ComputedField,
    FieldRef,
    Function,
    Join,
    JoinKey,
    JoinKind,
    QueryPlan,
)


class LookupStages(JoinStages):
    """`JoinStages` plus `lookup`."""

    find_lookup: Callable[[str], Any] | None = None  # the catalog's `lookup(name)`

    def _pairs(self, args: Args, stop: tuple[str, ...]) -> list[tuple[str, str, int]]:
        """`field [AS other], …` up to a `stop` word: (field, other, position)."""
        out = []
        while not args.at_end() and not (args.peek().kind == "word"
                                         and args.peek().text.lower() in stop):
            tok = args.next()
            other = str(args.next().value) if args.keyword("as") else str(tok.value)
            out.append((str(tok.value), other, tok.start))
            args.comma()
        return out

    def _folded(self, key: JoinKey, right: list[ComputedField]) -> JoinKey:
        """A key matched case-insensitively: both sides lower-cased into a column of their own
        (`_kN`, projected away before the output like `where_expression`'s flags)."""
        n = len(self.temps) + 1
        while self.scope.lookup(f"_k{n}") is not None:
            n += 1
        name = f"_k{n}"
        self.computed.append(ComputedField(name=name, expr=Call(
            fn=Function.lower, args=[FieldRef(name=key.left)])))
        self.scope.names[name] = Ref(name, FieldType.string)
        self.temps.add(name)
        right.append(ComputedField(name=name, expr=Call(fn=Function.lower,
                                                         args=[FieldRef(name=key.right)])))
        return JoinKey(left=name, right=name)

    def cmd_lookup(self, cmd: Command) -> None:
        args = Args(self.text, cmd.args, cmd.end)
        for name, (value, pos) in args.options().items():
            if name not in {"local", "update"}:
                raise Unsupported(pos, f"the lookup option {name}={value}")
        name_tok = args.next()
        name = str(name_tok.value)
        table = self.find_lookup(name) if self.find_lookup is not None else None
        if table is None:
            raise Unsupported(cmd.pos, f"the lookup {name}", "the catalog declares no lookup "
                              "of that name")
        keys = self._pairs(args, ("output", "outputnew"))
        mode = args.keyword("output", "outputnew")
        outputs = self._pairs(args, ())
        if not keys:
            raise Unsupported(cmd.pos, f"the lookup {name} without a key field")
        if mode is not None and mode.text.lower() == "outputnew":
            raise Unsupported(mode.start, f"lookup {name} … OUTPUTNEW", "it fills only the "
                              "fields an event lacks")
        source = table.source()
        match = getattr(table, "match", {}) or {}
        for field, _, pos in [*keys, *outputs]:
            if source.field(field) is None:
                raise Unsupported(pos, f"'{field}' of the lookup {name}", "the catalog's "
                                  "lookup has no such field")
        for field, _, pos in keys:
            if field in match:
                kind = getattr(match[field], "value", match[field])
                raise Unsupported(pos, f"the {str(kind).upper()} match of {name}.{field}",
                                  "the plan joins on equal values")
        key_names = {k for k, _, _ in keys}
        if not outputs:
            outputs = [(f.name, f.name, cmd.pos) for f in source.fields
                       if f.name not in key_names]
        self.new_step()
        on = [JoinKey(left=self.scope.resolve(ev, pos).name, right=field)
              for field, ev, pos in keys]
        computed: list[ComputedField] = []
        if not getattr(table, "case_sensitive", True):
            on = [self._folded(k, computed) for k in on]  # matched case-insensitively
        project = [k.right for k in on]
        for field, out, pos in outputs:
            if self.scope.lookup(out) is not None:
                raise Unsupported(pos, f"lookup {name} … OUTPUT {out}", "it overwrites that "
                                  "field of the events; name the output with AS")
            if out != field:
                computed.append(ComputedField(name=out, expr=FieldRef(name=field)))
            project.append(out)
        right = QueryPlan(source=source.id, computed=computed, project=project)
        self.new_step(Join(how=JoinKind.left, right=right, on=on))
        for field, out, _ in outputs:
            f = source.field(field)
            self.scope.names[out] = Ref(out, f.type if f else None)
        self.notes.append(f"the lookup {name} is read as a left join: each key is taken to "
                          "match one row of it (several matching rows would be one "
                          "multivalue field in Splunk, several rows here)")
