"""The .docx package: the zip checks made before anything is inflated, and bounded access to the
XML parts the reader needs (the main document, its styles and numbering, the core properties).

Checks, in order, using only what the central directory declares (nothing is inflated yet):

- not a zip → ``corrupt`` (an OLE file, i.e. a legacy .doc or a password-protected document, gets
  its own hint; so does a PDF);
- more than `MAX_ENTRIES` entries, a declared uncompressed total over
  ``max(MIN_TOTAL_BYTES, TOTAL_FACTOR × max_bytes)``, or one entry over 10 MB that compresses
  more than 200:1 → ``unsafe_archive``. Real documents compress XML about 5–20:1 and store images
  barely compressed; a bomb is thousands to one;
- the declared XML (every ``.xml`` and ``.rels`` entry) over the reading budget's byte limit →
  ``too_large`` at once: that is how a 2 MB file holding 190 MB of XML at 84:1, under the bomb
  ratio, is refused in milliseconds instead of pinning a CPU for minutes;
- no main document part → ``corrupt`` ("not a Word document").

Declared sizes can lie, so every part read is inflated by `readers.limits.stream_member`: piece by
piece, held to its declared size and CRC, each piece charged to the budget (bytes and time). Parts
that are never read (images, themes, fonts) are never inflated. XML is parsed by lxml with
entities, DTDs and network access off.
"""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Iterator
from io import BytesIO
from typing import Any

from lxml import etree

from lexiquery.errors import DocumentError
from lexiquery.knowledge.readers.limits import IN_PIECE, ReadBudget, stream_member

MAX_ENTRIES = 10_000
MIN_TOTAL_BYTES = 200 * 1024 * 1024
TOTAL_FACTOR = 20
BOMB_RATIO = 200
BOMB_MIN_BYTES = 10 * 1024 * 1024

_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_MAIN = "word/document.xml"
_DEFAULTS = {"styles": "word/styles.xml", "numbering": "word/numbering.xml",
             "core-properties": "docProps/core.xml"}
_PARSER_OPTIONS: dict[str, Any] = dict(resolve_entities=False, no_network=True, load_dtd=False,
                                       huge_tree=False, remove_comments=True, remove_pis=True)


def _corrupt(name: str, message: str) -> DocumentError:
    return DocumentError(message, code="corrupt", document=name,
                         hint="open it in Word and save it again as .docx")


def _open_zip(data: bytes, name: str) -> zipfile.ZipFile:
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise DocumentError("is an OLE compound file, not a .docx (a legacy .doc renamed, or a "
                            "password-protected document)", code="corrupt", document=name,
                            hint="remove any password and save it as .docx from Word")
    if data.startswith(b"%PDF-"):
        raise DocumentError("is a PDF, not a .docx", code="corrupt", document=name,
                            hint="rename it with the .pdf extension")
    try:
        return zipfile.ZipFile(BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise DocumentError(f"is not a valid .docx (not a zip archive: {exc})", code="corrupt",
                            document=name, hint="save it again from Word as .docx") from None


def check_archive(infos: list[zipfile.ZipInfo], name: str, *, max_bytes: int) -> None:
    """Refuse an archive whose declared shape is a zip bomb (see the module docstring)."""
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


class Package:
    """An opened, checked .docx. `main` is the main document part's name; `part(kind)` the
    name of a part related to it ("styles", "numbering") or to the package ("core-properties"),
    None when absent."""

    def __init__(self, data: bytes, budget: ReadBudget, *, max_bytes: int) -> None:
        self.data = data
        self.budget = budget
        name = budget.document
        with _open_zip(data, name) as archive:
            infos = archive.infolist()
        check_archive(infos, name, max_bytes=max_bytes)
        self.infos = {i.filename: i for i in infos if not i.is_dir()}
        budget.refuse_declared(sum(i.file_size for n, i in self.infos.items()
                                   if n.lower().endswith((".xml", ".rels"))))
        package_rels = self._relations("_rels/.rels", "")
        main = package_rels.get("officeDocument")
        self.main = main if main in self.infos else _MAIN
        if self.main not in self.infos:
            raise DocumentError("is a zip archive but not a Word document (no word/document.xml)",
                                code="corrupt", document=name, hint="save it from Word as .docx")
        main_dir = posixpath.dirname(self.main)
        rels_path = posixpath.join(main_dir, "_rels", posixpath.basename(self.main) + ".rels")
        self._related = {**package_rels, **self._relations(rels_path, main_dir)}

    def part(self, kind: str) -> str | None:
        path = self._related.get(kind) or _DEFAULTS.get(kind)
        return path if path in self.infos else None

    def _relations(self, rels_path: str, base: str) -> dict[str, str]:
        """Relationship type (its last path segment, e.g. "styles") → part name."""
        if rels_path not in self.infos:
            return {}
        found: dict[str, str] = {}
        for rel in self.parse(rels_path).iter(_REL):
            kind = (rel.get("Type") or "").rsplit("/", 1)[-1]
            target = rel.get("Target") or ""
            if rel.get("TargetMode") == "External" or not kind or not target:
                continue
            path = target.lstrip("/") if target.startswith("/") else \
                posixpath.normpath(posixpath.join(base, target))
            found.setdefault(kind, path)
        return found

    def _slices(self, part: str) -> Iterator[bytes]:
        """The part's bytes in `IN_PIECE` slices, the deadline checked before each."""
        for piece in stream_member(self.data, self.infos[part], self.budget):
            for pos in range(0, len(piece), IN_PIECE):
                self.budget.check_time()
                yield piece[pos:pos + IN_PIECE]

    def parse(self, part: str) -> Any:
        """The whole tree of a small part (rels, styles, numbering, core properties)."""
        parser = etree.XMLParser(**_PARSER_OPTIONS)
        try:
            for data in self._slices(part):
                parser.feed(data)
            return parser.close()
        except etree.XMLSyntaxError as exc:
            raise _corrupt(self.budget.document, f"has damaged XML in {part} ({exc})") from None

    def events(self, part: str, tags: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
        """("end", element) for each element of `part` with one of `tags` as it completes, and
        ("fed", None) after every slice fed to the parser, streamed. The caller removes what it
        has read (memory then holds one body item at a time) and checks, on "fed", that no
        single item grows past what it accepts."""
        parser = etree.XMLPullParser(events=("end",), tag=tags, **_PARSER_OPTIONS)
        try:
            for data in self._slices(part):
                parser.feed(data)
                yield from parser.read_events()
                yield "fed", None
            parser.close()
            yield from parser.read_events()
        except etree.XMLSyntaxError as exc:
            raise _corrupt(self.budget.document, f"has damaged XML in {part} ({exc})") from None


__all__ = ["BOMB_MIN_BYTES", "BOMB_RATIO", "MAX_ENTRIES", "Package", "check_archive"]
