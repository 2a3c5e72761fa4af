"""Benchmark: what a bloated Word document costs to refuse, and what a large one costs to read.

    .venv/bin/python bench/bench_docx.py [--xml-mb 190] [--read-mb 5 20] [--repeat 20]

Issue 12's reproduction: a ~2.2 MB .docx holding 190 MB of body XML (about 80:1, under the
zip-bomb ratio) pinned a CPU for over 10 minutes. This builds one like it (tests/knowledge/
docx_builders.py) and prints

* the refusal time of `read_document` on it, p50 and max over `--repeat` runs (the target: well
  under 2 s; the declared sizes refuse it before anything is inflated);
* the same file with its central directory lying (1 MB declared): the stream stops just past the
  declared size;
* reading throughput (MB of XML per second) and peak RSS for legitimate documents of
  `--read-mb` MB of XML, with the reading time limit lifted;
* the baseline in the same run: python-docx's full DOM parse and each paragraph's style and
  text (what the reader before issue 12 did) of a
  `--baseline-mb` MB document, the streamed reader on the same bytes, and their ratio
  (python-docx is a test dependency; the line is skipped without it).

Always exits 0: this is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def _refusal_ms(data: bytes, repeat: int) -> tuple[list[float], str]:
    from lexiquery.errors import DocumentError
    from lexiquery.knowledge.readers.documents import read_document

    times, outcome = [], "read (not refused!)"
    for _ in range(repeat):
        started = time.perf_counter()
        try:
            read_document("bloated.docx", data, max_bytes=25 * 2**20)
        except DocumentError as e:
            outcome = f"{e.code}: {e.message}"
        times.append((time.perf_counter() - started) * 1000)
    return times, outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--xml-mb", type=int, default=190)
    parser.add_argument("--read-mb", type=int, nargs="*", default=[5, 20])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--baseline-mb", type=int, default=2)
    args = parser.parse_args()

    from knowledge.docx_builders import MB, bulky_docx  # type: ignore[import-not-found]
    from knowledge.test_documents import _patch_declared_size  # type: ignore[import-not-found]

    from lexiquery.knowledge.readers.docx import read_docx
    from lexiquery.knowledge.readers.limits import ReadBudget, ReadLimits

    started = time.perf_counter()
    data = bulky_docx(args.xml_mb * MB)
    print(f"built: {len(data) / MB:.2f} MB on disk, {args.xml_mb} MB of XML "
          f"({time.perf_counter() - started:.2f} s to build)")
    for label, payload in (("declared sizes", data),
                           ("lying sizes (1 MB declared)",
                            _patch_declared_size(data, "word/document.xml", MB))):
        times, outcome = _refusal_ms(payload, args.repeat)
        print(f"refusal, {label}: p50 {statistics.median(times):.2f} ms, "
              f"max {max(times):.2f} ms -> {outcome}")

    for mb in args.read_mb:
        doc = bulky_docx(mb * MB)
        budget = ReadBudget(ReadLimits(max_xml_bytes=(mb + 1) * MB, seconds=3600), "large.docx")
        started = time.perf_counter()
        reading = read_docx(doc, "large.docx", max_bytes=25 * MB, budget=budget)
        elapsed = time.perf_counter() - started
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"read {mb} MB of XML: {elapsed:.2f} s ({mb / elapsed:.1f} MB/s), "
              f"{len(reading.blocks):,} blocks, peak RSS so far {rss:.0f} MB")
    _baseline(args.baseline_mb, bulky_docx, MB)
    return 0


def _baseline(mb: int, bulky_docx: Any, unit: int) -> None:
    """python-docx (the old reader's parse) against the streamed reader on the same document."""
    try:
        import docx
    except ImportError:
        print("baseline skipped: python-docx is not installed (pip install -e '.[test]')")
        return
    import io

    from lexiquery.knowledge.readers.docx import read_docx
    from lexiquery.knowledge.readers.limits import ReadBudget, ReadLimits

    doc = bulky_docx(mb * unit)
    started = time.perf_counter()
    # What the old reader did with it: each paragraph's style and text.
    paragraphs = len([(p.style.name if p.style is not None else "", p.text)
                      for p in docx.Document(io.BytesIO(doc)).paragraphs])
    old = time.perf_counter() - started
    budget = ReadBudget(ReadLimits(max_xml_bytes=(mb + 1) * unit, seconds=3600), "b.docx")
    started = time.perf_counter()
    read_docx(doc, "b.docx", max_bytes=25 * unit, budget=budget)
    new = time.perf_counter() - started
    print(f"baseline, {mb} MB of XML: python-docx {old:.2f} s ({paragraphs:,} paragraphs), "
          f"streamed {new:.2f} s, ratio {old / new:.1f}x")


if __name__ == "__main__":
    raise SystemExit(main())
