"""Worked examples for the LLM prompt: the few (question → QueryPlan) pairs most like a question.

    select_examples(question, catalog, *, k=4, procedures=None, sources=None) -> list[Example]

Candidates, each with its `origin`:

* ``builtin`` — `examples.yaml` next to this module, over the built-in catalog (an example whose
  source or fields the given catalog lacks is skipped, so a user catalog that replaces a
  built-in source never gets an example that no longer fits);
* ``runbook:<label>`` — the example queries of stored procedures (`ProcedureStore`) that our
  parsers read (`EmbeddedQuery.parses`), parsed again into a plan against `catalog`, with the
  procedure's title as the "question". Runbook text is data: it reaches the prompt as a plan.

* ``journey`` — past journeys (`journeys.JourneyStore`, the newest `JOURNEY_LIMIT`) that
  completed with a plan over `catalog` and whose every generated query was valid. "Accepted"
  means valid here: nothing records yet whether the analyst used the query.

Ranking is lexical (stemmed word overlap, weighted by rarity across the candidates), with a
bonus for an example over one of `sources` (the narrowed sources): an example on the data the
question is about teaches more than a similar sentence about other data. Deterministic.
"""

from __future__ import annotations

import json
import math
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from lexiquery.catalog.model import Catalog
from lexiquery.dialects import parse
from lexiquery.dialects.name_check import check_names
from lexiquery.ir import QueryPlan
from lexiquery.nl.injection import injection_line
from lexiquery.nl.lexicon import STOP_STEMS, stem_words

EXAMPLES_FILE = Path(__file__).with_name("examples.yaml")
INFERRED_KINDS = {None, "condition", "relative", "absolute"}  # see `compact`
JOURNEY_LIMIT = 50  # newest journeys read per selection: bounded work per question
SOURCE_BONUS = 1.5  # in units of one rare shared word
_parsed_lock = threading.Lock()
_parsed: dict[tuple[int, str, str], QueryPlan | None] = {}  # (catalog id, language, text)
_builtin_cache: weakref.WeakKeyDictionary[Catalog, tuple[tuple[int, ...], tuple[Example, ...]]] \
    = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Example:
    """One worked example: `plan_json` is the compact plan the prompt shows."""

    question: str
    plan: QueryPlan
    origin: str  # "builtin" | "runbook:<label>" | "journey"

    @property
    def plan_json(self) -> str:
        return plan_text(self.plan)


def compact(model: BaseModel) -> Any:
    """`model` as JSON data with defaults left out — except the `kind`s that tell an and/or/not
    filter or an expression apart (without it an `and` filter reads back as a broken
    condition). A condition's or a time point's kind is inferred on reading, so it is left
    out: fewer prompt tokens."""
    return _keep_kind(model.model_dump(mode="json"),
                      model.model_dump(mode="json", exclude_defaults=True))


def _keep_kind(full: Any, short: Any) -> Any:
    if isinstance(full, dict) and isinstance(short, dict):
        out = {"kind": full["kind"]} if full.get("kind") not in INFERRED_KINDS else {}
        out.update({k: _keep_kind(full.get(k), v) for k, v in short.items()})
        return out
    if isinstance(full, list) and isinstance(short, list):
        return [_keep_kind(f, v) for f, v in zip(full, short)]
    return short


def plan_text(plan: QueryPlan) -> str:
    """A plan as compact JSON (defaults left out): what the model should answer like."""
    return json.dumps(compact(plan.model_copy(update={"issues": []})), separators=(",", ":"))


@lru_cache(maxsize=1)
def _builtin_raw() -> tuple[tuple[str, QueryPlan], ...]:
    data = yaml.safe_load(EXAMPLES_FILE.read_text(encoding="utf-8")) or []
    return tuple((str(d["question"]), QueryPlan.model_validate(d["plan"])) for d in data)


def builtin_examples(catalog: Catalog) -> list[Example]:
    """The built-in examples that fit `catalog` (their source and names check out); cached
    per catalog object and its sources, like `nl.index` — treat the plans as read-only."""
    key = tuple(id(s) for s in catalog)
    with _parsed_lock:
        hit = _builtin_cache.get(catalog)
    if hit is not None and hit[0] == key:
        return list(hit[1])
    out = []
    for q, plan in _builtin_raw():
        src = catalog.get(plan.source)
        if src is not None and not check_names(plan, src):
            out.append(Example(q, plan, "builtin"))
    with _parsed_lock:
        _builtin_cache[catalog] = (key, tuple(out))
    return out


def runbook_examples(procedures: Any, catalog: Catalog) -> list[Example]:
    """Example queries of the stored procedures that parse into a plan over `catalog`."""
    try:
        labels = {d.id: d.label for d in procedures.list_documents()}
        items = procedures.procedures()
    except Exception:  # noqa: BLE001 — an unreadable store means no runbook examples, not a failure
        return []

    out = []
    for doc_id, proc in items:
        if injection_line(proc.title):
            continue  # the title would be quoted to the model as a question: never an order
        for q in proc.queries:
            if not q.parses:
                continue
            plan = _parse_cached(catalog, q.language, q.text)
            if plan is not None:
                out.append(Example(proc.title, plan, f"runbook:{labels.get(doc_id, doc_id)}"))
    return out


def journey_examples(journeys: Any, catalog: Catalog, *,
                     limit: int = JOURNEY_LIMIT) -> list[Example]:
    """Plans of recent journeys whose every query was valid, one per distinct question."""
    out: list[Example] = []
    seen: set[str] = set()
    try:
        recent = journeys.recent(limit)
    except Exception:  # noqa: BLE001 — an unreadable store means no journey examples
        return []
    for row in recent:
        q = (row.get("question") or "").strip()
        if not q or q.lower() in seen or row.get("status") != "COMPLETED":
            continue
        try:
            answer = journeys.get(row["journey_id"])
        except Exception:  # noqa: BLE001,S112 — one unreadable answer is skipped, not fatal
            continue
        if answer is None or answer.plan is None or not answer.queries or \
                not all(g.valid for g in answer.queries):
            continue
        src = catalog.get(answer.plan.source)
        if src is None or check_names(answer.plan, src):
            continue  # the catalog changed since: the plan would teach stale names
        seen.add(q.lower())
        out.append(Example(q, answer.plan.model_copy(update={"issues": []}), "journey"))
    return out


def _parse_cached(catalog: Catalog, language: str, text: str) -> QueryPlan | None:
    key = (id(catalog), language, text)
    with _parsed_lock:
        if key in _parsed:
            return _parsed[key]

    try:
        plan: QueryPlan | None = parse(text, language, catalog).plan
        if plan is not None and any(i.severity.value == "error" for i in plan.issues):
            plan = None  # a plan that lost part of the query would teach the wrong thing
    except Exception:  # noqa: BLE001 — a query that no longer parses is not an example
        plan = None
    with _parsed_lock:
        if len(_parsed) > 2048:
            _parsed.clear()
        _parsed[key] = plan
    return plan


def _words(text: str) -> set[str]:
    return {w for w in stem_words(text) if w not in STOP_STEMS and len(w) > 1}


def select_examples(question: str, catalog: Catalog, *, k: int = 4, procedures: Any = None,
                    journeys: Any = None,
                    sources: Sequence[str] | None = None) -> list[Example]:
    """The `k` candidates most similar to `question`, best first (see the module doc)."""
    if k <= 0:
        return []
    cands = builtin_examples(catalog)
    if procedures is not None:
        cands = runbook_examples(procedures, catalog) + cands  # runbooks first on ties
    if journeys is not None:
        cands = journey_examples(journeys, catalog) + cands  # the user's own wording first
    if not cands:
        return []
    bags = [_words(c.question) for c in cands]
    df: dict[str, int] = {}
    for bag in bags:
        for w in bag:
            df[w] = df.get(w, 0) + 1
    n = len(cands)
    q = _words(question)
    wanted = set(sources or ())
    scored = []
    for i, (c, bag) in enumerate(zip(cands, bags)):
        score = sum(math.log(1 + n / df[w]) for w in q & bag)
        if c.plan.source in wanted:
            score += SOURCE_BONUS * math.log(1 + n)
        scored.append((-score, i, c))
    scored.sort(key=lambda t: (t[0], t[1]))
    return [c for _, _, c in scored[:k]]


__all__ = ["Example", "builtin_examples", "compact", "journey_examples", "plan_text",
           "runbook_examples", "select_examples"]
