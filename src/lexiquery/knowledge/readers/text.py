"""Plain text runbooks (and the text of PDF pages) read into blocks by layout heuristics.

Plain text has no markup, so structure is inferred from how people type runbooks:

- numbered steps: ``1. Open the portal``, ``1) …``, ``Step 3: …``, ``3.2 …`` (the ordinal is kept as
  written, "3.2"; a dotted number also sets the nesting depth), ``a) …`` for lettered sub-steps;
- bullets: ``-``, ``*``, ``•`` (and the other round and dash bullets PDFs produce); nesting depth
  comes from indentation;
- headings, conservatively, because a paragraph wrongly promoted to a heading breaks the chunking
  of everything after it while a missed heading only costs a little context:
  a short line underlined with ``===`` (level 1) or ``---`` (level 2); a line in ALL CAPS, with or
  without a section number (``2. ESCALATION``), standing alone between blank lines; a short Title
  Case line standing alone between blank lines. A numbered line in mixed case is a step, never a
  heading: loose numbered lists look exactly like numbered section titles otherwise;
- code: fenced blocks (```` ```kql ````) and blocks indented by four spaces or a tab after a blank
  line;
- paragraphs: separated by blank lines; wrapped lines are joined with a space.

Levels: the document's first heading-like line at the very top is level 1 (the title); other
unnumbered headings are level 2; a numbered heading is one deeper than its number has parts
("2." → 2, "2.1" → 3), so sections nest under the title.

`decode_text` is the byte-to-text step Markdown shares.
"""

from __future__ import annotations

import codecs
import re
import textwrap
from dataclasses import dataclass, field

from lexiquery.errors import DocumentError
from lexiquery.knowledge.model import Block, BlockKind


@dataclass
class Reading:
    """What a format reader hands to `read_document`: the blocks and what it learnt about the
    document. `title` is only set when the format states one (front matter, a Title style, PDF
    metadata); `read_document` falls back to the first level-1 heading, then the file stem."""

    blocks: list[Block]
    title: str | None = None
    pages: int | None = None
    warnings: list[str] = field(default_factory=list)


# --- bytes to text -------------------------------------------------------------------------------

_MAGIC_HINTS = (
    (b"%PDF-", "it is a PDF; rename it with the .pdf extension"),
    (b"PK\x03\x04", "it is a zip archive (a .docx?); rename it with the right extension"),
    (b"\xd0\xcf\x11\xe0", "it is a legacy Office file; save it as .docx"),
)


def decode_text(data: bytes, name: str) -> tuple[str, list[str]]:
    """Text from bytes: UTF-8 (with or without BOM), UTF-16/32 with a BOM, else Windows-1252 with
    a warning (the usual encoding of a runbook typed on Windows that is not UTF-8). Newlines are
    normalised to "\\n"; a form feed (page break in text exports) becomes a blank line.

    A file with NUL bytes and no UTF-16/32 BOM is binary, whatever its suffix says: refused."""
    warnings: list[str] = []
    text: str | None = None
    for bom, codec in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                       (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError as exc:
                raise DocumentError(f"has a {codec.upper()} byte-order mark but is not valid "
                                    f"{codec.upper()} ({exc.reason})", code="corrupt",
                                    document=name, hint="save it again as UTF-8") from None
            break
    if text is None:
        if b"\x00" in data:
            hint = next((h for magic, h in _MAGIC_HINTS if data.startswith(magic)),
                        "save it as UTF-8 text")
            raise DocumentError("holds binary data, not text", code="corrupt", document=name,
                                hint=hint)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
            warnings.append("not valid UTF-8; read as Windows-1252 (save it as UTF-8 to be sure)")
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n")
    return text, warnings


# --- line patterns -------------------------------------------------------------------------------

_FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*([^`\s]*)")
_UNDERLINE = re.compile(r"^\s*(=+|-+)\s*$")
_RULE = re.compile(r"^\s*([-=*_~#])\1{2,}\s*$")  # a separator line: "-----", "=====", "*****"
_NUMBERED = re.compile(
    r"^(?P<indent>\s*)(?:"
    r"(?:step|stage)\s+(?P<step>\d+)\s*[:.)\-–]\s*"          # Step 3: …
    r"|(?P<num>\d{1,3})[.)]\s+"                            # 1. …  1) …
    r"|(?P<dotted>\d{1,3}(?:\.\d{1,3})+)\.?\s+"            # 3.2 …  3.2. …
    r"|(?P<letter>[a-z])\)\s+"                             # a) …
    r")(?P<text>\S.*)$", re.IGNORECASE)
_BULLET = re.compile(r"^(?P<indent>\s*)[-*•◦▪●‣·–]\s+(?P<text>\S.*)$")
_SECTION_NUMBER = re.compile(r"^(\d{1,3}(?:\.\d{1,3})*)\.?\s+(\S.*)$")
_END_PUNCT = tuple(".,;:!?)]\"'")
_SMALL_WORDS = {"a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "of", "on", "or",
                "the", "to", "vs", "via", "with", "per"}


def _indent(line: str) -> int:
    return len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip())


def _is_code_indent(line: str) -> bool:
    return line.startswith(("    ", "\t")) and bool(line.strip())


def is_list_line(line: str) -> bool:
    """The line starts a numbered step or a bullet."""
    return bool(_NUMBERED.match(line) or _BULLET.match(line))


def _is_caps(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 3 and all(not c.islower() for c in letters)


def _is_title_case(text: str) -> bool:
    words = re.findall(r"[A-Za-z][\w'/-]*", text)
    if not words or not words[0][0].isupper():
        return False
    return all(w[0].isupper() or w.lower() in _SMALL_WORDS or len(w) <= 2 for w in words)


def _heading_candidate(line: str) -> tuple[int, str] | None:
    """(level, text) when a stand-alone line reads as a heading; None otherwise (see module doc)."""
    text = line.strip()
    if not text or len(text) > 70 or text.endswith(_END_PUNCT) or _is_code_indent(line):
        return None
    if _BULLET.match(line):
        return None
    sec = _SECTION_NUMBER.match(text)
    if sec:
        if not _is_caps(sec.group(2)):
            return None  # "1. Open the portal": a step, not a section title
        return min(6, sec.group(1).count(".") + 2), text
    if _NUMBERED.match(line):
        return None
    if len(text.split()) > 8:
        return None
    if _is_caps(text) or _is_title_case(text):
        return 2, text
    return None


# --- the reader ----------------------------------------------------------------------------------

def looks_like_query(lines: list[str]) -> bool:
    """Unindented lines that are a KQL/SPL pipeline (most lines after the first start with "|")
    or a SQL SELECT: runbooks pasted into Word or PDF often lose the indentation that would mark
    them as code, and a query re-flowed into one line is much harder to reuse."""
    body = [ln.strip() for ln in lines if ln.strip()]
    if len(body) < 2:
        return False
    pipes = sum(1 for ln in body[1:] if ln.startswith("|"))
    if pipes >= max(1, (len(body) - 1) / 2) and not body[0].endswith((".", ":")):
        return True
    return bool(re.match(r"(?i)(select|with)\b", body[0])) and any(
        re.match(r"(?i)from\b", ln) for ln in body[1:])


def parse_text(text: str, *, page: int | None = None, top_is_title: bool = True,
               from_pdf: bool = False) -> list[Block]:
    """Blocks of plain text in reading order. `page` is stamped on every block (PDF pages);
    `top_is_title` lets a heading-like first line become the level-1 title (off for PDF pages
    after the first, whose first line is rarely a title). `from_pdf`: the text is a PDF page laid
    out with spaces, so indentation says nothing about code (a centred title is indented too) and
    runs of spaces inside a line are collapsed."""
    if from_pdf:
        text = textwrap.dedent(text)
    lines = text.split("\n")
    blocks: list[Block] = []
    para: list[str] = []
    item: Block | None = None        # the list item wrapped lines continue
    list_indents: list[int] = []     # indentation of the open list levels
    seen_content = False

    def clean(t: str) -> str:
        return re.sub(r"\s{2,}", " ", t.strip()) if from_pdf else t.strip()

    def flush_para() -> None:
        nonlocal para
        if para and looks_like_query(para):
            blocks.append(Block(kind=BlockKind.code, text=textwrap.dedent("\n".join(para)),
                                lang=None, page=page))
        elif para:
            blocks.append(Block(kind=BlockKind.paragraph, page=page,
                                text=" ".join(clean(p) for p in para)))
        para = []

    def blank(j: int) -> bool:
        return j < 0 or j >= len(lines) or not lines[j].strip()

    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()

        fence = _FENCE.match(line)
        if fence:
            flush_para()
            item = None
            marker = fence.group(1)
            lang = fence.group(2).lower() or None
            body: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(marker):
                body.append(lines[i])
                i += 1
            i += 1  # the closing fence (or the end of the text)
            blocks.append(Block(kind=BlockKind.code, text="\n".join(body).strip("\n"), lang=lang,
                                page=page))
            seen_content = True
            continue

        if not stripped or _RULE.match(line):
            flush_para()  # a separator line (underlines were taken with their heading) is a break
            item = None if stripped else item
            i += 1
            continue

        after_blank = blank(i - 1)
        if not from_pdf and _is_code_indent(line) and after_blank and not para \
                and not is_list_line(line):
            body = []
            while i < len(lines) and (_is_code_indent(lines[i]) or (
                    not lines[i].strip() and i + 1 < len(lines) and _is_code_indent(lines[i + 1]))):
                body.append(lines[i])
                i += 1
            width = min(_indent(b) for b in body if b.strip())
            blocks.append(Block(kind=BlockKind.code, lang=None, page=page,
                                text="\n".join(b.expandtabs(4)[width:] for b in body)))
            item = None
            seen_content = True
            continue

        # setext heading: a short line alone, underlined
        if after_blank and not para and i + 1 < len(lines) and len(stripped) <= 70 \
                and _UNDERLINE.match(lines[i + 1]) and len(lines[i + 1].strip()) >= 3 \
                and not stripped.endswith((".", ",", ";")) and not is_list_line(line):
            level = 1 if lines[i + 1].strip()[0] == "=" else 2
            blocks.append(Block(kind=BlockKind.heading, level=level, text=clean(line), page=page))
            item, list_indents, seen_content = None, [], True
            i += 2
            continue

        # stand-alone heading-like line
        if after_blank and not para and blank(i + 1) and i + 1 < len(lines) - 1:
            cand = _heading_candidate(line)
            if cand:
                level, htext = cand
                if top_is_title and not seen_content and not _SECTION_NUMBER.match(htext):
                    level = 1
                blocks.append(Block(kind=BlockKind.heading, level=level, text=clean(htext),
                                    page=page))
                item, list_indents, seen_content = None, [], True
                i += 1
                continue

        numbered = _NUMBERED.match(line)
        bullet = None if numbered else _BULLET.match(line)
        if numbered or bullet:
            flush_para()
            m = numbered or bullet
            assert m is not None
            ind = _indent(m.group("indent"))
            while list_indents and ind < list_indents[-1]:
                list_indents.pop()
            if not list_indents or ind > list_indents[-1]:
                list_indents.append(ind)
            depth = len(list_indents) - 1
            number = None
            if numbered:
                number = (numbered.group("step") or numbered.group("num")
                          or numbered.group("dotted") or numbered.group("letter"))
                if numbered.group("dotted"):
                    depth = max(depth, number.count("."))
            item = Block(kind=BlockKind.list_item, level=depth, number=number,
                         text=clean(m.group("text")), page=page)
            blocks.append(item)
            seen_content = True
            i += 1
            continue

        if item is not None and (not after_blank or (_indent(line) >= 1
                                                     and not _is_code_indent(line))):
            item.text = f"{item.text} {clean(line)}"  # a wrapped step, or its continuation
            i += 1
            continue

        item, list_indents = None, []
        para.append(line.rstrip())
        seen_content = True
        i += 1
    flush_para()
    return blocks


def read_text(data: bytes, name: str) -> Reading:
    text, warnings = decode_text(data, name)
    return Reading(blocks=parse_text(text), warnings=warnings)


__all__ = ["Reading", "decode_text", "is_list_line", "looks_like_query", "parse_text",
           "read_text"]
