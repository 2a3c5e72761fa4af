"""Bounds on reading one document: decompressed bytes and wall time, for every reader that
inflates or walks content whose cost the file size does not show.

A .docx is a zip of XML parts: 2 MB on disk can be 190 MB of XML, and reading XML costs far more
than its size suggests. So a reading gets a `ReadBudget`:

* ``max_xml_bytes``: decompressed bytes the reader may take in, counted as they are produced
  (`charge`), whatever the archive declares. Past it → ``too_large``.
* ``seconds``: wall time from the budget's start; `check_time` is called between bounded pieces
  of work (every 64 KB of XML, every PDF page). Past it → ``too_large``, with how far it got.

`stream_member` inflates one zip member in bounded pieces (at most 64 KB in, 1 MB out at a time),
charging each piece, and checks it against what the central directory declares: more than
declared is ``unsafe_archive`` (a lying header), less is ``corrupt`` (truncated), and the CRC is
verified at the end. Nothing is ever inflated in one call, so memory stays bounded too.
"""

from __future__ import annotations

import struct
import time
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lexiquery.errors import DocumentError

if TYPE_CHECKING:
    from lexiquery.config import Settings

DEFAULT_MAX_XML_BYTES = 50 * 1024 * 1024
DEFAULT_READ_SECONDS = 10.0
IN_PIECE = 64 * 1024
OUT_PIECE = 1024 * 1024
_SETTING_HINT = ("split the document, or raise LEXIQUERY_SOP_MAX_XML_BYTES / "
                 "LEXIQUERY_SOP_READ_TIMEOUT_S")  # the settings' environment names


@dataclass(frozen=True)
class ReadLimits:
    """How much one document may cost to read (see the module docstring)."""

    max_xml_bytes: int = DEFAULT_MAX_XML_BYTES
    seconds: float = DEFAULT_READ_SECONDS

    @classmethod
    def from_settings(cls, settings: "Settings") -> "ReadLimits":
        return cls(max_xml_bytes=settings.sop_max_xml_bytes,
                   seconds=settings.sop_read_timeout_s)


def _mb(n: int) -> str:
    return f"{n / 2**20:,.1f} MB"


class ReadBudget:
    """The running account of one reading: bytes taken in and time spent (monotonic clock,
    started when the budget is made)."""

    def __init__(self, limits: ReadLimits, document: str) -> None:
        self.limits = limits
        self.document = document
        self.used = 0
        self._start = time.monotonic()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._start

    def refuse_declared(self, declared: int) -> None:
        """Refuse at once when the archive itself says its text is over the byte limit."""
        if declared > self.limits.max_xml_bytes:
            raise DocumentError(
                f"would unpack to {_mb(declared)} of XML; at most "
                f"{_mb(self.limits.max_xml_bytes)} is read", code="too_large",
                document=self.document, hint=_SETTING_HINT)

    def charge(self, n: int) -> None:
        """Count `n` more decompressed bytes; `DocumentError` ``too_large`` past the limit or
        the deadline."""
        self.used += n
        if self.used > self.limits.max_xml_bytes:
            raise DocumentError(
                f"unpacks to more than {_mb(self.limits.max_xml_bytes)} of XML (more than its "
                "archive declares is refused at the limit, however it was packed)",
                code="too_large", document=self.document, hint=_SETTING_HINT)
        self.check_time()

    def check_time(self, where: str | None = None) -> None:
        """`DocumentError` ``too_large`` once the reading has taken longer than allowed;
        `where` says how far it got ("at page 40 of 2,000"), else the XML read so far."""
        if self.elapsed > self.limits.seconds:
            got = where or f"after {_mb(self.used)} of XML"
            raise DocumentError(
                f"took longer than {self.limits.seconds:g} s to read (stopped {got})",
                code="too_large", document=self.document, hint=_SETTING_HINT)


def _member_bytes(data: bytes, info: zipfile.ZipInfo, name: str) -> memoryview:
    """The compressed bytes of `info`, located through its local header."""
    header = data[info.header_offset:info.header_offset + 30]
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise DocumentError(f"entry {info.filename!r} points outside the archive",
                            code="corrupt", document=name, hint="save it again from Word")
    name_len, extra_len = struct.unpack_from("<HH", header, 26)
    start = info.header_offset + 30 + name_len + extra_len
    return memoryview(data)[start:start + info.compress_size]


def _pieces(raw: memoryview, method: int, entry: str, name: str) -> Iterator[bytes]:
    """The member's uncompressed bytes, at most `OUT_PIECE` at a time."""
    if method == zipfile.ZIP_STORED:
        for pos in range(0, len(raw), OUT_PIECE):
            yield bytes(raw[pos:pos + OUT_PIECE])
        return
    if method != zipfile.ZIP_DEFLATED:  # Word only ever writes stored or deflated entries
        raise DocumentError(f"entry {entry!r} uses compression method {method}, which Word "
                            "never writes", code="corrupt", document=name,
                            hint="save it again from Word as .docx")
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        for pos in range(0, len(raw), IN_PIECE):
            pending: bytes | memoryview = raw[pos:pos + IN_PIECE]
            while pending and not inflater.eof:
                out = inflater.decompress(pending, OUT_PIECE)
                if out:
                    yield out
                pending = inflater.unconsumed_tail
            if inflater.eof:
                return
        while not inflater.eof:  # output still held back by the last bounded call
            out = inflater.decompress(b"", OUT_PIECE)
            if not out:
                return
            yield out
    except zlib.error as exc:
        raise DocumentError(f"entry {entry!r} is damaged ({exc})", code="corrupt",
                            document=name, hint="save it again from Word as .docx") from None


def stream_member(data: bytes, info: zipfile.ZipInfo, budget: ReadBudget) -> Iterator[bytes]:
    """Inflate one member of the zip `data` piece by piece, charging `budget` for each piece
    and holding it to its declared size and CRC (see the module docstring)."""
    name = budget.document
    if info.flag_bits & 0x1:
        raise DocumentError(f"entry {info.filename!r} is encrypted", code="encrypted",
                            document=name, hint="remove the password and add it again")
    produced, crc = 0, 0
    for piece in _pieces(_member_bytes(data, info, name), info.compress_type, info.filename,
                         name):
        produced += len(piece)
        if produced > info.file_size:
            raise DocumentError(f"entry {info.filename!r} unpacks to more than the "
                                f"{info.file_size:,} bytes it declares; it looks like a zip "
                                "bomb", code="unsafe_archive", document=name)
        budget.charge(len(piece))
        crc = zlib.crc32(piece, crc)
        yield piece
    if produced < info.file_size:
        raise DocumentError(f"entry {info.filename!r} is truncated ({produced:,} of "
                            f"{info.file_size:,} bytes)", code="corrupt", document=name,
                            hint="save it again from Word as .docx")
    if crc != info.CRC:
        raise DocumentError(f"entry {info.filename!r} is damaged (its checksum does not match)",
                            code="corrupt", document=name, hint="save it again from Word as .docx")


__all__ = ["DEFAULT_MAX_XML_BYTES", "DEFAULT_READ_SECONDS", "ReadBudget", "ReadLimits",
           "stream_member"]
