"""Reading a runbook is bounded: XML bytes unpacked, wall time, one body item's size; a document
past a bound is refused with a clear `DocumentError` and nothing is stored.

The issue's reproduction: a 2.2 MB .docx holding 190 MB of XML (84:1, under the zip-bomb ratio)
pinned a CPU for over 10 minutes. It is refused from the sizes the archive declares; one whose
headers lie is stopped while it streams. The time bound itself is measured by
bench/bench_docx.py; the sanity bounds here are generous.
"""

from __future__ import annotations

import io
import time
import zipfile

import pytest
from fpdf import FPDF

from lexiquery.config import get_settings
from lexiquery.errors import DocumentError
from lexiquery.knowledge.readers.documents import read_document
from lexiquery.knowledge.readers.docx import MAX_ITEM_XML_BYTES
from lexiquery.knowledge.readers.limits import ReadBudget, ReadLimits, stream_member
from lexiquery.knowledge.store import ProcedureStore

from .docx_builders import HEAD, MB, bulky_docx, docx_with_body
from .test_documents import _patch_declared_size

LIMIT = 25 * MB


def refused(name: str, data: bytes, limits: ReadLimits | None = None) -> DocumentError:
    with pytest.raises(DocumentError) as info:
        read_document(name, data, max_bytes=LIMIT, limits=limits)
    return info.value


@pytest.fixture(scope="module")
def xml_190mb() -> bytes:
    """The reproduction: ~2.4 MB on disk, 190 MB of body XML, about 80:1."""
    return bulky_docx(190 * MB)


def test_190mb_of_xml_is_refused_at_once(xml_190mb: bytes) -> None:
    info = zipfile.ZipFile(io.BytesIO(xml_190mb)).getinfo("word/document.xml")
    assert len(xml_190mb) < 4 * MB and 50 < info.file_size / info.compress_size < 200
    started = time.perf_counter()
    err = refused("bloated.docx", xml_190mb)
    elapsed = time.perf_counter() - started
    assert err.code == "too_large"
    assert "190.0 MB of XML" in err.message and "50.0 MB" in err.message
    assert err.hint and "LEXIQUERY_SOP_MAX_XML_BYTES" in err.hint
    assert elapsed < 2.0  # measured: about a millisecond (bench/bench_docx.py)


def test_lying_headers_are_stopped_while_streaming(xml_190mb: bytes) -> None:
    """The central directory claims 1 MB for the 190 MB part: the declared check passes, and
    the stream stops just past the declared size, long before the XML is read."""
    data = _patch_declared_size(xml_190mb, "word/document.xml", MB)
    started = time.perf_counter()
    err = refused("liar.docx", data)
    assert err.code == "unsafe_archive" and "more than the 1,048,576 bytes" in err.message
    assert time.perf_counter() - started < 5.0


def test_a_refused_document_stores_nothing(xml_190mb: bytes) -> None:
    with ProcedureStore(get_settings(), embedder=None) as store:
        with pytest.raises(DocumentError) as info:
            store.add_bytes("bloated.docx", xml_190mb)
        assert info.value.code == "too_large"
        assert store.list_documents() == []


def test_the_xml_limit_is_a_setting() -> None:
    data = bulky_docx(3 * MB)
    with ProcedureStore(get_settings(sop_max_xml_bytes=MB), embedder=None) as store:
        with pytest.raises(DocumentError, match="3.0 MB of XML; at most 1.0 MB"):
            store.add_bytes("three.docx", data)
    with ProcedureStore(get_settings(), embedder=None) as store:
        assert store.add_bytes("three.docx", data).status == "added"


def test_the_stream_counts_what_it_inflates_whatever_is_declared() -> None:
    """`stream_member` charges every piece: the byte limit holds even for a member whose
    declared size was never checked against it."""
    data = bulky_docx(3 * MB)
    archive = zipfile.ZipFile(io.BytesIO(data))
    budget = ReadBudget(ReadLimits(max_xml_bytes=MB), "x.docx")
    taken = 0
    with pytest.raises(DocumentError, match="more than 1.0 MB of XML") as info:
        for piece in stream_member(data, archive.getinfo("word/document.xml"), budget):
            taken += len(piece)
    assert info.value.code == "too_large" and taken <= MB


def test_reading_time_is_bounded_for_docx() -> None:
    err = refused("slow.docx", bulky_docx(2 * MB), ReadLimits(seconds=1e-9))
    assert err.code == "too_large" and "took longer than" in err.message


def test_reading_time_is_bounded_for_pdf() -> None:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for n in range(3):
        pdf.add_page()
        pdf.multi_cell(0, 6, f"Page {n} of the runbook.")
    err = refused("slow.pdf", bytes(pdf.output()), ReadLimits(seconds=1e-9))
    assert err.code == "too_large" and "at page 1 of 3" in err.message


def test_one_huge_paragraph_is_refused() -> None:
    """Memory holds one body item at a time: an item past MAX_ITEM_XML_BYTES is refused."""
    run = b"<w:r><w:t>padding text</w:t></w:r>"
    body = b"<w:p>" + run * ((MAX_ITEM_XML_BYTES + MB) // len(run)) + b"</w:p>"
    err = refused("one-paragraph.docx", docx_with_body(body))
    assert err.code == "too_large" and "one paragraph or table row" in err.message


def test_entities_are_never_expanded() -> None:
    """A billion-laughs DTD in the document part costs nothing: refused, or read unexpanded."""
    dtd = (b'<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY a "lollollollollol">'
           + b"".join(b'<!ENTITY %c "&%c;&%c;&%c;&%c;&%c;&%c;&%c;&%c;&%c;&%c;">'
                      % ((ord("a") + i + 1,) + (ord("a") + i,) * 10) for i in range(9))
           + b"]>")
    body = b"<w:p><w:r><w:t>&j;</w:t></w:r></w:p><w:p><w:r><w:t>Real text.</w:t></w:r></w:p>"
    data = docx_with_body(body, head=dtd + HEAD[HEAD.index(b"<w:document"):])
    started = time.perf_counter()
    try:  # libxml2 refuses the amplification itself; without that, nothing is expanded
        doc = read_document("laughs.docx", data, max_bytes=LIMIT)
        assert [b.text for b in doc.blocks] == ["Real text."]
    except DocumentError as e:
        assert e.code == "corrupt" and "damaged XML" in e.message
    assert time.perf_counter() - started < 2.0


def test_a_streamed_document_keeps_its_structure() -> None:
    """Content controls are looked into; paragraphs in a table cell belong to the table."""
    body = (b"<w:p><w:r><w:t>Runbook</w:t></w:r></w:p>"
            b"<w:sdt><w:sdtContent><w:p><w:r><w:t>Inside a control.</w:t></w:r></w:p>"
            b"</w:sdtContent></w:sdt>"
            b"<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Code</w:t></w:r></w:p></w:tc>"
            b"<w:tc><w:p><w:r><w:t>50126</w:t></w:r></w:p></w:tc></w:tr></w:tbl>"
            b'<w:p><w:r><w:t xml:space="preserve">After </w:t></w:r>'
            b"<w:hyperlink><w:r><w:t>the link.</w:t></w:r></w:hyperlink></w:p>")
    doc = read_document("s.docx", docx_with_body(body), max_bytes=LIMIT)
    assert [(b.kind.value, b.text) for b in doc.blocks] == [
        ("paragraph", "Runbook"), ("paragraph", "Inside a control."),
        ("table", "Code | 50126"), ("paragraph", "After the link.")]


def test_external_entities_are_never_read(tmp_path) -> None:  # type: ignore[no-untyped-def]
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    dtd = b'<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY x SYSTEM "%s">]>' % (
        secret.as_uri().encode())
    body = b"<w:p><w:r><w:t>&x;</w:t></w:r></w:p><w:p><w:r><w:t>Real text.</w:t></w:r></w:p>"
    doc = read_document("xxe.docx", docx_with_body(body, head=dtd + HEAD[HEAD.index(b"<w:doc"):]),
                        max_bytes=LIMIT)
    assert [b.text for b in doc.blocks] == ["Real text."]
