"""Reading a runbook's bytes into a `ParsedDocument`: the one entry point the store uses.

    read_document(name, data, max_bytes=…)
        1. the name is reduced to its base name and its suffix picks the format (`document_format`)
        2. the size is checked before a byte is parsed (``too_large``)
        3. the format's reader runs: read_markdown, read_text, read_docx, read_pdf; each checks
           that the content really is what the suffix says (``corrupt``), and DOCX is checked
           for zip bombs before anything is decompressed (``unsafe_archive``). DOCX and PDF
           read within `ReadLimits`: XML unpacked and wall time (``too_large`` past either)
        4. a document without any text is refused (``empty``)
        5. the title: what the format states (front matter, DOCX Title style, PDF metadata), else
           the first level-1 heading, else the file stem

Every refusal is a `DocumentError` naming the file, with a code scripts can match and, for the
slips people make (a legacy .doc, a scanned PDF, a password), a hint saying what to do.

Supported: Markdown (.md, .markdown), plain text (.txt, .text), Word (.docx) and PDF (.pdf).
Deliberately not: .log (logs are data, not runbooks, and a folder import would swallow them),
legacy binary formats (.doc, .rtf: no safe pure-Python reader; save as .docx), HTML (save as PDF
or convert to Markdown) and spreadsheets or slides.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from lexiquery.errors import DocumentError
from lexiquery.knowledge.model import BlockKind, DocFormat, ParsedDocument
from lexiquery.knowledge.readers.limits import ReadBudget, ReadLimits
from lexiquery.knowledge.readers.text import Reading, read_text

_FORMATS: dict[str, DocFormat] = {
    ".md": "markdown", ".markdown": "markdown",
    ".txt": "text", ".text": "text",
    ".docx": "docx",
    ".pdf": "pdf",
}
SUPPORTED_SUFFIXES: tuple[str, ...] = tuple(_FORMATS)
"""File suffixes (lower case, with the dot) that `read_document` accepts."""

_SUPPORTED_LIST = ", ".join(SUPPORTED_SUFFIXES)

_UNSUPPORTED_HINTS: dict[str, str] = {
    ".doc": "legacy Word .doc files are not supported: open it in Word or LibreOffice and save "
            "it as .docx (or export it to PDF)",
    ".dot": "Word templates are not supported: save the document as .docx",
    ".docm": "macro-enabled Word files are not read: save it as .docx without macros",
    ".dotx": "Word templates are not supported: save the document as .docx",
    ".rtf": "RTF is not supported: save it as .docx or export it to PDF",
    ".odt": "OpenDocument text is not supported: save it as .docx or export it to PDF",
    ".html": "HTML is not supported: save the page as PDF or convert it to Markdown "
             "(e.g. pandoc -t gfm)",
    ".htm": "HTML is not supported: save the page as PDF or convert it to Markdown "
            "(e.g. pandoc -t gfm)",
    ".log": "log files are data, not runbooks: to ingest a runbook saved as .log, rename it .txt",
    ".xlsx": "spreadsheets are not runbooks LexiQuery can read: export the sheet as PDF",
    ".xls": "spreadsheets are not runbooks LexiQuery can read: export the sheet as PDF",
    ".csv": "CSV is not a runbook format; known errors in CSV go to LEXIQUERY_KNOWN_ERRORS_FILES",
    ".pptx": "slides are not supported: export them as PDF",
    ".ppt": "slides are not supported: export them as PDF",
}

def base_name(name: str) -> str:
    """The file name without any directories (either separator: uploads from Windows send
    backslashes)."""
    return re.split(r"[\\/]", name.strip())[-1]


def document_format(name: str) -> DocFormat:
    """The format a file name's suffix stands for; `DocumentError` ``unsupported_type`` else."""
    base = base_name(name)
    suffix = PurePosixPath(base).suffix.lower()
    if suffix in _FORMATS:
        return _FORMATS[suffix]
    if not base:
        raise DocumentError("no file name given", code="unsupported_type",
                            hint=f"give the document a name ending in one of {_SUPPORTED_LIST}")
    if not suffix:
        raise DocumentError("has no file extension, so its type is unknown",
                            code="unsupported_type", document=base,
                            hint=f"rename it with one of {_SUPPORTED_LIST}")
    hint = _UNSUPPORTED_HINTS.get(suffix, f"supported types: {_SUPPORTED_LIST}")
    raise DocumentError(f"{suffix} files are not supported", code="unsupported_type",
                        document=base, hint=hint)


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / (1024 * 1024):.1f} MB"


def read_document(name: str, data: bytes, *, max_bytes: int,
                  limits: ReadLimits | None = None) -> ParsedDocument:
    """Parse one document (see the module docstring for the steps) within `limits` (default
    `ReadLimits()`: XML bytes and reading time). Never writes anything and never executes
    anything in the document."""
    base = base_name(name)
    fmt = document_format(base)
    if len(data) > max_bytes:
        raise DocumentError(f"is {_size(len(data))}, over the {_size(max_bytes)} limit",
                            code="too_large", document=base,
                            hint="split the document, or raise LEXIQUERY_SOP_MAX_BYTES")
    if not data.strip():
        raise DocumentError("is empty", code="empty", document=base,
                            hint="add the runbook's text and try again")

    reading: Reading
    budget = ReadBudget(limits or ReadLimits(), base)
    if fmt == "markdown":
        # deferred: markdown-it loads only when a Markdown document is read
        from lexiquery.knowledge.readers.markdown import read_markdown

        reading = read_markdown(data, base)
    elif fmt == "text":
        reading = read_text(data, base)
    elif fmt == "docx":
        # deferred: lxml loads only when a DOCX document is read
        from lexiquery.knowledge.readers.docx import read_docx

        reading = read_docx(data, base, max_bytes=max_bytes, budget=budget)
    else:
        # deferred: pypdf loads only when a PDF is read
        from lexiquery.knowledge.readers.pdf import read_pdf

        reading = read_pdf(data, base, budget)

    blocks = [b for b in reading.blocks if b.text.strip()]
    if not blocks:
        hint = "add the runbook's text and try again"
        if fmt == "pdf" and reading.pages:
            hint = "a scanned PDF has no text layer; run OCR first"
        where = f" ({reading.pages} page{'s' if reading.pages != 1 else ''})" if reading.pages \
            else ""
        raise DocumentError(f"has no text{where}", code="empty", document=base, hint=hint)

    title = reading.title
    if not title:
        title = next((b.text for b in blocks if b.kind == BlockKind.heading and b.level == 1),
                     None)
    if not title:
        title = PurePosixPath(base).stem or base
    return ParsedDocument(name=base, format=fmt, title=title.strip(), blocks=blocks,
                          pages=reading.pages, warnings=reading.warnings)


__all__ = ["SUPPORTED_SUFFIXES", "base_name", "document_format", "read_document"]
