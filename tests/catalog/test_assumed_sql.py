"""A Log Analytics reference table is read by SQL under its own names (Azure Data Explorer's T-SQL
endpoint, the Sentinel data lake, exports), as an *assumed* binding: every query written through
it says so with an ``assumed_binding`` warning, and it runs on the sample data like any other."""

from __future__ import annotations

from pathlib import Path

import pytest

from lexiquery.catalog.model import Catalog, Platform
from lexiquery.catalog.store import load_catalog
from lexiquery.operations import translate_query

DETECTION = """DeviceNetworkEvents
| where TimeGenerated > ago(1d)
| where RemotePort in (4444, 5555)
| summarize Connections = count() by DeviceName, RemoteIP
| where Connections > 3"""


@pytest.fixture(scope="module")
def cat(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    mp = pytest.MonkeyPatch()
    mp.setenv("LEXIQUERY_DATA_DIR", str(tmp_path_factory.mktemp("data")))
    yield load_catalog(None)
    mp.undo()


def test_a_reference_table_is_bound_on_sql_under_its_own_names_with_a_note(cat: Catalog) -> None:
    src = cat.find_table(Platform.kql, "DeviceNetworkEvents")
    assert src is not None and src.bindings.sql is not None
    assert src.bindings.sql.table == "DeviceNetworkEvents"
    assert src.column(Platform.sql, "remote_port") == "RemotePort"
    assert "assumed" in (src.bindings.sql.note or "")
    assert cat.find_table(Platform.sql, "DeviceNetworkEvents") is not None
    assert cat.find_table(Platform.sql, "dbo.devicenetworkevents").id == src.id  # as SQL names it
    # curated sources keep their own SQL tables, known, without a note
    curated = cat.get("process_creation")
    assert curated is not None and curated.bindings.sql.note is None


def test_a_translation_through_it_is_valid_warned_and_agrees_on_sample_data(cat: Catalog) -> None:
    t = translate_query(DETECTION, "kql", "sql", catalog=cat, check=True)
    assert t.valid and '"DeviceNetworkEvents"' in t.query and '"RemotePort"' in t.query
    warned = [i for i in t.issues if i.code == "assumed_binding"]
    assert len(warned) == 1 and warned[0].severity.value == "warning"
    assert "DeviceNetworkEvents" in warned[0].message
    assert t.agreement is not None and t.agreement.identical, t.agreement


def test_known_sql_tables_carry_no_warning(cat: Catalog) -> None:
    t = translate_query("SigninLogs | where ResultType != '0' | summarize count() by "
                        "UserPrincipalName", "kql", "sql", catalog=cat, check=False)
    assert t.valid and not [i for i in t.issues if i.code == "assumed_binding"]


def test_a_workspace_schema_gets_no_assumed_sql_binding(tmp_path: Path) -> None:
    from lexiquery.catalog.shelf import Shelf, ShelfTable

    shelf = Shelf(name="prod", kind="workspace", platform=Platform.kql, tables=[
        ShelfTable(id="", name="VpnLogs_CL", platform=Platform.kql,
                   columns=[("TimeGenerated", "datetime"), ("User_s", "string")])])
    src = Catalog(shelves=[shelf]).find_table(Platform.kql, "VpnLogs_CL")
    assert src is not None and src.bindings.sql is None
