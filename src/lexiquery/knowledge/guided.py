"""The plan as knowledge refines it, with what changed and why (`guidance.apply_knowledge`).

Three kinds of record, each shown in the answer:

* `changes` — what a runbook or known error changed, each with its citation ("per SOP-017 §2,
  failed sign-ins are result_code 50126 or 50053");
* notes (on `parsed.notes`) — where the knowledge and the question disagree and the question's
  words were kept, or what a runbook also does that the question did not ask for;
* `citations` — the passages used, with what each was used for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lexiquery.answer import Citation, KnownErrorNote
from lexiquery.ir import QueryPlan
from lexiquery.knowledge.gathering import Relevant, excerpt

if TYPE_CHECKING:
    from lexiquery.nl.rules import ParsedQuestion


@dataclass
class Guided:
    plan: QueryPlan
    parsed: "ParsedQuestion"
    changes: list[str] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    known_errors: list[KnownErrorNote] = field(default_factory=list)
    # Passages (chunk ids) found to be about other events than the question's: their
    # procedures supply no look-back or threshold.
    unrelated: set[str] = field(default_factory=set)
    # Fields a runbook definition set: an example query does not change them again.
    defined: set[str] = field(default_factory=set)

    def note(self, text: str) -> None:
        """A conflict between the question and the knowledge, kept as the question says, or a
        part of a runbook that was not applied."""
        if text not in self.parsed.notes:
            self.parsed = self.parsed.model_copy(update={"notes": [*self.parsed.notes, text]})

    def cite(self, rel: Relevant, used_for: str) -> str:
        """Record that `rel` was used for `used_for`; returns its reference ("SOP-017 §3")."""
        chunk = rel.hit.chunk
        for c in self.citations:
            if c.chunk_id == chunk.id:
                if used_for not in c.used_for:
                    c.used_for.append(used_for)
                return c.ref()
        c = Citation(document_id=rel.document.id, label=rel.document.label,
                     title=rel.document.title, section=rel.procedure.section,
                     heading_path=list(chunk.heading_path), chunk_id=chunk.id,
                     chunk_index=chunk.index, excerpt=excerpt(chunk.text), used_for=[used_for])
        self.citations.append(c)
        return c.ref()


__all__ = ["Guided"]
