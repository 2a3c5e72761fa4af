"""Kusto schema and SQL DDL imports on realistic files: Defender XDR + Sentinel schema JSON, a
saved `.show table … schema as json` result, pg_dump, an SSMS script and mysqldump output."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from lexiquery.catalog.importers import import_file, import_kusto_schema, import_sql_ddl
from lexiquery.catalog.model import FieldType, Platform, Source
from lexiquery.catalog.sql_ddl import guess_dialects
from lexiquery.dialects import render
from lexiquery.errors import CatalogError
from lexiquery.ir import QueryPlan

FIX = Path(__file__).with_name("fixtures")


def by_id(sources: list[Source]) -> dict[str, Source]:
    ids = [s.id for s in sources]
    assert len(ids) == len(set(ids)), f"duplicate ids {ids}"
    return {s.id: s for s in sources}


def ftype(src: Source, name: str) -> FieldType:
    f = src.field(name)
    assert f is not None, f"{src.id} has no field {name}"
    return f.type


# ------------------------------------------------------------------------------------ Kusto


def test_kusto_two_databases_tables_and_materialized_views() -> None:
    s = by_id(import_file(FIX / "kusto_defender_and_sentinel.json"))
    # DeviceProcessEvents is in both databases: each keeps its table name but gets a distinct id
    assert {"defender_xdr_device_process_events", "sec_ops_workspace_device_process_events",
            "device_network_events", "common_security_log", "firewall_deny_daily"} <= set(s)
    assert all(src.bindings.platforms() == [Platform.kql] for src in s.values())
    assert all(src.origin == "kusto_defender_and_sentinel.json" for src in s.values())
    # functions are not sources
    assert not any("asim" in sid for sid in s)
    dpe = s["defender_xdr_device_process_events"]
    assert dpe.bindings.kql is not None and dpe.bindings.kql.table == "DeviceProcessEvents"
    assert dpe.time_field == "timestamp"  # Defender XDR has Timestamp, no TimeGenerated
    assert s["sec_ops_workspace_device_process_events"].time_field == "time_generated"
    assert len(dpe.fields) > 50
    assert dpe.column(Platform.kql, "initiating_process_file_name") == "InitiatingProcessFileName"
    assert ftype(dpe, "process_id") is FieldType.long
    assert ftype(dpe, "additional_fields") is FieldType.dynamic
    assert ftype(dpe, "process_creation_time") is FieldType.datetime
    # column and table DocStrings become descriptions
    assert dpe.description == "Process creation and related events"
    cmd = dpe.field("process_command_line")
    assert cmd is not None and cmd.description == "Command line used to create the new process"
    assert "ProcessCommandLine" in cmd.synonyms and "process command line" in cmd.synonyms


def test_kusto_common_security_log_names_and_types() -> None:
    csl = by_id(import_file(FIX / "kusto_defender_and_sentinel.json"))["common_security_log"]
    assert len(csl.fields) > 80
    assert csl.column(Platform.kql, "destination_nt_domain") == "DestinationNTDomain"
    assert csl.column(Platform.kql, "source_mac_address") == "SourceMACAddress"
    assert csl.column(Platform.kql, "resource_id") == "_ResourceId"
    assert ftype(csl, "destination_port") is FieldType.int
    assert ftype(csl, "sent_bytes") is FieldType.long
    # ProcessID and ProcessName stay distinct from each other and valid
    assert csl.column(Platform.kql, "process_id") == "ProcessID"


def test_kusto_import_renders_kql() -> None:
    csl = by_id(import_file(FIX / "kusto_defender_and_sentinel.json"))["common_security_log"]
    plan = QueryPlan.model_validate({
        "source": csl.id, "filters": [{"field": "device_action", "op": "eq", "value": "deny"}],
        "aggregation": {"metrics": [{"fn": "count"}], "group_by": ["source_ip"]}})
    kql = render(plan, csl, Platform.kql)
    assert kql.startswith("CommonSecurityLog") and "DeviceAction" in kql and "SourceIP" in kql


def test_kusto_saved_table_schema_result() -> None:
    """`.show table SecurityIncident schema as json` saved from the REST API: the schema is a
    JSON string inside Rows."""
    [inc] = import_file(FIX / "kusto_table_schema_result.json")
    assert inc.id == "security_incident" and inc.bindings.kql is not None
    assert inc.bindings.kql.table == "SecurityIncident"
    assert inc.time_field == "time_generated"
    assert ftype(inc, "incident_number") is FieldType.int
    assert ftype(inc, "owner") is FieldType.dynamic


def test_kusto_database_schema_as_query_result_and_v2_frames() -> None:
    schema = json.loads((FIX / "kusto_schema.json").read_text())
    v1 = {"Tables": [{"TableName": "Table_0", "Columns": [{"ColumnName": "DatabaseSchema"}],
                      "Rows": [[json.dumps(schema)]]}]}
    v2 = [{"FrameType": "DataSetHeader", "Version": "v2.0"},
          {"FrameType": "DataTable", "TableKind": "PrimaryResult", "TableName": "PrimaryResult",
           "Columns": [{"ColumnName": "DatabaseSchema", "ColumnType": "string"}],
           "Rows": [[json.dumps(schema)]]},
          {"FrameType": "DataSetCompletion", "HasErrors": False}]
    for wrapped in (v1, v2):
        assert {s.id for s in import_kusto_schema(wrapped, "result.json")} == \
            {"signin_logs", "security_event", "perf", "custom_app_cl"}


def test_kusto_clr_types_without_csl_type() -> None:
    data = {"Name": "T", "OrderedColumns": [
        {"Name": "When", "Type": "System.DateTime"}, {"Name": "N", "Type": "System.Int64"},
        {"Name": "Ok", "Type": "System.SByte"}, {"Name": "Bag", "Type": "System.Object"},
        {"Name": "Odd", "Type": "System.Data.SqlTypes.SqlDecimal"},
        {"Name": "Weird", "CslType": "no-such-type"}]}
    [t] = import_kusto_schema(data, "t.json")
    assert [f.type for f in t.fields] == [FieldType.datetime, FieldType.long, FieldType.bool,
                                          FieldType.dynamic, FieldType.real, FieldType.string]
    assert t.time_field == "when"


@pytest.mark.parametrize("data,needle", [
    ({"Databases": []}, "'Databases' must be an object"),
    ({"Databases": {"db": {"Tables": "SigninLogs"}}}, "'Tables' must be an object"),
    ({"Databases": {"db": {"Tables": {"T": {"OrderedColumns": [{"Type": "x"}]}}}}},
     "table T: column #1 has no Name"),
    ({"Databases": {"db": {"Tables": {"T": 3}}}}, "table T is not an object"),
    ({"Tables": [{"Rows": [["not json"]]}]}, "not a Kusto"),
])
def test_kusto_malformed(data: object, needle: str) -> None:
    with pytest.raises(CatalogError) as e:
        import_kusto_schema(data, "schema.json")
    assert needle in e.value.message and "schema.json" in e.value.message


# ------------------------------------------------------------------------------------ SQL DDL


def test_pg_dump_schema(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        s = by_id(import_file(FIX / "pg_dump_schema.sql"))
    assert not [r for r in caplog.records if r.name.startswith("sqlglot")], "sqlglot noise"
    # the same table name in two schemas: both kept, ids qualified; views are not tables
    assert set(s) == {"audit_login_events", "public_login_events", "orders", "orders_2024"}
    logins = s["audit_login_events"]
    assert logins.bindings.sql is not None and logins.bindings.sql.table == "audit.login_events"
    assert logins.description == "Every login attempt to the customer portal"
    src_ip = logins.field("source_ip")
    assert src_ip is not None and src_ip.description == "Client address as seen by the load balancer"
    assert {f.name: f.type for f in logins.fields} == {
        "id": FieldType.long, "occurred_at": FieldType.datetime, "username": FieldType.string,
        "source_ip": FieldType.string, "success": FieldType.bool, "tags": FieldType.dynamic,
        "session_id": FieldType.guid, "latency": FieldType.timespan}
    assert logins.time_field == "occurred_at"
    assert s["public_login_events"].description.startswith("Legacy login table")
    orders = s["orders"]
    assert orders.column(Platform.sql, "customer_name") == "Customer Name"
    assert ftype(orders, "status") is FieldType.string  # an enum type
    assert ftype(orders, "total") is FieldType.real


def test_mssql_ssms_script() -> None:
    s = by_id(import_file(FIX / "mssql_ssms_script.sql"))
    assert set(s) == {"vpn_sessions", "admin_actions"}
    vpn = s["vpn_sessions"]
    assert vpn.bindings.sql is not None and vpn.bindings.sql.table == "dbo.VpnSessions"
    assert {f.name: f.type for f in vpn.fields} == {
        "session_id": FieldType.guid, "started_at": FieldType.datetime,
        "user_name": FieldType.string, "client_ip": FieldType.string,
        "bytes_in": FieldType.long, "succeeded": FieldType.bool, "amount": FieldType.real}
    assert vpn.column(Platform.sql, "user_name") == "UserName"
    admin = s["admin_actions"]
    assert admin.time_field == "occurred_at"  # datetimeoffset
    assert ftype(admin, "row_version") is FieldType.string  # T-SQL timestamp is a rowversion


def test_mysqldump() -> None:
    s = by_id(import_file(FIX / "mysqldump.sql"))
    assert set(s) == {"access_log", "customers"}
    log = s["access_log"]
    assert log.description == "HTTP access log"
    ts = log.field("ts")
    assert ts is not None and ts.description == "Request time (UTC)"
    assert log.time_field == "ts"
    assert ftype(log, "id") is FieldType.long  # bigint unsigned
    assert ftype(log, "bytes_sent") is FieldType.long  # int unsigned exceeds int32
    assert ftype(log, "meta") is FieldType.dynamic
    assert ftype(s["customers"], "balance") is FieldType.real


def test_guess_dialects() -> None:
    assert guess_dialects("CREATE TABLE [dbo].[T] (a int)\nGO\n")[0] == "tsql"
    assert guess_dialects("CREATE TABLE `t` (a int) ENGINE=InnoDB;")[0] == "mysql"
    assert guess_dialects("CREATE TABLE t (a int);")[0] == "postgres"
    assert len(guess_dialects("x")) == len(set(guess_dialects("x")))


def test_explicit_dialect_and_quoted_semicolons() -> None:
    ddl = ('-- a comment; with a semicolon\nCREATE TABLE "Weird;Name" (x int, note text '
           "DEFAULT 'a;b');\nCREATE TABLE s.t (a timestamp);")
    s = by_id(import_sql_ddl(ddl, "x.sql", dialect="postgres"))
    assert s["weird_name"].bindings.sql is not None
    assert s["weird_name"].bindings.sql.table == "Weird;Name"
    assert s["t"].time_field == "a"


def test_one_unreadable_statement_does_not_hide_the_tables() -> None:
    """A statement no dialect reads is skipped when it is not a table definition..."""
    ddl = ("CREATE TABLE events (id bigint, at timestamp);\n"
           "THIS IS NOT SQL AT ALL (((;\n"
           "CREATE TABLE other (x int);\n")
    assert {s.id for s in import_sql_ddl(ddl, "mixed.sql")} == {"events", "other"}


def test_an_unreadable_table_is_an_error_with_its_line() -> None:
    """... but a CREATE TABLE that does not parse is reported with its line."""
    ddl = "CREATE TABLE ok (a int);\n\nCREATE TABLE broken (\n  a int,\n  b ((( \n);\n"
    with pytest.raises(CatalogError) as e:
        import_sql_ddl(ddl, "broken.sql")
    assert "broken.sql" in e.value.message and "line 6" in e.value.message


def test_ddl_import_renders_sql() -> None:
    logins = by_id(import_file(FIX / "pg_dump_schema.sql"))["audit_login_events"]
    plan = QueryPlan.model_validate({
        "source": logins.id, "filters": [{"field": "success", "op": "eq", "value": False}],
        "aggregation": {"metrics": [{"fn": "count"}], "group_by": ["username"]}})
    sql = render(plan, logins, Platform.sql, sql_dialect="postgres")
    assert "audit.login_events" in sql and "username" in sql


# ------------------------------------------------------------------------------------ dispatch


def test_files_without_a_telling_extension_are_judged_by_content(tmp_path: Path) -> None:
    ddl = tmp_path / "schema.txt"
    ddl.write_text("CREATE TABLE t (a int, b timestamp);")
    assert [s.id for s in import_file(ddl)] == ["t"]
    kusto = tmp_path / "workspace-schema"
    kusto.write_text((FIX / "kusto_schema.json").read_text())
    assert len(import_file(kusto)) == 4
    prose = tmp_path / "notes.txt"
    prose.write_text("these are my notes about the firewall")
    with pytest.raises(CatalogError, match="cannot tell the format"):
        import_file(prose)


def test_not_utf8_text(tmp_path: Path) -> None:
    latin = tmp_path / "schema.sql"
    latin.write_bytes("CREATE TABLE t (caf\xe9 int);".encode("latin-1"))
    with pytest.raises(CatalogError, match="not UTF-8"):
        import_file(latin)
