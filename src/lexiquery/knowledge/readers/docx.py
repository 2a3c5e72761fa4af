"""Word (.docx) runbooks read into blocks by streaming the main document's XML.

The package is checked and its parts inflated under a `ReadBudget` (`readers.docx_package`): zip
bombs and lying headers are refused before or while inflating, the document's XML is bounded in
bytes (``LEXIQUERY_SOP_MAX_XML_BYTES``) and in reading time (``LEXIQUERY_SOP_READ_TIMEOUT_S``).
The body is parsed as a stream, one top-level paragraph or table row at a time, each removed from
the tree once read; one paragraph or row over `MAX_ITEM_XML_BYTES` is refused (``too_large``), so
memory holds one item, never the document. A refusal stores nothing.

Structure recognised, in document order (the body's paragraphs and tables interleaved, content
controls looked into):

- headings: the Title style (level 1) and Heading 1–6 (one level deeper when there is a Title, so
  sections nest under it); a numbered heading keeps the number Word shows ("3.2 Containment");
- list items: real Word numbering (``w:numPr`` on the paragraph or its style) with the depth from
  ``ilvl`` and the ordinal Word would display (`read_docx_styles.Numbering`); the List Number /
  List Bullet styles without numbering fall back to the style name;
- code: paragraphs in a code-like style (name containing "Code", "Source", "HTML Preformatted",
  "Macro Text") or whose runs are all in a monospace font; consecutive ones merge into one block.
  The language is taken only from an introducing paragraph ending in e.g. "KQL:";
- tables: one line per row, cells joined by " | " (a merged cell once per row; a vertically
  merged cell repeats its text in each row it spans).

The title: the Title style, else the first level-1 heading, else the core properties' title.
Headers, footers, footnotes and comments are not read: runbook text lives in the body.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from lexiquery.errors import DocumentError
from lexiquery.knowledge.model import Block, BlockKind
from lexiquery.knowledge.readers.docx_package import Package
from lexiquery.knowledge.readers.docx_styles import (
    Numbering,
    Style,
    Styles,
    W,
    as_int,
    num_pr,
    run_font,
    val,
)
from lexiquery.knowledge.readers.limits import ReadBudget, ReadLimits
from lexiquery.knowledge.readers.text import Reading

MAX_ITEM_XML_BYTES = 8 * 1024 * 1024  # one paragraph or table row; real ones are kilobytes

_P, _R, _TR, _TC, _TBL, _BODY = (f"{W}{t}" for t in ("p", "r", "tr", "tc", "tbl", "body"))
_TRANSPARENT = {f"{W}{t}" for t in ("sdt", "sdtContent", "customXml")}
_RUN_CONTAINERS = _TRANSPARENT | {f"{W}{t}" for t in ("hyperlink", "ins", "smartTag", "fldSimple",
                                                       "moveTo", "dir", "bdo")}
_RUN_TEXT = {f"{W}tab": "\t", f"{W}ptab": "\t", f"{W}cr": "\n", f"{W}noBreakHyphen": "-"}
_MONOSPACE = ("consolas", "courier", "cascadia", "lucida console", "menlo", "monaco",
              "source code", "fira code", "fira mono", "jetbrains mono", "dejavu sans mono")
_CODE_STYLE = re.compile(r"code|source|html preformatted|preformatted|macro text", re.I)
_HEADING_STYLE = re.compile(r"^heading\s*([1-9])$", re.I)
_LANG_INTRO = re.compile(r"\b(kql|kusto|spl|splunk|sql)\b[^:]*:\s*$", re.I)
_LANGS = {"kql": "kql", "kusto": "kql", "spl": "spl", "splunk": "spl", "sql": "sql"}
_DC_TITLE = "{http://purl.org/dc/elements/1.1/}title"


# --- the XML of one paragraph or table ------------------------------------------------------------

def _children(el: Any, tag: str) -> Iterator[Any]:
    """`el`'s children with `tag`, looking through content controls and custom XML."""
    stack = list(reversed(el))
    while stack:
        child = stack.pop()
        if child.tag == tag:
            yield child
        elif child.tag in _TRANSPARENT:
            stack.extend(reversed(child))


def _runs(p: Any) -> list[Any]:
    """The paragraph's runs, inside hyperlinks, insertions, fields and content controls too."""
    out, stack = [], list(reversed(p))
    while stack:
        child = stack.pop()
        if child.tag == _R:
            out.append(child)
        elif child.tag in _RUN_CONTAINERS:
            stack.extend(reversed(child))
    return out


def _run_text(r: Any) -> str:
    out = []
    for child in r:
        if child.tag == f"{W}t":
            out.append(child.text or "")
        elif child.tag == f"{W}br":
            out.append("\n" if child.get(f"{W}type") in (None, "textWrapping") else "")
        else:
            out.append(_RUN_TEXT.get(child.tag, ""))
    return "".join(out)


def _paragraph_text(p: Any) -> str:
    return "".join(_run_text(r) for r in _runs(p))


def _at_body(el: Any) -> bool:
    parent = el.getparent()
    while parent is not None and parent.tag in _TRANSPARENT:
        parent = parent.getparent()
    return parent is not None and parent.tag == _BODY


def _release(el: Any) -> None:
    """Free a read item: empty it and drop everything before it, up to the body."""
    el.clear()
    node = el
    while node.tag != _BODY and (parent := node.getparent()) is not None:
        while node.getprevious() is not None:
            del parent[0]
        node = parent


def _row_cells(tr: Any, above: dict[int, str]) -> list[str]:
    """A row's cell texts, once per cell; `above` (grid column → text) carries vertical merges."""
    cells = []
    col = as_int(val(tr.find(f"{W}trPr"), "gridBefore"), 0)
    for tc in _children(tr, _TC):
        pr = tc.find(f"{W}tcPr")
        merge = pr.find(f"{W}vMerge") if pr is not None else None
        if merge is not None and merge.get(f"{W}val") in (None, "continue"):
            text = above.get(col, "")
        else:
            text = re.sub(r"\s+", " ", "\n".join(_paragraph_text(p) for p in tc.iter(_P))).strip()
        above[col] = text
        cells.append(text)
        col += max(1, as_int(val(pr, "gridSpan"), 1))
    return cells


# --- paragraphs into blocks ----------------------------------------------------------------------

def _is_code(chain: list[Style], runs: list[Any], texts: list[str]) -> bool:
    if any(_CODE_STYLE.search(s.name) for s in chain):
        return True
    style_font = next((s.font for s in chain if s.font), None)
    shown = [r for r, text in zip(runs, texts) if text.strip()]
    return bool(shown) and all(
        (run_font(r.find(f"{W}rPr")) or style_font or "").lower().startswith(_MONOSPACE)
        for r in shown)


def _style_list_depth(name: str) -> int:
    m = re.search(r"(\d)\s*$", name)
    return int(m.group(1)) - 1 if m else 0


class _Body:
    """Turns the body's paragraphs and tables, in order, into blocks."""

    def __init__(self, styles: Styles, numbering: Numbering) -> None:
        self.styles, self.numbering = styles, numbering
        self.blocks: list[Block] = []
        self.code: list[str] = []
        self.title: str | None = None
        self.heading_blocks: list[int] = []  # Heading N blocks: one deeper under a Title
        self.fallback: dict[int, int] = {}

    def flush_code(self) -> None:
        if self.code:
            lang = None
            prev = self.blocks[-1] if self.blocks else None
            if prev is not None and prev.kind in (BlockKind.paragraph, BlockKind.list_item):
                m = _LANG_INTRO.search(prev.text)
                lang = _LANGS[m.group(1).lower()] if m else None
            self.blocks.append(Block(kind=BlockKind.code, text="\n".join(self.code).strip("\n"),
                                     lang=lang))
            self.code.clear()

    def table(self, lines: list[str]) -> None:
        self.flush_code()
        if lines:
            self.blocks.append(Block(kind=BlockKind.table, text="\n".join(lines)))

    def _numbering(self, ppr: Any, chain: list[Style]) -> tuple[str, int] | None:
        """(numId, ilvl) from the paragraph, else from its style chain."""
        own = num_pr(ppr)
        if own is not None:
            return own[0], own[1] or 0
        for style in chain:
            if style.numbering is not None:
                num_id, ilvl = style.numbering
                return num_id, ilvl if ilvl is not None else \
                    self.numbering.style_levels.get((num_id, style.id), 0)
        return None

    def paragraph(self, p: Any) -> None:
        ppr = p.find(f"{W}pPr")
        chain = self.styles.chain(val(ppr, "pStyle"))
        style_name = chain[0].name if chain else ""
        runs = _runs(p)
        texts = [_run_text(r) for r in runs]
        raw = "".join(texts)
        if _is_code(chain, runs, texts):
            self.code.append(raw.replace("\t", "    "))
            return
        text = re.sub(r"\s+", " ", raw).strip()
        if not text:
            if self.code:
                self.code.append("")  # a blank line inside a code listing
            return
        self.flush_code()
        heading = _HEADING_STYLE.match(style_name)
        num = self._numbering(ppr, chain)
        if style_name == "Title":
            self.title = self.title or text
            self.blocks.append(Block(kind=BlockKind.heading, level=1, text=text))
        elif heading:
            if num is not None:  # a numbered heading: keep the section number Word shows
                _, number = self.numbering.ordinal(*num)
                if number:
                    text = f"{number if '.' in number else number + '.'} {text}"
            self.heading_blocks.append(len(self.blocks))
            self.blocks.append(Block(kind=BlockKind.heading, level=int(heading.group(1)),
                                     text=text))
        elif num is not None:
            is_item, number = self.numbering.ordinal(*num)
            depth = num[1]
            if style_name.startswith(("List Number", "List Bullet")):
                # "List Number 2" is its own one-level list that Word shows indented
                depth = max(depth, _style_list_depth(style_name))
            self.blocks.append(Block(kind=BlockKind.list_item, level=min(depth, 8),
                                     number=number, text=text) if is_item else
                               Block(kind=BlockKind.paragraph, text=text))
        elif style_name.startswith(("List Number", "List Bullet")):
            # a list style whose numbering definition is missing: count per depth ourselves
            depth = _style_list_depth(style_name)
            number = None
            if style_name.startswith("List Number"):
                self.fallback[depth] = self.fallback.get(depth, 0) + 1
                for deeper in [k for k in self.fallback if k > depth]:
                    del self.fallback[deeper]
                number = str(self.fallback[depth])
            self.blocks.append(Block(kind=BlockKind.list_item, level=depth, number=number,
                                     text=text))
        else:
            self.fallback.clear()
            self.blocks.append(Block(kind=BlockKind.paragraph, text=text))

    def finish(self) -> list[Block]:
        self.flush_code()
        shift = 1 if self.title is not None else 0
        for i in self.heading_blocks:
            self.blocks[i] = self.blocks[i].model_copy(
                update={"level": min(6, self.blocks[i].level + shift)})
        return self.blocks


# --- the reader ----------------------------------------------------------------------------------

def _walk(package: Package, body: _Body) -> None:
    """Stream the main part into `body`, releasing each top-level item once read."""
    budget = package.budget
    released = budget.used
    rows: list[str] = []
    above: dict[int, str] = {}
    for event, el in package.events(package.main, (_P, _TR, _TBL)):
        if event == "fed":
            if budget.used - released > MAX_ITEM_XML_BYTES:
                raise DocumentError(
                    f"holds one paragraph or table row of more than "
                    f"{MAX_ITEM_XML_BYTES // 2**20} MB of XML", code="too_large",
                    document=budget.document, hint="split the document or the table")
            continue
        if el.tag == _TR:
            table = el.getparent()
            while table is not None and table.tag in _TRANSPARENT:
                table = table.getparent()
            if table is None or table.tag != _TBL or not _at_body(table):
                continue  # a row of a table inside a cell: part of the outer cell's text
            cells = _row_cells(el, above)
            if any(cells):
                rows.append(" | ".join(cells))
        elif not _at_body(el):
            continue  # a paragraph or table inside a cell or a text box
        elif el.tag == _P:
            body.paragraph(el)
        else:
            body.table(rows)
            rows, above = [], {}
        _release(el)
        released = budget.used


def _core_title(package: Package, warnings: list[str]) -> str | None:
    part = package.part("core-properties")
    if part is None:
        return None
    try:
        el = package.parse(part).find(f".//{_DC_TITLE}")
    except DocumentError as exc:
        if exc.code != "corrupt":
            raise
        warnings.append("the document properties could not be read")
        return None
    if el is None:
        return None
    return (el.text or "").strip() or None


def read_docx(data: bytes, name: str, *, max_bytes: int,
              budget: ReadBudget | None = None) -> Reading:
    """Read a .docx into blocks within `budget` (default: `ReadLimits()` from now);
    `DocumentError` (``corrupt``, ``encrypted``, ``unsafe_archive``, ``too_large``) when it
    cannot be read."""
    budget = budget or ReadBudget(ReadLimits(), name)
    try:
        package = Package(data, budget, max_bytes=max_bytes)
        styles_part, numbering_part = package.part("styles"), package.part("numbering")
        body = _Body(Styles(package.parse(styles_part) if styles_part else None),
                     Numbering(package.parse(numbering_part) if numbering_part else None))
        _walk(package, body)
        blocks = body.finish()
        warnings: list[str] = []
        title = body.title or next((b.text for b in blocks
                                    if b.kind == BlockKind.heading and b.level == 1), None)
        if title is None:
            title = _core_title(package, warnings)
    except DocumentError:
        raise
    except Exception as exc:  # a damaged part lxml parsed but that breaks Word's rules
        raise DocumentError(f"could not be read as a Word document ({type(exc).__name__}: "
                            f"{exc})", code="corrupt", document=name,
                            hint="open it in Word and save it again as .docx") from None
    return Reading(blocks=blocks, title=title, warnings=warnings)


__all__ = ["MAX_ITEM_XML_BYTES", "read_docx"]
