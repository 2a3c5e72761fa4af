"""Benchmark: runbook ingestion throughput and search latency at 1,000 and 10,000 chunks.

    .venv/bin/python bench/bench_sop.py [--sizes 1000 10000] [--queries 200] [--hybrid]

Synthetic runbooks (Markdown, ~10 chunks each: numbered steps, definitions, thresholds, a KQL
or SPL block, prose drawn from a security vocabulary) are ingested into a fresh store in a temp
directory, BM25-only (no embedder), which prints

* ingestion: documents/s and chunks/s through `ProcedureStore.add_bytes` (read, chunk, extract,
  flag, store — everything a user's `sop add` does), and PDF pages/s when fpdf2 is installed;
* the BM25 index build after a write (the cost the next search pays);
* search latency p50/p95 over `--queries` questions (the index warm, as in a running API).

With `--hybrid`, the same store is searched again with embeddings from the Ollama stand-in of
the tests (tests/ollama_server.py, on 127.0.0.1) and the ratio hybrid/BM25 is printed; the
stand-in's embedding is cheap, so the ratio is the cost of Chroma and the extra HTTP call, not
of a real model. Always exits 0: this is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WORDS = """account admin alert anomaly api audit authentication baseline beacon block brute
certificate cloud command compromise conditional credential dns domain endpoint escalation
exfiltration firewall geo guest hash host identity impossible travel incident ioc kerberos
lateral lockout login macro malware mfa mailbox network ntlm oauth password persistence phishing
policy powershell privilege process proxy ransomware registry remote risk rule scheduled task
script service session sharepoint signin smb spray suspicious tenant token tunnel user vpn
webshell workstation""".split()

QUERIES_KQL = ['SigninLogs\n| where ResultType in ("50126", "50053")\n| summarize count() by '
               'UserPrincipalName', 'SecurityEvent\n| where EventID == 4740\n| summarize count() '
               'by Computer']
QUERIES_SPL = ["index=wineventlog EventCode=4625 | stats count by user"]


def runbook(i: int, rng: random.Random) -> str:
    def sentence(n: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."

    topic = " ".join(rng.sample(WORDS, 3))
    parts = [f"# SOP-{i:04d}: {topic.title()}", "", sentence(25), ""]
    for s in range(1, 5):
        parts += [f"## {s}. {rng.choice(WORDS).title()} {rng.choice(WORDS)}", "",
                  sentence(30), " ".join(sentence(12) for _ in range(4)), ""]
        if s == 2:
            parts += [f"Failed sign-ins are result codes 50126 and {rng.choice(['50053', '50055'])}.",
                      f"Escalate when one account has more than {rng.randint(5, 50)} failed "
                      f"sign-ins within {rng.choice([5, 10, 15])} minutes.", "Look back 24 hours.",
                      ""]
        if s == 3:
            parts += [f"{n}. {sentence(14)}" for n in range(1, 8)] + [""]
            lang, q = rng.choice([("kql", rng.choice(QUERIES_KQL)),
                                  ("spl", QUERIES_SPL[0])])
            parts += [f"```{lang}", q, "```", ""]
    return "\n".join(parts)


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))] if s else float("nan")


def ingest(store, n_chunks: int, rng: random.Random) -> tuple[int, int, float]:  # type: ignore[no-untyped-def]
    docs = chunks = 0
    t0 = time.perf_counter()
    while chunks < n_chunks:
        r = store.add_bytes(f"sop-{docs:05d}.md", runbook(docs, rng).encode())
        docs += 1
        chunks += r.document.chunks
    return docs, chunks, time.perf_counter() - t0


def search_latency(store, queries: list[str]) -> list[float]:  # type: ignore[no-untyped-def]
    store.search(queries[0])  # warm: index built, embedder probed
    out = []
    for q in queries:
        t0 = time.perf_counter()
        store.search(q, limit=5)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def pdf_pages_per_s(tmp: Path) -> str:
    try:
        from fpdf import FPDF
    except ImportError:
        return "n/a (fpdf2 not installed: pip install -e '.[test]')"
    from lexiquery.config import get_settings
    from lexiquery.knowledge.store import ProcedureStore

    rng = random.Random(7)
    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    pages = 50
    for p in range(pages):
        pdf.add_page()
        pdf.multi_cell(0, 6, f"Section {p + 1}. " + runbook(p, rng).replace("#", "")[:2500])
    data = bytes(pdf.output())
    with ProcedureStore(get_settings(data_dir=tmp / "pdf"), embedder=None) as store:
        t0 = time.perf_counter()
        store.add_bytes("manual.pdf", data)
        dt = time.perf_counter() - t0
    return f"{pages / dt:,.0f} pages/s ({pages} pages in {dt:.2f} s)"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--hybrid", action="store_true", help="also measure hybrid search")
    args = ap.parse_args()

    from lexiquery.config import get_settings
    from lexiquery.knowledge.store import ProcedureStore

    rng = random.Random(42)
    queries = [" ".join(rng.sample(WORDS, rng.randint(2, 5))) for _ in range(args.queries)]
    queries[:3] = ["failed sign-ins brute force escalation", "account lockout event 4740",
                   "password spray from one ip"]
    print(f"{'chunks':>8} {'docs':>6} {'ingest docs/s':>14} {'chunks/s':>9} "
          f"{'bm25 build ms':>14} {'search p50 ms':>14} {'p95 ms':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        stores = {}
        for size in args.sizes:
            settings = get_settings(data_dir=Path(tmp) / f"s{size}", embeddings=False)
            store = ProcedureStore(settings, embedder=None)
            docs, chunks, dt = ingest(store, size, random.Random(size))
            t0 = time.perf_counter()
            store._lexical = None  # measure the rebuild the first search after a write pays
            store.lexical_index()
            build = (time.perf_counter() - t0) * 1000
            lat = search_latency(store, queries)
            print(f"{chunks:>8,} {docs:>6,} {docs / dt:>14,.1f} {chunks / dt:>9,.0f} "
                  f"{build:>14,.0f} {pct(lat, 50):>14.2f} {pct(lat, 95):>8.2f}")
            stores[size] = (settings, store, lat)
        print(f"PDF ingestion: {pdf_pages_per_s(Path(tmp))}")
        if args.hybrid:
            sys.path.insert(0, str(ROOT / "tests"))
            from ollama_server import FakeOllama

            from lexiquery.llm.embeddings import OllamaEmbedder

            print("\nhybrid (BM25 + Chroma, embeddings from the Ollama stand-in on 127.0.0.1)")
            print(f"{'chunks':>8} {'embed+ingest docs/s':>20} {'p50 ms':>8} {'p95 ms':>8} "
                  f"{'p50 ratio vs bm25':>18}")
            with FakeOllama() as server:
                for size in args.sizes:
                    settings = get_settings(data_dir=Path(tmp) / f"h{size}",
                                            ollama_host=server.url)
                    emb = OllamaEmbedder(host=server.url)
                    store = ProcedureStore(settings, embedder=emb)
                    docs, chunks, dt = ingest(store, size, random.Random(size))
                    lat = search_latency(store, queries)
                    base = stores[size][2]
                    print(f"{chunks:>8,} {docs / dt:>20,.1f} {pct(lat, 50):>8.2f} "
                          f"{pct(lat, 95):>8.2f} {pct(lat, 50) / pct(base, 50):>17.1f}x")
                    store.close()
        for _, store, _ in stores.values():
            store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
