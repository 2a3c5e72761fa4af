"""The development set is well-formed: its workspace files import, and every question's expected
table and columns exist in the workspace it names (bench/devset.py measures the product on it).

Columns are read from the workspace files themselves, not through LexiQuery, so a catalog bug
cannot make a wrong question look right.
"""

from __future__ import annotations

import csv
import json
import os
import re
from functools import lru_cache
from pathlib import Path

import pytest
import yaml

from lexiquery.catalog.importers import import_file
from lexiquery.errors import CatalogError

HERE = Path(__file__).resolve().parent
WORKSPACES = HERE / "workspaces"
PLATFORM_OF_SUFFIX = {".json": "kql", ".sql": "sql", ".csv": "spl"}
LA_ONLY = {"TenantId", "_ResourceId", "Type", "SourceSystem", "MachineGroup", "_BilledSize",
           "_IsBillable", "TimeGenerated"}


@lru_cache(maxsize=None)
def questions() -> list[dict]:
    return yaml.safe_load((HERE / "questions.yaml").read_text("utf-8"))


@lru_cache(maxsize=None)
def translations() -> list[dict]:
    return yaml.safe_load((HERE / "translations.yaml").read_text("utf-8"))


def workspace_path(name: str) -> Path:
    found = [p for p in WORKSPACES.glob(f"{name}.*") if p.suffix in PLATFORM_OF_SUFFIX]
    assert len(found) == 1, f"workspace {name!r}: expected one file, found {found}"
    return found[0]


@lru_cache(maxsize=None)
def kusto_tables(name: str) -> dict[str, set[str]]:
    doc = json.loads(workspace_path(name).read_text("utf-8"))
    return {t["Name"]: {c["Name"] for c in t["OrderedColumns"]}
            for db in doc["Databases"].values() for t in db["Tables"].values()}


@lru_cache(maxsize=None)
def sql_tables(name: str) -> dict[str, set[str]]:
    import sqlglot
    from sqlglot import exp

    out: dict[str, set[str]] = {}
    for stmt in sqlglot.parse(workspace_path(name).read_text("utf-8"), read="postgres"):
        if isinstance(stmt, exp.Create) and isinstance(stmt.this, exp.Schema):
            out[stmt.this.this.name.lower()] = {
                c.name.lower() for c in stmt.this.expressions if isinstance(c, exp.ColumnDef)}
    return out


@lru_cache(maxsize=None)
def splunk_rows(name: str) -> list[dict[str, str]]:
    with open(workspace_path(name), newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def reference_dir() -> Path | None:
    """shared/reference beside the repository (as on a developer's machine and in CI)."""
    repo = HERE.parents[1]
    for cand in (os.environ.get("LEXIQUERY_REFERENCE_DIR"), repo.parent / "shared" / "reference",
                 "/work/shared/reference"):
        if cand and (Path(cand) / "splunk_data_sources.jsonl").is_file():
            return Path(cand)
    return None


# ---------------------------------------------------------------------------- (a) fixtures


@pytest.mark.parametrize("name", ["defender_xdr", "sentinel", "warehouse"])
def test_workspace_file_imports(name: str) -> None:
    path = workspace_path(name)
    sources = import_file(path)
    platform = PLATFORM_OF_SUFFIX[path.suffix]
    tables = set(kusto_tables(name)) if platform == "kql" else set(sql_tables(name))
    bound = set()
    for s in sources:
        b = getattr(s.bindings, platform)
        assert b is not None, f"{s.id} has no {platform} binding"
        bound.add(b.table if platform == "kql" else b.table.lower())
    assert bound == tables


def test_splunk_inventory_imports() -> None:
    path = workspace_path("splunk_inventory")
    try:
        sources = import_file(path)
    except CatalogError as e:
        if "unsupported file type" in e.message:
            pytest.skip(f"import_file does not accept .csv yet: {e.message}")
        raise
    assert len(sources) == len(splunk_rows("splunk_inventory"))


def test_splunk_inventory_shape() -> None:
    rows = splunk_rows("splunk_inventory")
    assert rows and list(rows[0]) == ["index", "sourcetype", "source", "count"]
    assert all(r["index"] and r["sourcetype"] and r["source"] and r["count"].isdigit()
               for r in rows)
    pairs = [(r["index"], r["sourcetype"], r["source"]) for r in rows]
    assert len(pairs) == len(set(pairs))


def test_defender_schema_is_advanced_hunting() -> None:
    for table, cols in kusto_tables("defender_xdr").items():
        assert "Timestamp" in cols, table
        assert not cols & LA_ONLY, f"{table}: {sorted(cols & LA_ONLY)}"


def test_sentinel_schema_has_time_generated_and_custom_tables() -> None:
    tables = kusto_tables("sentinel")
    assert all("TimeGenerated" in cols for cols in tables.values())
    assert {"VpnLogs_CL", "ProxyLogs_CL", "OktaSystemLog_CL"} <= set(tables)


# ---------------------------------------------------------------------------- (b) questions


def _in_question(entry: str, question: str) -> bool:
    return entry.lower() in question.lower()


def test_every_expected_table_and_column_exists() -> None:
    problems = []
    for q in questions():
        path = workspace_path(q["workspace"])
        if PLATFORM_OF_SUFFIX[path.suffix] != q["platform"]:
            problems.append(f"{q['id']}: platform {q['platform']} for {path.name}")
            continue
        if q["platform"] == "spl":
            sts = {r["sourcetype"].lower() for r in splunk_rows(q["workspace"])}
            if q["table"].lower() not in sts:
                problems.append(f"{q['id']}: sourcetype {q['table']} not in the inventory")
            continue
        if q["platform"] == "kql":
            tables = kusto_tables(q["workspace"])
            cols = tables.get(q["table"])
            is_col = (lambda c, cols=cols: c in cols)
        else:
            tables = sql_tables(q["workspace"])
            cols = tables.get(q["table"].lower())
            is_col = (lambda c, cols=cols: c.lower() in cols)
        if cols is None:
            problems.append(f"{q['id']}: table {q['table']} not in {path.name}")
            continue
        # An entry is a column of the expected table, or a value the question states.
        for entry in q.get("contains") or []:
            if not is_col(entry) and not _in_question(entry, q["question"]):
                problems.append(f"{q['id']}: {entry!r} is neither a column of {q['table']} "
                                "nor in the question")
            elif re.fullmatch(r"[A-Za-z_]\w*", entry) and not is_col(entry) and \
                    re.fullmatch(r"[A-Z][a-z]+(?:[A-Z][a-z0-9]*)+|[A-Za-z]+_[a-z]", entry) and \
                    any(entry in c for c in tables.values()):
                # spelled like a column and a column elsewhere in the workspace: wrong table?
                problems.append(f"{q['id']}: {entry!r} is a column of another table, not of "
                                f"{q['table']}")
    assert not problems, "\n".join(problems)


def test_spl_fields_are_the_sourcetypes_fields() -> None:
    """SPL `contains` entries the question does not state are field names: each must be a field
    the reference data sources give that sourcetype (or its source, XML or not)."""
    ref = reference_dir()
    if ref is None:
        pytest.skip("shared/reference/splunk_data_sources.jsonl not found beside the repository")
    fields: dict[str, set[str]] = {}
    for line in (ref / "splunk_data_sources.jsonl").read_text("utf-8").splitlines():
        d = json.loads(line)
        for key in (d.get("sourcetype"), d.get("source")):
            if key:
                k = re.sub(r"^xml", "", key.lower())
                fields.setdefault(k, set()).update(d.get("fields") or [])
    problems = []
    for q in questions():
        if q["platform"] != "spl":
            continue
        known = fields.get(re.sub(r"^xml", "", q["table"].lower()), set())
        for entry in q.get("contains") or []:
            if not _in_question(entry, q["question"]) and entry not in known:
                problems.append(f"{q['id']}: {entry!r} is not a field of {q['table']}")
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------- (c) sizes


def test_questions_size_and_ids() -> None:
    qs = questions()
    assert len(qs) >= 150
    ids = [q["id"] for q in qs]
    assert len(ids) == len(set(ids))
    keys = {"id", "workspace", "platform", "question", "table", "contains"}
    for q in qs:
        assert set(q) == keys, q["id"]
        assert q["platform"] in {"kql", "spl", "sql"}
        assert isinstance(q["contains"], list) and len(q["contains"]) <= 3, q["id"]
        assert q["question"].strip()
    per = {w: sum(q["workspace"] == w for q in qs) for w in {q["workspace"] for q in qs}}
    assert per["defender_xdr"] >= 40 and per["sentinel"] >= 40
    assert per["splunk_inventory"] >= 30 and per["warehouse"] >= 30
    assert sum(q["table"].endswith("_CL") for q in qs) >= 10


def test_translations_size_and_shape() -> None:
    ts = translations()
    assert len(ts) == 40
    assert len({t["id"] for t in ts}) == 40
    for t in ts:
        assert set(t) == {"id", "from", "to", "query", "expect"}, t["id"]
        assert t["from"] in {"spl", "kql"} and t["to"] in {"kql", "spl", "sql"}
        assert t["expect"] in {"translate", "refuse"}
        assert t["query"].strip()
    assert sum(t["from"] == "spl" for t in ts) == 20
    assert sum(t["from"] == "kql" for t in ts) == 20
