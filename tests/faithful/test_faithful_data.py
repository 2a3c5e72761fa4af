"""The faithfulness development set (issue 15) is well-formed: enough items of every kind, each
naming a real catalog source and that source's real fields, with facts in the language
bench/faithful.py reads, and the runbooks it stores are there.

These tests check the data, not the product's answers: bench/faithful.py measures those.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from lexiquery.catalog.model import Catalog, FieldType, Source
from lexiquery.catalog.store import load_catalog
from lexiquery.ir import Function, MetricFn, Operator

HERE = Path(__file__).resolve().parent
RUNBOOKS = HERE / "runbooks"

KINDS = {"precedence", "negation", "invented_filter", "metric", "runbook_definition",
         "runbook_threshold", "contradiction", "lookback"}
PLATFORMS = {"kql", "spl", "sql"}
ITEM_KEYS = {"id", "kind", "question", "platform", "expect", "exact_filters",
             "decided_by_question", "knowledge_fills", "without_knowledge", "runbooks", "note"}
FACT_KEYS = {"source", "filters", "not_filters", "metric", "metric_field", "group", "threshold",
             "time", "limit"}
# The IR's operators, plus the negations bench/faithful.py reads from a `not` around an operator
# that has no complement of its own.
OPS = {o.value for o in Operator} | {"not_startswith", "not_endswith", "not_has", "not_regex"}
LIST_OPS = {"in", "not_in"}
UNARY_OPS = {"exists", "not_exists"}
ORDER_OPS = {"gt", "ge", "lt", "le"}
METRICS = {m.value for m in MetricFn} | {"none"}
METRICS_WITHOUT_FIELD = {"count", "first_seen", "last_seen", "none"}
TIME = re.compile(r"^\d+[mhdw]$")

# The cases issue 15 quotes, word for word (or, for the quoted fragments, the questions built
# around them).
QUOTED = [
    "accounts with more than 20 failed logons (4625) in the last hour",
    "users who signed in from more than 3 distinct countries in the last 7 days",
    "top 10 client IPs by requests excluding status 200 and 304",
    "failed logons excluding service accounts starting with svc_",
    "sign-ins from outside the US in the last 24 hours",
    "users added to a security-enabled global group (event 4728)",
    "dns queries where the length of the query name is more than 60",
    "bytes sent per source ip",
    "show users with too many failed sign-ins in the last day",
]
SOP_017_DEFINITION = ("For this procedure a failed sign-in is a sign-in whose result code is "
                      "50126 (invalid username or password) or 50053 (account locked)")


@lru_cache(maxsize=None)
def development_items() -> list[dict[str, Any]]:
    data = yaml.safe_load((HERE / "questions.yaml").read_text("utf-8"))
    assert isinstance(data, list)
    return data


@lru_cache(maxsize=None)
def holdout_items() -> list[dict[str, Any]]:
    """The held-back items (holdout.yaml): same form, never tuned on."""
    data = yaml.safe_load((HERE / "holdout.yaml").read_text("utf-8"))
    assert isinstance(data, list)
    return data


def items() -> list[dict[str, Any]]:
    """Every item whose form is checked: the development set and the held-back set."""
    return [*development_items(), *holdout_items()]


@lru_cache(maxsize=None)
def catalog() -> Catalog:
    return load_catalog(None, reference=False)


def source_of(item: dict[str, Any]) -> Source:
    """The source the item's facts are about: `expect.source`, or the runbook's
    (`knowledge_fills.source`) when only the runbook decides it."""
    sid = (item.get("expect") or {}).get("source") or \
        (item.get("knowledge_fills") or {}).get("source")
    assert sid, f"{item.get('id')}: no source in expect or knowledge_fills"
    src = catalog().get(sid)
    assert src is not None, f"{item['id']}: {sid!r} is not a catalog source id " \
                            f"(known: {', '.join(sorted(catalog().ids()))})"
    return src


def fact_blocks(item: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    yield "expect", item.get("expect") or {}
    for key in ("knowledge_fills", "without_knowledge"):
        if item.get(key):
            yield key, item[key]


def filter_facts(entries: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for e in entries or []:
        if "any_of" in e:
            assert set(e) == {"any_of"} and len(e["any_of"]) >= 2, e
            yield from e["any_of"]
        else:
            yield e


def ids() -> list[str]:
    return [i.get("id", "?") for i in items()]


# ----------------------------------------------------------------------------------- the set


def test_enough_items_with_unique_ids_and_questions() -> None:
    assert len(development_items()) >= 120 and len(holdout_items()) >= 30
    dup_ids = [k for k, n in Counter(ids()).items() if n > 1]
    assert not dup_ids, dup_ids
    dup_q = [k for k, n in Counter((i["question"], i["platform"], tuple(i.get("runbooks") or ()))
                                   for i in items()).items() if n > 1]
    assert not dup_q, dup_q


def test_every_kind_has_at_least_ten_items() -> None:
    counts = Counter(i["kind"] for i in development_items())
    assert set(counts) == KINDS, set(counts) ^ KINDS
    assert all(n >= 10 for n in counts.values()), counts


def test_the_cases_quoted_in_the_issue_are_in_the_set() -> None:
    questions = {i["question"] for i in items()}
    missing = [q for q in QUOTED if q not in questions]
    assert not missing, missing


@pytest.mark.parametrize("item", items(), ids=ids())
def test_item_shape(item: dict[str, Any]) -> None:
    assert set(item) <= ITEM_KEYS, set(item) - ITEM_KEYS
    assert re.fullmatch(r"[a-z]+-\d{3}", item["id"])
    assert item["kind"] in KINDS
    assert item["platform"] in PLATFORMS
    assert isinstance(item["question"], str) and item["question"].strip()
    assert isinstance(item.get("decided_by_question"), bool), "decided_by_question: true/false"
    assert isinstance(item.get("exact_filters", False), bool)
    assert isinstance(item.get("expect"), dict)
    for where, block in fact_blocks(item):
        assert set(block) <= FACT_KEYS, f"{where}: {set(block) - FACT_KEYS}"
    if "runbooks" in item:  # the knowledge run stores these runbooks only
        names = item["runbooks"]
        assert isinstance(names, list) and names, "runbooks: a non-empty list of file names"
        assert all((RUNBOOKS / n).is_file() for n in names), names
    if item["decided_by_question"]:
        assert not item.get("knowledge_fills") and not item.get("without_knowledge"), \
            "an item the question decides entirely leaves nothing for knowledge to fill"
        assert item["expect"].get("source"), "the question decides the source too"
    else:
        assert item.get("knowledge_fills") or item.get("without_knowledge"), \
            "an item the question does not decide says what knowledge fills"


@pytest.mark.parametrize("item", items(), ids=ids())
def test_sources_and_fields_exist(item: dict[str, Any]) -> None:
    src = source_of(item)
    fills = item.get("knowledge_fills") or {}
    assert not ("source" in fills and (item["expect"].get("source") or src.id) != src.id)
    names = {f.name for f in src.fields}
    for where, block in fact_blocks(item):
        if "source" in block:
            assert block["source"] == src.id, f"{where}: a second source {block['source']}"
        used = [f["field"] for key in ("filters", "not_filters")
                for f in filter_facts(block.get(key) or [])]
        used += list(block.get("group") or [])
        if block.get("metric_field"):
            used.append(block["metric_field"])
        unknown = sorted(set(used) - names)
        assert not unknown, f"{where}: {unknown} are not fields of {src.id} " \
                            f"({', '.join(sorted(names))})"


def _check_value(src: Source, fact: dict[str, Any]) -> None:
    op, value = fact["op"], fact.get("value")
    if op in UNARY_OPS:
        assert value is None, f"{op} takes no value"
        return
    if op in LIST_OPS:
        assert isinstance(value, list) and len(value) >= 2, \
            f"{op} takes a list of two or more values (one value: use eq/ne)"
        values = value
    else:
        assert value is not None and not isinstance(value, (list, dict)), f"{op} takes one value"
        values = [value]
    if fact.get("fn"):  # length(field) compares a number
        assert all(isinstance(v, int) for v in values), fact
        return
    ftype = src.field(fact["field"]).type
    for v in values:
        if ftype in {FieldType.int, FieldType.long}:
            assert isinstance(v, int) and not isinstance(v, bool), \
                f"{fact['field']} is {ftype.value}: {v!r} should be a number"
        elif ftype is FieldType.real:
            assert isinstance(v, (int, float)) and not isinstance(v, bool), fact
        elif ftype is FieldType.bool:
            assert isinstance(v, bool), fact
        elif ftype is FieldType.string and op not in ORDER_OPS:
            assert isinstance(v, str), \
                f"{fact['field']} is a string field: quote {v!r} in the YAML"


@pytest.mark.parametrize("item", items(), ids=ids())
def test_facts_use_the_fact_language(item: dict[str, Any]) -> None:
    src = source_of(item)
    functions = {f.value for f in Function}
    for where, block in fact_blocks(item):
        for key in ("filters", "not_filters"):
            entries = block.get(key)
            assert entries is None or isinstance(entries, list), f"{where}.{key}"
            if key == "not_filters":
                assert not any("any_of" in e for e in entries or []), "any_of is for filters"
            for fact in filter_facts(entries or []):
                assert set(fact) <= {"field", "op", "value", "fn"}, fact
                assert fact["op"] in OPS, f"{where}.{key}: unknown op {fact['op']!r}"
                if "fn" in fact:
                    assert fact["fn"] in functions, fact
                _check_value(src, fact)
        if "metric" in block:
            metric = block["metric"]
            assert metric in METRICS, f"{where}: unknown metric {metric!r}"
            if metric not in METRICS_WITHOUT_FIELD:
                assert block.get("metric_field") or item["expect"].get("metric_field"), \
                    f"{where}: {metric} needs a metric_field"
        if "group" in block:
            assert isinstance(block["group"], list)
        if "threshold" in block and block["threshold"] != "none":
            t = block["threshold"]
            assert isinstance(t, dict) and set(t) == {"op", "value"} and \
                t["op"] in ORDER_OPS and isinstance(t["value"], (int, float)), t
        if "time" in block:
            assert block["time"] == "none" or TIME.match(str(block["time"])), block["time"]
        if "limit" in block:
            assert isinstance(block["limit"], int) and block["limit"] >= 1
    if item.get("exact_filters"):
        assert "filters" in item["expect"] or any(
            "filters" in b for w, b in fact_blocks(item) if w != "expect"), \
            "exact_filters needs the filters it allows (filters: [] for none)"


# ------------------------------------------------------------------------------- runbooks


def runbooks() -> list[Path]:
    return sorted(RUNBOOKS.glob("*.md"))


def test_six_to_eight_runbooks_exist_and_are_not_empty() -> None:
    found = runbooks()
    assert 6 <= len(found) <= 8, [p.name for p in found]
    for p in found:
        text = p.read_text("utf-8")
        assert len(text.strip()) > 500, f"{p.name} is nearly empty"
        assert text.lstrip().startswith("# "), f"{p.name} has no title"


def test_runbooks_hold_the_language_the_issue_names() -> None:
    texts = {p.name: p.read_text("utf-8") for p in runbooks()}
    everything = "\n".join(texts.values())
    sop17 = next(t for n, t in texts.items() if "SOP-017" in t.splitlines()[0])
    assert SOP_017_DEFINITION in sop17
    assert re.search(r"^\d+\. Escalate any user with more than 7 failures", sop17, re.M)
    assert "if a host exceeds 20 connections per minute" in everything
    tables = [n for n, t in texts.items() if re.search(r"^\|[-| :]+\|$", t, re.M)]
    assert tables, "at least one runbook has a table"
    assert re.search(r"[Ll]ook back \d+", everything), "a look-back in a procedure step"
