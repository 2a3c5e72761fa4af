"""The KQL half of the detection corpus (issue 16): its FORM, not its translations.

`kql.yaml` holds real-style Sentinel / Defender detections, each with the constructs it uses and
the translation status expected once issue 16 is done. These tests check that the corpus is well
formed: enough items, unique ids, exactly the agreed keys, constructs from the agreed vocabulary,
a reason for every refusal, and that every table a query reads is a real Log Analytics table of
the packed reference catalog (`src/lexiquery/catalog/reference/log_analytics.json`, built from the
shared facts by `tools/build_reference_packs.py`; the facts folder itself is not available to CI).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CORPUS = HERE / "kql.yaml"
PACK = ROOT / "src" / "lexiquery" / "catalog" / "reference" / "log_analytics.json"

KEYS = {"id", "title", "query", "constructs", "expect", "why"}
TARGETS = {"spl", "sql"}
STATUSES = {"translates", "refused"}
VOCABULARY = {
    "where", "project", "project_away", "project_rename", "extend", "summarize", "count",
    "dcount", "sum_avg_min_max", "percentile", "make_set", "make_list", "arg_max", "arg_min",
    "bin", "having", "extend_after_summarize", "second_summarize", "sort", "top", "take",
    "distinct", "let", "join_inner", "join_leftouter", "join_leftanti", "in_subquery", "union",
    "mv_expand", "parse", "extract", "parse_json", "member_access", "index_access", "has",
    "has_any", "has_all", "contains", "startswith", "endswith", "matches_regex", "in_list",
    "not_in_list", "between", "iff_case", "coalesce", "datetime_diff", "startof",
    "format_datetime", "strlen", "tolower_toupper", "split", "countof", "array_length",
    "bag_keys", "ipv4", "ago_now", "old_spelling", "externaldata", "evaluate", "make_series",
    "tostring_toint",
}
# Constructs a KQL query cannot be translated with at all: where one is used, the item must be
# refused on both targets, and an item refused anywhere must use one of them.
NEVER_TRANSLATES = {"externaldata", "evaluate", "make_series"}

_STRING = re.compile(r'@"[^"]*"|@\'[^\']*\'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'')
_COMMENT = re.compile(r"//[^\n]*")
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z_0-9]*|\$\w+|[-+]?\d[\w.]*|==|=~|!=|\S")
_OPTION = re.compile(r"^(kind|withsource|isfuzzy|hint\.\w+)$")


def _items() -> list[dict]:
    return yaml.safe_load(CORPUS.read_text(encoding="utf-8"))


def _tables() -> set[str]:
    return {t["name"] for t in json.loads(PACK.read_text(encoding="utf-8"))["tables"]}


def _tokens(query: str) -> list[str]:
    return _TOKEN.findall(_COMMENT.sub(" ", _STRING.sub(' "" ', query)))


def _skip_options(toks: list[str], i: int) -> int:
    """Past `kind=inner`, `withsource=T`, `hint.remote=auto` … after `join` / `union`."""
    while i + 2 < len(toks) and _OPTION.match(toks[i]) and toks[i + 1] == "=":
        i += 3
    return i


def table_reads(query: str) -> tuple[set[str], set[str]]:
    """(tables read, names bound by `let`) of one KQL query.

    A table is read where a tabular expression starts: the first identifier of every statement
    (`T | …` or `let x = T | …`), of every parenthesised pipeline (`join (T | …)`,
    `in (T | …)`, `union (T | …)`, `materialize(T | …)`), and the bare operands of `join` and
    `union` (`join kind=inner T on …`, `union T1, T2`). Calls such as `externaldata(…)`, `ago(…)`,
    `dynamic(…)` are not tables.
    """
    toks = _tokens(query)
    reads: set[str] = set()
    bound: set[str] = set()

    def ident(i: int) -> bool:
        return 0 <= i < len(toks) and re.match(r"[A-Za-z_]", toks[i]) is not None

    def is_call(i: int) -> bool:
        return i + 1 < len(toks) and toks[i + 1] == "("

    def take(i: int) -> None:
        if ident(i) and not is_call(i):
            reads.add(toks[i])

    statement_start = True
    for i, tok in enumerate(toks):
        if statement_start:
            statement_start = False
            if tok == "let" and ident(i + 1) and i + 2 < len(toks) and toks[i + 2] == "=":
                bound.add(toks[i + 1])
                j = i + 3
                while j < len(toks) and toks[j] == "(":
                    j += 1
                # a tabular let starts a pipeline (`T | …`, `T;`) — a scalar let is a literal/call
                if ident(j) and not is_call(j) and j + 1 < len(toks) and toks[j + 1] in {"|", ";"}:
                    take(j)
            elif tok != "let" and tok not in {"union"}:
                take(i)
        if tok == ";":
            statement_start = True
        elif tok == "(" and ident(i + 1) and i + 2 < len(toks) and toks[i + 2] == "|":
            take(i + 1)  # a parenthesised pipeline: (T | …)
        elif tok == "join":
            j = _skip_options(toks, i + 1)
            if j < len(toks) and toks[j] != "(":
                take(j)
        elif tok == "union":
            j = _skip_options(toks, i + 1)
            while j < len(toks):
                if toks[j] == "(":  # (T | …): taken by the parenthesised-pipeline rule
                    depth, j = 1, j + 1
                    while j < len(toks) and depth:
                        depth += {"(": 1, ")": -1}.get(toks[j], 0)
                        j += 1
                else:
                    take(j)
                    j += 1
                if j < len(toks) and toks[j] == ",":
                    j += 1
                    continue
                break
    return reads - bound, bound


ITEMS = _items()


def test_at_least_100_items() -> None:
    assert isinstance(ITEMS, list)
    assert len(ITEMS) >= 100, len(ITEMS)


def test_ids_unique_and_well_formed() -> None:
    ids = [item.get("id") for item in ITEMS]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    bad = [i for i in ids if not re.fullmatch(r"kql-\d{3}", str(i))]
    assert not bad, bad


@pytest.mark.parametrize("item", ITEMS, ids=[str(i.get("id")) for i in ITEMS])
def test_item_form(item: dict) -> None:
    assert set(item) == KEYS, set(item) ^ KEYS
    assert isinstance(item["title"], str) and item["title"].strip()
    assert isinstance(item["query"], str) and item["query"].strip()
    constructs = item["constructs"]
    assert isinstance(constructs, list) and constructs
    assert len(constructs) == len(set(constructs)), "a construct is listed twice"
    assert set(constructs) <= VOCABULARY, set(constructs) - VOCABULARY
    expect = item["expect"]
    assert isinstance(expect, dict) and set(expect) == TARGETS, expect
    assert set(expect.values()) <= STATUSES, expect
    assert isinstance(item["why"], str)
    refused = [t for t, s in expect.items() if s == "refused"]
    if refused:
        assert item["why"].strip(), f"refused on {refused} without a why"
    else:
        assert not item["why"].strip(), "a why on an item that translates everywhere"


@pytest.mark.parametrize("item", ITEMS, ids=[str(i.get("id")) for i in ITEMS])
def test_refusals_follow_constructs(item: dict) -> None:
    """An item using a construct no target can express is refused on both; nothing else is."""
    never = NEVER_TRANSLATES & set(item["constructs"])
    statuses = set(item["expect"].values())
    if never:
        assert statuses == {"refused"}, (never, item["expect"])
    else:
        assert statuses == {"translates"}, item["expect"]


@pytest.mark.parametrize("item", ITEMS, ids=[str(i.get("id")) for i in ITEMS])
def test_reads_only_real_tables(item: dict) -> None:
    reads, _ = table_reads(item["query"])
    assert reads, "no table found in the query"
    unknown = reads - _tables()
    assert not unknown, f"not a Log Analytics table of the reference pack: {sorted(unknown)}"


def test_table_reads_helper() -> None:
    """The extraction itself, on the shapes the corpus uses."""
    q = """let lookback = 7d;
    let known = SigninLogs | where TimeGenerated > ago(lookback) | distinct IPAddress;
    let feed = externaldata(ip: string) [@"https://example.org/x.txt"] with (format="txt");
    union AuditLogs, (OfficeActivity | where Operation == "x")
    | join kind=leftanti known on IPAddress
    | join kind=inner (AzureActivity | project Caller) on Caller
    | where Caller in (SecurityEvent | distinct Account)
    | where IPAddress !in (feed)"""
    reads, bound = table_reads(q)
    assert reads == {"SigninLogs", "AuditLogs", "OfficeActivity", "AzureActivity", "SecurityEvent"}
    assert bound == {"lookback", "known", "feed"}


def test_vocabulary_is_exercised() -> None:
    """The corpus covers the constructs issue 16 names, each at least once."""
    used = {c for item in ITEMS for c in item["constructs"]}
    assert VOCABULARY - used == set(), sorted(VOCABULARY - used)
