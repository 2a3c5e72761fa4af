"""Word (.docx) runbooks read into blocks with python-docx, after a zip-bomb check.

A .docx is a zip of XML parts, so it is checked with `zipfile` *before* python-docx opens it,
using only the sizes the central directory declares (nothing is decompressed to check):

- not a zip → ``corrupt`` (an OLE file, i.e. a legacy .doc or a password-protected document, gets
  its own hint); no ``word/document.xml`` → ``corrupt`` ("not a Word document");
- more than `MAX_ENTRIES` entries, a declared uncompressed total over
  ``max(MIN_TOTAL_BYTES, TOTAL_FACTOR × max_bytes)``, or one entry over 10 MB that compresses
  more than 200:1 → ``unsafe_archive``. Real documents compress XML about 5–20:1 and store images
  barely compressed; a bomb is thousands to one.

Declared sizes can lie, and `zipfile` trusts them only half-way: it cuts a member's output at the
declared size, but inflates the whole stream in one call first. So, once the declared sizes pass,
every member is inflated here in bounded pieces (at most 1 MB at a time, discarded at once) and the
inflation stops as soon as it passes the declared size: a member that unpacks to more than it
declares is ``unsafe_archive``, one that unpacks to less is ``corrupt``. Time and memory are
bounded by the limits above, whatever the headers say. Only then does python-docx open the file.

Structure recognised, in document order (the body's paragraphs and tables interleaved):

- headings: the Title style (level 1) and Heading 1–6 (one level deeper when there is a Title, so
  sections nest under it); a numbered heading keeps the number Word shows ("3.2 Containment");
- list items: real Word numbering (``w:numPr`` on the paragraph or its style) with the depth from
  ``ilvl`` and the ordinal Word would display, computed per list and level from numbering.xml
  (start value, format, "%1.%2" level text); the List Number / List Bullet styles without
  numbering fall back to the style name;
- code: paragraphs in a code-like style (name containing "Code", "Source", "HTML Preformatted",
  "Macro Text") or whose runs are all in a monospace font; consecutive ones merge into one block.
  The language is taken only from an introducing paragraph ending in e.g. "KQL:";
- tables: one line per row, cells joined by " | " (merged cells once).
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from io import BytesIO
from typing import Any

from lexiquery.errors import DocumentError
from lexiquery.knowledge.model import Block, BlockKind
from lexiquery.knowledge.read_text import Reading

MAX_ENTRIES = 10_000
MIN_TOTAL_BYTES = 200 * 1024 * 1024
TOTAL_FACTOR = 20
BOMB_RATIO = 200
BOMB_MIN_BYTES = 10 * 1024 * 1024

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MONOSPACE = ("consolas", "courier", "cascadia", "lucida console", "menlo", "monaco",
              "source code", "fira code", "fira mono", "jetbrains mono", "dejavu sans mono")
_CODE_STYLE = re.compile(r"code|source|html preformatted|preformatted|macro text", re.I)
_HEADING_STYLE = re.compile(r"^heading\s*([1-9])$", re.I)
_LANG_INTRO = re.compile(r"\b(kql|kusto|spl|splunk|sql)\b[^:]*:\s*$", re.I)
_LANGS = {"kql": "kql", "kusto": "kql", "spl": "spl", "splunk": "spl", "sql": "sql"}


# --- the zip check -------------------------------------------------------------------------------

def check_archive(data: bytes, name: str, *, max_bytes: int) -> None:
    """Refuse anything that is not a plausible, bounded .docx (see the module docstring)."""
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise DocumentError("is an OLE compound file, not a .docx (a legacy .doc renamed, or a "
                            "password-protected document)", code="corrupt", document=name,
                            hint="remove any password and save it as .docx from Word")
    if data.startswith(b"%PDF-"):
        raise DocumentError("is a PDF, not a .docx", code="corrupt", document=name,
                            hint="rename it with the .pdf extension")
    try:
        archive = zipfile.ZipFile(BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise DocumentError(f"is not a valid .docx (not a zip archive: {exc})", code="corrupt",
                            document=name, hint="save it again from Word as .docx") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ENTRIES:
            raise DocumentError(f"has {len(infos):,} entries (at most {MAX_ENTRIES:,}); it looks "
                                "like a zip bomb", code="unsafe_archive", document=name)
        total = sum(i.file_size for i in infos)
        limit = max(MIN_TOTAL_BYTES, TOTAL_FACTOR * max_bytes)
        if total > limit:
            raise DocumentError(f"would unpack to {total / 2**20:,.0f} MB (the limit is "
                                f"{limit / 2**20:,.0f} MB); it looks like a zip bomb",
                                code="unsafe_archive", document=name)
        for info in infos:
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > BOMB_MIN_BYTES and ratio > BOMB_RATIO:
                raise DocumentError(f"entry {info.filename!r} unpacks {ratio:,.0f}:1 to "
                                    f"{info.file_size / 2**20:,.0f} MB; it looks like a zip bomb",
                                    code="unsafe_archive", document=name)
        names = {i.filename for i in infos}
    if "word/document.xml" not in names:
        raise DocumentError("is a zip archive but not a Word document (no word/document.xml)",
                            code="corrupt", document=name,
                            hint="save it from Word as .docx")
    for info in infos:
        _verify_member(data, info, name)


_PIECE = 64 * 1024
_OUT_PIECE = 1024 * 1024


def _verify_member(data: bytes, info: zipfile.ZipInfo, name: str) -> None:
    """Inflate one member in bounded pieces and check it unpacks to exactly its declared size."""
    if info.is_dir():
        return
    if info.flag_bits & 0x1:
        raise DocumentError(f"entry {info.filename!r} is encrypted", code="encrypted",
                            document=name, hint="remove the password and add it again")
    header = data[info.header_offset:info.header_offset + 30]
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise DocumentError(f"entry {info.filename!r} points outside the archive",
                            code="corrupt", document=name, hint="save it again from Word")
    name_len, extra_len = struct.unpack_from("<HH", header, 26)
    start = info.header_offset + 30 + name_len + extra_len
    raw = memoryview(data)[start:start + info.compress_size]
    if info.compress_type == zipfile.ZIP_STORED:
        produced = len(raw)
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        produced = _inflated_size(raw, info.file_size, info.filename, name)
    else:  # Word only ever writes stored or deflated entries
        raise DocumentError(f"entry {info.filename!r} uses compression method "
                            f"{info.compress_type}, which Word never writes", code="corrupt",
                            document=name, hint="save it again from Word as .docx")
    if produced > info.file_size:
        raise DocumentError(f"entry {info.filename!r} unpacks to more than the "
                            f"{info.file_size:,} bytes it declares; it looks like a zip bomb",
                            code="unsafe_archive", document=name)
    if produced < info.file_size:
        raise DocumentError(f"entry {info.filename!r} is truncated ({produced:,} of "
                            f"{info.file_size:,} bytes)", code="corrupt", document=name,
                            hint="save it again from Word as .docx")


def _inflated_size(raw: memoryview, declared: int, entry: str, name: str) -> int:
    """Bytes `raw` inflates to, counting no further than one piece past `declared`."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    produced = 0
    try:
        for pos in range(0, len(raw), _PIECE):
            pending: bytes | memoryview = raw[pos:pos + _PIECE]
            while pending and not inflater.eof:
                produced += len(inflater.decompress(pending, _OUT_PIECE))
                if produced > declared:
                    return produced
                pending = inflater.unconsumed_tail
            if inflater.eof:
                break
        while not inflater.eof:  # output still held back by the last bounded call
            out = inflater.decompress(b"", _OUT_PIECE)
            if not out:
                break
            produced += len(out)
            if produced > declared:
                return produced
    except zlib.error as exc:
        raise DocumentError(f"entry {entry!r} is damaged ({exc})", code="corrupt",
                            document=name, hint="save it again from Word as .docx") from None
    return produced


# --- numbering -----------------------------------------------------------------------------------

def _roman(n: int) -> str:
    out = ""
    for value, sym in ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
                       (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")):
        while n >= value:
            out, n = out + sym, n - value
    return out


def _letters(n: int) -> str:
    return chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1)


def _format(n: int, fmt: str) -> str:
    if fmt == "lowerLetter":
        return _letters(n)
    if fmt == "upperLetter":
        return _letters(n).upper()
    if fmt == "lowerRoman":
        return _roman(n)
    if fmt == "upperRoman":
        return _roman(n).upper()
    return str(n)


class _Numbering:
    """Word's list numbering: for each (numId, ilvl) the format, start and level text, and the
    running counters that give each numbered paragraph the ordinal Word displays."""

    def __init__(self, document: Any) -> None:
        self.levels: dict[tuple[str, int], tuple[str, int, str]] = {}
        self.style_levels: dict[tuple[str, str], int] = {}  # (numId, pStyle id) → ilvl
        self.counters: dict[str, dict[int, int]] = {}
        try:
            root = document.part.numbering_part.element
        except (NotImplementedError, KeyError, AttributeError):
            return
        abstract: dict[str, Any] = {a.get(f"{_W}abstractNumId"): a
                                    for a in root.iter(f"{_W}abstractNum")}
        for num in root.iter(f"{_W}num"):
            num_id = num.get(f"{_W}numId")
            ref = num.find(f"{_W}abstractNumId")
            definition = abstract.get(ref.get(f"{_W}val")) if ref is not None else None
            if num_id is None or definition is None:
                continue
            overrides = {int(o.get(f"{_W}ilvl", "0")): o for o in num.iter(f"{_W}lvlOverride")}
            for lvl in definition.iter(f"{_W}lvl"):
                ilvl = int(lvl.get(f"{_W}ilvl", "0"))
                fmt = self._val(lvl, "numFmt") or "decimal"
                start = int(self._val(lvl, "start") or 1)
                text = self._val(lvl, "lvlText") or f"%{ilvl + 1}."
                override = overrides.get(ilvl)
                if override is not None and self._val(override, "startOverride"):
                    start = int(self._val(override, "startOverride") or 1)
                self.levels[(num_id, ilvl)] = (fmt, start, text)
                style = self._val(lvl, "pStyle")
                if style:
                    self.style_levels[(num_id, style)] = ilvl

    @staticmethod
    def _val(el: Any, tag: str) -> str | None:
        child = el.find(f"{_W}{tag}")
        return child.get(f"{_W}val") if child is not None else None

    def ordinal(self, num_id: str, ilvl: int) -> tuple[bool, str | None]:
        """(is a list item, ordinal or None for bullets) for the next paragraph of a list."""
        if num_id == "0":  # numId 0 switches numbering off
            return False, None
        fmt, start, text = self.levels.get((num_id, ilvl), ("decimal", 1, f"%{ilvl + 1}."))
        counts = self.counters.setdefault(num_id, {})
        counts[ilvl] = counts.get(ilvl, start - 1) + 1
        for deeper in [k for k in counts if k > ilvl]:
            del counts[deeper]  # a shallower item restarts the deeper levels
        if fmt in ("bullet", "none"):
            return True, None

        def level_value(m: re.Match[str]) -> str:
            k = int(m.group(1)) - 1
            kfmt, kstart, _ = self.levels.get((num_id, k), ("decimal", 1, ""))
            return _format(counts.get(k, kstart), kfmt)

        shown = re.sub(r"%([1-9])", level_value, text).strip().rstrip(".)").lstrip("(")
        return True, shown or _format(counts[ilvl], fmt)


# --- paragraphs ----------------------------------------------------------------------------------

def _style_chain(paragraph: Any) -> list[Any]:
    chain, style = [], paragraph.style
    while style is not None and len(chain) < 10:
        chain.append(style)
        style = getattr(style, "base_style", None)
    return chain


def _num_pr(paragraph: Any, numbering: _Numbering) -> tuple[str, int] | None:
    """(numId, ilvl) from the paragraph, else from its style chain."""
    ppr = paragraph._p.pPr
    if ppr is not None and ppr.numPr is not None and ppr.numPr.numId is not None:
        ilvl = ppr.numPr.ilvl.val if ppr.numPr.ilvl is not None else 0
        return str(ppr.numPr.numId.val), int(ilvl)
    for style in _style_chain(paragraph):
        sppr = style.element.pPr
        if sppr is not None and sppr.numPr is not None and sppr.numPr.numId is not None:
            num_id = str(sppr.numPr.numId.val)
            ilvl = sppr.numPr.ilvl.val if sppr.numPr.ilvl is not None else \
                numbering.style_levels.get((num_id, style.style_id), 0)
            return num_id, int(ilvl)
    return None


def _is_code(paragraph: Any) -> bool:
    if any(_CODE_STYLE.search(s.name or "") for s in _style_chain(paragraph)):
        return True
    style_font = next((s.font.name for s in _style_chain(paragraph) if s.font.name), None)
    runs = [r for r in paragraph.runs if r.text.strip()]
    if not runs:
        return False
    return all((r.font.name or style_font or "").lower().startswith(_MONOSPACE) for r in runs)


def _style_list_depth(name: str) -> int:
    m = re.search(r"(\d)\s*$", name)
    return int(m.group(1)) - 1 if m else 0


def _table_text(table: Any) -> str:
    lines = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            if id(cell._tc) in seen:  # a merged cell is repeated for every column it spans
                continue
            seen.add(id(cell._tc))
            cells.append(re.sub(r"\s+", " ", cell.text).strip())
        if any(cells):
            lines.append(" | ".join(cells))
    return "\n".join(lines)


def read_docx(data: bytes, name: str, *, max_bytes: int) -> Reading:
    check_archive(data, name, max_bytes=max_bytes)
    import docx  # imported late: the check above must run before any parsing

    try:
        document = docx.Document(BytesIO(data))
    except Exception as exc:  # python-docx raises many types (KeyError, lxml, zlib, ValueError)
        raise DocumentError(f"could not be read as a Word document ({type(exc).__name__}: "
                            f"{exc})", code="corrupt", document=name,
                            hint="open it in Word and save it again as .docx") from None
    try:
        return _read_body(document)
    except DocumentError:
        raise
    except Exception as exc:  # a part python-docx opened but cannot walk (broken styles, XML)
        raise DocumentError(f"could not be read as a Word document ({type(exc).__name__}: "
                            f"{exc})", code="corrupt", document=name,
                            hint="open it in Word and save it again as .docx") from None


def _read_body(document: Any) -> Reading:
    """The blocks of an opened document, body paragraphs and tables in document order."""
    numbering = _Numbering(document)
    items = list(document.iter_inner_content())
    has_title = any(getattr(getattr(p, "style", None), "name", "") == "Title" for p in items)
    blocks: list[Block] = []
    code: list[str] = []
    title: str | None = None
    warnings: list[str] = []
    fallback: dict[int, int] = {}

    def flush_code() -> None:
        if code:
            lang = None
            prev = blocks[-1] if blocks else None
            if prev is not None and prev.kind in (BlockKind.paragraph, BlockKind.list_item):
                m = _LANG_INTRO.search(prev.text)
                lang = _LANGS[m.group(1).lower()] if m else None
            blocks.append(Block(kind=BlockKind.code, text="\n".join(code).strip("\n"), lang=lang))
            code.clear()

    for item in items:
        if not hasattr(item, "runs"):  # a table
            flush_code()
            text = _table_text(item)
            if text:
                blocks.append(Block(kind=BlockKind.table, text=text))
            continue
        style_name = (item.style.name if item.style is not None else "") or ""
        if _is_code(item):
            code.append(item.text.replace("\t", "    "))
            continue
        text = re.sub(r"\s+", " ", item.text).strip()
        if not text:
            if code:
                code.append("")  # a blank line inside a code listing
            continue
        flush_code()
        heading = _HEADING_STYLE.match(style_name)
        if style_name == "Title":
            title = title or text
            blocks.append(Block(kind=BlockKind.heading, level=1, text=text))
        elif heading:
            level = min(6, int(heading.group(1)) + (1 if has_title else 0))
            num = _num_pr(item, numbering)
            if num is not None:  # a numbered heading: keep the section number Word shows
                _, number = numbering.ordinal(*num)
                if number:
                    text = f"{number if '.' in number else number + '.'} {text}"
            blocks.append(Block(kind=BlockKind.heading, level=level, text=text))
        elif (num := _num_pr(item, numbering)) is not None:
            is_item, number = numbering.ordinal(*num)
            depth = num[1]
            if style_name.startswith(("List Number", "List Bullet")):
                # "List Number 2" is its own one-level list that Word shows indented
                depth = max(depth, _style_list_depth(style_name))
            if is_item:
                blocks.append(Block(kind=BlockKind.list_item, level=min(depth, 8),
                                    number=number, text=text))
            else:
                blocks.append(Block(kind=BlockKind.paragraph, text=text))
        elif style_name.startswith(("List Number", "List Bullet")):
            # a list style whose numbering definition is missing: count per depth ourselves
            depth = _style_list_depth(style_name)
            number = None
            if style_name.startswith("List Number"):
                fallback[depth] = fallback.get(depth, 0) + 1
                for deeper in [k for k in fallback if k > depth]:
                    del fallback[deeper]
                number = str(fallback[depth])
            blocks.append(Block(kind=BlockKind.list_item, level=depth, number=number, text=text))
        else:
            fallback.clear()
            blocks.append(Block(kind=BlockKind.paragraph, text=text))
    flush_code()

    if title is None:
        title = next((b.text for b in blocks if b.kind == BlockKind.heading and b.level == 1),
                     None)
    if title is None:
        try:
            title = (document.core_properties.title or "").strip() or None
        except Exception:  # damaged core properties are not worth refusing a document for
            warnings.append("the document properties could not be read")
    return Reading(blocks=blocks, title=title, warnings=warnings)


__all__ = ["BOMB_MIN_BYTES", "BOMB_RATIO", "MAX_ENTRIES", "check_archive", "read_docx"]
