"""Detection translation rates (issue 16): how many real-style detections translate completely.

    .venv/bin/python bench/detections.py [--from kql|spl ...] [--no-check] [--show N] [--json]
                                         [--corpus DIR] [--kusto-parser [DIR]]

Reads the corpora of tests/detections/ (`kql.yaml`, `spl.yaml`: detection queries written in
the style of public repositories, each with the translation status it should have once issue 16
is done) and translates every query to the other platforms through the public operation,

    lexiquery.operations.translate_query(query, from, to, check=…)

(KQL → SPL and SQL, SPL → KQL and SQL; SQL is PostgreSQL). Each translation is one of

* complete — a valid query, nothing lost (no error issue), and with the check, both queries
  ran on the same sample data with identical rows (`complete, differs` when they did not);
* partial  — a query was written, but the reading lost a part that changes the result;
* refused  — no query, with a precise reason (a LexiQuery error or an error issue);
* crash    — any other exception: always a defect.

It prints, per direction, the counts and rates, how they compare with the corpus's expected
status (expected `translates` and complete; expected `refused` and refused), and the most
frequent reasons for refusals and partial readings, so the next construct to build is the one
that unblocks the most detections. With `--kusto-parser [DIR]` (a folder where
`npm install @kusto/language-service-next` was run, by default the one the tests install into,
`.venv/kusto-parser`; needs node), every complete KQL translation is also checked by the
official Kusto parser as tests/kusto checks LexiQuery's KQL (reference pack tables, built-in
catalog tables and lookups): one with an error counts as `invalid KQL`, not complete. Nothing
reaches the network: LLM and embeddings are off, the data directory is temporary. Always exits
0: this is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "detections"
TARGETS = {"kql": ["spl", "sql"], "spl": ["kql", "sql"]}
CLOSED_PORT_URL = "http://127.0.0.1:9"  # discard port: nothing listens, nothing leaves the host
KUSTO_DEFAULT = Path()  # --kusto-parser without DIR: the tests' install (tests/kusto)


@dataclass
class Outcome:
    item: str
    source: str
    target: str
    status: str  # complete | complete, differs | partial | refused | crash
    expected: str  # translates | refused
    reason: str = ""
    seconds: float = 0.0
    constructs: list[str] = field(default_factory=list)
    query: str = ""  # the translation, when one was written

    @property
    def as_expected(self) -> bool:
        if self.expected == "translates":
            return self.status == "complete"
        return self.status == "refused"


def _reason(text: str) -> str:
    """A refusal message made comparable: names, numbers and quoted parts blanked."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"|`[^`]*`", "…", text)
    text = re.sub(r"\b\d+\b", "N", text)
    return " ".join(text.split())[:90]


def translate_one(item: dict[str, Any], source: str, target: str, check: bool,
                  settings: Any, catalog: Any) -> Outcome:
    from lexiquery.errors import LexiQueryError
    from lexiquery.ir import Severity
    from lexiquery.operations import translate_query

    out = Outcome(item["id"], source, target, "crash", item["expect"][target],
                  constructs=list(item.get("constructs") or []))
    started = time.perf_counter()
    try:
        t = translate_query(item["query"], source, target, catalog=catalog, check=check,
                            settings=settings)
        out.query = t.query or ""
        errors = [i for i in t.issues if i.severity is Severity.error]
        if not t.valid or not t.query:
            out.status = "refused"
            out.reason = _reason(errors[0].message if errors else "no query written")
        elif any(i.severity is Severity.error for i in t.plan.issues):
            out.status = "partial"
            out.reason = _reason(next(i.message for i in t.plan.issues
                                      if i.severity is Severity.error))
        elif check and t.agreement is not None and not t.agreement.identical:
            out.status = "complete, differs"
            out.reason = _reason("; ".join(t.agreement.differences)[:200])
        else:
            out.status = "complete"
    except LexiQueryError as e:
        out.status = "refused"
        out.reason = _reason(f"[{e.code}] {e.message}")
    except Exception as e:  # noqa: BLE001 — a crash is what this bench exists to find
        out.status = "crash"
        out.reason = _reason(f"{type(e).__name__}: {e}")
        if os.environ.get("LEXIQUERY_BENCH_TRACE"):
            traceback.print_exc()
    out.seconds = time.perf_counter() - started
    return out


def kusto_check(outcomes: list[Outcome], directory: Path | None) -> None:
    """Mark every complete KQL translation the official parser finds an error in. The parser
    server and the workspace it checks against (the reference pack's tables, the built-in
    catalog's KQL tables and lookups) are the test suite's: tests/kusto/kusto_check.py.
    `directory` holds the npm install; None: where the tests install it (.venv/kusto-parser)."""
    sys.path.insert(0, str(ROOT / "tests"))
    # deferred: tests/ is put on the path only when the check is asked for
    from kusto.kusto_check import KustoParser, ParserError, parser_dir, workspace_schema

    todo = [o for o in outcomes if o.target == "kql" and o.status == "complete" and o.query]
    node = shutil.which("node")
    if not todo or node is None:
        if node is None:
            print("the Kusto parser did not run: no node on PATH", file=sys.stderr)
        return
    try:
        with tempfile.TemporaryDirectory(prefix="lexiquery-kusto-") as tmp, \
                KustoParser(node, directory or parser_dir(), workspace_schema(),
                            Path(tmp)) as parser:
            for o in todo:
                errors = parser.check(o.query)
                if errors:
                    o.status = "invalid KQL"
                    o.reason = _reason(f"official parser: {errors[0].code} {errors[0].message}")
    except ParserError as e:
        print(f"the Kusto parser did not run: {e}", file=sys.stderr)


def _rate(n: int, d: int) -> str:
    return f"{n:>4}/{d:<4} {100 * n / d:5.1f}%" if d else f"{n:>4}/{d:<4}    -  "


def report(outcomes: list[Outcome], show: int) -> None:
    directions = sorted({(o.source, o.target) for o in outcomes})
    print(f"{'direction':<12}{'complete':>16}{'differs':>16}{'invalid':>16}{'partial':>16}"
          f"{'refused':>16}{'crash':>14}{'as expected':>18}")
    print("-" * 124)
    for src, tgt in directions:
        os_ = [o for o in outcomes if (o.source, o.target) == (src, tgt)]
        n = len(os_)
        c = Counter(o.status for o in os_)
        print(f"{src + ' → ' + tgt:<12}{_rate(c['complete'], n):>16}"
              f"{_rate(c['complete, differs'], n):>16}{_rate(c['invalid KQL'], n):>16}"
              f"{_rate(c['partial'], n):>16}"
              f"{_rate(c['refused'], n):>16}{c['crash']:>14}"
              f"{_rate(sum(o.as_expected for o in os_), n):>18}")
    print()
    for src, tgt in directions:
        os_ = [o for o in outcomes if (o.source, o.target) == (src, tgt)]
        want = [o for o in os_ if o.expected == "translates"]
        print(f"{src} → {tgt}: expected to translate {len(want)}, complete "
              f"{sum(o.status == 'complete' for o in want)}; expected refused "
              f"{len(os_) - len(want)}, refused {sum(o.status == 'refused' for o in os_ if o.expected == 'refused')}")
    reasons = Counter((o.source, o.status, o.reason) for o in outcomes
                      if o.status not in ("complete",))
    print("\nmost frequent reasons (not complete), per source language")
    for (src, status, reason), n in reasons.most_common(show or 25):
        print(f"  {n:>4}  {src:<4}{status:<18}{reason}")
    blocking = Counter(c for o in outcomes if o.expected == "translates" and
                       o.status != "complete" for c in o.constructs)
    print("\nconstructs of the detections that should translate and do not (a detection counts "
          "once per construct it uses)")
    for c, n in blocking.most_common(20):
        print(f"  {n:>4}  {c}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--from", dest="sources", action="append", choices=sorted(TARGETS),
                    help="only this source language (repeatable; default both)")
    ap.add_argument("--no-check", action="store_true",
                    help="do not run both queries on sample data (faster)")
    ap.add_argument("--show", type=int, default=25, metavar="N", help="reasons to list")
    ap.add_argument("--json", action="store_true", help="print every outcome as JSON")
    ap.add_argument("--corpus", type=Path, default=CORPUS,
                    help="folder holding kql.yaml and spl.yaml (default tests/detections)")
    ap.add_argument("--kusto-parser", type=Path, metavar="DIR", nargs="?", const=KUSTO_DEFAULT,
                    help="check KQL translations with the official Kusto parser installed "
                         "(npm) in DIR (default: where the tests install it); needs node")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="lexiquery-detections-") as tmp:
        os.environ["LEXIQUERY_DATA_DIR"] = tmp
        os.environ["LEXIQUERY_LLM"] = "off"
        os.environ["LEXIQUERY_EMBEDDINGS"] = "false"
        os.environ["LEXIQUERY_OLLAMA_HOST"] = CLOSED_PORT_URL
        from lexiquery.catalog.store import load_catalog
        from lexiquery.config import get_settings

        settings = get_settings()
        catalog = load_catalog(None)  # built-ins and the reference packs, as a user has them
        outcomes: list[Outcome] = []
        started = time.perf_counter()
        for source in args.sources or sorted(TARGETS):
            path = args.corpus / f"{source}.yaml"
            if not path.exists():
                print(f"no corpus at {path}", file=sys.stderr)
                continue
            items = yaml.safe_load(path.read_text("utf-8")) or []
            for item in items:
                for target in TARGETS[source]:
                    outcomes.append(translate_one(item, source, target, not args.no_check,
                                                  settings, catalog))
        elapsed = time.perf_counter() - started
    if args.kusto_parser is not None:
        kusto_check(outcomes, None if args.kusto_parser is KUSTO_DEFAULT else args.kusto_parser)
    if args.json:
        json.dump([o.__dict__ for o in outcomes], sys.stdout, indent=2)
        print()
        return 0
    print(f"detections: {len({(o.source, o.item) for o in outcomes})} queries, "
          f"{len(outcomes)} translations, sample check {'off' if args.no_check else 'on'}, "
          f"{elapsed:.1f} s\n")
    report(outcomes, args.show)
    return 0


if __name__ == "__main__":
    sys.exit(main())
