"""Every KQL text LexiQuery writes is valid for Microsoft's own parser (issue 16 measures KQL
validity with it), not only for ours:

* the KQL section of every golden file (`tests/dialects/golden/*.txt`);
* the KQL rendering of a fixed, derandomized sample of random plans — one-stage plans from
  `property.strategies.plans()` and staged plans from `property.stage_strategies.staged_plans()`;
* every KQL translation written from the SPL detection corpus (`tests/detections/spl.yaml`,
  through `operations.translate_query`, as `bench/detections.py` runs it), and from the KQL
  corpus (the detection read and written again); and every query of the KQL corpus itself
  (`tests/detections/kql.yaml`: the corpus must be valid KQL to measure anything with it).

"Valid" is: `KustoCode.ParseAndAnalyze` reports no error against a workspace of the reference
pack's tables plus the catalog's KQL tables and lookups (`kusto_check.workspace_schema`) — no
syntax error, no unknown table, column or function, no type error.

Invalid KQL LexiQuery writes today is listed, not hidden: KNOWN_DEFECTS names each kind (the
diagnostic it draws, and a reproducer plan that must stay invalid until the renderer is fixed),
KNOWN_INVALID the named texts (goldens, corpus items) showing one. The tests fail when a text
is invalid for any other reason, and when a listed defect or text has become valid (remove it
then: the lists only shrink).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from property.stage_strategies import staged_plans
from property.strategies import CATALOG, PHASES, plan_json, plans, source_of

from lexiquery.catalog.model import FieldType, Platform
from lexiquery.catalog.store import load_catalog
from lexiquery.dialects import render
from lexiquery.errors import LexiQueryError
from lexiquery.ir import QueryPlan
from lexiquery.operations import translate_query

from .kusto_check import Diagnostic, KustoParser, report

pytestmark = pytest.mark.slow

TESTS = Path(__file__).resolve().parents[1]
GOLDEN = TESTS / "dialects" / "golden"
DETECTIONS = TESTS / "detections"
SAMPLE = 150  # random plans of each kind


@dataclass(frozen=True)
class Defect:
    """A kind of invalid KQL the renderer writes today: the diagnostic it draws (a regex over
    `Diagnostic.show`: code, message, and the text around where it points, ▶ marking the
    place), optionally a regex the whole text must match too, and the smallest plan that shows
    it (kept invalid here: when it renders valid, the defect is fixed)."""

    diagnostic: str
    reproducer: dict[str, Any]
    text: str = ""

    def explains(self, shown: str, query: str) -> bool:
        return bool(re.search(self.diagnostic, shown)) and bool(re.search(self.text, query))


def _where(**condition: Any) -> dict[str, Any]:
    return {"source": "events", "filters": [{"kind": "condition", **condition}]}


def _field(name: str) -> dict[str, Any]:
    return {"kind": "field", "name": name}


def _names(columns: list[str]) -> str:
    """A regex alternative of Kusto column names as a text writes them (bare or ['quoted'])."""
    return "|".join(re.escape(c) for c in sorted(set(columns)))


# Kusto columns stored with another type than their field's (`KqlBinding.column_types`, e.g.
# W3CIISLog.scStatus: a string holding a number), and the guid-typed columns.
RETYPED = _names([s.bindings.kql.columns[f] for s in CATALOG if s.bindings.kql
                  for f in s.bindings.kql.column_types])
GUIDS = _names([s.bindings.kql.columns[f.name] for s in CATALOG if s.bindings.kql
                for f in s.fields if f.type is FieldType.guid
                and "." not in s.bindings.kql.columns.get(f.name, ".")])

# The KQL renderer's (src/lexiquery/dialects/kql/) known defects. Each is to be fixed there;
# then its reproducer renders valid, the test below fails, and the entry (and its keys in
# KNOWN_INVALID) are to be removed: the lists only shrink.
KNOWN_DEFECTS: dict[str, Defect] = {
    # A guid is not orderable in Kusto: arg_max/arg_min (a TopPerGroup sorted by it) and
    # min/max of a guid column are refused — tostring() it, or refuse the plan.
    "guid_not_orderable": Defect(
        r"^KS206 The argument value must be orderable: .*▶(" + GUIDS + r")\b",
        {"source": "events", "stages": [{"kind": "top_per_group", "by": ["src_ip"],
                                         "sort": [{"field": "session_id"}]}]}),
    # A retyped column (RETYPED) in a computed expression — arithmetic, a comparison inside
    # iff/case, coalesce with a number, or a computed field that is the column itself and is
    # then averaged — written bare: filters convert it (toint(scStatus)), computed fields do
    # not, so Kusto sees a string where a number is meant.
    "retyped_column_in_expression": Defect(
        r"^(KS106 The operator '[^']+' is not defined for the operand types (string and \w+|"
        r"\w+ and string)|KS232 No common type can be determined from the arguments|KS127 The "
        r"function '\w+' is not compatible with arguments \(string\))",
        {"source": "web_requests", "computed": [{"name": "x", "expr": {
            "kind": "call", "fn": "add", "args": [_field("status"),
                                                  {"kind": "literal", "value": 1}]}}]},
        text=r"\b(" + RETYPED + r")\b"),
}

# Named texts (goldens, corpus items) the official parser rejects today → the known defect
# that every one of their diagnostics is. Random plans are not named (the sample changes with
# the strategies): a random text is tolerated when each of its diagnostics is a known defect.
KNOWN_INVALID: dict[str, str] = {}


def defects_of(errors: list[Diagnostic], text: str) -> set[str] | None:
    """The known defects these diagnostics are, or None when one of them is no known defect."""
    found = set()
    for d in errors:
        shown = d.show(text)
        name = next((n for n, k in KNOWN_DEFECTS.items() if k.explains(shown, text)), None)
        if name is None:
            return None
        found.add(name)
    return found


def check(parser: KustoParser, queries: dict[str, str], what: str, *,
          prefix: str | None, notes: dict[str, str] | None = None) -> None:
    """Fails with the text and diagnostics of every invalid query that is not a known defect
    (named texts, whose keys start with `prefix`: the defect KNOWN_INVALID lists for them), and
    names every key of KNOWN_INVALID with `prefix` that is valid now or no longer written."""
    assert queries, f"no {what} to check"
    named = prefix is not None
    invalid = parser.invalid(queries)
    new = {}
    for key, errors in invalid.items():
        defects = defects_of(errors, queries[key])
        expected = {KNOWN_INVALID[key]} if named and key in KNOWN_INVALID else None
        if defects is None or (named and defects != expected):
            new[key] = errors
    fixed = sorted(k for k in KNOWN_INVALID
                   if named and k.startswith(prefix or "") and k not in invalid)
    problems = []
    if new:
        problems.append(f"{len(new)} of {len(queries)} {what} are invalid for the official "
                        f"Kusto parser:\n{report(queries, new, notes or {})}")
    if fixed:
        problems.append(f"valid now (or no longer written), remove from KNOWN_INVALID: "
                        f"{fixed}")
    assert not problems, "\n\n".join(problems)


def test_known_defects_are_still_there(kusto_parser: KustoParser) -> None:
    """Each known defect's reproducer still draws its diagnostic (else it is fixed: remove it),
    and KNOWN_INVALID names known defects only."""
    assert set(KNOWN_INVALID.values()) <= set(KNOWN_DEFECTS)
    fixed = []
    for name, defect in KNOWN_DEFECTS.items():
        plan = QueryPlan.model_validate(defect.reproducer)
        text = render(plan, source_of(plan), Platform.kql, catalog=CATALOG)
        errors = kusto_parser.check(text)
        if not errors or defects_of(errors, text) != {name}:
            fixed.append(f"{name}: {text!r} → {[d.show(text) for d in errors]}")
    assert not fixed, ("known defects whose reproducer no longer draws their diagnostic "
                       "(fixed? remove them from KNOWN_DEFECTS/KNOWN_INVALID):\n" +
                       "\n".join(fixed))


# --------------------------------------------------------------------------- goldens

def golden_kql() -> dict[str, str]:
    """case → the `### kql` section of its golden file (as test_golden writes them)."""
    out = {}
    for path in sorted(GOLDEN.glob("*.txt")):
        sections = re.split(r"^### (\S+)\n", path.read_text("utf-8"), flags=re.M)
        named = dict(zip(sections[1::2], sections[2::2]))
        out[f"golden:{path.stem}"] = named["kql"].strip()
    return out


def test_golden_kql_is_valid(kusto_parser: KustoParser) -> None:
    queries = golden_kql()
    assert len(queries) >= 25
    check(kusto_parser, queries, "golden KQL texts", prefix="golden:")


# --------------------------------------------------------------------------- random plans

SAMPLING = settings(max_examples=SAMPLE, deadline=None, derandomize=True, database=None,
                    phases=PHASES, suppress_health_check=list(HealthCheck))


def rendered_sample(strategy: object) -> dict[str, str]:
    """KQL text → its plan as JSON, for SAMPLE plans drawn from `strategy` (the same every
    run)."""
    texts: dict[str, str] = {}

    @SAMPLING
    @given(strategy)
    def draw(plan: QueryPlan) -> None:
        text = render(plan, source_of(plan), Platform.kql, catalog=CATALOG)
        texts.setdefault(text, plan_json(plan))

    draw()
    return texts


@pytest.mark.parametrize("kind", ["single", "staged"])
def test_random_plans_render_valid_kql(kusto_parser: KustoParser, kind: str) -> None:
    texts = rendered_sample(plans() if kind == "single" else staged_plans())
    assert len(texts) >= SAMPLE // 2, f"only {len(texts)} distinct {kind} plans drawn"
    keys = {f"{kind}:{i}": t for i, t in enumerate(texts)}
    check(kusto_parser, keys, f"KQL renderings of random {kind} plans", prefix=None,
          notes={k: "plan: " + texts[t] for k, t in keys.items()})


# --------------------------------------------------------------------------- detections

def corpus(language: str) -> list[dict[str, object]]:
    return list(yaml.safe_load((DETECTIONS / f"{language}.yaml").read_text("utf-8")))


def test_kql_corpus_is_valid(kusto_parser: KustoParser) -> None:
    queries = {f"corpus:{item['id']}": str(item["query"]) for item in corpus("kql")}
    check(kusto_parser, queries, "queries of tests/detections/kql.yaml", prefix="corpus:")


# How many of each corpus are written in KQL today (SPL → KQL: 36 of 177; KQL → KQL, the
# detection read and written again: 128 of 133). The floors only guard against checking next to
# nothing; the rates are bench/detections.py's to measure.
WRITTEN_AT_LEAST = {"spl": 10, "kql": 60}


@pytest.mark.parametrize("language", ["spl", "kql"])
def test_kql_translations_of_the_corpora_are_valid(
        kusto_parser: KustoParser, monkeypatch: pytest.MonkeyPatch, language: str) -> None:
    """Every KQL text translate_query writes from a detection corpus — complete or partial,
    as `bench/detections.py` translates (LLM off, a temporary data directory)."""
    monkeypatch.setenv("LEXIQUERY_LLM", "off")
    monkeypatch.setenv("LEXIQUERY_EMBEDDINGS", "false")
    catalog = load_catalog(None)  # built-ins and reference packs, as a user has them
    queries: dict[str, str] = {}
    crashes: list[str] = []
    for item in corpus(language):
        try:
            t = translate_query(str(item["query"]), language, "kql", catalog=catalog,
                                check=False)
        except LexiQueryError:
            continue  # refused: no text written
        except Exception as e:  # noqa: BLE001 — a crash is listed, the other texts still checked
            crashes.append(f"{item['id']}: {type(e).__name__}: {e}")
            continue
        if t.query:  # complete or partial: a text LexiQuery writes either way
            queries[f"{language}>kql:{item['id']}"] = t.query
    assert len(queries) >= WRITTEN_AT_LEAST[language], \
        f"only {len(queries)} {language} detections translated to KQL"
    check(kusto_parser, queries, f"KQL translations of tests/detections/{language}.yaml",
          prefix=f"{language}>kql:")
    assert not crashes, "translations that crashed:\n" + "\n".join(crashes)
