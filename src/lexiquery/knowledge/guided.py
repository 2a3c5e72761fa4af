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


CONFLICT_COST = 0.05
MOVED_COST = 0.05


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
    conflicts: int = 0
    moved: bool = False  # a runbook chose the source the question did not name

    def note(self, text: str) -> None:
        """A part of a runbook that was not applied, or a code left out as the question says."""
        if text not in self.parsed.notes:
            self.parsed = self.parsed.model_copy(update={"notes": [*self.parsed.notes, text]})

    def conflict(self, text: str) -> None:
        """A runbook disagrees with what the question states; the question's words were kept.
        Each lowers the answer's confidence (`confidence_after`): a runbook that reads the
        question otherwise is a reason to look twice, whichever reading is right."""
        if text not in self.parsed.notes:
            self.conflicts += 1
        self.note(text)

    def confidence_after(self, confidence: float) -> float:
        """The plan's confidence once the knowledge is applied: less for each conflict (at most
        two count) and when a runbook, not the question, chose the source."""
        drop = CONFLICT_COST * min(self.conflicts, 2) + (MOVED_COST if self.moved else 0.0)
        return round(max(0.05, confidence - drop), 2)

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
