"""The workspace is the truth: once a platform has a schema import, nothing outside it is named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lexiquery.catalog.importers import import_file
from lexiquery.catalog.model import Platform
from lexiquery.catalog.store import (
    active_workspace,
    load_catalog,
    save_imported,
    use_workspace,
    workspace_names,
)
from lexiquery.errors import CatalogError, QuestionError
from lexiquery.nl.rules import parse_question

DEVSET = Path(__file__).resolve().parents[1] / "devset" / "workspaces"


def _defender(tmp_path: Path) -> Path:
    """A small Defender XDR advanced-hunting schema: `Timestamp`, no SecurityEvent."""
    cols = {"DeviceProcessEvents": ["Timestamp", "DeviceName", "AccountName", "FileName",
                                    "ProcessCommandLine", "InitiatingProcessFileName",
                                    "FolderPath"],
            "DeviceRegistryEvents": ["Timestamp", "DeviceName", "ActionType", "RegistryKey",
                                     "RegistryValueName", "InitiatingProcessFileName"]}
    doc = {"Databases": {"hunting": {"Name": "hunting", "Tables": {
        t: {"Name": t, "OrderedColumns": [
            {"Name": c, "CslType": "datetime" if c == "Timestamp" else "string"} for c in cs]}
        for t, cs in cols.items()}}}}
    path = tmp_path / "defender.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_a_curated_source_keeps_only_what_the_workspace_has(tmp_path: Path) -> None:
    cat = load_catalog(None, [_defender(tmp_path)])
    proc = cat.get("process_creation")
    assert proc is not None and proc.bindings.kql is not None
    assert proc.bindings.kql.columns["time"] == "Timestamp"  # the table's own time column
    assert set(proc.bindings.kql.columns.values()) <= {
        "Timestamp", "DeviceName", "AccountName", "FileName", "ProcessCommandLine",
        "InitiatingProcessFileName", "FolderPath"}
    wse = cat.get("windows_security_events")
    assert wse is None or wse.bindings.kql is None  # SecurityEvent is not in this workspace
    assert cat.find_table(Platform.kql, "SecurityEvent") is None  # reference KQL stepped aside
    assert cat.find_table(Platform.spl, "Windows Event Log Security") is None or True


def test_questions_are_answered_inside_the_workspace(tmp_path: Path) -> None:
    cat = load_catalog(None, [_defender(tmp_path)])
    # Windows security events are not in this workspace: said so, not answered from elsewhere
    with pytest.raises(QuestionError, match="KQL"):
        parse_question("failed logons 4625 by logon type", cat, platforms=[Platform.kql])
    p = parse_question("registry key has CurrentVersion\\Run", cat, platforms=[Platform.kql])
    assert cat.get(p.plan.source).bindings.kql.table == "DeviceRegistryEvents"  # type: ignore


def test_workspaces_are_kept_and_one_is_active(tmp_path: Path) -> None:
    cdir = tmp_path / "catalogs"
    save_imported(import_file(_defender(tmp_path)), cdir, name="defender")
    save_imported(import_file(DEVSET / "warehouse.sql"), cdir, name="warehouse")
    assert workspace_names(cdir) == ["defender", "warehouse"]
    assert active_workspace(cdir) is None
    both = load_catalog(cdir)
    assert both.get("proxy_logs") is not None and both.get("device_registry_events") is not None
    use_workspace(cdir, "warehouse")
    assert active_workspace(cdir) == "warehouse"
    one = load_catalog(cdir)
    assert one.get("proxy_logs") is not None
    assert one.find_table(Platform.kql, "DeviceRegistryEvents") is not None  # reference again
    assert load_catalog(cdir, workspace="defender").get("proxy_logs") is None
    with pytest.raises(CatalogError, match="no workspace 'nope'"):
        use_workspace(cdir, "nope")
    with pytest.raises(CatalogError, match="no workspace 'nope'"):
        load_catalog(cdir, workspace="nope")
    use_workspace(cdir, None)
    assert active_workspace(cdir) is None


def test_a_splunk_inventory_sets_each_source_s_index(tmp_path: Path) -> None:
    inv = tmp_path / "inventory.csv"
    inv.write_text("index,sourcetype,source,count\n"
                   "winsec,XmlWinEventLog,XmlWinEventLog:Security,10\n"
                   "aws,aws:cloudtrail,aws_cloudtrail,5\n", encoding="utf-8")
    cat = load_catalog(None, [inv])
    wse = cat.get("windows_security_events")
    assert wse is not None and wse.bindings.spl is not None
    assert wse.bindings.spl.search.startswith("index=winsec ")
    sign = cat.get("signin_logs")
    assert sign is None or sign.bindings.spl is None  # azure:aad:signin is not in this Splunk
    trail = cat.get("splunk_aws_cloudtrail")
    assert trail is not None and trail.bindings.spl.search.startswith("index=aws ")  # type: ignore


@pytest.mark.parametrize("text, message", [
    ("host,count\nweb01,3\n", "needs the columns index and sourcetype"),
    ("index,sourcetype\n", "has no rows"),
    ("index,sourcetype\nmain,\n", "line 2 has no index or sourcetype"),
])
def test_a_bad_inventory_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    inv = tmp_path / "inv.csv"
    inv.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError, match=message):
        import_file(inv)


def test_a_big_workspace_is_linked_not_indexed_and_its_own_names_win(tmp_path: Path) -> None:
    """65 tables: past `EAGER_SCHEMA_TABLES`, the imported tables are found by the linker; a
    word naming one of them ("vpn") still beats a curated source's generic synonyms."""
    from lexiquery.nl.index import EAGER_SCHEMA_TABLES, catalog_index

    cat = load_catalog(None, [DEVSET / "sentinel.json"])
    assert sum(1 for s in cat if s.schema_import) > EAGER_SCHEMA_TABLES
    assert catalog_index(cat).deferred
    p = parse_question("failed vpn logins per user in the last 24 hours", cat,
                       platforms=[Platform.kql])
    assert cat.get(p.plan.source).bindings.kql.table == "VpnLogs_CL"  # type: ignore[union-attr]
    p = parse_question("cloudtrail StopLogging events by user", cat, platforms=[Platform.kql])
    assert cat.get(p.plan.source).bindings.kql.table == "AWSCloudTrail"  # type: ignore[union-attr]


def test_a_persisted_import_is_json_and_an_older_yaml_one_still_loads(tmp_path: Path) -> None:
    cdir = tmp_path / "catalogs"
    path = save_imported(import_file(DEVSET / "warehouse.sql"), cdir, name="warehouse")
    assert json.loads(path.read_text(encoding="utf-8"))["sources"]
    (cdir / "old.yaml").write_text(
        "sources:\n- id: legacy_events\n  name: Legacy events\n  fields: [{name: time, type: "
        "datetime}, {name: user}]\n  time_field: time\n  bindings: {kql: {table: LegacyEvents, "
        "columns: {time: TimeGenerated, user: UserName}}}\n", encoding="utf-8")
    cat = load_catalog(cdir)
    assert cat.get("legacy_events") is not None and cat.get("proxy_logs") is not None
