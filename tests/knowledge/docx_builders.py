"""Word documents built byte by byte with zipfile, for the reader's limits: a package with as
much body XML as asked for, compressed like a real (if bloated) document rather than a bomb."""

from __future__ import annotations

import io
import random
import zipfile

MB = 1024 * 1024

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.wordprocessingml.document.main+xml"/></Types>')
PACKAGE_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="word/document.xml"/></Relationships>')
HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        '<w:body>').encode()
TAIL = b"</w:body></w:document>"


def _paragraphs(rng: random.Random, size: int) -> bytes:
    """About `size` bytes of paragraphs: repetitive markup, a little varying text (a real
    document's XML compresses 5-20:1; this compresses about 80:1, under the bomb ratio)."""
    words = ["check", "sign-in", "logs", "account", "alert", "host", "escalate", "ticket"]
    out, n = [], 0
    while n < size:
        text = " ".join(rng.choice(words) for _ in range(2))
        para = ('<w:p><w:pPr><w:pStyle w:val="Normal"/><w:spacing w:after="120"/></w:pPr>'
                '<w:r><w:rPr><w:rFonts w:ascii="Calibri" w:hAnsi="Calibri"/><w:sz w:val="22"/>'
                f'</w:rPr><w:t xml:space="preserve">{text}</w:t></w:r></w:p>')
        out.append(para)
        n += len(para)
    return "".join(out).encode()


def bulky_docx(xml_bytes: int, *, seed: int = 0) -> bytes:
    """A valid .docx whose word/document.xml is about `xml_bytes` long (one shared 1 MB block
    of varied paragraphs, repeated: building 190 MB costs a few seconds, not minutes)."""
    block = _paragraphs(random.Random(seed), min(MB, xml_bytes))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("_rels/.rels", PACKAGE_RELS)
        with z.open("word/document.xml", "w") as member:
            member.write(HEAD)
            written = 0
            while written < xml_bytes:
                member.write(block)
                written += len(block)
            member.write(TAIL)
    return buf.getvalue()


def docx_with_body(body: bytes, *, head: bytes = HEAD) -> bytes:
    """A minimal valid .docx (no styles, no numbering) whose body is `body`."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("_rels/.rels", PACKAGE_RELS)
        z.writestr("word/document.xml", head + body + TAIL)
    return buf.getvalue()
