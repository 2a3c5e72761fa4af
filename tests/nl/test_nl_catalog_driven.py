"""The engine knows no source or field by name: a made-up catalog works the same way, and the
engine's code names no built-in source id or field."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from planchecks import assert_names_exist, compare

from lexiquery.catalog.builtin import builtin_catalog
from lexiquery.catalog.model import Catalog, Source
from lexiquery.errors import QuestionError
from lexiquery.nl.rules import parse_question

NOW = datetime(2024, 6, 12, 15, 30, tzinfo=timezone.utc)
NL_DIR = Path(__file__).parents[2] / "src" / "lexiquery" / "nl"

BADGES = {
    "id": "badge_swipes", "name": "Door badge swipes",
    "description": "Physical access control: badge readers at office doors and data centre cages.",
    "synonyms": ["badge swipes", "door access", "badge events", "swipes"],
    "time_field": "ts",
    "default_fields": ["ts", "person", "door", "outcome"],
    "fields": [
        {"name": "ts", "type": "datetime", "synonyms": ["time", "when"]},
        {"name": "person", "entity": "user", "synonyms": ["employee", "badge holder", "who"]},
        {"name": "door", "synonyms": ["reader", "entrance"]},
        {"name": "site", "synonyms": ["building", "campus"],
         "known_values": [{"value": "HQ", "meaning": "headquarters"},
                          {"value": "DC1", "meaning": "primary data centre"}]},
        {"name": "outcome", "synonyms": ["result"],
         "known_values": [{"value": "granted", "meaning": "door opened"},
                          {"value": "denied", "meaning": "access refused"}]},
        {"name": "reader_ip", "entity": "ip", "synonyms": ["reader address"]},
        {"name": "temperature_c", "type": "real", "synonyms": ["temperature", "temp"]},
        {"name": "tailgating", "type": "bool", "synonyms": ["tailgate", "piggybacking"]},
    ],
    "concepts": [{"name": "denied swipe", "synonyms": ["refused", "rejected swipe"],
                  "description": "The reader refused the badge",
                  "filters": [{"field": "outcome", "op": "eq", "value": "denied"}]}],
    "bindings": {"kql": {"table": "BadgeSwipes_CL", "columns": {"ts": "TimeGenerated"}}},
}
PRINTERS = {
    "id": "print_jobs", "name": "Print jobs", "description": "Documents sent to office printers.",
    "synonyms": ["printing", "print jobs", "printouts"],
    "fields": [{"name": "owner", "entity": "user", "synonyms": ["user"]},
               {"name": "printer", "entity": "host"},
               {"name": "pages", "type": "int", "synonyms": ["page count"]},
               {"name": "document", "entity": "file", "synonyms": ["file"]}],
    "bindings": {"sql": {"table": "print_jobs"}},
}


@pytest.fixture(scope="module")
def custom() -> Catalog:
    return Catalog([Source.model_validate(BADGES), Source.model_validate(PRINTERS)])


CASES = [
    ("denied badge swipes by door today",
     {"source": "badge_swipes", "time_range": {"start": {"amount": 0, "unit": "day",
                                                         "snap": "day"}},
      "filters": [{"field": "outcome", "op": "eq", "value": "denied"}],
      "aggregation": {"metrics": [{"fn": "count"}], "group_by": ["door"]}}),
    ("top 5 employees by swipes at site HQ",
     {"source": "badge_swipes", "filters": [{"field": "site", "op": "eq", "value": "HQ"}],
      "aggregation": {"metrics": [{"fn": "count"}], "group_by": ["person"]},
      "sort": [{"field": "event_count", "descending": True}], "limit": 5}),
    ("swipes from reader address 10.9.8.7 per hour",
     {"source": "badge_swipes", "filters": [{"field": "reader_ip", "op": "eq",
                                             "value": "10.9.8.7"}],
      "aggregation": {"metrics": [{"fn": "count"}], "time_bucket": {"unit": "hour"}}}),
    ("average temperature per building",
     {"source": "badge_swipes", "aggregation": {"metrics": [{"fn": "avg",
                                                             "field": "temperature_c"}],
                                                "group_by": ["site"]}}),
    ("tailgating swipes at headquarters", None),
    ("people with more than 3 rejected swipes",
     {"source": "badge_swipes", "filters": [{"field": "outcome", "op": "eq", "value": "denied"}],
      "aggregation": {"metrics": [{"fn": "count"}], "group_by": ["person"]},
      "having": [{"field": "event_count", "op": "gt", "value": 3}],
      "sort": [{"field": "event_count", "descending": True}]}),
    ("total pages per printer",
     {"source": "print_jobs", "aggregation": {"metrics": [{"fn": "sum", "field": "pages"}],
                                              "group_by": ["printer"]}}),
    ("print jobs for user bob sorted by pages descending",
     {"source": "print_jobs", "filters": [{"field": "owner", "op": "eq", "value": "bob"}],
      "sort": [{"field": "pages", "descending": True}]}),
]


@pytest.mark.parametrize("question,expected", CASES, ids=[c[0] for c in CASES])
def test_custom_catalog(custom: Catalog, question: str, expected: dict | None) -> None:
    res = parse_question(question, custom, now=NOW)
    assert_names_exist(res.plan, custom)
    if expected is None:  # only sanity: right source, the bool field and known value used
        assert res.plan.source == "badge_swipes"
        dumped = [c.model_dump(exclude_defaults=True) for c in res.plan.filters]
        assert {"field": "tailgating", "op": "eq", "value": True} in dumped
        assert {"field": "site", "op": "eq", "value": "HQ"} in dumped
        return
    assert compare(res.plan, expected, custom) == []


def test_source_without_time_field_ignores_time_sorting(custom: Catalog) -> None:
    res = parse_question("last 5 print jobs", custom, now=NOW)
    assert res.plan.source == "print_jobs" and res.plan.limit == 5 and res.plan.sort == []
    assert any("no time field" in n for n in res.notes)


def test_custom_catalog_unknown_question(custom: Catalog) -> None:
    with pytest.raises(QuestionError) as e:
        parse_question("failed sign-ins by user", custom, now=NOW)
    assert set(e.value.closest_sources) <= {"badge_swipes", "print_jobs"}


def test_engine_code_names_no_builtin_source_or_field() -> None:
    cat = builtin_catalog()
    code = "\n".join(p.read_text(encoding="utf-8") for p in sorted(NL_DIR.glob("*.py")))
    names = set(cat.ids()) | {f.name for s in cat for f in s.fields if "_" in f.name}
    found = sorted(n for n in names if re.search(rf"[\"']{re.escape(n)}[\"']", code))
    assert found == [], f"the engine hard-codes catalog names: {found}"
