"""Upload files made at test time: documents too big, broken, or lying to be stored in the repo.

A case's ``file`` (or ``files``) entry is ``{name, content}`` for text, or ``{name, gen, …}``:

    docx            a small real DOCX whose paragraphs are `text`
    docx_bomb       a real DOCX whose document.xml unpacks to `mb` MB of XML at a ratio
                    near 80:1 — under the zip-bomb ratio check, so only a bound on decompressed
                    XML (or on reading time) stops it; `lie: true` writes a central directory
                    that declares a tiny size
    docx_xxe        a DOCX whose XML declares an external entity on `target` (a canary file)
    docx_entries    a zip posing as DOCX with `n` entries
    zip             a zip that is no DOCX at all
    pdf             a one-page PDF with `text`; `truncate` keeps only that fraction of it;
                    `encrypt` puts a user password on it
    pdf_bomb        a PDF whose content stream inflates to `mb` MB
    bytes           `n` pseudo-random bytes (seeded), or `hex`
    text_mb         `mb` MB of Markdown
"""

from __future__ import annotations

import io
import random
import struct
import zipfile
from pathlib import Path
from typing import Any

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _docx(paragraphs: list[str]) -> bytes:
    from docx import Document

    doc = Document()
    for p in paragraphs:
        doc.add_paragraph(p)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _replace_part(docx: bytes, part: str, write: Any) -> bytes:
    """`docx` with `part` written by `write(stream)` instead of its own bytes."""
    src = zipfile.ZipFile(io.BytesIO(docx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for info in src.infolist():
            if info.filename == part:
                with z.open(part, "w", force_zip64=True) as stream:
                    write(stream)
            else:
                z.writestr(info, src.read(info.filename))
    return out.getvalue()


def docx_bomb(mb: int, lie: bool = False) -> bytes:
    rnd = random.Random(12)
    noise = "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz  ") for _ in range(64 * 600))
    # 600 characters of noise, then ~55 KB of a repeated paragraph: deflate's 32 KB window
    # squeezes the repeats, the noise keeps the ratio near 80:1.
    unit = "".join(f"<w:p><w:r><w:t>{noise[i * 600:(i + 1) * 600]}</w:t></w:r></w:p>"
                   + "<w:p><w:r><w:t>Check the failed sign-ins of the account.</w:t></w:r>"
                     "</w:p>" * 900 for i in range(64)).encode()
    repeats = max(1, mb * 2**20 // len(unit))

    def write(stream: Any) -> None:
        stream.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                     f'<w:document xmlns:w="{W_NS}"><w:body>'.encode())
        for _ in range(repeats):
            stream.write(unit)
        stream.write(b"</w:body></w:document>")

    data = _replace_part(_docx(["seed"]), "word/document.xml", write)
    return _lie_about_sizes(data) if lie else data


def _lie_about_sizes(data: bytes) -> bytes:
    """The central directory and local headers declare 1,000 bytes for every big entry: a
    reader that trusts them is fooled; one that counts what it inflates is not."""
    buf = bytearray(data)
    for sig, size_at in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):
        start = 0
        while (i := buf.find(sig, start)) != -1:
            (declared,) = struct.unpack_from("<I", buf, i + size_at)
            if declared > 10 * 2**20 and declared != 0xFFFFFFFF:
                struct.pack_into("<I", buf, i + size_at, 1000)
            start = i + 4
    return bytes(buf)


def docx_xxe(target: str) -> bytes:
    def write(stream: Any) -> None:
        stream.write(f'<?xml version="1.0" encoding="UTF-8"?>'
                     f'<!DOCTYPE d [<!ENTITY leak SYSTEM "file://{target}">]>'
                     f'<w:document xmlns:w="{W_NS}"><w:body><w:p><w:r><w:t>Secret: &leak;'
                     f'</w:t></w:r></w:p><w:p><w:r><w:t>Step 1. Check failed sign-ins.</w:t>'
                     f'</w:r></w:p></w:body></w:document>'.encode())

    return _replace_part(_docx(["seed"]), "word/document.xml", write)


def docx_entries(n: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        for i in range(n):
            z.writestr(f"word/media/e{i}.xml", "")
    return out.getvalue()


def _pdf(text: str, *, encrypt: bool = False, flate_mb: int = 0) -> bytes:
    import zlib

    from pypdf import PdfWriter
    from pypdf.generic import (DecodedStreamObject, DictionaryObject, NameObject,
                               StreamObject)

    w = PdfWriter()
    page = w.add_blank_page(612, 792)
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"),
                             NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): w._add_object(font)})})
    content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1", "replace")
    if flate_mb:
        stream: Any = StreamObject()
        body = content + b" " * (flate_mb * 2**20)
        stream._data = zlib.compress(body, 9)
        stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    else:
        stream = DecodedStreamObject()
        stream.set_data(content)
    page[NameObject("/Contents")] = w._add_object(stream)
    if encrypt:
        w.encrypt(user_password="hostile", owner_password="owner")
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


_MADE: dict[str, tuple[str, bytes]] = {}


def make_file(spec: dict[str, Any]) -> tuple[str, bytes]:
    """(file name, bytes) of one ``file`` entry (placeholders already filled), made once: the
    harness makes them before a case's clock starts, so `max_s` times LexiQuery alone."""
    key = repr(sorted(spec.items()))
    if key not in _MADE:
        _MADE.clear()  # one case's files at a time: a 190 MB bomb is not kept around
        _MADE[key] = _make(spec)
    return _MADE[key]


def _make(spec: dict[str, Any]) -> tuple[str, bytes]:
    name, gen = spec["name"], spec.get("gen")
    if gen is None:
        return name, str(spec.get("content", "")).encode("utf-8", "surrogatepass")
    if gen == "docx":
        return name, _docx(str(spec.get("text", "")).split("\n"))
    if gen == "docx_bomb":
        return name, docx_bomb(int(spec.get("mb", 190)), lie=bool(spec.get("lie")))
    if gen == "docx_xxe":
        return name, docx_xxe(spec["target"])
    if gen == "docx_entries":
        return name, docx_entries(int(spec["n"]))
    if gen == "zip":
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            z.writestr("notes.txt", "not a word document")
        return name, out.getvalue()
    if gen == "pdf":
        data = _pdf(str(spec.get("text", "")), encrypt=bool(spec.get("encrypt")))
        cut = spec.get("truncate")
        return name, data[:int(len(data) * float(cut))] if cut else data
    if gen == "pdf_bomb":
        return name, _pdf("Step 1. Check failed sign-ins.", flate_mb=int(spec["mb"]))
    if gen == "bytes":
        if spec.get("hex"):
            return name, bytes.fromhex(spec["hex"])
        return name, random.Random(7).randbytes(int(spec["n"]))
    if gen == "text_mb":
        line = "1. Check the failed sign-ins of the account and the source IP address.\n"
        return name, ("# Big runbook\n\n" + line * (int(spec["mb"]) * 2**20 // len(line) + 1)
                      ).encode()
    raise ValueError(f"unknown file generator {gen!r}")


def file_specs(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return list(spec.get("files") or ([spec["file"]] if spec.get("file") else []))


def write_inputs(spec: dict[str, Any], directory: Path) -> list[Path]:
    """The case's files written under `directory` (for the CLI, which reads paths). A name
    with directories in it keeps only its last part: a file system cannot hold "../x"."""
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for f in file_specs(spec):
        name, data = make_file(f)
        path = directory / (Path(name.replace("\x00", "")).name or "unnamed")
        path.write_bytes(data)
        out.append(path)
    return out
