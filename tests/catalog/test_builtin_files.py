"""The built-in YAML files as data: each loads on its own, names its platforms, and agrees with the
others on what a shared logical field means."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from lexiquery.catalog.builtin import BUILTIN_DIR, builtin_catalog
from lexiquery.catalog.model import EntityKind, FieldType, Platform, Source
from lexiquery.ir import iter_conditions

CAT = builtin_catalog()
FILES = sorted(BUILTIN_DIR.glob("*.yaml"))
# Fields whose values are codes an analyst cannot guess: each needs known values with meanings.
CODE_FIELDS = {"event_id", "logon_type", "sub_status", "result_code", "action", "severity",
               "facility", "query_type", "method", "dest_port", "category", "workload",
               "conditional_access_status", "risk_level", "integrity_level", "os_type", "counter",
               "level"}
# Logical names that mean the same thing wherever they appear: same type and entity kind.
SHARED = {"time": (FieldType.datetime, None), "user": (FieldType.string, EntityKind.user),
          "src_ip": (FieldType.string, EntityKind.ip), "dest_ip": (FieldType.string, EntityKind.ip),
          "host": (FieldType.string, EntityKind.host), "event_id": (FieldType.int, None),
          "logon_type": (FieldType.int, None), "process": (FieldType.string, EntityKind.process),
          "parent_process": (FieldType.string, EntityKind.process),
          "command_line": (FieldType.string, None), "user_agent": (FieldType.string, None),
          "src_port": (FieldType.int, EntityKind.port), "dest_port": (FieldType.int, EntityKind.port),
          "bytes_in": (FieldType.long, None), "bytes_out": (FieldType.long, None),
          "hash_sha256": (FieldType.string, EntityKind.hash)}
_KQL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_SQL_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_SPL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.{}]*$")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_file_loads_alone_and_is_named_after_its_id(path: Path) -> None:
    src = Source.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    assert src.id == path.stem
    assert src.origin == "builtin"


def test_at_least_twelve_sources_one_per_file() -> None:
    assert len(CAT) >= 12 and len(CAT) == len(FILES)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_a_missing_platform_is_explained_in_a_comment(path: Path) -> None:
    src = CAT.get(path.stem)
    assert src is not None
    comments = " ".join(line for line in path.read_text(encoding="utf-8").splitlines()
                        if line.lstrip().startswith("#")).lower()
    for p in set(Platform) - set(src.bindings.platforms()):
        assert f"no {p.value} binding" in comments, f"{src.id}: why is there no {p.value} binding?"


@pytest.mark.parametrize("source_id", sorted(CAT.ids()))
def test_bound_names_look_like_platform_names(source_id: str) -> None:
    src = CAT.get(source_id)
    assert src is not None
    for p, pattern in ((Platform.kql, _KQL_NAME), (Platform.sql, _SQL_NAME),
                       (Platform.spl, _SPL_NAME)):
        for logical, col in src.bindings.columns(p).items():
            assert pattern.match(col), f"{source_id}: {p.value} name {col!r} for {logical}"
    assert src.bindings.sql is not None and _SQL_NAME.match(src.bindings.sql.table)
    assert src.bindings.spl is not None and "index=" in src.bindings.spl.search


@pytest.mark.parametrize("source_id", sorted(CAT.ids()))
def test_concept_fields_are_bound_on_every_platform(source_id: str) -> None:
    src = CAT.get(source_id)
    assert src is not None
    for concept in src.concepts:
        assert concept.description, f"{source_id}: concept {concept.name!r} has no description"
        for cond in iter_conditions(concept.filters):
            for p in src.bindings.platforms():
                assert src.column(p, cond.field), (
                    f"{source_id}: concept {concept.name!r} filters on {cond.field!r}, "
                    f"which is not bound on {p.value}")


@pytest.mark.parametrize("source_id", sorted(CAT.ids()))
def test_code_fields_have_known_values_of_the_right_type(source_id: str) -> None:
    src = CAT.get(source_id)
    assert src is not None
    for f in src.fields:
        if f.name in CODE_FIELDS:
            assert f.known_values, f"{source_id}.{f.name} has no known values"
        values = [kv.value for kv in f.known_values]
        assert len(values) == len(set(values)), f"{source_id}.{f.name}: duplicate known values"
        for kv in f.known_values:
            assert kv.meaning.strip()
            if f.type.numeric:
                assert isinstance(kv.value, (int, float)) and not isinstance(kv.value, bool)
            else:
                assert isinstance(kv.value, str), f"{source_id}.{f.name}: {kv.value!r} unquoted"


def test_shared_logical_fields_mean_the_same_everywhere() -> None:
    seen: dict[str, set[tuple[FieldType, EntityKind | None]]] = defaultdict(set)
    for src in CAT:
        for f in src.fields:
            if f.name in SHARED:
                seen[f.name].add((f.type, f.entity))
    for name, kinds in seen.items():
        expected_type, expected_entity = SHARED[name]
        assert {t for t, _ in kinds} == {expected_type}, (name, kinds)
        if expected_entity is not None:
            assert {e for _, e in kinds} == {expected_entity}, (name, kinds)


def test_windows_security_events_covers_the_events_analysts_ask_for() -> None:
    src = CAT.get("windows_security_events")
    assert src is not None
    event_id = src.field("event_id")
    assert event_id is not None
    ids = {kv.value for kv in event_id.known_values}
    assert {4624, 4625, 4634, 4648, 4672, 4688, 4720, 4722, 4725, 4726, 4728, 4732, 4740, 4756,
            4768, 4769, 4771, 4776, 1102} <= ids
    logon_type = src.field("logon_type")
    assert logon_type is not None
    assert {2, 3, 4, 5, 7, 8, 9, 10, 11} <= {kv.value for kv in logon_type.known_values}
    wanted = {"successful logon": [4624], "failed logon": [4625], "user account created": [4720],
              "account locked out": [4740], "audit log cleared": [1102],
              "member added to security group": [4728, 4732, 4756],
              "special privileges assigned": [4672], "explicit credential logon": [4648]}
    for name, codes in wanted.items():
        concept = src.concept(name)
        assert concept is not None, name
        [cond] = [c for c in iter_conditions(concept.filters) if c.field == "event_id"]
        assert (cond.value if isinstance(cond.value, list) else [cond.value]) == codes


@pytest.mark.parametrize("source_id,table", [
    ("windows_security_events", "SecurityEvent"), ("syslog", "Syslog"),
    ("azure_activity", "AzureActivity"), ("audit_logs", "AuditLogs"),
    ("office_activity", "OfficeActivity"), ("dns_events", "DnsEvents"),
    ("firewall_events", "CommonSecurityLog"), ("process_creation", "DeviceProcessEvents"),
    ("web_requests", "W3CIISLog"), ("heartbeat", "Heartbeat"), ("perf_counters", "Perf"),
    ("signin_logs", "SigninLogs"), ("security_alerts", "SecurityAlert")])
def test_sources_read_the_documented_kql_tables(source_id: str, table: str) -> None:
    src = CAT.get(source_id)
    assert src is not None and src.bindings.kql is not None
    assert src.bindings.kql.table == table
    assert src.column(Platform.kql, "time") in {"TimeGenerated", "Timestamp"}


def test_process_creation_pins_sysmon_event_1() -> None:
    src = CAT.get("process_creation")
    assert src is not None and src.bindings.spl is not None
    assert "EventCode=1" in src.bindings.spl.search
    assert src.bindings.sql is not None and src.bindings.sql.table == "process_events"
