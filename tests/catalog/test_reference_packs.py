"""The reference packs: generated from the facts, complete, loaded lazily, curated sources win."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from lexiquery.catalog.model import Platform
from lexiquery.catalog.reference import PACK_DIR, pack_tables
from lexiquery.catalog.store import load_catalog

FACTS = Path(__file__).resolve().parents[3] / "shared" / "reference"
ROOT = Path(__file__).resolve().parents[2]


def test_every_log_analytics_table_and_column_ships() -> None:
    platform, tables = pack_tables("log_analytics")
    assert platform is Platform.kql
    assert len(tables) == 898
    assert sum(len(t.columns) for t in tables) > 25_000
    by_name = {t.name: t for t in tables}
    assert ["RegistryKey", "string"] in by_name["DeviceRegistryEvents"].columns
    assert ["TimeGenerated", "datetime"] in by_name["SigninLogs"].columns


def test_splunk_data_sources_and_cim_models_ship() -> None:
    _, splunk = pack_tables("splunk")
    _, cim = pack_tables("cim")
    searches = {t.search for t in splunk}
    assert "sourcetype=aws:cloudtrail" in searches
    assert any(t.search.startswith("sourcetype=xmlwineventlog source=XmlWinEventLog:Security")
               for t in splunk)
    models = {t.search.split()[2] for t in cim}
    for model in ("Authentication", "Network_Traffic", "Network_Resolution", "Web", "Endpoint",
                  "Change", "Intrusion_Detection", "Malware", "Email", "Alerts"):
        assert model in models
    auth = next(t for t in cim if t.id == "cim_authentication")
    assert {"user", "src", "dest", "action", "_time"} <= {c for c, _ in auth.columns}
    assert any(c[0] == "Failed_Authentication" for c in auth.concepts)


@pytest.mark.skipif(not (FACTS / "log_analytics_tables.csv").is_file(),
                    reason="the shared reference facts are not next to the repository")
def test_the_packs_are_what_the_generator_makes_from_the_facts(tmp_path: Path) -> None:
    """Rebuilding from the facts changes nothing: the shipped packs were not hand-edited."""
    before = {p.name: p.read_bytes() for p in PACK_DIR.glob("*.json")}
    subprocess.run([sys.executable, str(ROOT / "tools" / "build_reference_packs.py"),
                    "--facts", str(FACTS)], check=True, capture_output=True)
    after = {p.name: p.read_bytes() for p in PACK_DIR.glob("*.json")}
    assert after == before
    with (FACTS / "log_analytics_tables.csv").open(encoding="utf-8") as f:
        names = {row["table_name"] for row in csv.DictReader(f)}
    shipped = {t["name"] for t in json.loads(before["log_analytics.json"])["tables"]}
    assert shipped == names


def test_shelf_tables_are_sources_on_demand_and_curated_ones_win() -> None:
    cat = load_catalog(None)
    assert len(cat) == 13  # iterating lists the catalog's own sources only
    assert cat.shelved(Platform.kql) > 800
    src = cat.get("device_registry_events")
    assert src is not None and src.bindings.kql.table == "DeviceRegistryEvents"
    assert cat.get("device_registry_events") is src  # built once
    assert "device_registry_events" in cat
    # SigninLogs is the curated source's table: no second source answers for it
    assert cat.find_table(Platform.kql, "SigninLogs") is None
    assert cat.get("signin_logs").origin == "builtin"  # type: ignore[union-attr]


def test_no_reference_gives_the_curated_catalog_alone() -> None:
    cat = load_catalog(None, reference=False)
    assert cat.shelves == [] and "device_registry_events" not in cat


def test_a_query_on_a_reference_table_parses_and_runs() -> None:
    import lexiquery

    text = 'DeviceRegistryEvents | where RegistryKey has "Run" | summarize count() by DeviceName'
    assert lexiquery.validate_query(text, "kql").valid
    result = lexiquery.run_query(text, "kql")
    assert result.columns and "DeviceName" in result.columns
