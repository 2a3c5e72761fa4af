"""Build LexiQuery's reference catalog packs from the facts in `shared/reference/`.

    python tools/build_reference_packs.py [--facts ../shared/reference]

Writes, under `src/lexiquery/catalog/reference/`:

* `log_analytics.json` — every Log Analytics / Sentinel / Defender XDR table with its columns and
  Kusto types (from `log_analytics_tables.csv`), and the analyst words of well-known tables (from
  the hand-written `table_words.yaml` next to the packs);
* `splunk.json` — Splunk data sources, one per (sourcetype, source) pair, with the field names
  their add-ons extract and the event kinds the separator field tells apart (from
  `splunk_data_sources.jsonl`), and analyst words from `table_words.yaml`;
* `cim.json` — the Splunk CIM data models, one entry per root dataset, child datasets as
  concepts (from the hand-written facts in `cim_datamodels.yaml` next to the packs).

The packs are generated: never edit them by hand; rerun this script when the facts change. The
output is deterministic (sorted, no timestamps), so a rebuild from the same facts is a no-op.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "lexiquery" / "catalog" / "reference"
sys.path.insert(0, str(ROOT / "src"))
# The ids the catalog gives imported tables (`catalog.tables.snake`), written into the pack so
# loading it assigns none: DeviceRegistryEvents is `device_registry_events` either way.
from lexiquery.catalog.tables import snake  # noqa: E402
TYPE_MAP = {"string": "string", "int": "int", "long": "long", "real": "real", "bool": "bool",
            "datetime": "datetime", "dynamic": "dynamic", "guid": "guid", "timespan": "timespan",
            "double": "real", "bigint": "long", "boolean": "bool"}


def log_analytics(facts: Path) -> dict:
    """Tables and typed columns, in the CSV's column order; unknown types (a few rows of the
    source list carry "..." or "def") are kept as string."""
    cols: dict[str, list[list[str]]] = defaultdict(list)
    with (facts / "log_analytics_tables.csv").open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            table, col = row["table_name"].strip(), row["column_name"].strip()
            if not table or not col or any(c == col for c, _ in cols[table]):
                continue
            cols[table].append([col, TYPE_MAP.get(row["column_type"].strip().lower(), "string")])
    words = table_words()
    tables = [{"id": snake(t), "name": t, **({"words": words[t]} if t in words else {}),
               "columns": c} for t, c in sorted(cols.items())]
    ids = [t["id"] for t in tables]
    for t in tables:  # two tables that snake alike keep distinct ids, as `Shelf` would give
        if ids.count(t["id"]) > 1:
            t["id"] = snake(t["name"]) + "_" + str(ids[:tables.index(t)].count(t["id"]) + 1)
    return {"pack": "log_analytics", "platform": "kql",
            "facts": "log_analytics_tables.csv", "tables": tables}


def table_words() -> dict[str, list[str]]:
    """The hand-written analyst words per table (`table_words.yaml` next to the packs)."""
    path = OUT / "table_words.yaml"
    return {str(k): [str(w) for w in v] for k, v in
            (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).items()} \
        if path.is_file() else {}


def _common_words(names: list[str]) -> str:
    """The words every name of a group starts with ("Windows Event Log Security 4698" and
    "… 4742" → "Windows Event Log Security")."""
    split = [n.split() for n in names]
    out: list[str] = []
    for words in zip(*split):
        if len(set(words)) != 1:
            break
        out.append(words[0])
    while out and out[-1].lower() in {"eventid", "eventcode", "event", "id"}:
        out.pop()
    return " ".join(out) or names[0]


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _quoted(value: str) -> str:
    return value if re.fullmatch(r"[A-Za-z0-9_:.*-]+", value) else json.dumps(value)


def splunk(facts: Path) -> dict:
    """One data source per (sourcetype, source). The prefix names the sourcetype, and the
    source too where one sourcetype carries several sources (`xmlwineventlog` holds both the
    Security and the Sysmon channels); no index: index names are the deployment's own."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for line in (facts / "splunk_data_sources.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            groups[(d["sourcetype"], d["source"])].append(d)
    known_words = table_words()
    per_type: dict[str, int] = defaultdict(int)
    for st, _src in groups:
        per_type[st.lower()] += 1
    tables = []
    for (st, src), rows in sorted(groups.items(), key=lambda kv: (kv[0][0].lower(), kv[0][1])):
        names = sorted(r["name"] for r in rows)
        name = _common_words(names) if len(names) > 1 else names[0]
        fields: list[str] = []
        for r in rows:
            fields.extend(f for f in r.get("fields") or [] if f not in fields)
        fields = sorted(set(fields) - {"_time"})
        separator = next((r["separator"] for r in rows if r.get("separator")), "")
        if separator and separator not in fields:
            fields.append(separator)
        kinds = []
        for r in rows:
            rest = r["name"][len(name):].strip() if r["name"].startswith(name) else ""
            if separator and rest and len(rest.split()) <= 4:
                kinds.append([rest.rstrip("."), r["name"].rstrip(".")])
        real_source = per_type[st.lower()] > 1 and re.search(r"[:/]", src) is not None
        search = f"sourcetype={_quoted(st)}" + (f" source={_quoted(src)}" if real_source else "")
        words = sorted({st, name} | ({src} if real_source else set())
                       | set(known_words.get(name, [])))
        tables.append({"id": "splunk_" + _snake(name), "name": name, "search": search, "separator": separator,
                       "kinds": sorted(kinds), "words": words,
                       "add_ons": sorted({a for r in rows for a in r.get("add_ons") or []}),
                       "columns": [["_time", "datetime"]] + [[f, "string"] for f in fields]})
    return {"pack": "splunk", "platform": "spl", "facts": "splunk_data_sources.jsonl",
            "tables": tables}


def cim(path: Path) -> dict:
    """Root datasets of the CIM data models as sources bound to `| datamodel Model Root
    search`; child datasets (Failed_Authentication …) become concepts from their constraint."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    tables = []
    for dm in doc["datamodels"]:
        model = dm["model"]
        roots = [{"name": dm["root"], "fields": dm.get("fields") or [],
                  "synonyms": dm.get("synonyms") or [], "description": dm.get("description", ""),
                  "children": [d for d in dm.get("datasets") or [] if not d.get("root")]}] \
            if dm.get("root") else []
        roots += [{"name": d["name"], "fields": d.get("fields") or [],
                   "synonyms": d.get("synonyms") or [], "description": d.get("description", ""),
                   "children": d.get("datasets") or []}
                  for d in dm.get("datasets") or [] if d.get("root")]
        for root in roots:
            concepts = []
            for child in root["children"]:
                # `action="failure" OR result="failure"`: the first clause (the CIM's own
                # field for it) is the concept's filter.
                first = re.split(r"\s+OR\s+", child.get("constraint") or "")[0]
                m = re.fullmatch(r'\s*(\w+)\s*=\s*"?([^"*]*)"?\s*', first)
                if m:
                    words = [child["name"].replace("_", " ").lower(), *child.get("synonyms", [])]
                    concepts.append([child["name"], sorted(set(words)), m.group(1), m.group(2)])
            fields = [[f["name"], f.get("type", "string"), f.get("entity") or "",
                       f.get("description", "")] for f in root["fields"]]
            label = f"{model}.{root['name']}" if root["name"] != model else model
            tables.append({
                "id": "cim_" + _snake(label), "name": f"{label} (CIM)", "search": f"| datamodel {model} {root['name']} search",
                "description": root["description"] or dm.get("description", ""),
                "words": sorted({*root["synonyms"], *(dm.get("synonyms") or []),
                                 f"{model} data model", root["name"].replace("_", " ")}),
                "concepts": concepts, "fields": fields,
                "columns": [[f[0], f[1]] for f in fields]})
    return {"pack": "cim", "platform": "spl", "facts": "cim_datamodels.yaml", "tables": tables}


def write(name: str, pack: dict) -> None:
    """One table per line: a rebuild's diff shows which tables changed."""
    head = {k: v for k, v in pack.items() if k != "tables"}
    lines = [json.dumps(t, separators=(",", ":"), ensure_ascii=False) for t in pack["tables"]]
    text = (json.dumps(head, separators=(",", ":"))[:-1] + ',"tables":[\n'
            + ",\n".join(lines) + "\n]}\n")
    (OUT / name).write_text(text, encoding="utf-8")
    print(f"{name}: {len(lines)} tables, "
          f"{sum(len(t['columns']) for t in pack['tables']):,} columns", file=sys.stderr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--facts", type=Path, default=ROOT.parent / "shared" / "reference",
                    help="folder holding log_analytics_tables.csv and "
                         "splunk_data_sources.jsonl (default: %(default)s)")
    args = ap.parse_args()
    for needed in ("log_analytics_tables.csv", "splunk_data_sources.jsonl"):
        if not (args.facts / needed).is_file():
            sys.exit(f"{args.facts / needed} not found: pass --facts FOLDER")
    write("log_analytics.json", log_analytics(args.facts))
    write("splunk.json", splunk(args.facts))
    cim_facts = OUT / "cim_datamodels.yaml"
    if cim_facts.is_file():
        write("cim.json", cim(cim_facts))
    else:
        print(f"{cim_facts} not found: cim.json not rebuilt", file=sys.stderr)


if __name__ == "__main__":
    main()
