"""Development set: do questions over a user's imported workspace schema name the right table?

    .venv/bin/python bench/devset.py [--workspace NAME] [--show-misses N] [--json]
                                     [--skip-translations]

For every question of tests/devset/questions.yaml it calls

    lexiquery.ask(question, platforms=[platform], catalog_files=[workspace file],
                  sample_check=False, settings=<fresh temp data dir>, store=False)

and measures, per workspace and overall (every rate is over all the questions of the group
unless it says otherwise):

* answered      — the journey completed with a non-empty query for the platform asked;
* right table   — the expected table is the query's table: KQL the first identifier, SQL the
                  FROM table (schema dropped, case-insensitive), SPL the sourcetype= value
                  (case-insensitive, as Splunk matches it);
* key filters   — every `contains` entry is a (case-sensitive) substring of the query;
* out of schema — over the answered questions: the query names a table (KQL/SQL) or a
                  sourcetype/index (SPL) absent from the workspace file, or a column-looking
                  identifier that is not a column of the table it reads (KQL/SQL, only when
                  that table is in the workspace). See `out_of_schema` for exactly what is
                  checked; SPL field names are not checked (the inventory holds none).

For tests/devset/translations.yaml it calls `lexiquery.translate_query(query, from, to,
check=False, settings=…)` with the built-in catalog and reports the translated rate of the
queries expected to translate, and the precise-refusal rate of those expected to be refused
(refused with a message that names the multi-stage construct the query holds).

Nothing reaches the network: the LLM path is off, embeddings are off, the Ollama host is a
closed loopback port, and the data directory is a fresh temporary one (LEXIQUERY_DATA_DIR is set
to it too), so the user's own data directory is never read or written. One item's exception
never stops the run: it is counted (`refused` for a LexiQuery error, `crashed` for any other)
with its message.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEVSET = ROOT / "tests" / "devset"
WORKSPACES = DEVSET / "workspaces"
CLOSED_PORT_URL = "http://127.0.0.1:9"  # discard port: nothing listens, nothing leaves the host
MAX_MESSAGE = 300


# ---------------------------------------------------------------------------- workspace files


@dataclass
class Workspace:
    name: str
    path: Path
    kind: str  # "kusto" | "sql" | "splunk"
    tables: dict[str, set[str]] = field(default_factory=dict)  # table -> columns
    splunk: set[tuple[str, str, str]] = field(default_factory=set)  # (index, sourcetype,
    #                                                                   source), lowered

    def table(self, name: str | None) -> str | None:
        """The workspace's spelling of table `name`: exact for Kusto, case-insensitive for SQL."""
        if not name:
            return None
        if self.kind == "kusto":
            return name if name in self.tables else None
        low = {t.lower(): t for t in self.tables}
        return low.get(name.lower())

    def sourcetypes(self) -> set[str]:
        return {st for _, st, _ in self.splunk}

    def indexes(self) -> set[str]:
        return {ix for ix, _, _ in self.splunk}

    def sources(self) -> set[str]:
        return {src for _, _, src in self.splunk}

    def sourcetype_of(self, source: str) -> str | None:
        return next((st for _, st, src in sorted(self.splunk) if src == source.lower()), None)


def workspace_file(name: str) -> Path:
    for ext in (".json", ".sql", ".csv"):
        p = WORKSPACES / f"{name}{ext}"
        if p.is_file():
            return p
    raise FileNotFoundError(f"no workspace file for {name!r} under {WORKSPACES}")


def load_workspace(name: str) -> Workspace:
    """The workspace file read on its own (not through LexiQuery's importers), so that the
    measure does not depend on the code it measures."""
    path = workspace_file(name)
    if path.suffix == ".json":
        doc = json.loads(path.read_text(encoding="utf-8"))
        tables: dict[str, set[str]] = {}
        for db in doc["Databases"].values():
            for key, t in (db.get("Tables") or {}).items():
                tables[t.get("Name") or key] = {c["Name"] for c in t["OrderedColumns"]}
        return Workspace(name, path, "kusto", tables=tables)
    if path.suffix == ".sql":
        return Workspace(name, path, "sql", tables=sql_ddl_tables(path.read_text("utf-8")))
    with open(path, newline="", encoding="utf-8") as f:
        rows = {(r["index"].lower(), r["sourcetype"].lower(), r["source"].lower())
                for r in csv.DictReader(f)}
    return Workspace(name, path, "splunk", splunk=rows)


def sql_ddl_tables(text: str) -> dict[str, set[str]]:
    import sqlglot
    from sqlglot import exp

    tables: dict[str, set[str]] = {}
    for stmt in sqlglot.parse(text, read="postgres"):
        if isinstance(stmt, exp.Create) and (stmt.args.get("kind") or "").upper() == "TABLE":
            schema = stmt.this
            name = schema.this.name if isinstance(schema, exp.Schema) else schema.name
            cols = {c.name for c in schema.expressions if isinstance(c, exp.ColumnDef)} \
                if isinstance(schema, exp.Schema) else set()
            tables[name] = cols
    return tables


# ---------------------------------------------------------------------------- reading queries

_KQL_STRING = re.compile(r'@?"(?:[^"\\\n]|\\.)*"|@?\'(?:[^\'\\\n]|\\.)*\'')
_KQL_COMMENT = re.compile(r"//[^\n]*")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Columns KQL makes itself when an aggregate has no name: count_, dcount_X, sum_X, …
_KQL_AUTO = re.compile(r"^(?:count|dcount|sum|avg|min|max|countif|dcountif|sumif|avgif|minif|"
                       r"maxif|stdev|variance|percentile\w*|make_set|make_list|take_any|any|"
                       r"arg_max|arg_min)_")


def kql_strip(text: str) -> str:
    """The query with comments removed and string literals blanked (kept as "")."""
    return _KQL_STRING.sub('""', _KQL_COMMENT.sub("", text))


def kql_table(text: str) -> str | None:
    """The first identifier of the tabular expression: the table the query reads. Leading
    `let` statements are skipped; a bracketed name (['My Table']) is read too."""
    body = kql_strip(text).strip()
    while body.startswith("let ") and ";" in body:
        body = body.split(";", 1)[1].strip()
    m = re.match(r"\[\s*['\"]([^'\"]+)['\"]\s*\]|([A-Za-z_][A-Za-z0-9_]*)", body)
    if not m:
        return None
    return m.group(1) or m.group(2)


def kql_column_candidates(text: str) -> set[str]:
    """Identifiers of a KQL query that look like columns: not in a string or comment, not a
    function call, not a member of a dynamic value (x.y), not a name the query defines itself
    (`Name = …`, `as Name`), not an automatic aggregate name (count_), and spelled like a
    column (a capital letter or an underscore: KQL's own words are all lowercase). The first
    identifier (the table) is left out."""
    body = kql_strip(text)
    defined = set(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=|~)", body))
    defined |= set(re.findall(r"\bas\s+([A-Za-z_][A-Za-z0-9_]*)", body))
    table = kql_table(text)
    out: set[str] = set()
    for m in _IDENT.finditer(body):
        name = m.group(0)
        before = body[:m.start()].rstrip()
        after = body[m.end():].lstrip()
        if before.endswith(".") or after.startswith("("):
            continue
        if before.endswith("-") and re.search(r"[A-Za-z]-$", before):  # mv-expand, project-away
            continue
        if m.start() > 0 and body[m.start() - 1].isdigit():  # 24h, 1d, 10m
            continue
        if name in defined or _KQL_AUTO.match(name) or name.startswith("$"):
            continue
        if name == table:
            continue
        if any(ch.isupper() for ch in name) or "_" in name.strip("_"):
            out.add(name)
    return out


def sql_read(text: str) -> tuple[str | None, set[str], set[str], set[str]]:
    """(the FROM table, every table named, every column named, the names the query defines)
    of a SQL query, through sqlglot (PostgreSQL)."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(text, read="postgres")
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    tables = [t for t in tree.find_all(exp.Table) if t.name not in ctes]
    first = None
    select = tree if isinstance(tree, exp.Select) else tree.find(exp.Select)
    if select is not None and select.args.get("from"):
        t = select.args["from"].find(exp.Table)
        first = t.name if t is not None else None
    first = first or (tables[0].name if tables else None)
    defined = {a.alias for a in tree.find_all(exp.Alias) if a.alias}
    defined |= {t.alias for t in tables if t.alias}
    columns = {c.name for c in tree.find_all(exp.Column) if c.name and c.name != "*"}
    return first, {t.name for t in tables}, columns, defined


_SPL_PAIR = r"\b{key}\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s|()]+))"


def spl_values(text: str, key: str) -> list[str]:
    return [a or b or c for a, b, c in re.findall(_SPL_PAIR.format(key=key), text, re.I)]


def spl_sourcetypes(text: str, ws: Workspace | None = None) -> list[str]:
    """The sourcetype= values of an SPL query (several when OR'ed); without any, the
    sourcetypes the inventory gives its source= values (a search by source alone)."""
    found = spl_values(text, "sourcetype")
    if not found and ws is not None:
        found = [st for st in (ws.sourcetype_of(s) for s in spl_values(text, "source")) if st]
    return list(dict.fromkeys(found))


def query_table(platform: str, text: str, ws: Workspace | None = None) -> str | None:
    if not text.strip():
        return None
    if platform == "kql":
        return kql_table(text)
    if platform == "spl":
        return " OR ".join(spl_sourcetypes(text, ws)) or None
    try:
        return sql_read(text)[0]
    except Exception:  # noqa: BLE001 — unparsable SQL: fall back to the text after FROM
        m = re.search(r"\bFROM\s+([A-Za-z0-9_.\"]+)", text, re.I)
        return m.group(1).replace('"', "").split(".")[-1] if m else None


def table_matches(platform: str, got: str | None, expected: str) -> bool:
    if not got:
        return False
    if platform == "kql":
        return got == expected
    if platform == "spl":  # one of the sourcetypes searched, as Splunk matches: ignoring case
        return expected.lower() in {g.lower() for g in got.split(" OR ")}
    return got.split(".")[-1].lower() == expected.lower()


def out_of_schema(platform: str, text: str, ws: Workspace) -> tuple[list[str], str]:
    """(names the query uses that the workspace file lacks, what could be checked)."""
    if platform == "kql":
        if ws.kind != "kusto":
            return [], "not checked (workspace is not a Kusto schema)"
        table = kql_table(text)
        if ws.table(table) is None:
            return [f"table {table}"], "table"
        cols = ws.tables[table]  # type: ignore[index]
        bad = sorted(c for c in kql_column_candidates(text) if c not in cols)
        return [f"column {c}" for c in bad], "table+columns"
    if platform == "sql":
        if ws.kind != "sql":
            return [], "not checked (workspace is not SQL DDL)"
        try:
            first, tables, columns, defined = sql_read(text)
        except Exception as e:  # noqa: BLE001
            return [], f"not checked (sqlglot could not read the query: {e})"
        missing = sorted(t for t in tables if ws.table(t) is None)
        if missing:
            return [f"table {t}" for t in missing], "tables"
        known = set().union(*(ws.tables[ws.table(t)] for t in tables)) if tables else set()  # type: ignore[index]
        low = {c.lower() for c in known}
        bad = sorted(c for c in columns if c.lower() not in low and c not in defined)
        return [f"column {c}" for c in bad], "tables+columns"
    # SPL: the inventory knows indexes and sourcetypes, not fields.
    if ws.kind != "splunk":
        return [], "not checked (workspace is not a Splunk inventory)"
    bad = [f"sourcetype {s}" for s in spl_values(text, "sourcetype")
           if "*" not in s and s.lower() not in ws.sourcetypes()]
    bad += [f"source {s}" for s in spl_values(text, "source")
            if "*" not in s and s.lower() not in ws.sources()]
    bad += [f"index {i}" for i in spl_values(text, "index")
            if "*" not in i and i.lower() not in ws.indexes()]
    if re.search(r"\bdatamodel\s*=|\|\s*tstats\b|\|\s*datamodel\b", text, re.I):
        bad.append("a data model (not in the inventory)")
    return bad, "sourcetype+source+index"


# ---------------------------------------------------------------------------- running


def make_settings(data_dir: Path) -> Any:
    from lexiquery.config import get_settings

    return get_settings(data_dir=data_dir, llm="off", embeddings=False,
                        ollama_host=CLOSED_PORT_URL, sample_check=False)


def short(msg: object) -> str:
    s = " ".join(str(msg).split())
    return s if len(s) <= MAX_MESSAGE else s[:MAX_MESSAGE - 1] + "…"


def run_question(item: dict[str, Any], ws: Workspace, settings: Any) -> dict[str, Any]:
    import lexiquery
    from lexiquery.errors import LexiQueryError

    platform = item["platform"]
    rec: dict[str, Any] = {"id": item["id"], "workspace": item["workspace"],
                           "platform": platform, "question": item["question"],
                           "expected": item["table"], "contains": list(item.get("contains") or []),
                           "outcome": "crashed", "query": "", "table": None, "message": None,
                           "valid": False, "right_table": False, "keys": False, "keys_ci": False,
                           "missing_keys": [], "oos": [], "checked": "", "seconds": 0.0}
    started = time.perf_counter()
    try:
        answer = lexiquery.ask(item["question"], platforms=[platform],
                               catalog_files=[ws.path], sample_check=False, settings=settings,
                               store=False)
    except LexiQueryError as e:
        rec.update(outcome="refused", message=short(f"{type(e).__name__}[{e.code}]: {e.message}"))
    except Exception as e:  # noqa: BLE001 — one item never stops the run
        tb = traceback.extract_tb(e.__traceback__)
        where = f" at {Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else ""
        rec.update(outcome="crashed", message=short(f"{type(e).__name__}{where}: {e}"))
    else:
        q = next((g for g in answer.queries if g.platform == platform), None)
        text = q.query if q is not None else ""
        status = getattr(answer.status, "value", str(answer.status))
        if q is None or not text.strip():
            why = [i.message for i in (q.issues if q is not None else [])] + \
                  [i.message for i in answer.issues]
            rec.update(outcome="unanswered",
                       message=short(f"{status}; source {q.source if q else '-'}: "
                                     + ("; ".join(why) or "no query")))
        else:
            rec.update(outcome="answered", query=text, valid=bool(q.valid),
                       source=q.source, status=status)
            errors = [i.message for i in q.issues if getattr(i.severity, "value", i.severity)
                      == "error"]
            if errors:
                rec["message"] = short("; ".join(errors))
    rec["seconds"] = round(time.perf_counter() - started, 3)
    if rec["outcome"] == "answered":
        text = rec["query"]
        try:
            rec["table"] = query_table(platform, text, ws)
            rec["right_table"] = table_matches(platform, rec["table"], item["table"])
            rec["missing_keys"] = [k for k in rec["contains"] if k not in text]
            rec["keys"] = not rec["missing_keys"]
            rec["keys_ci"] = all(k.lower() in text.lower() for k in rec["contains"])
            rec["oos"], rec["checked"] = out_of_schema(platform, text, ws)
        except Exception as e:  # noqa: BLE001 — a measuring slip is reported, not fatal
            rec["checked"] = short(f"measure failed: {type(e).__name__}: {e}")
    return rec


# The multi-stage constructs a refusal should name, by platform: (pattern, words naming it).
_CONSTRUCTS = {
    "spl": [(r"\|\s*eventstats\b", ("eventstats",)), (r"\|\s*streamstats\b", ("streamstats",)),
            (r"\|\s*transaction\b", ("transaction",)), (r"\|\s*join\b", ("join",)),
            (r"\|\s*mvexpand\b", ("mvexpand",)), (r"\|\s*append\w*\b", ("append",))],
    "kql": [(r"\barg_max\s*\(", ("arg_max",)), (r"\barg_min\s*\(", ("arg_min",)),
            (r"\|\s*join\b", ("join",)), (r"\|\s*mv-expand\b", ("mv-expand",)),
            (r"\|\s*mv-apply\b", ("mv-apply",)), (r"\bunion\b", ("union",))],
}


def constructs(platform: str, text: str) -> list[tuple[str, ...]]:
    found = [words for pat, words in _CONSTRUCTS.get(platform, []) if re.search(pat, text)]
    stage = r"\|\s*(?:stats|tstats)\b" if platform == "spl" else r"\|\s*summarize\b"
    if len(re.findall(stage, text)) >= 2:
        found.append(("stats", "summarize", "aggregat"))
    return found


def run_translation(item: dict[str, Any], settings: Any) -> dict[str, Any]:
    import lexiquery
    from lexiquery.errors import LexiQueryError

    rec: dict[str, Any] = {"id": item["id"], "from": item["from"], "to": item["to"],
                           "expect": item["expect"], "query": item["query"], "outcome": "crashed",
                           "translated_query": "", "message": None, "precise": False,
                           "constructs": [w[0] for w in constructs(item["from"], item["query"])]}
    try:
        t = lexiquery.translate_query(item["query"], item["from"], item["to"], check=False,
                                      settings=settings)
    except LexiQueryError as e:
        rec.update(outcome="refused", message=short(f"{type(e).__name__}[{e.code}]: {e.message}"),
                   code=e.code)
    except Exception as e:  # noqa: BLE001
        rec.update(outcome="crashed", message=short(f"{type(e).__name__}: {e}"))
    else:
        errors = [i for i in t.issues if getattr(i.severity, "value", i.severity) == "error"]
        if t.query.strip() and t.valid and not errors:
            rec.update(outcome="translated", translated_query=t.query)
        else:
            rec.update(outcome="refused", translated_query=t.query,
                       code=errors[0].code if errors else "invalid",
                       message=short("; ".join(i.message for i in errors) or "not valid"))
    if rec["outcome"] == "refused" and rec["constructs"]:
        msg = (rec["message"] or "").lower()
        rec["precise"] = all(any(w in msg for w in words)
                             for words in constructs(item["from"], item["query"]))
    return rec


# ---------------------------------------------------------------------------- figures


def rate(n: int, d: int) -> float | None:
    return round(n / d, 3) if d else None


def question_figures(recs: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(recs)
    answered = [r for r in recs if r["outcome"] == "answered"]
    oos = [r for r in answered if r["oos"]]
    return {
        "questions": n,
        "answered": len(answered),
        "answered_rate": rate(len(answered), n),
        "valid_rate": rate(sum(r["valid"] for r in answered), n),
        "right_table": sum(r["right_table"] for r in recs),
        "right_table_rate": rate(sum(r["right_table"] for r in recs), n),
        "key_filters": sum(r["keys"] for r in recs),
        "key_filter_rate": rate(sum(r["keys"] for r in recs), n),
        # the same, ignoring case (a renderer that writes LOWER(col) = 'us' for 'US')
        "key_filter_rate_ignoring_case": rate(sum(r["keys_ci"] for r in recs), n),
        "right_table_and_keys_rate": rate(sum(r["right_table"] and r["keys"] for r in recs), n),
        "out_of_schema": len(oos),
        "out_of_schema_rate_of_answered": rate(len(oos), len(answered)),
        "unanswered": sum(r["outcome"] == "unanswered" for r in recs),
        "refused": sum(r["outcome"] == "refused" for r in recs),
        "crashed": sum(r["outcome"] == "crashed" for r in recs),
        "seconds": round(sum(r["seconds"] for r in recs), 2),
        "checked": sorted({r["checked"] for r in answered if r["checked"]}),
        "top_messages": [f"{c}× {m}" for m, c in Counter(
            r["message"] for r in recs if r["outcome"] != "answered" and r["message"]
        ).most_common(3)],
    }


def translation_figures(recs: list[dict[str, Any]]) -> dict[str, Any]:
    want = [r for r in recs if r["expect"] == "translate"]
    refuse = [r for r in recs if r["expect"] == "refuse"]
    ok = sum(r["outcome"] == "translated" for r in want)
    precise = sum(r["precise"] for r in refuse)
    return {
        "queries": len(recs),
        "expect_translate": len(want),
        "translated": ok,
        "translated_rate": rate(ok, len(want)),
        "expect_refuse": len(refuse),
        "refused": sum(r["outcome"] == "refused" for r in refuse),
        "precise_refusals": precise,
        "precise_refusal_rate": rate(precise, len(refuse)),
        "silently_translated": sum(r["outcome"] == "translated" for r in refuse),
        "crashed": sum(r["outcome"] == "crashed" for r in recs),
        "refusal_codes_of_expected_translations": dict(Counter(
            r.get("code", r["outcome"]) for r in want if r["outcome"] != "translated")),
        "by_direction": {f"{a}->{b}": {
            "translated": sum(r["outcome"] == "translated" for r in want
                              if (r["from"], r["to"]) == (a, b)),
            "expect_translate": sum(1 for r in want if (r["from"], r["to"]) == (a, b))}
            for a, b in sorted({(r["from"], r["to"]) for r in want})},
    }


def is_miss(r: dict[str, Any]) -> bool:
    if "expect" in r:  # a translation
        return (r["expect"] == "translate") != (r["outcome"] == "translated") or \
            (r["expect"] == "refuse" and not r["precise"])
    return not (r["outcome"] == "answered" and r["right_table"] and r["keys"] and not r["oos"])


def fmt_rate(x: float | None) -> str:
    return "   -  " if x is None else f"{100 * x:5.1f}%"


def print_report(groups: dict[str, dict[str, Any]], overall: dict[str, Any],
                 tr: dict[str, Any] | None, notes: list[str]) -> None:
    print("LexiQuery devset — questions over imported workspace schemas")
    head = (f"{'workspace':<18}{'n':>4}  {'answered':>8}  {'valid':>6}  {'table':>6}  "
            f"{'keys':>6}  {'tbl+keys':>8}  {'out-of-schema*':>14}  refused crashed")
    print(head)
    print("-" * len(head))
    for name, f in [*groups.items(), ("OVERALL", overall)]:
        print(f"{name:<18}{f['questions']:>4}  {fmt_rate(f['answered_rate']):>8}  "
              f"{fmt_rate(f['valid_rate']):>6}  {fmt_rate(f['right_table_rate']):>6}  "
              f"{fmt_rate(f['key_filter_rate']):>6}  {fmt_rate(f['right_table_and_keys_rate']):>8}"
              f"  {fmt_rate(f['out_of_schema_rate_of_answered']):>8} ({f['out_of_schema']:>3})"
              f"  {f['refused']:>7} {f['crashed']:>7}")
    print(f"key filters ignoring case: {fmt_rate(overall['key_filter_rate_ignoring_case']).strip()}"
          " overall (" + ", ".join(f"{k} {fmt_rate(f['key_filter_rate_ignoring_case']).strip()}"
                                   for k, f in groups.items()) + ")")
    print("* out-of-schema: share of the answered queries naming a table/sourcetype/index or a "
          "column absent from the workspace file")
    for name, f in groups.items():
        if f["checked"]:
            print(f"  {name}: checked {', '.join(f['checked'])}")
        for m in f["top_messages"]:
            print(f"  {name}: {m}")
    if tr is not None:
        print()
        print("Translations (built-in catalog)")
        print(f"  translated as expected : {tr['translated']}/{tr['expect_translate']} "
              f"({fmt_rate(tr['translated_rate']).strip()})")
        print(f"  precise refusals       : {tr['precise_refusals']}/{tr['expect_refuse']} "
              f"({fmt_rate(tr['precise_refusal_rate']).strip()}); refused at all: "
              f"{tr['refused']}, translated anyway: {tr['silently_translated']}")
        for k, v in tr["by_direction"].items():
            print(f"  {k:<10} {v['translated']}/{v['expect_translate']}")
        if tr["refusal_codes_of_expected_translations"]:
            print("  why expected translations failed: " + ", ".join(
                f"{k} {v}" for k, v in tr["refusal_codes_of_expected_translations"].items()))
        if tr["crashed"]:
            print(f"  crashed: {tr['crashed']}")
    for n in notes:
        print(f"note: {n}")


def print_misses(misses: list[dict[str, Any]]) -> None:
    print()
    print(f"First {len(misses)} misses")
    for r in misses:
        print("-" * 78)
        if "expect" in r:
            print(f"{r['id']} {r['from']}->{r['to']} expect {r['expect']}, got {r['outcome']}"
                  + (f" (constructs: {', '.join(r['constructs'])}; precise: {r['precise']})"
                     if r["expect"] == "refuse" else ""))
            print("  query   : " + r["query"].replace("\n", "\n            "))
            if r["translated_query"]:
                print("  got     : " + r["translated_query"].replace("\n", "\n            "))
            if r["message"]:
                print(f"  message : {r['message']}")
            continue
        print(f"{r['id']} [{r['workspace']}/{r['platform']}] {r['question']}")
        print(f"  expected: table {r['expected']}; contains {r['contains']}")
        print(f"  got     : {r['outcome']}; table {r['table']}"
              + (f"; missing {r['missing_keys']}" if r["missing_keys"] else "")
              + (f"; out of schema: {', '.join(r['oos'])}" if r["oos"] else ""))
        if r["query"]:
            print("  query   : " + r["query"].replace("\n", "\n            "))
        if r["message"]:
            print(f"  message : {r['message']}")


def progress(i: int, n: int, label: str) -> None:
    if sys.stderr.isatty():
        sys.stderr.write(f"\r{label} {i}/{n} ")
        if i == n:
            sys.stderr.write("\n")
    elif i == n or i % 25 == 0:
        sys.stderr.write(f"{label} {i}/{n}\n")
    sys.stderr.flush()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", help="only the questions of this workspace (file stem); "
                                        "translations are then skipped")
    ap.add_argument("--show-misses", type=int, default=0, metavar="N",
                    help="print the first N misses with question, expected and got")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--skip-translations", action="store_true")
    args = ap.parse_args(argv)

    import yaml

    questions = yaml.safe_load((DEVSET / "questions.yaml").read_text("utf-8")) or []
    translations = yaml.safe_load((DEVSET / "translations.yaml").read_text("utf-8")) or []
    if args.workspace:
        questions = [q for q in questions if q["workspace"] == args.workspace]
        if not questions:
            names = sorted({q["workspace"] for q in yaml.safe_load(
                (DEVSET / "questions.yaml").read_text("utf-8"))})
            ap.error(f"no questions for workspace {args.workspace!r}; known: {', '.join(names)}")
    run_tr = not args.workspace and not args.skip_translations

    with tempfile.TemporaryDirectory(prefix="lexiquery-devset-") as tmp:
        # Every path that builds its own settings sees the same throw-away data directory.
        os.environ["LEXIQUERY_DATA_DIR"] = str(Path(tmp) / "data")
        os.environ["LEXIQUERY_LLM"] = "off"
        os.environ["LEXIQUERY_EMBEDDINGS"] = "false"
        os.environ["LEXIQUERY_OLLAMA_HOST"] = CLOSED_PORT_URL
        os.environ["LEXIQUERY_SAMPLE_CHECK"] = "false"
        settings = make_settings(Path(tmp) / "data")

        notes: list[str] = []
        workspaces: dict[str, Workspace] = {}
        broken: dict[str, str] = {}
        for name in dict.fromkeys(q["workspace"] for q in questions):
            try:
                workspaces[name] = load_workspace(name)
            except Exception as e:  # noqa: BLE001 — its questions are counted as crashed
                broken[name] = short(f"workspace file unreadable: {type(e).__name__}: {e}")
                notes.append(f"{name}: {broken[name]}")
                continue
            try:
                from lexiquery.catalog.importers import import_file

                import_file(workspaces[name].path)
            except Exception as e:  # noqa: BLE001
                notes.append(f"{workspaces[name].path.name} does not import: {short(e)}")

        recs: list[dict[str, Any]] = []
        for i, item in enumerate(questions, 1):
            if item["workspace"] in broken:
                recs.append({"id": item["id"], "workspace": item["workspace"],
                             "platform": item["platform"], "question": item["question"],
                             "expected": item["table"], "contains": item.get("contains") or [],
                             "outcome": "crashed", "query": "", "table": None,
                             "message": broken[item["workspace"]], "valid": False,
                             "right_table": False, "keys": False, "keys_ci": False,
                             "missing_keys": [], "oos": [], "checked": "", "seconds": 0.0})
            else:
                recs.append(run_question(item, workspaces[item["workspace"]], settings))
            progress(i, len(questions), "questions")
        trecs: list[dict[str, Any]] = []
        if run_tr:
            for i, item in enumerate(translations, 1):
                trecs.append(run_translation(item, settings))
                progress(i, len(translations), "translations")

    groups = {name: question_figures([r for r in recs if r["workspace"] == name])
              for name in dict.fromkeys(r["workspace"] for r in recs)}
    overall = question_figures(recs)
    tr = translation_figures(trecs) if run_tr else None
    misses = [r for r in [*recs, *trecs] if is_miss(r)][:max(0, args.show_misses)]
    if args.json:
        out: dict[str, Any] = {"workspaces": groups, "overall": overall, "translations": tr,
                               "notes": notes}
        if args.show_misses:
            out["misses"] = misses
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        print_report(groups, overall, tr, notes)
        if misses:
            print_misses(misses)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
