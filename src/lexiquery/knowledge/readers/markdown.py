"""Markdown runbooks read into blocks with markdown-it-py (CommonMark plus GFM tables).

Recognised, because runbooks use all of it:

- ATX (``## Triage``) and setext (underlined) headings;
- paragraphs, and block quotes (their paragraphs become ordinary paragraphs: a quoted note is
  still content);
- bullet and ordered lists with their nesting depth and the real ordinal: an ordered list that
  starts at 4 numbers 4, 5, …; an ordered list nested in an ordered item is numbered "3.1", "3.2"
  (the way runbooks cite sub-steps). A second paragraph inside an item is appended to the item, so
  a step keeps its explanation, unless it is indented four columns past the item's marker: that
  is a query the author meant as code (see `_Walker._meant_as_code`);
- fenced code (``lang`` = the first word of the info string, lower-cased) and indented code
  (``lang`` None): a query in a runbook is the most valuable block it has;
- tables: the header row first, cells joined by " | ";
- YAML front matter (``---`` … ``---`` at the very top) is removed; its ``title:`` becomes the
  document title.

HTML blocks are kept as text without their tags (comments are dropped); images keep their alt text.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.token import Token

from lexiquery.knowledge.model import Block, BlockKind
from lexiquery.knowledge.readers.text import Reading, decode_text

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_FM_TITLE = re.compile(r"^title[ \t]*:[ \t]*(.+?)[ \t]*$", re.M)
_TAG = re.compile(r"<[^>]*>")
_COMMENT = re.compile(r"<!--.*?-->", re.S)


def split_front_matter(text: str) -> tuple[str, str | None]:
    """(text without front matter, its title or None). Only a block at the very top counts; the
    title is read with a line pattern rather than a YAML parser so a malformed header never stops
    the document being read."""
    m = _FRONT_MATTER.match(text)
    if not m:
        return text, None
    title = None
    t = _FM_TITLE.search(m.group(1) or "")
    if t:
        title = t.group(1).strip().strip("'\"").strip() or None
    # keep the line count (blank lines) so nothing downstream shifts oddly
    return "\n" * m.group(0).count("\n") + text[m.end():], title


def _inline_text(token: Token) -> str:
    """Plain text of an inline token: markup dropped, code spans kept as their content, line
    breaks as spaces, images as their alt text."""
    out: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            out.append(" ")
        elif child.type == "image":
            out.append(child.content)
    return re.sub(r"[ \t]+", " ", "".join(out)).strip()


@dataclass
class _List:
    ordered: bool
    next: int
    prefix: str  # "3." when nested in ordered item 3, else ""


class _Walker:
    """Turns the flat token stream into blocks, tracking list nesting and table rows."""

    def __init__(self, source: str) -> None:
        self.lines = source.split("\n")
        self.marker_indent: list[int] = []  # source column of each open item's marker
        self.blocks: list[Block] = []
        self.lists: list[_List] = []
        self.items: list[Block | None] = []   # the open list items (None until their text)
        self.item_numbers: list[str | None] = []
        self.table: list[list[str]] | None = None
        self.row: list[str] | None = None

    def walk(self, tokens: list[Token]) -> list[Block]:
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            handler = getattr(self, "_" + tok.type, None)
            if handler is not None:
                i = handler(tokens, i)
            i += 1
        return self.blocks

    # headings and paragraphs ------------------------------------------------------------------
    def _heading_open(self, tokens: list[Token], i: int) -> int:
        text = _inline_text(tokens[i + 1])
        if text:
            level = int(tokens[i].tag[1])  # tag is h1 … h6
            self.blocks.append(Block(kind=BlockKind.heading, level=level, text=text))
        return i + 2

    def _paragraph_open(self, tokens: list[Token], i: int) -> int:
        text = _inline_text(tokens[i + 1])
        if not text:
            return i + 2
        if self.items:
            open_item = self.items[-1]
            if open_item is None:  # the item's first paragraph is its text
                self.items[-1] = Block(kind=BlockKind.list_item, text=text,
                                       level=len(self.lists) - 1, number=self.item_numbers[-1])
                self.blocks.append(self.items[-1])
            elif self._meant_as_code(tokens[i]):
                raw = self.lines[tokens[i].map[0]:tokens[i].map[1]]  # type: ignore[index]
                self.blocks.append(Block(kind=BlockKind.code, lang=None,
                                         text=textwrap.dedent("\n".join(raw)).strip("\n")))
            else:
                open_item.text = f"{open_item.text} {text}"
        else:
            self.blocks.append(Block(kind=BlockKind.paragraph, text=text))
        return i + 2

    def _meant_as_code(self, tok: Token) -> bool:
        """A later paragraph of a list item indented four or more columns past the item's marker.
        CommonMark reads "2. Group them…" followed by a four-space-indented query as a second
        paragraph of the item (code would need seven spaces), but runbook authors who indent a
        query under a step mean code, and a query flattened into step text is lost."""
        if not tok.map or not self.marker_indent:
            return False
        raw = [ln for ln in self.lines[tok.map[0]:tok.map[1]] if ln.strip()]
        need = self.marker_indent[-1] + 4
        return bool(raw) and all(len(ln.expandtabs(4)) - len(ln.expandtabs(4).lstrip()) >= need
                                 for ln in raw)

    # lists ------------------------------------------------------------------------------------
    def _open_list(self, ordered: bool, tok: Token) -> None:
        start = 1
        if ordered:
            try:
                start = int(str(tok.attrGet("start") or 1))
            except ValueError:
                start = 1
        prefix = ""
        if ordered and self.lists and self.lists[-1].ordered and self.item_numbers[-1]:
            prefix = self.item_numbers[-1] + "."
        self.lists.append(_List(ordered=ordered, next=start, prefix=prefix))

    def _bullet_list_open(self, tokens: list[Token], i: int) -> int:
        self._open_list(False, tokens[i])
        return i

    def _ordered_list_open(self, tokens: list[Token], i: int) -> int:
        self._open_list(True, tokens[i])
        return i

    def _bullet_list_close(self, tokens: list[Token], i: int) -> int:
        self.lists.pop()
        return i

    _ordered_list_close = _bullet_list_close

    def _list_item_open(self, tokens: list[Token], i: int) -> int:
        lst = self.lists[-1]
        number = None
        if lst.ordered:
            number = f"{lst.prefix}{lst.next}"
            lst.next += 1
        self.items.append(None)
        self.item_numbers.append(number)
        tok = tokens[i]
        line = self.lines[tok.map[0]] if tok.map else ""
        self.marker_indent.append(len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip()))
        return i

    def _list_item_close(self, tokens: list[Token], i: int) -> int:
        self.items.pop()
        self.item_numbers.pop()
        self.marker_indent.pop()
        return i

    # code, html -------------------------------------------------------------------------------
    def _fence(self, tokens: list[Token], i: int) -> int:
        info = tokens[i].info.strip().split()
        lang = info[0].lower().strip("{}.") if info else None
        self.blocks.append(Block(kind=BlockKind.code, text=tokens[i].content.rstrip("\n"),
                                 lang=lang or None))
        return i

    def _code_block(self, tokens: list[Token], i: int) -> int:
        self.blocks.append(Block(kind=BlockKind.code, text=tokens[i].content.rstrip("\n"),
                                 lang=None))
        return i

    def _html_block(self, tokens: list[Token], i: int) -> int:
        text = _TAG.sub(" ", _COMMENT.sub("", tokens[i].content))
        text = re.sub(r"\s+", " ", text).strip()
        if text:
            self.blocks.append(Block(kind=BlockKind.paragraph, text=text))
        return i

    # tables -----------------------------------------------------------------------------------
    def _table_open(self, tokens: list[Token], i: int) -> int:
        self.table = []
        return i

    def _tr_open(self, tokens: list[Token], i: int) -> int:
        self.row = []
        return i

    def _th_open(self, tokens: list[Token], i: int) -> int:
        if self.row is not None:
            self.row.append(_inline_text(tokens[i + 1]) if tokens[i + 1].type == "inline" else "")
        return i

    _td_open = _th_open

    def _tr_close(self, tokens: list[Token], i: int) -> int:
        if self.table is not None and self.row is not None and any(self.row):
            self.table.append(self.row)
        self.row = None
        return i

    def _table_close(self, tokens: list[Token], i: int) -> int:
        if self.table:
            self.blocks.append(Block(kind=BlockKind.table,
                                     text="\n".join(" | ".join(r) for r in self.table)))
        self.table = None
        return i


def parse_markdown(text: str) -> tuple[list[Block], str | None]:
    """(blocks, front-matter title or None) of Markdown text."""
    body, title = split_front_matter(text)
    md = MarkdownIt("commonmark").enable("table")
    return _Walker(body).walk(md.parse(body)), title


def read_markdown(data: bytes, name: str) -> Reading:
    text, warnings = decode_text(data, name)
    blocks, title = parse_markdown(text)
    return Reading(blocks=blocks, title=title, warnings=warnings)


__all__ = ["parse_markdown", "read_markdown", "split_front_matter"]
