"""Structure-aware chunking: a `ParsedDocument`'s blocks become `ChunkDraft`s for search.

A chunk is what search returns and what a citation points at, so it must be a piece of the
runbook that makes sense alone. Size is a target, structure wins:

- a heading starts a new chunk and sets the heading path (outermost first; a level-2 heading
  closes the level-2 and deeper sections before it);
- the consecutive items of a list stay together, with what sits inside the list (a query under
  "2. Run:"): a procedure's twelve steps are one chunk even when that is over the target. Only a
  list over `max_chars` is split, and then between top-level steps, never inside one;
- a code block is never split (an oversized query becomes its own chunk);
- a table stays whole up to `max_chars`, else it is split by rows with the header row repeated;
- paragraphs are packed up to the target; one paragraph over `max_chars` is split by sentences;
- the paragraph that introduces a list, code or table (ending with ":") stays with it;
- a tiny piece of a section does not stand alone: it joins the chunk after it (a one-line
  remark before a long procedure) or, at the end of the section, the chunk before it.

The text of a chunk: blocks joined by blank lines, list items as "3. text" / "- text" indented
by depth, code as a fenced block with its language, tables as their lines. The heading path is
not repeated in it (the store indexes the path alongside). `flags` is left empty: the store marks
injection-like lines. Deterministic: the same document always gives the same chunks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lexiquery.knowledge.model import Block, BlockKind, ChunkDraft, ChunkKind, ParsedDocument

LANGUAGE_ALIASES: dict[str, str] = {
    "kql": "kql", "kusto": "kql", "csl": "kql",
    "spl": "spl", "splunk": "spl",
    **{k: "sql" for k in ("sql", "tsql", "t-sql", "postgres", "postgresql", "mysql", "sqlite",
                          "duckdb", "bigquery", "snowflake")},
}
"""Fence labels that name a query language LexiQuery speaks, to that language."""

_FIRST_ORDINALS = {"1", "a", "i", "0"}


def normalise_language(lang: str | None) -> str | None:
    """"kusto" → "kql", "splunk" → "spl", "postgres" → "sql"; None for anything else."""
    return LANGUAGE_ALIASES.get((lang or "").strip().lower())


# --- rendering -----------------------------------------------------------------------------------

def _render_block(block: Block) -> str:
    if block.kind == BlockKind.list_item:
        marker = "-" if block.number is None else (
            block.number if "." in block.number else f"{block.number}.")
        return f"{'   ' * block.level}{marker} {block.text}"
    if block.kind == BlockKind.code:
        fence = "```"
        while fence in block.text:
            fence += "`"
        return f"{fence}{block.lang or ''}\n{block.text}\n{fence}"
    return block.text


def render_blocks(blocks: list[Block]) -> str:
    """Chunk text: list items of one list on consecutive lines, everything else blank-separated."""
    out: list[str] = []
    for i, block in enumerate(blocks):
        if i:
            tight = block.kind == BlockKind.list_item and blocks[i - 1].kind == BlockKind.list_item
            out.append("\n" if tight else "\n\n")
        out.append(_render_block(block))
    return "".join(out)


def _size(blocks: list[Block]) -> int:
    return len(render_blocks(blocks))


# --- units: the pieces structure forbids splitting -----------------------------------------------

@dataclass
class _Unit:
    kind: str  # "list" | "code" | "table" | "para"
    blocks: list[Block]
    intro: list[Block] = field(default_factory=list)

    @property
    def all_blocks(self) -> list[Block]:
        return self.intro + self.blocks


def _is_intro(block: Block) -> bool:
    return block.kind == BlockKind.paragraph and block.text.rstrip().endswith(":")


def _list_goes_on(between: list[Block], nxt: Block) -> bool:
    """After `between` (non-list blocks inside a list run), does `nxt` continue the same list?
    Code and tables between items belong to the list; a paragraph only when the numbering then
    continues (a loose "1. … note … 2." procedure) rather than starting again at 1."""
    if all(b.kind in (BlockKind.code, BlockKind.table) for b in between):
        return True
    last = (nxt.number or "").split(".")[-1].lower()
    return nxt.number is not None and (nxt.level > 0 or last not in _FIRST_ORDINALS)


def _list_run_end(blocks: list[Block], i: int) -> int:
    """Index just past the list run starting at `blocks[i]` (a list item)."""
    j = i
    last_item = blocks[i]
    while j < len(blocks):
        block = blocks[j]
        if block.kind == BlockKind.list_item:
            last_item, j = block, j + 1
            continue
        if block.kind == BlockKind.heading:
            break
        k = j
        while k < len(blocks) and k - j < 3 and blocks[k].kind in (
                BlockKind.paragraph, BlockKind.code, BlockKind.table):
            k += 1
        if k < len(blocks) and blocks[k].kind == BlockKind.list_item \
                and _list_goes_on(blocks[j:k], blocks[k]):
            j = k
            continue
        # code or a table the last step introduces ("3. Run this query:") ends the run with it
        introduced = last_item.text.rstrip().endswith(":")
        if block.kind in (BlockKind.code, BlockKind.table) and introduced:
            j += 1
            while j < len(blocks) and blocks[j].kind == BlockKind.code:
                j += 1
        break
    return j


def _units(body: list[Block]) -> list[_Unit]:
    units: list[_Unit] = []
    i = 0
    while i < len(body):
        block = body[i]
        if block.kind == BlockKind.list_item:
            end = _list_run_end(body, i)
            unit = _Unit("list", body[i:end])
            i = end
        elif block.kind == BlockKind.code:
            unit, i = _Unit("code", [block]), i + 1
        elif block.kind == BlockKind.table:
            unit, i = _Unit("table", [block]), i + 1
        else:
            units.append(_Unit("para", [block]))
            i += 1
            continue
        if units and units[-1].kind == "para" and _is_intro(units[-1].blocks[-1]):
            unit.intro = units.pop().blocks
        units.append(unit)
    return units


# --- splitting what is too big -------------------------------------------------------------------

def _pack_groups(groups: list[list[Block]], limit: int) -> list[list[Block]]:
    """Groups packed into pieces of at most `limit`, balanced: twelve steps over the limit become
    two pieces of six rather than eleven and one."""
    total = _size([b for g in groups for b in g])
    share = total / max(1, -(-total // limit))
    pieces: list[list[Block]] = []
    for group in groups:
        current = _size(pieces[-1]) if pieces else 0
        grown = _size(pieces[-1] + group) if pieces else 0
        # grow while that brings the piece closer to its fair share
        if pieces and grown <= limit and grown - share < share - current:
            pieces[-1] = pieces[-1] + group
        else:
            pieces.append(list(group))
    return pieces


def _split_list(unit: _Unit, max_chars: int) -> list[list[Block]]:
    top = min(b.level for b in unit.blocks if b.kind == BlockKind.list_item)
    groups: list[list[Block]] = []
    for block in unit.blocks:
        if not groups or (block.kind == BlockKind.list_item and block.level <= top):
            groups.append([block])
        else:
            groups[-1].append(block)  # a sub-step, or the code inside a step, stays with it
    groups[0] = unit.intro + groups[0]
    return _pack_groups(groups, max_chars)


def _split_table(unit: _Unit, max_chars: int) -> list[list[Block]]:
    table = unit.blocks[0]
    header, *rows = table.text.split("\n")
    pieces: list[list[Block]] = []
    current: list[str] = [header]
    for row in rows:
        if len(current) > 1 and len("\n".join(current + [row])) > max_chars:
            pieces.append([table.model_copy(update={"text": "\n".join(current)})])
            current = [header]
        current.append(row)
    pieces.append([table.model_copy(update={"text": "\n".join(current)})])
    pieces[0] = unit.intro + pieces[0]
    return pieces


def _split_paragraph(block: Block, target: int, max_chars: int) -> list[list[Block]]:
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", block.text) if s]
    parts: list[str] = []
    for sentence in sentences:
        while len(sentence) > max_chars:  # a "sentence" with no full stop in sight
            cut = sentence.rfind(" ", 0, max_chars)
            cut = cut if cut > 0 else max_chars
            parts.append(sentence[:cut])
            sentence = sentence[cut:].lstrip()
        parts.append(sentence)
    texts: list[str] = []
    for part in parts:
        if texts and len(texts[-1]) + 1 + len(part) <= target:
            texts[-1] = f"{texts[-1]} {part}"
        else:
            texts.append(part)
    return [[block.model_copy(update={"text": t})] for t in texts if t]


def _fit(unit: _Unit, target: int, max_chars: int) -> list[list[Block]]:
    """The unit as pieces no larger than `max_chars`, split only where structure allows."""
    blocks = unit.all_blocks
    if _size(blocks) <= max_chars or unit.kind == "code":
        return [blocks]
    if unit.kind == "list":
        return _split_list(unit, max_chars)
    if unit.kind == "table":
        return _split_table(unit, max_chars)
    return _split_paragraph(unit.blocks[0], target, max_chars)


# --- packing and drafting ------------------------------------------------------------------------

def _pack(pieces: list[list[Block]], target: int, limit: int, tiny: int) -> list[list[Block]]:
    """Pieces packed up to the target; a tiny piece never stands alone when the next one can take
    it without passing the limit (a one-line remark before a long procedure)."""
    chunks: list[list[Block]] = []
    for piece in pieces:
        merged = _size(chunks[-1] + piece) if chunks else 0
        if chunks and (merged <= target or (_size(chunks[-1]) < tiny and merged <= limit)):
            chunks[-1] = chunks[-1] + piece
        else:
            chunks.append(list(piece))
    return chunks


def _kind(blocks: list[Block]) -> ChunkKind:
    weights: dict[str, int] = {}
    for block in blocks:
        if _is_intro(block):
            continue
        if block.kind == BlockKind.list_item:
            cat = "steps" if block.number is not None else "prose"
        elif block.kind in (BlockKind.code, BlockKind.table):
            cat = block.kind.value
        else:
            cat = "prose"
        weights[cat] = weights.get(cat, 0) + len(block.text)
    if not weights:
        return "prose"
    total = sum(weights.values())
    substantial = {c for c, w in weights.items() if w > 0.2 * total}
    if "steps" in weights and not (substantial - {"steps", "code", "table"}):
        return "steps"  # a procedure, with its queries and tables inside
    if len(substantial) == 1:
        return substantial.pop()  # type: ignore[return-value]
    return "mixed"


def _draft(path: list[str], blocks: list[Block]) -> ChunkDraft:
    languages: list[str] = []
    for block in blocks:
        lang = normalise_language(block.lang) if block.kind == BlockKind.code else None
        if lang and lang not in languages:
            languages.append(lang)
    page = next((b.page for b in blocks if b.page is not None), None)
    return ChunkDraft(heading_path=list(path), text=render_blocks(blocks), kind=_kind(blocks),
                      page=page, languages=languages)


def _sections(blocks: list[Block]) -> list[tuple[list[str], list[Block]]]:
    sections: list[tuple[list[str], list[Block]]] = [([], [])]
    stack: list[Block] = []
    for block in blocks:
        if block.kind == BlockKind.heading:
            while stack and stack[-1].level >= block.level:
                stack.pop()
            stack.append(block)
            sections.append(([h.text for h in stack], []))
        else:
            sections[-1][1].append(block)
    return [s for s in sections if s[1]]


def chunk_document(doc: ParsedDocument, *, target_chars: int = 1200,
                   max_chars: int | None = None) -> list[ChunkDraft]:
    """Chunks of `doc` in reading order (see the module docstring for the rules).
    `max_chars` defaults to four times the target and is never below it."""
    target = max(1, target_chars)
    limit = max(target, max_chars if max_chars is not None else 4 * target)
    tiny = max(1, target // 5)
    drafts: list[ChunkDraft] = []
    for path, body in _sections(doc.blocks):
        pieces = [p for unit in _units(body) for p in _fit(unit, target, limit)]
        chunks = _pack(pieces, target, limit, tiny)
        if len(chunks) >= 2 and _size(chunks[-1]) < tiny \
                and _size(chunks[-2] + chunks[-1]) <= limit:
            chunks[-2:] = [chunks[-2] + chunks[-1]]
        drafts.extend(_draft(path, c) for c in chunks)
    if not drafts and doc.blocks:
        # a document of headings only: its outline is still worth finding
        headings = [b for b in doc.blocks if b.kind == BlockKind.heading]
        drafts.append(ChunkDraft(heading_path=[], text="\n".join(h.text for h in headings),
                                 page=headings[0].page if headings else None))
    return drafts


__all__ = ["LANGUAGE_ALIASES", "chunk_document", "normalise_language", "render_blocks"]
