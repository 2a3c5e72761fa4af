"""PDF runbooks read into blocks: pypdf extracts each page's text, the plain-text heuristics of
`readers.text` find the structure in it, and every block carries its 1-based page (citations point
at pages).

A PDF holds positioned glyphs, not paragraphs or lists, so what can be recovered is what the
extracted text shows: numbered steps, bullets, ALL CAPS or underlined headings, indented code.
Lines that repeat at the top or bottom of most pages (running headers, "Page 3 of 9" footers)
are dropped so they do not split paragraphs or pollute every chunk.

Refusals: bytes that do not start like a PDF, or that pypdf cannot read → ``corrupt`` (hint:
re-export the PDF); a PDF that needs a user password → ``encrypted`` (owner-password-only PDFs,
which anyone may open, are decrypted with the empty password and read). A PDF with pages but no
text (a scan) is refused as ``empty`` by `read_document` with an OCR hint. At most `MAX_PAGES`
pages are read; the rest is dropped with a warning. pypdf bounds the decompression of each stream
itself; the reading deadline (`readers.limits.ReadBudget`) is checked before every page.

pypdf reports the repairs it makes to a damaged file ("EOF marker not found") on the `pypdf`
logger, which would print them to stderr in the middle of `lexiquery sop add` output. While a PDF
is read that logger is kept from stderr and its warnings become one warning of the document,
where the analyst sees them next to the file they concern.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from contextlib import contextmanager
from io import BytesIO
from typing import Iterator

from lexiquery.errors import DocumentError
from lexiquery.knowledge.model import Block
from lexiquery.knowledge.readers.limits import ReadBudget
from lexiquery.knowledge.readers.text import Reading, is_list_line, parse_text

MAX_PAGES = 2_000
MAX_PYPDF_WARNINGS = 3  # distinct pypdf messages quoted in the document's warning

_PAGE_NUMBER = re.compile(r"^(page\s+)?\d{1,4}(\s*(/|of)\s*\d{1,4})?$", re.I)
_JUNK_TITLE = re.compile(r"^(microsoft (word|powerpoint) - )|(\.(docx?|pdf|txt|md|rtf)$)|"
                         r"^untitled", re.I)


def _corrupt(name: str, reason: str) -> DocumentError:
    return DocumentError(f"could not be read as a PDF ({reason})", code="corrupt",
                         document=name, hint="re-export the PDF from the application that "
                                             "made it, or print it to a new PDF")


def _edge_key(line: str) -> str:
    return re.sub(r"\d+", "#", line.strip().lower())


def _strip_running_lines(pages: list[str]) -> list[str]:
    """Remove page numbers, and the first or last line of a page when (digits aside) the same
    line opens or closes most pages: running headers and footers. Steps and bullets are never
    removed, and fewer than three pages are left alone: too little evidence."""
    split = [p.split("\n") for p in pages]
    edges: Counter[str] = Counter()
    for lines in split:
        nonblank = [ln for ln in lines if ln.strip()]
        edges.update({_edge_key(ln) for ln in nonblank[:1] + nonblank[-1:]})
    repeated = {key for key, n in edges.items()
                if len(pages) >= 3 and n >= 3 and n > 0.6 * len(pages)}
    out = []
    for lines in split:
        nonblank_idx = [i for i, ln in enumerate(lines) if ln.strip()]
        edge_idx = set(nonblank_idx[:1] + nonblank_idx[-1:])

        def running(i: int, line: str) -> bool:
            if i not in edge_idx or len(line.strip()) > 100 or is_list_line(line):
                return False
            return _edge_key(line) in repeated or bool(_PAGE_NUMBER.match(line.strip()))

        out.append("\n".join(ln for i, ln in enumerate(lines) if not running(i, ln)))
    return out


class _Collect(logging.Handler):
    """Hands each pypdf warning to the list of the read running on the thread that logged it
    (the server reads several PDFs at once on pool threads)."""

    def emit(self, record: logging.LogRecord) -> None:
        caught = getattr(_local, "caught", None)
        if caught is not None:
            caught.append(record.getMessage())


_local = threading.local()
_handler = _Collect(level=logging.WARNING)
_quiet_lock = threading.Lock()
_quiet_depth = 0  # reads in progress; the logger is restored when the last one ends
_saved: tuple[int, bool] = (logging.NOTSET, True)


@contextmanager
def _pypdf_warnings() -> Iterator[list[str]]:
    """The `pypdf` logger's warnings during the block, kept off stderr: the logger gets our
    handler and stops propagating (so neither the root handlers nor logging's last-resort stderr
    handler print them); its level and propagation are restored afterwards."""
    global _quiet_depth, _saved
    caught: list[str] = []
    log = logging.getLogger("pypdf")
    with _quiet_lock:
        if _quiet_depth == 0:
            _saved = (log.level, log.propagate)
            log.setLevel(logging.WARNING)  # debug/info chatter is never wanted here
            log.propagate = False
            log.addHandler(_handler)
        _quiet_depth += 1
    _local.caught = caught
    try:
        yield caught
    finally:
        _local.caught = None
        with _quiet_lock:
            _quiet_depth -= 1
            if _quiet_depth == 0:
                log.removeHandler(_handler)
                log.setLevel(_saved[0])
                log.propagate = _saved[1]


def _repairs_warning(messages: list[str]) -> str | None:
    distinct = list(dict.fromkeys(m.strip() for m in messages if m.strip()))
    if not distinct:
        return None
    shown = "; ".join(distinct[:MAX_PYPDF_WARNINGS]) + (" …" if len(distinct) > MAX_PYPDF_WARNINGS
                                                         else "")
    return (f"the PDF is damaged and was read with repairs ({shown}); if text is missing, "
            "re-export it")


def _page_text(page: object) -> str | None:
    """The page's text in layout mode, which keeps vertical gaps as blank lines (the only sign of
    a paragraph break or a stand-alone heading a PDF has); the plain mode when layout fails; None
    when neither works (one damaged page should not cost the others)."""
    for kwargs in ({"extraction_mode": "layout"}, {}):
        try:
            return page.extract_text(**kwargs) or ""  # type: ignore[attr-defined]
        except Exception:
            continue
    return None


def read_pdf(data: bytes, name: str, budget: ReadBudget | None = None) -> Reading:
    """Read a PDF into blocks; with `budget`, its deadline is checked before every page."""
    with _pypdf_warnings() as caught:
        reading = _read(data, name, budget)
    repairs = _repairs_warning(caught)
    if repairs:
        reading.warnings.append(repairs)
    return reading


def _read(data: bytes, name: str, budget: ReadBudget | None) -> Reading:
    if b"%PDF-" not in data[:1024]:
        hint = "it is not a PDF"
        if data.startswith(b"PK\x03\x04"):
            hint = "it is a zip archive (a .docx?); rename it with the right extension"
        raise DocumentError("is not a PDF (no %PDF header)", code="corrupt", document=name,
                            hint=f"{hint}; save or export the runbook as a real PDF")
    # deferred: pypdf loads only when a PDF is read
    from pypdf import PdfReader
    try:
        reader = PdfReader(BytesIO(data))
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except Exception as exc:  # e.g. AES without the optional crypto package
                raise DocumentError(f"is encrypted and could not be opened ({exc})",
                                    code="encrypted", document=name,
                                    hint="remove the password and add it again") from None
            if not opened:
                raise DocumentError("is protected by a password", code="encrypted",
                                    document=name, hint="remove the password and add it again")
        count = len(reader.pages)
    except DocumentError:
        raise
    except Exception as exc:  # pypdf raises PdfReadError, ValueError, KeyError, … on damage
        raise _corrupt(name, f"{type(exc).__name__}: {exc}") from None

    warnings: list[str] = []
    if count > MAX_PAGES:
        warnings.append(f"only the first {MAX_PAGES:,} of {count:,} pages were read")
    texts: list[str | None] = []
    failed: list[int] = []
    for number in range(min(count, MAX_PAGES)):
        if budget is not None:
            budget.check_time(f"at page {number + 1:,} of {count:,}")
        texts.append(_page_text(reader.pages[number]))
        if texts[-1] is None:
            texts[-1] = ""
            failed.append(number + 1)
    if failed and len(failed) == len(texts):
        raise _corrupt(name, "no page's text could be extracted")
    if failed:
        shown = ", ".join(map(str, failed[:10])) + (" …" if len(failed) > 10 else "")
        warnings.append(f"the text of page(s) {shown} could not be extracted")

    blocks: list[Block] = []
    for index, text in enumerate(_strip_running_lines([t or "" for t in texts])):
        blocks.extend(parse_text(text, page=index + 1, top_is_title=index == 0, from_pdf=True))

    title = None
    try:
        meta = reader.metadata
        raw = (meta.title if meta is not None else None) or ""
        raw = str(raw).strip()
        if raw and not _JUNK_TITLE.search(raw):
            title = raw
    except Exception:  # broken metadata is common and harmless
        pass
    return Reading(blocks=blocks, title=title, pages=count, warnings=warnings)


__all__ = ["MAX_PAGES", "MAX_PYPDF_WARNINGS", "read_pdf"]
