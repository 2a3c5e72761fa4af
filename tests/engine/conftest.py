"""Fixtures of the sandbox tests: a fixed "now", the built-in catalog, and small hand-made row
files (written to tmp_path) whose expected query results were worked out by hand."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from lexiquery.catalog.builtin import builtin_catalog
from lexiquery.catalog.model import Catalog
from lexiquery.engine.sandbox import Sandbox

NOW = datetime(2026, 3, 10, 12, 0, 0, tzinfo=timezone.utc)

# user, src_ip, app, result_code, location, hours before NOW ("" = missing)
SIGNIN_ROWS = [
    ("alice@contoso.com", "10.0.0.1", "Azure Portal", "0", "US", 1),
    ("ALICE@contoso.com", "10.0.0.1", "Azure Portal", "50126", "US", 2),
    ("alice@contoso.com", "203.0.113.45", "Azure Portal", "50126", "US", 3),
    ("alice@contoso.com", "203.0.113.45", "Azure Portal", "50126", "US", 4),
    ("bob@contoso.com", "10.0.0.2", "Microsoft Teams", "0", "GB", 5),
    ("bob@contoso.com", "203.0.113.45", "Microsoft Teams", "50053", "GB", 26),
    ("", "10.0.0.3", "Azure Portal", "50126", "", 30),
    ("carol@contoso.com", "", "Microsoft Teams", "0", "DE", 50),
    ("carol@contoso.com", "10.0.0.4", "Azure Portal", "50074", "DE", 72.5),
    ("", "203.0.113.45", "Microsoft Teams", "0", "NL", 100),
    ("alice@contoso.com", "10.0.0.1", "Microsoft Teams", "0", "US", 200),
]

# host, uri_path, status, bytes_out, response_time, hours before NOW
WEB_ROWS = [
    ("web01", "/index.html", 200, 1000, 120, 1),
    ("web01", "/login", 401, 200, 80, 2),
    ("web02", "/api/v1/orders", 500, 0, 3000, 3),
    ("web02", "/api/v1/orders", 200, 5000, 250, 4),
    ("WEB01", "/index.html", 404, 300, 15, 5),
    ("web03", "/index.html", 200, 2500, "", 6),
]


def iso(hours: float) -> str:
    return (NOW - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return builtin_catalog()


@pytest.fixture
def signin_csv(tmp_path: Path) -> Path:
    """Logical field names in the header."""
    p = tmp_path / "signins.csv"
    lines = ["time,user,src_ip,app,result_code,location"]
    lines += [f"{iso(h)},{u},{ip},{app},{rc},{loc}" for u, ip, app, rc, loc, h in SIGNIN_ROWS]
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


@pytest.fixture
def web_csv(tmp_path: Path) -> Path:
    """KQL column names (W3CIISLog) in the header."""
    p = tmp_path / "web.csv"
    lines = ["TimeGenerated,Computer,csUriStem,scStatus,scBytes,TimeTaken"]
    lines += [f"{iso(h)},{host},{path},{st},{b},{rt}" for host, path, st, b, rt, h in WEB_ROWS]
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


@pytest.fixture
def sandbox(catalog: Catalog, signin_csv: Path, web_csv: Path) -> Sandbox:
    sb = Sandbox(catalog, now=NOW, rows_per_source=500)
    sb.use_rows("signin_logs", signin_csv)
    sb.use_rows("web_requests", web_csv)
    yield sb
    sb.close()
