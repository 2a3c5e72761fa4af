"""Importers on realistic files, malformed files, and persistence in the data directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lexiquery.catalog.importers import import_file, snake
from lexiquery.catalog.model import FieldType, Platform
from lexiquery.catalog.store import load_catalog, remove_imported, save_imported
from lexiquery.errors import CatalogError

FIX = Path(__file__).with_name("fixtures")


def test_kusto_database_schema() -> None:
    sources = {s.id: s for s in import_file(FIX / "kusto_schema.json")}
    assert set(sources) == {"signin_logs", "security_event", "perf", "custom_app_cl"}
    signin = sources["signin_logs"]
    assert signin.bindings.kql is not None and signin.bindings.kql.table == "SigninLogs"
    assert signin.bindings.spl is None and signin.bindings.sql is None
    assert signin.time_field == "time_generated"
    assert signin.column(Platform.kql, "user_principal_name") == "UserPrincipalName"
    assert signin.column(Platform.kql, "ip_address") == "IPAddress"
    assert signin.field("device_detail").type is FieldType.dynamic  # type: ignore[union-attr]
    assert signin.field("is_interactive").type is FieldType.bool  # type: ignore[union-attr]
    assert "UserPrincipalName" in signin.field("user_principal_name").synonyms  # type: ignore[union-attr]
    assert signin.column(Platform.kql, "resource_id_2") == "_ResourceId"  # clash resolved
    perf = sources["perf"]
    assert perf.field("counter_value").type is FieldType.real  # type: ignore[union-attr]
    assert sources["custom_app_cl"].description == "Our payment service"
    assert sources["security_event"].field("event_id").type is FieldType.int  # type: ignore[union-attr]


def test_sql_ddl_postgres() -> None:
    sources = {s.id: s for s in import_file(FIX / "ddl_postgres.sql")}
    assert set(sources) == {"login_events", "payments"}  # the view has no column list
    logins = sources["login_events"]
    assert logins.bindings.sql is not None and logins.bindings.sql.table == "audit.login_events"
    assert logins.time_field == "occurred_at"
    types = {f.name: f.type for f in logins.fields}
    assert types["id"] is FieldType.long and types["success"] is FieldType.bool
    assert types["session_id"] is FieldType.guid and types["occurred_at"] is FieldType.datetime
    pay = sources["payments"]
    assert {f.name: f.type for f in pay.fields}["amount"] is FieldType.real
    assert {f.name: f.type for f in pay.fields}["metadata"] is FieldType.dynamic
    assert pay.time_field == "created_at"


def test_yaml_catalog() -> None:
    [vpn] = import_file(FIX / "my_sources.yaml")
    assert vpn.id == "vpn_sessions" and vpn.origin == "my_sources.yaml"
    assert vpn.column(Platform.kql, "user") == "UserName_s"
    assert vpn.bindings.sql is None
    assert vpn.concept("failed vpn login") is not None


@pytest.mark.parametrize("name,content,needle", [
    ("bad.yaml", "sources: [ {id: x, \n", "does not parse at line"),
    ("shape.yaml", "- 1\n- 2\n", "not a mapping"),
    ("unknown.yaml", "id: x\nname: X\nfields: [{name: a}]\nbindings: {kql: {table: T, "
                     "columns: {b: B}}}\n", "unknown fields ['b']"),
    ("type.yaml", "id: x\nname: X\nfields: [{name: a, type: nonsense}]\nbindings: {kql: "
                  "{table: T}}\n", "fields.0.type"),
    ("concept.yaml", "id: x\nname: X\nfields: [{name: a}]\nconcepts: [{name: c, filters: "
                     "[{field: b, op: eq, value: 1}]}]\nbindings: {kql: {table: T}}\n",
     "unknown fields ['b']"),
    ("empty.yaml", "", "empty"),
    ("blank.json", "   \n", "empty"),
    ("bad.json", "{\"Databases\": ", "does not parse"),
    ("notables.json", "{\"Databases\": {\"db\": {\"Tables\": {}}}}", "no tables"),
    ("nocols.json", "{\"Databases\": {\"db\": {\"Tables\": {\"T\": {\"Name\": \"T\"}}}}}",
     "no OrderedColumns"),
    ("noddl.sql", "SELECT 1;", "no CREATE TABLE"),
    ("broken.sql", "CREATE TABLE ((((", "does not parse"),
    ("schema.csv", "a,b\n1,2\n", "Splunk inventory needs the columns index and sourcetype"),
])
def test_malformed_files_give_clear_errors(tmp_path: Path, name: str, content: str,
                                           needle: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(CatalogError) as e:
        import_file(path)
    assert needle in e.value.message
    assert name in e.value.message


def test_binary_garbage_and_missing_file(tmp_path: Path) -> None:
    blob = tmp_path / "blob.yaml"
    blob.write_bytes(b"\x00\x01" + os.urandom(512))
    with pytest.raises(CatalogError, match="binary"):
        import_file(blob)
    with pytest.raises(CatalogError, match="cannot read"):
        import_file(tmp_path / "missing.yaml")


def test_persistence_round_trip_and_removal(tmp_path: Path) -> None:
    cdir = tmp_path / "catalogs"
    save_imported(import_file(FIX / "kusto_schema.json"), cdir, name="workspace")
    save_imported(import_file(FIX / "my_sources.yaml"), cdir, name="mine")
    cat = load_catalog(cdir)
    assert "vpn_sessions" in cat and "custom_app_cl" in cat
    # a bare schema import does not replace the curated built-in of the same id
    assert cat.get("signin_logs").origin == "builtin"  # type: ignore[union-attr]
    assert cat.get("signin_logs_kql").origin == "kusto_schema.json"  # type: ignore[union-attr]
    assert cat.get("vpn_sessions").origin == "my_sources.yaml"  # type: ignore[union-attr]
    assert not list(cdir.glob(".import-*"))  # no temp files left behind
    assert remove_imported("vpn_sessions", cdir)
    assert "vpn_sessions" not in load_catalog(cdir)
    assert not remove_imported("vpn_sessions", cdir)


def test_corrupt_persisted_file_is_skipped_with_a_warning(tmp_path: Path) -> None:
    cdir = tmp_path / "catalogs"
    save_imported(import_file(FIX / "my_sources.yaml"), cdir, name="mine")
    (cdir / "broken.yaml").write_text("sources: [ {id: ")
    warnings: list[str] = []
    cat = load_catalog(cdir, warn=warnings.append)
    assert "vpn_sessions" in cat and len(warnings) == 1 and "broken.yaml" in warnings[0]


def test_extra_files_override_and_errors_propagate(tmp_path: Path) -> None:
    cat = load_catalog(None, [FIX / "my_sources.yaml"])
    assert "vpn_sessions" in cat
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources: 3")
    with pytest.raises(CatalogError):
        load_catalog(None, [bad])


@pytest.mark.parametrize("name,expected", [("UserPrincipalName", "user_principal_name"),
                                           ("IPAddress", "ip_address"), ("Site_Url", "site_url"),
                                           ("_ResourceId", "resource_id"),
                                           ("LatencyMs_d", "latency_ms_d"), ("2fa", "f_2fa")])
def test_snake(name: str, expected: str) -> None:
    assert snake(name) == expected
