"""The SPL half of the detection corpus (issue 16): its FORM, not its translations.

`spl.yaml` holds Splunk searches written in the style of `splunk/security_content` (ESCU)
detections and everyday SOC searches, each with the constructs it uses and the translation status
expected once issue 16 is done. These tests check that the corpus is well formed:

* enough items, unique `spl-NNN` ids, exactly the agreed keys, `kql` and `sql` targets only;
* constructs from the agreed vocabulary, and the tags a reader can check mechanically agree with
  the query (a `| transaction` is tagged `transaction`, a tag `join` has a `| join`, ...);
* a reason for every refusal, and the commands no target can run are refused on both;
* every macro a query calls is declared in the catalog's ESCU pack (`catalog.escu_macros`, with
  its `*_filter` pattern) or listed
  below in `MACROS_NOT_DECLARED`; every `datamodel=` names a CIM model / dataset of the packed
  facts (`cim_datamodels.yaml`) or is listed in `DATAMODELS_NOT_PACKED`; every CIM field a
  tstats search names (`Processes.process_name`) is a field of that model; every `sourcetype=` /
  `source=` a search selects on is a source of the packed Splunk reference (`splunk.json`) or one
  of its alias spellings; every lookup table is declared (`catalog.lookups`) with the fields the
  query names, or listed in `LOOKUPS_NOT_DECLARED`.

The NOT_DECLARED / NOT_PACKED sets are the to-do list for the catalog: `expect` assumes the
catalog knows these names by the time issue 16 is done.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import re
from pathlib import Path

import pytest
import yaml

from lexiquery.catalog.escu_macros import escu_macros
from lexiquery.catalog.lookups import builtin_lookups
from lexiquery.catalog.splunk_names import SOURCE_ALIASES, source_key, spl_keys

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CORPUS = HERE / "spl.yaml"
CIM = ROOT / "src" / "lexiquery" / "catalog" / "reference" / "cim_datamodels.yaml"
SPLUNK_PACK = ROOT / "src" / "lexiquery" / "catalog" / "reference" / "splunk.json"

KEYS = {"id", "title", "query", "constructs", "expect", "why"}
TARGETS = {"kql", "sql"}
STATUSES = {"translates", "refused"}
VOCABULARY = {
    "search_terms", "index_sourcetype", "or_group_source", "eventtype", "macro", "tstats",
    "datamodel", "stats_functions", "values_dc", "eventstats", "streamstats", "eval",
    "eval_if_case", "eval_string_fns", "eval_time_fns", "where", "like", "cidrmatch", "match",
    "isnull", "in_list", "quoted_field_in", "rex", "spath", "mvexpand", "mv_functions",
    "fillnull", "convert", "rename", "table_fields", "dedup", "sort", "head_tail", "top_rare",
    "bin", "timechart", "lookup", "inputlookup", "join", "subsearch", "transaction", "append",
    "multisearch", "map", "rest", "outputlookup_collect", "ml_command",
}

# Macros the corpus calls that the catalog's ESCU pack (src/lexiquery/catalog/escu_macros.py)
# does not declare yet, keyed as the catalog keys them (`name` or `name(arity)`, fnmatch
# patterns allowed). Empty: the pack declares every one the corpus calls (the `_filter` hooks by
# the `*_filter` pattern).
MACROS_NOT_DECLARED: set[str] = set()

# `datamodel=` names the packed CIM facts do not have yet (cim_datamodels.yaml). Empty: Risk
# (Enterprise Security's Risk Analysis model, root All_Risk) is packed with the CIM models.
DATAMODELS_NOT_PACKED: set[str] = set()

# Lookup tables the corpus reads (`lookup`, `inputlookup`) that the catalog does not declare yet
# (`catalog.lookups`, `lookups/*.yaml`). Empty: every one is declared, with the fields the
# corpus names.
LOOKUPS_NOT_DECLARED: set[str] = set()

# Commands no target can run: an item using one is refused on both targets.
NEVER_TRANSLATES = {"transaction", "map", "rest", "outputlookup_collect", "ml_command"}

# Command (first word of a pipeline stage) -> the construct tag it requires, and back.
COMMAND_TAGS = {
    "tstats": "tstats", "eventstats": "eventstats", "streamstats": "streamstats",
    "eval": "eval", "where": "where", "rex": "rex", "spath": "spath", "mvexpand": "mvexpand",
    "fillnull": "fillnull", "convert": "convert", "rename": "rename", "table": "table_fields",
    "fields": "table_fields", "dedup": "dedup", "sort": "sort", "head": "head_tail",
    "tail": "head_tail", "top": "top_rare", "rare": "top_rare", "bin": "bin", "bucket": "bin",
    "timechart": "timechart", "lookup": "lookup", "inputlookup": "inputlookup", "join": "join",
    "transaction": "transaction", "append": "append", "multisearch": "multisearch",
    "map": "map", "rest": "rest", "outputlookup": "outputlookup_collect",
    "collect": "outputlookup_collect", "predict": "ml_command",
    "anomalydetection": "ml_command", "fit": "ml_command", "apply": "ml_command",
}

_MACRO = re.compile(r"`([^`]*)`")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_COMMAND = re.compile(r"(?:^|\||\[)\s*([a-z]+)\b", re.MULTILINE)
_DATAMODEL = re.compile(r"\bdatamodel\s*=\s*\"?([A-Za-z_][\w.]*)")
_NODENAME = re.compile(r"\bnodename\s*=\s*\"?[\w.]+\"?")
_LOOKUP = re.compile(r"\|\s*(?:input)?lookup\s+(?:\w+=\S+\s+)*([A-Za-z_]\w*)")
_QUOTED_IN = re.compile(r'"[\w.{}/]+"\s+IN\s*\(')
_BARE_IN = re.compile(r'(?<![\w"])[A-Za-z_][\w.{}]*\s+IN\s*\(')


def _items() -> list[dict]:
    return yaml.safe_load(CORPUS.read_text(encoding="utf-8"))


ITEMS = _items()


def _ids() -> list[str]:
    return [str(it.get("id")) for it in ITEMS]


def macro_calls(query: str) -> set[str]:
    """Each macro call of the query as the catalog keys it: `name`, or `name(N)` for N values."""
    calls = set()
    for body in _MACRO.findall(query):
        m = re.fullmatch(r"\s*([\w.:-]+)\s*(?:\((.*)\))?\s*", body, re.DOTALL)
        assert m, f"unreadable macro call `{body}`"
        name, args = m.group(1), m.group(2)
        calls.add(name if args is None else f"{name}({len([a for a in args.split(',')])})")
    return calls


def commands(query: str) -> set[str]:
    """The first word of every pipeline stage and subsearch (quoted text and macros blanked)."""
    text = _MACRO.sub(" ", _QUOTED.sub('""', query))
    return set(_COMMAND.findall(text))


@functools.cache
def _cim() -> dict:
    return yaml.safe_load(CIM.read_text(encoding="utf-8"))


@functools.cache
def cim_names() -> set[str]:
    """`Model`, `Model.Root` and `Model.Dataset` for every model of the packed CIM facts."""
    names: set[str] = set()
    for m in _cim()["datamodels"]:
        names.add(m["model"])
        if m.get("root"):
            names.add(f"{m['model']}.{m['root']}")
        for ds in m.get("datasets", []):
            names.add(f"{m['model']}.{ds['name']}")
    return names


@functools.cache
def cim_fields() -> dict[str, set[str]]:
    """Field prefix (root dataset name) -> every `prefix.field` a tstats search may name."""
    out: dict[str, set[str]] = {}
    for m in _cim()["datamodels"]:
        root = m.get("root")
        if root:
            out.setdefault(root, set()).update(f"{root}.{f['name']}" for f in m.get("fields", []))
        for ds in m.get("datasets", []):
            if ds.get("root"):  # Endpoint: every dataset is a root of its own
                out.setdefault(ds["name"], set()).update(f"{ds['name']}.{f['name']}"
                                                         for f in ds.get("fields", []))
            elif root and ds.get("nodename"):
                out[root].update(f"{ds['nodename']}.{f['name']}" for f in ds.get("fields", []))
    return out


@functools.cache
def known_source_keys() -> set[tuple[str, str]]:
    keys: set[tuple[str, str]] = set()
    for t in json.loads(SPLUNK_PACK.read_text(encoding="utf-8"))["tables"]:
        keys |= spl_keys(t["search"])
    for group in SOURCE_ALIASES:
        keys |= {source_key(f, v) for f, v in group}
    return keys


_PAIR = re.compile(r'\b(sourcetype|source)\s*=\s*("[^"]*"|[^\s()\]|]+)')
_NOT_A_SEARCH = {"collect", "map", "rest", "outputlookup", "tstats"}


def selected_sources(query: str) -> set[tuple[str, str, str]]:
    """(field, value as written, key) for each sourcetype=/source= of a search stage."""
    out = set()
    for stage in re.split(r"[|\[\]]", _MACRO.sub(" ", query)):
        words = stage.split()
        if not words or words[0] in _NOT_A_SEARCH:
            continue
        for field, value in _PAIR.findall(stage):
            out.add((field, value, source_key(field, value)))
    return out


# ----------------------------------------------------------------------------------------------


def test_enough_items_and_unique_ids() -> None:
    assert len(ITEMS) >= 100
    ids = _ids()
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]
    assert all(re.fullmatch(r"spl-\d{3}", i) for i in ids), ids


@pytest.mark.parametrize("item", ITEMS, ids=_ids())
def test_item_form(item: dict) -> None:
    assert set(item) == KEYS
    assert isinstance(item["title"], str) and item["title"].strip()
    assert isinstance(item["query"], str) and item["query"].strip()
    assert isinstance(item["constructs"], list) and item["constructs"]
    unknown = set(item["constructs"]) - VOCABULARY
    assert not unknown, f"constructs outside the vocabulary: {unknown}"
    assert len(item["constructs"]) == len(set(item["constructs"])), "a construct listed twice"
    assert set(item["expect"]) == TARGETS
    assert set(item["expect"].values()) <= STATUSES
    refused = "refused" in item["expect"].values()
    assert isinstance(item["why"], str)
    if refused:
        assert len(item["why"].strip()) >= 20, "a refusal needs its specific reason"
    else:
        assert item["why"] == "", "`why` is only for refusals"


@pytest.mark.parametrize("item", ITEMS, ids=_ids())
def test_tags_agree_with_the_query(item: dict) -> None:
    """The tags a reader can check mechanically: commands, macros, data models, IN lists and the
    where-functions issue 16 names."""
    q, tags = item["query"], set(item["constructs"])
    cmds = commands(q)
    needed = {COMMAND_TAGS[c] for c in cmds if c in COMMAND_TAGS}
    if "stats" in cmds or "tstats" in cmds:
        needed.add("stats_functions")
    if "`" in q:
        needed.add("macro")
    if _DATAMODEL.search(q):
        needed.add("datamodel")
    if "tstats" in cmds and re.search(r"\bspan\s*=", q):
        needed.add("bin")
    clean = _MACRO.sub(" ", q)
    for fn, tag in (("like", "like"), ("cidrmatch", "cidrmatch"), ("isnull", "isnull"),
                    ("isnotnull", "isnull")):
        if re.search(rf"\b{fn}\(", _QUOTED.sub('""', clean)):
            needed.add(tag)
    if re.search(r"(?<!cidr)\bmatch\(", _QUOTED.sub('""', clean)):
        needed.add("match")
    if _QUOTED_IN.search(clean):
        needed.add("quoted_field_in")
    if _BARE_IN.search(_QUOTED.sub('""', clean)):
        needed.add("in_list")
    missing = needed - tags
    assert not missing, f"the query uses {missing} but its constructs do not say so"
    # and back: a command tag needs its command
    by_tag: dict[str, set[str]] = {}
    for c, t in COMMAND_TAGS.items():
        by_tag.setdefault(t, set()).add(c)
    if "tstats" in cmds and re.search(r"\bspan\s*=", q):
        cmds = cmds | {"bin"}  # `| tstats ... by _time span=1h` buckets time as `bin` does
    for tag in tags & set(by_tag):
        assert cmds & by_tag[tag], f"tagged {tag} but the query has no {sorted(by_tag[tag])}"
    if "subsearch" in tags:
        assert "[" in q
    if "datamodel" in tags:
        assert _DATAMODEL.search(q)


# Function-level tags, both ways: the tag is present exactly when the query calls one of these.
FUNCTION_TAGS = {
    "values_dc": r"\b(?:values|dc|distinct_count|list)\(",
    "mv_functions": r"\b(?:mvcount|mvindex|mvfilter|mvjoin|mvfind|split)\(|\bmax_match\s*=",
    "eval_time_fns": r"\b(?:strftime|strptime|relative_time|now)\(",
    "eval_if_case": r"\b(?:if|case|coalesce)\(",
    "eval_string_fns": r"\b(?:lower|upper|len|replace|substr|trim|urldecode)\(",
    "like": r"\blike\(",
    "cidrmatch": r"\bcidrmatch\(",
    "match": r"(?<!cidr)\bmatch\(",
    "isnull": r"\bis(?:not)?null\(",
}


@pytest.mark.parametrize("item", ITEMS, ids=_ids())
def test_function_tags_agree_with_the_query(item: dict) -> None:
    text = _QUOTED.sub('""', _MACRO.sub(" ", item["query"]))
    tags = set(item["constructs"])
    for tag, pattern in FUNCTION_TAGS.items():
        used = re.search(pattern, text) is not None
        assert used == (tag in tags), f"{tag}: used={used}, tagged={tag in tags}"
    clean = _MACRO.sub(" ", item["query"])
    assert bool(_QUOTED_IN.search(clean)) == ("quoted_field_in" in tags)
    assert bool(_BARE_IN.search(_QUOTED.sub('""', clean))) == ("in_list" in tags)


_SOURCE_FIELD = re.compile(r"\b(index|sourcetype|source|eventtype)\s*=")
_OR_GROUP = re.compile(r"\(\s*(?:index|sourcetype|source|eventtype)\s*=\s*\S+\s+OR\s+"
                       r"(?:index|sourcetype|source|eventtype)\s*=")


def search_stages(query: str) -> list[str]:
    """The event-search stages of a query (its leading search and each `search` stage or
    subsearch), with macros and quoted values blanked."""
    text = _QUOTED.sub('""', _MACRO.sub(" ", query))
    stages = []
    for n, stage in enumerate(re.split(r"[|\[\]]", text)):
        words = stage.split()
        if words and (words[0] == "search" or (n == 0 and not text.lstrip().startswith("|"))):
            stages.append(stage)
    return stages


@pytest.mark.parametrize("item", ITEMS, ids=_ids())
def test_source_tags_agree_with_the_query(item: dict) -> None:
    """index/sourcetype/source, eventtype and OR groups of them, written out (not via a macro)."""
    tags = set(item["constructs"])
    raw = _MACRO.sub(" ", item["query"])
    fields = {m for stage in search_stages(item["query"]) for m in _SOURCE_FIELD.findall(stage)}
    assert bool(fields & {"index", "sourcetype", "source"}) == ("index_sourcetype" in tags)
    assert ("eventtype" in fields) == ("eventtype" in tags)
    assert bool(_OR_GROUP.search(raw)) == ("or_group_source" in tags)
    assert ("[" in _QUOTED.sub('""', raw)) == ("subsearch" in tags)


@pytest.mark.parametrize("item", ITEMS, ids=_ids())
def test_commands_no_target_runs_are_refused(item: dict) -> None:
    if set(item["constructs"]) & NEVER_TRANSLATES:
        assert item["expect"] == {"kql": "refused", "sql": "refused"}


def test_macros_are_declared_or_listed() -> None:
    declared = escu_macros()
    undeclared: dict[str, list[str]] = {}
    for item in ITEMS:
        for call in macro_calls(item["query"]):
            if declared.get(call) is not None or \
                    any(fnmatch.fnmatchcase(call, p) for p in MACROS_NOT_DECLARED):
                continue
            undeclared.setdefault(call, []).append(item["id"])
    assert not undeclared, f"macros neither declared nor in MACROS_NOT_DECLARED: {undeclared}"


def test_listed_macros_are_still_undeclared_and_used() -> None:
    """Keep the to-do list honest: drop a name once the catalog declares it or no item uses it."""
    declared = set(escu_macros()) | set(escu_macros().patterns)
    used = set().union(*(macro_calls(it["query"]) for it in ITEMS))
    for pattern in MACROS_NOT_DECLARED:
        assert not any(fnmatch.fnmatchcase(d, pattern) for d in declared), pattern
        assert any(fnmatch.fnmatchcase(u, pattern) for u in used), pattern


def test_datamodels_are_packed_or_listed() -> None:
    known = cim_names() | DATAMODELS_NOT_PACKED
    bad = {(it["id"], dm) for it in ITEMS for dm in _DATAMODEL.findall(it["query"])
           if dm not in known}
    assert not bad, f"data models outside the CIM facts and DATAMODELS_NOT_PACKED: {sorted(bad)}"
    assert not (DATAMODELS_NOT_PACKED & cim_names()), "packed now: drop it from the list"


@pytest.mark.parametrize("item", [it for it in ITEMS if _DATAMODEL.search(it["query"])],
                         ids=[it["id"] for it in ITEMS if _DATAMODEL.search(it["query"])])
def test_cim_fields_exist(item: dict) -> None:
    """Every `Root.field` a data-model search names is a field of the packed CIM facts."""
    fields = cim_fields()
    text = _NODENAME.sub(" ", _DATAMODEL.sub(" ", _MACRO.sub(" ", item["query"])))
    roots = "|".join(sorted(fields, key=len, reverse=True))
    bad = set()
    for m in re.finditer(rf"(?<![\w.]){'(' + roots + ')'}\.([A-Za-z_][\w.]*)", text):
        name = f"{m.group(1)}.{m.group(2)}"
        if name not in fields[m.group(1)]:
            bad.add(name)
    assert not bad, f"not fields of the CIM data model: {sorted(bad)}"


@pytest.mark.parametrize("item", ITEMS, ids=_ids())
def test_sources_are_known(item: dict) -> None:
    known = known_source_keys()
    bad = {(f, v) for f, v, key in selected_sources(item["query"]) if key not in known}
    assert not bad, f"sourcetype/source not in the Splunk reference pack or its aliases: {bad}"


def test_lookups_are_declared_or_listed() -> None:
    declared = {t.name for t in builtin_lookups()}
    used = {name for it in ITEMS for name in _LOOKUP.findall(it["query"])}
    assert used - LOOKUPS_NOT_DECLARED - declared == set(), used - LOOKUPS_NOT_DECLARED - declared
    assert LOOKUPS_NOT_DECLARED - used == set(), "listed but unused"
    assert not (LOOKUPS_NOT_DECLARED & declared), "declared now: drop it from the list"


@pytest.mark.parametrize("item", [it for it in ITEMS if _LOOKUP.search(it["query"])],
                         ids=[it["id"] for it in ITEMS if _LOOKUP.search(it["query"])])
def test_lookup_fields_are_declared(item: dict) -> None:
    """Every field a `lookup NAME key [as x] OUTPUT f [as y] …` names is a field of NAME."""
    tables = {t.name: t for t in builtin_lookups()}
    for m in re.finditer(r"\|\s*lookup\s+(\w+)\s+([^|\]]*)", item["query"]):
        table = tables[m.group(1)]
        words = re.sub(r"\b(?:as|AS)\s+\S+", " ", m.group(2).replace(",", " ")).split()
        names = [w for w in words if w not in ("OUTPUT", "OUTPUTNEW")]
        assert names and all(table.field(n) for n in names), (m.group(1), names)


def test_construct_coverage() -> None:
    """Every construct of the vocabulary appears, and tstats over a data model is about 40 %."""
    seen = set().union(*(set(it["constructs"]) for it in ITEMS))
    assert VOCABULARY - seen == set(), VOCABULARY - seen
    share = sum("tstats" in it["constructs"] for it in ITEMS) / len(ITEMS)
    assert 0.3 <= share <= 0.5, share
