"""Benchmark: prompt size per journey with schema narrowing vs the full catalog, and LLM calls
per journey (a scripted mix of good and repaired answers).

    .venv/bin/python bench/bench_llm.py [--limit N]

Over the golden questions (tests/nl/questions.py), against the built-in catalog:

* characters of the planning prompt (system rules + schema + examples + question), narrowed
  (`nl.narrow`, settings.llm_max_sources) and with the whole catalog (`nl.narrow.full_text`);
* estimated tokens (characters / 4, what we can know before a call: there is no tokenize
  endpoint and no tiktoken) and measured tokens: Ollama's `prompt_eval_count` as the in-process
  stand-in (tests/ollama_server.py) reports it — whitespace tokens, not llama3's BPE tokens,
  so the *ratio* is the figure to read; a real llama3 counts roughly 1.3–1.5× more tokens;
* LLM calls per journey through `plan_with_llm` with a script per question: good at once, or
  invalid JSON then good, or an unknown field then good, or three bad answers (fallback).
  "Good" is the rules engine's plan for the question, so it validates.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "nl"))


def golden_questions() -> list[str]:
    from questions import QUESTIONS  # type: ignore[import-not-found]

    return [q for q, _ in QUESTIONS]


def script_for(i: int, good: dict) -> tuple[str, list]:
    """A deterministic mix: 60% good, 15% bad JSON first, 15% unknown field first, 10% fail."""
    bad_field = {**good, "project": ["no_such_field"]}
    kind = ("good", "good", "good", "json", "good", "field", "good", "json", "field",
            "fail", "good", "good", "json", "field", "good", "good", "good", "fail", "good",
            "good")[i % 20]
    return kind, {"good": [good], "json": ["Here is the query:", good],
                  "field": [bad_field, good],
                  "fail": ["nope", bad_field, "{\"source\": \"x\"}"]}[kind]


async def run(questions: list[str]) -> dict:
    from ollama_server import FakeOllama  # type: ignore[import-not-found]

    from lexiquery.catalog.builtin import builtin_catalog
    from lexiquery.config import get_settings
    from lexiquery.errors import QuestionError
    from lexiquery.llm.client import OllamaChat
    from lexiquery.nl.examples import compact, select_examples
    from lexiquery.nl.llm import plan_with_llm
    from lexiquery.nl.narrow import full_text, narrow
    from lexiquery.nl.prompts import build_messages
    from lexiquery.nl.rules import parse_question

    catalog = builtin_catalog()
    full = full_text(catalog)
    rows: list[dict] = []
    kinds: Counter[str] = Counter()
    with FakeOllama(chat_model="llama3") as server:
        settings = get_settings(ollama_host=server.url, data_dir=ROOT / ".bench-data")
        chat = OllamaChat(settings)
        for i, q in enumerate(questions):
            try:
                good = parse_question(q, catalog).plan
            except QuestionError:
                continue
            good_json = compact(good.model_copy(update={"issues": []}))
            n = narrow(q, catalog, max_sources=settings.llm_max_sources)
            examples = select_examples(q, catalog, k=settings.llm_examples, sources=n.sources)
            narrow_msgs = build_messages(q, n.text, examples)
            full_msgs = build_messages(q, full, examples)
            # Measured: the server's prompt_eval_count for each prompt, one call each.
            server.chat_script = [good_json, good_json]
            r_n = await chat.chat(narrow_msgs, format={})
            r_f = await chat.chat(full_msgs, format={})
            kind, script = script_for(i, good_json)
            server.chat_script = list(script)
            out = await plan_with_llm(q, catalog, chat=chat, settings=settings,
                                      examples=examples)
            kinds[kind] += 1
            rows.append({
                "narrow_chars": sum(len(m["content"]) for m in narrow_msgs),
                "full_chars": sum(len(m["content"]) for m in full_msgs),
                "narrow_tokens": r_n.prompt_tokens or 0, "full_tokens": r_f.prompt_tokens or 0,
                "sources": len(n.sources), "calls": out.calls, "repairs": out.repairs,
                "engine": out.engine, "journey_prompt_chars": sum(out.prompt_chars)})
        await chat.aclose()
    return {"rows": rows, "kinds": kinds, "full_schema_chars": len(full)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=0, help="only the first N golden questions")
    args = ap.parse_args()
    qs = golden_questions()
    qs = qs[:args.limit] if args.limit else qs
    res = asyncio.run(run(qs))
    rows = res["rows"]
    if not rows:
        print("no question produced a plan")
        return

    def mean(key: str) -> float:
        return statistics.mean(r[key] for r in rows)

    def med(key: str) -> float:
        return statistics.median(r[key] for r in rows)

    print(f"questions: {len(rows)} (golden, built-in catalog of 13 sources; full schema text "
          f"{res['full_schema_chars']} chars)")
    print(f"{'per first planning prompt':28} {'narrowed':>10} {'full':>10} {'ratio':>7}")
    for label, a, b in (("characters (mean)", "narrow_chars", "full_chars"),
                        ("characters (median)", "narrow_chars", "full_chars")):
        f = mean if "mean" in label else med
        print(f"{label:28} {f(a):10.0f} {f(b):10.0f} {f(b) / f(a):7.2f}")
    print(f"{'est. tokens, chars/4 (mean)':28} {mean('narrow_chars') / 4:10.0f} "
          f"{mean('full_chars') / 4:10.0f} {mean('full_chars') / mean('narrow_chars'):7.2f}")
    print(f"{'measured tokens (mean)':28} {mean('narrow_tokens'):10.0f} "
          f"{mean('full_tokens'):10.0f} {mean('full_tokens') / mean('narrow_tokens'):7.2f}")
    print(f"narrowed sources per prompt: mean {mean('sources'):.2f}")
    calls = Counter(r["calls"] for r in rows)
    print(f"script mix: {dict(res['kinds'])}")
    print(f"LLM calls per journey: mean {mean('calls'):.2f}, distribution "
          f"{dict(sorted(calls.items()))}; repairs mean {mean('repairs'):.2f}; "
          f"fell back to rules {sum(r['engine'] == 'rules' for r in rows)}/{len(rows)}")
    print(f"prompt characters per journey (all calls, narrowed): mean "
          f"{mean('journey_prompt_chars'):.0f}")


if __name__ == "__main__":
    main()
