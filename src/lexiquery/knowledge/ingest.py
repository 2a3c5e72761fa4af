"""Ingestion up to the store's one transaction: find the files, read, chunk, flag, extract.

Everything that can fail on a document's content happens here, before anything is written, so a
document that fails stores nothing (`store.ProcedureStore._add` then writes it in one
transaction). Also what both indexes see of a chunk (`indexed_text`) and how documents are
cited (`document_label`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from lexiquery.catalog.model import Catalog
from lexiquery.config import Settings
from lexiquery.errors import DocumentError, InputError
from lexiquery.knowledge.extract.llm_read import read_with_llm
from lexiquery.knowledge.extract.procedures import extract_procedures
from lexiquery.knowledge.model import Chunk, ChunkDraft, DocumentInfo, ParsedDocument, Procedure
from lexiquery.knowledge.readers.chunking import chunk_document
from lexiquery.knowledge.readers.documents import SUPPORTED_SUFFIXES, read_document
from lexiquery.knowledge.readers.limits import ReadLimits
from lexiquery.nl.injection import injection_line, injection_lines

if TYPE_CHECKING:
    from lexiquery.knowledge.known_errors.base import KnownErrorBase

_LABEL = re.compile(r"\b(SOP|RB|KB|PB|IR|RUNBOOK|PLAYBOOK)[-_ ]?(\d{1,6})\b", re.IGNORECASE)


def find_documents(path: Path, *, recursive: bool = True) -> tuple[list[Path], list[Path]]:
    """(supported files, skipped files) under `path` (a file or a folder), sorted. Hidden files
    and folders (".git", "~$lock.docx") are skipped silently."""
    if not path.exists():
        raise InputError(f"{path} does not exist")
    if path.is_file():
        ok = path.suffix.lower() in SUPPORTED_SUFFIXES
        return ([path], []) if ok else ([], [path])
    pattern = "**/*" if recursive else "*"
    found, skipped = [], []
    for p in sorted(path.glob(pattern)):
        rel = p.relative_to(path).parts
        if not p.is_file() or any(part.startswith((".", "~$")) for part in rel):
            continue
        (found if p.suffix.lower() in SUPPORTED_SUFFIXES else skipped).append(p)
    return found, skipped


def document_label(title: str, name: str) -> str:
    """"SOP-017" when the title or file name carries such an identifier, else the title."""
    for text in (title, name):
        m = _LABEL.search(text)
        if m:
            return f"{m.group(1).upper()}-{m.group(2)}"
    return title


@dataclass
class Prepared:
    """A document ready to store: nothing of it can fail on the content any more."""

    info: DocumentInfo
    chunks: list[Chunk]
    procedures: list[Procedure]


def read_runbook(name: str, data: bytes, settings: Settings) -> ParsedDocument:
    """Read a document within the settings' bounds (size, unpacked XML, reading time). The first
    step of ingestion, so a refused document costs no catalog or known-errors load."""
    doc = read_document(name, data, max_bytes=settings.sop_max_bytes,
                        limits=ReadLimits.from_settings(settings))
    # `name` is already a bare file name (the store strips an upload's directories); a local
    # file's name may hold a backslash, which is a character on Linux, not a separator.
    return doc if doc.name == name else doc.model_copy(update={"name": name})


def prepare(doc: ParsedDocument, origin: str, data: bytes, sha: str, doc_id: str,
            tags: Sequence[str], *, settings: Settings, catalog: Catalog,
            errors: "KnownErrorBase") -> Prepared:
    """Chunk, flag and extract a read document — everything else that can fail on it."""
    name = doc.name
    drafts = chunk_document(doc, target_chars=settings.sop_chunk_chars)
    if not drafts:
        raise DocumentError("no text to index", code="empty", document=name)
    procedures = extract_procedures(
        doc, catalog, find_codes=lambda t: [m.code for m in errors.find(t)],
        inert=injection_line)
    # The local LLM reads what the sentence patterns missed, when Ollama is there.
    procedures, llm_warning = read_with_llm(doc, procedures, catalog, settings)
    chunks = [Chunk(id=f"{doc_id}:{i}", document_id=doc_id, index=i,
                    **flag_injection(d).model_dump()) for i, d in enumerate(drafts)]
    platforms = sorted({lang for c in chunks for lang in c.languages}
                       | {q.language for p in procedures for q in p.queries})
    warnings = list(doc.warnings) + ([llm_warning] if llm_warning else [])
    flagged = sum("injection" in c.flags for c in chunks)
    if flagged:
        warnings.append(f"{flagged} chunk(s) contain lines that read like instructions to an "
                        "AI model; they are stored as inert text and never obeyed")
    info = DocumentInfo(
        id=doc_id, name=name, origin=origin, label=document_label(doc.title, name),
        title=doc.title, format=doc.format, sha256=sha, size=len(data),
        tags=sorted({t.strip() for t in tags if t.strip()}), platforms=platforms,
        added_at=datetime.now(timezone.utc), pages=doc.pages, chunks=len(chunks),
        procedures=len(procedures), warnings=warnings)
    return Prepared(info, chunks, procedures)


def indexed_text(chunk: ChunkDraft) -> str:
    """What both indexes see: the heading path gives a step list its context ("Detection")."""
    return " › ".join(chunk.heading_path) + "\n" + chunk.text if chunk.heading_path \
        else chunk.text


def flag_injection(draft: ChunkDraft) -> ChunkDraft:
    if injection_lines(draft.text) and "injection" not in draft.flags:
        return draft.model_copy(update={"flags": [*draft.flags, "injection"]})
    return draft


__all__ = ["Prepared", "document_label", "find_documents", "flag_injection", "indexed_text",
           "prepare", "read_runbook"]
