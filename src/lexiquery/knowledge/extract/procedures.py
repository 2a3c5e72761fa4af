"""Procedures out of a runbook: steps, the catalog sources and fields it names, thresholds, time
windows, embedded queries and the definitions that bind its terms to catalog values.

    extract_procedures(doc, catalog, find_codes=…, inert=injection_line) → [Procedure]

What a procedure is. Every heading opens a section; its *own* content runs to the next heading
of any level. A section is a procedure when its content (with what folds into it) has numbered
steps, an embedded query, a threshold or a definition. Folding:

* a top-level section (a child of the document, or of its single title heading) always stands
  on its own; it is a procedure if anything in it or folded into it qualifies;
* a deeper section stands on its own when its own content qualifies ("### 3.1 Brute force"
  with its query); otherwise ("### Notes", "#### Background") its blocks fold into the nearest
  ancestor that stands on its own, so a note's definition or source reaches the procedure the
  note belongs to, and the section number stays the ancestor's;
* content before the first section heading is a procedure titled `doc.title` when it
  qualifies; a document with no section headings is always one procedure titled `doc.title`.

Names. A source counts as named by its id, name or synonyms, its KQL/SQL table, or its SPL
search terms (`index=wineventlog`, with a `sourcetype=`/`source=` term when the index is
shared). Common words that synonyms happen to use ("process", "alerts", "logon", "sign in" the
verb) do not name a source on their own: see `GENERIC_WORDS`. A synonym two sources share is
ambiguous and names neither. Fields are looked for only among the named sources, by name,
synonym or platform column; code blocks contribute identifiers (tables, columns) only.

Definitions bind to exactly one catalog field or are dropped: the field the sentence names
(name, synonym, platform column), looked for in the procedure's sources and then the whole
catalog; with none named, the one field whose known values hold every value (values of fewer
than three characters need the term to match a concept, so "the limit is 10" binds nothing).
A tail saying where the values are logged ("… in SecurityEvent") is allowed and points at the
source. A definition's source counts as named by the procedure.

Nothing here raises on document content: a query that does not parse is recorded with
`parses=False` and the parser's message; a query that writes or deletes is never run, it is
recorded with the read-only guard's message. A query that parses but holds constructs the
IR cannot (a join, `eventstats`) keeps `parses=True` with `error` saying what was lost.

This module decides what a procedure is; the parts it uses: `extract.names` (the catalog's
names), `extract.bind` (code blocks, definition binding), `extract.rules` and
`extract.definitions` (sentence patterns that know nothing of the catalog).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Iterable

from lexiquery.catalog.model import Catalog
from lexiquery.ir import Operator
from lexiquery.knowledge.extract import definitions as defs
from lexiquery.knowledge.extract import rules
from lexiquery.knowledge.extract.bind import (
    MAX_QUERY_CHARS,
    bind_definitions,
    query_language,
    read_query,
)
from lexiquery.knowledge.extract.names import GENERIC_WORDS, _add, _lexicon
from lexiquery.knowledge.model import (
    Block,
    BlockKind,
    Definition,
    EmbeddedQuery,
    ParsedDocument,
    Procedure,
    Threshold,
    TimeWindow,
)

__all__ = ["GENERIC_WORDS", "MAX_QUERY_CHARS", "MAX_SENTENCE_CHARS", "extract_procedures",
           "bind_definitions", "query_language", "read_query"]

MAX_SENTENCE_CHARS = 2_000  # a longer "sentence" (a flattened PDF table) is read this far

# -------------------------------------------------------------------------------- sections

@dataclass
class _Section:
    heading: str | None  # as written; None for the document itself
    level: int
    path: list[str]
    number: str | None  # "3", "4.2": written, else the ordinal path among siblings
    title: str
    parent: "_Section | None" = None
    blocks: list[Block] = field(default_factory=list)
    children: list["_Section"] = field(default_factory=list)
    facts: "_Facts | None" = None
    home: "_Section | None" = None  # the section whose procedure this one's content joins


def _sections(doc: ParsedDocument) -> _Section:
    """The heading tree. A single first heading at the shallowest level is the document's
    title: its children are the top-level sections."""
    headings = [b for b in doc.blocks if b.kind is BlockKind.heading]
    top = min((h.level for h in headings), default=0)
    title_block = headings[0] if headings and headings[0].level == top and \
        sum(h.level == top for h in headings) == 1 else None
    root = _Section(heading=title_block.text if title_block else None,
                    level=title_block.level if title_block else 0,
                    path=[title_block.text] if title_block else [], number=None, title=doc.title)
    stack = [root]
    for b in doc.blocks:
        if b is title_block:
            continue
        if b.kind is not BlockKind.heading:
            stack[-1].blocks.append(b)
            continue
        while len(stack) > 1 and stack[-1].level >= b.level:
            stack.pop()
        parent = stack[-1]
        written, title = rules.section_number(b.text)
        ordinal = str(len(parent.children) + 1)
        number = written or (f"{parent.number}.{ordinal}" if parent.number else ordinal)
        s = _Section(heading=b.text, level=b.level, path=[*parent.path, b.text], number=number,
                     title=title, parent=parent)
        parent.children.append(s)
        stack.append(s)
    return root


def _walk(s: _Section) -> Iterable[_Section]:
    yield s
    for c in s.children:
        yield from _walk(c)


# ------------------------------------------------------------------------------ block facts

_STEP_PARAGRAPH = re.compile(r"^\s*step\s+(?P<n>\d+(?:\.\d+)*)\s*[:.)\-–—]\s*(?P<text>\S.*)$",
                             re.IGNORECASE | re.DOTALL)


@dataclass
class _Facts:
    """What a run of blocks holds, before it is bound to the catalog."""

    steps: list[str] = field(default_factory=list)
    queries: list[EmbeddedQuery] = field(default_factory=list)
    thresholds: list[Threshold] = field(default_factory=list)
    windows: list[TimeWindow] = field(default_factory=list)
    shapes: list[tuple[defs.DefinitionShape, str]] = field(default_factory=list)
    prose: list[str] = field(default_factory=list)  # all text, for codes
    names: list[str] = field(default_factory=list)  # text without inert lines, for names
    code: list[str] = field(default_factory=list)

    def merge(self, other: "_Facts") -> None:
        for name in ("steps", "queries", "thresholds", "shapes", "prose", "names", "code"):
            getattr(self, name).extend(getattr(other, name))
        for w in other.windows:
            _add_window(self.windows, w)


def _add_window(windows: list[TimeWindow], w: TimeWindow) -> None:
    if not any((o.amount, o.unit, o.purpose) == (w.amount, w.unit, w.purpose) for o in windows):
        windows.append(w)


class _Reader:
    """Reads blocks into `_Facts`; holds what one extraction shares (catalog, lexicon, the
    parse results of queries already seen)."""

    def __init__(self, catalog: Catalog, inert: Callable[[str], bool] | None) -> None:
        self.catalog = catalog
        self.lex = _lexicon(catalog)
        self.inert = inert
        self._parsed: dict[tuple[str, str, str], EmbeddedQuery] = {}

    def facts(self, blocks: list[Block], path: list[str]) -> _Facts:
        out = _Facts()
        numbers: dict[int, str] = {}
        for b in blocks:
            if b.kind is BlockKind.code:
                out.code.append(b.text)
                q = self.query(b, path)
                if q:
                    out.queries.append(q)
                continue
            live = self._live(b.text)
            out.prose.append(b.text)
            out.names.append("\n".join(live))
            if b.kind is BlockKind.list_item and b.number:
                numbers[b.level] = b.number
                for deeper in [lv for lv in numbers if lv > b.level]:
                    del numbers[deeper]
                parent = numbers.get(b.level - 1) if b.level > 0 else None
                if b.level == 0:
                    out.steps.append(b.text.strip())
                else:
                    num = b.number if "." in b.number or not parent else f"{parent}.{b.number}"
                    out.steps.append(f"{num} {b.text.strip()}")
            elif b.kind is BlockKind.paragraph and (m := _STEP_PARAGRAPH.match(b.text)):
                out.steps.append(m.group("text").strip())
            self._sentences(b, live, out)
        return out

    def query(self, b: Block, path: list[str]) -> EmbeddedQuery | None:
        lang = query_language(b.lang, b.text, self.lex)
        if lang is None:
            return None
        key = (b.text, lang[0], lang[1])
        if key not in self._parsed:
            self._parsed[key] = read_query(b.text, lang[0], lang[1], lang[2], path,
                                           self.catalog, self.lex)
        return self._parsed[key].model_copy(update={"heading_path": list(path),
                                                    "labelled": lang[2]}, deep=True)

    def _live(self, text: str) -> list[str]:
        """The lines of `text` that are not inert."""
        return [ln for ln in text.split("\n") if not (self.inert and self.inert(ln))]

    def _sentences(self, b: Block, lines: list[str], out: _Facts) -> None:
        if b.kind is BlockKind.table:
            rows = [[c.strip() for c in ln.split(" | ")] for ln in lines]
            for cells in rows:
                if len(cells) > 1:  # "Failed sign-in | ResultType | 50126, 50053"
                    row = f"{cells[0]}: {' '.join(cells[1:])}"[:MAX_SENTENCE_CHARS]
                    out.shapes.extend((s, row) for s in defs.definition_shapes(row))
            texts = [", ".join(cells)[:MAX_SENTENCE_CHARS] for cells in rows]
            if self._table_thresholds(rows, out):
                for sentence in texts:  # the rows' lookbacks still count
                    for w in rules.find_lookbacks(sentence):
                        _add_window(out.windows, TimeWindow(amount=w.amount, unit=w.unit,
                                                            text=sentence, purpose="lookback"))
                return
        else:
            texts = [t[:MAX_SENTENCE_CHARS]
                     for t in rules.sentences(" ".join(ln.strip() for ln in lines))]
            for sentence in texts:
                out.shapes.extend((s, sentence) for s in defs.definition_shapes(sentence))
        for sentence in texts:
            self._numbers(sentence, out)

    def _table_thresholds(self, rows: list[list[str]], out: _Facts) -> bool:
        """A thresholds table ("Signal | Threshold | Window | Action", "Metric | Warning |
        Critical | Window"): each row's first cell says what is counted, its first cell that
        opens with a comparison is the threshold (the lowest level: a "Critical" column after
        "Warning" is the next step of the same signal), a cell that is only a duration is the
        window, and a "per" column the entity ("TXT queries per client"). False when no row has
        a threshold cell: the table is read as sentences then."""
        header = [c.lower() for c in rows[0]] if rows else []
        per = next((i for i, h in enumerate(header) if h in {"per", "per entity", "entity",
                                                             "by", "grouped by"}), None)
        found = False
        for cells in rows[1:]:
            if len(cells) < 2:
                continue
            limits = [(i, t) for i, c in enumerate(cells[1:], 1)
                      for t in rules.find_thresholds(c)[:1] if t.span[0] <= 1]
            if not limits:
                continue
            i, t = limits[0]
            window = None
            for k, c in enumerate(cells[1:], 1):
                w = rules.duration(c) if k != i else None
                if w is not None:
                    window = TimeWindow(amount=w.amount, unit=w.unit,
                                        text=", ".join(cells)[:MAX_SENTENCE_CHARS],
                                        purpose="bucket")
                    break
            what = cells[0] + (f" per {cells[per]}" if per is not None and per < len(cells)
                               and cells[per] else "")
            text = ", ".join(cells)[:MAX_SENTENCE_CHARS]
            if window:
                _add_window(out.windows, window)
            out.thresholds.append(Threshold(op=Operator(t.op), value=t.value, what=what,
                                            window=window, text=text))
            found = True
        return found

    def _numbers(self, sentence: str, out: _Facts) -> None:
        """Thresholds with their windows, and lookbacks, of one sentence."""
        lookbacks = rules.find_lookbacks(sentence)
        for w in lookbacks:
            _add_window(out.windows, TimeWindow(amount=w.amount, unit=w.unit, text=sentence,
                                                purpose="lookback"))
        found = rules.find_thresholds(sentence)
        for k, t in enumerate(found):
            after = (t.span[1], found[k + 1].span[0] if k + 1 < len(found) else len(sentence))
            before = (found[k - 1].span[1] if k else 0, t.span[0])
            window = None
            for lo, hi in (after, before):
                part = sentence[lo:hi]
                bucket = rules.find_buckets(part)
                if bucket:
                    window = TimeWindow(amount=bucket[0].amount, unit=bucket[0].unit,
                                        text=sentence, purpose="bucket")
                    break
                back = [w for w in lookbacks if lo <= w.span[0] < hi]
                if back:  # "more than 10 in the last 24 hours" counts over the lookback
                    window = TimeWindow(amount=back[0].amount, unit=back[0].unit,
                                        text=sentence, purpose="lookback")
                    break
            if window:
                _add_window(out.windows, window)
            out.thresholds.append(Threshold(op=Operator(t.op), value=t.value,
                                            what=t.what or "count", window=window,
                                            text=sentence))

    def definitions(self, facts: _Facts, sources: list[str]) -> list[Definition]:
        out: list[Definition] = []
        seen: set[tuple[object, ...]] = set()
        done_sentences: set[str] = set()
        for shape, sentence in facts.shapes:
            if sentence in done_sentences:
                continue  # the first reading of a sentence that binds wins
            found = bind_definitions(shape, sentence, sources, self.catalog, self.lex)
            if not found:
                continue
            done_sentences.add(sentence)
            for d in found:
                key = (d.term.lower(), d.source, d.field, d.op, tuple(map(str, d.values)))
                if key not in seen:
                    seen.add(key)
                    out.append(d)
        return out

    def qualifies(self, facts: _Facts, path: list[str]) -> bool:
        if facts.steps or facts.queries or facts.thresholds:
            return True
        return bool(facts.shapes) and bool(self.definitions(facts, self._sources(facts, path)))

    def _sources(self, facts: _Facts, path: list[str]) -> list[str]:
        """Sources the section's headings, text and queries name; the document title's only
        when those name none (a title names what the whole runbook is about, a section what
        it does)."""
        found = self.lex.sources("\n".join([*path[1:], *facts.names]), "\n".join(facts.code))
        _add(found, [q.source for q in facts.queries if q.source])
        if not found and path:
            found = self.lex.sources(path[0], "")
        return found

    def procedure(self, title: str, path: list[str], number: str | None, facts: _Facts,
                  find_codes: Callable[[str], list[str]] | None, *,
                  always: bool = False) -> Procedure | None:
        """The procedure of a section's (merged) facts; None when it holds none of steps,
        queries, thresholds and definitions, unless `always`."""
        code = "\n".join(facts.code)
        sources = self._sources(facts, path)
        definitions = self.definitions(facts, sources)
        _add(sources, [d.source for d in definitions])  # "Lockout | EventID | 4740" names it
        fields = self.lex.fields("\n".join([*path, *facts.names]), code, sources)
        _add(fields, [f"{d.source}.{d.field}" for d in definitions])
        if not (always or facts.steps or facts.queries or facts.thresholds or definitions):
            return None
        codes: list[str] = []
        if find_codes is not None:
            _add(codes, find_codes("\n".join([*path, *facts.prose, code])))
        return Procedure(title=title, heading_path=path, section=number, steps=facts.steps,
                         sources=sources, fields=fields, thresholds=facts.thresholds,
                         windows=facts.windows, queries=facts.queries,
                         definitions=definitions, codes=codes)


# ----------------------------------------------------------------------------------- entry

def extract_procedures(doc: ParsedDocument, catalog: Catalog, *,
                       find_codes: Callable[[str], list[str]] | None = None,
                       inert: Callable[[str], bool] | None = None) -> list[Procedure]:
    """The document's procedures in reading order (see the module docstring for what makes a
    procedure and how subsections fold).

    `find_codes(text)` returns the canonical known-error codes the text mentions (the
    known-errors base supplies it); `inert(line)` marks lines to leave out of definitions,
    thresholds, windows, and the sources and fields named (the store passes
    `injection.injection_line`): a planted line may not steer which table is queried. They stay
    text: steps keep them, and codes are still read from them."""
    reader = _Reader(catalog, inert)
    root = _sections(doc)
    sections = list(_walk(root))
    for s in sections:
        s.facts = reader.facts(s.blocks, s.path)
    if len(sections) == 1:  # no section headings: the whole document is one procedure
        assert root.facts is not None
        whole = reader.procedure(doc.title, root.path, None, root.facts, find_codes, always=True)
        return [whole] if whole else []
    for s in sections[1:]:
        assert s.facts is not None and s.parent is not None
        own = s.parent is root or reader.qualifies(s.facts, s.path)
        s.home = s if own else s.parent.home
    merged: dict[int, _Facts] = {}
    for s in sections[1:]:
        assert s.home is not None and s.facts is not None
        if s.home is s:
            merged[id(s)] = _Facts()
        elif s.heading:  # a folded section's heading is part of its parent's text
            merged[id(s.home)].prose.append(s.heading)
            merged[id(s.home)].names.append(s.heading)
        merged[id(s.home)].merge(s.facts)
    assert root.facts is not None
    out = [reader.procedure(doc.title, root.path, None, root.facts, find_codes)]
    for s in sections[1:]:
        if id(s) in merged:
            out.append(reader.procedure(s.title, s.path, s.number, merged[id(s)], find_codes))
    return [p for p in out if p is not None]
