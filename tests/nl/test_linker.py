"""Schema linking over the shelves: any table can be asked about, curated sources still win."""

from __future__ import annotations

from pathlib import Path

import pytest

from lexiquery.catalog.model import Platform
from lexiquery.catalog.store import load_catalog
from lexiquery.dialects import render
from lexiquery.nl import linker
from lexiquery.nl.rules import parse_question
from lexiquery.nl.tokens import tokenize


@pytest.fixture(scope="module")
def cat():  # type: ignore[no-untyped-def]
    return load_catalog(None)


@pytest.mark.parametrize("question, table", [
    ("Show DeviceEvents related to service installation in the last 7 days", "DeviceEvents"),
    ("registry run key modifications where initiating process is not explorer.exe",
     "DeviceRegistryEvents"),
    ("AADNonInteractiveUserSignInLogs from 10.1.2.3", "AADNonInteractiveUserSignInLogs"),
    ("failed sign-ins by user in the last day", "SigninLogs"),  # curated wins
    ("processes spawned by winword.exe", "DeviceProcessEvents"),  # curated wins
])
def test_the_right_table(cat, question: str, table: str) -> None:  # type: ignore[no-untyped-def]
    p = parse_question(question, cat, platforms=[Platform.kql])
    src = cat.get(p.plan.source)
    assert src is not None and src.bindings.kql is not None
    assert src.bindings.kql.table == table, p.notes


def test_a_value_goes_to_the_column_that_fits(cat) -> None:  # type: ignore[no-untyped-def]
    p = parse_question("DeviceRegistryEvents where initiating process is not outlook.exe", cat)
    src = cat.get(p.plan.source)
    text = render(p.plan, src, Platform.kql)  # type: ignore[arg-type]
    assert "InitiatingProcessFileName" in text and "outlook.exe" in text


def test_a_table_named_literally_is_retrieved_first(cat) -> None:  # type: ignore[no-untyped-def]
    links = linker.link(cat.shelves, tokenize("count of DeviceFileCertificateInfo by signer"))
    assert links[0].source_id == "device_file_certificate_info" and links[0].literal


def test_the_index_is_cached_on_disk_by_content(tmp_path: Path, monkeypatch, cat) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LEXIQUERY_CACHE_DIR", str(tmp_path))
    shelf = next(s for s in cat.shelves if s.name == "log_analytics")
    monkeypatch.setattr(linker, "_MEMORY", {})
    first = linker.link_index(shelf)
    files = list(tmp_path.glob("link-*.marshal"))
    assert len(files) == 1 and shelf.content_hash() in files[0].name
    monkeypatch.setattr(linker, "_MEMORY", {})
    monkeypatch.setattr(linker, "_build", lambda _s: pytest.fail("rebuilt despite the cache"))
    assert linker.link_index(shelf).ids == first.ids


def test_a_corrupt_cache_file_is_rebuilt(tmp_path: Path, monkeypatch, cat) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LEXIQUERY_CACHE_DIR", str(tmp_path))
    shelf = next(s for s in cat.shelves if s.name == "cim")
    monkeypatch.setattr(linker, "_MEMORY", {})
    linker.link_index(shelf)
    path = next(tmp_path.glob("link-*.marshal"))
    path.write_bytes(b"\x00garbage")
    monkeypatch.setattr(linker, "_MEMORY", {})
    assert len(linker.link_index(shelf).ids) == len(shelf)


def test_an_unwritable_cache_only_costs_the_rebuild(tmp_path: Path, monkeypatch, cat) -> None:  # type: ignore[no-untyped-def]
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("LEXIQUERY_CACHE_DIR", str(blocker / "cache"))
    monkeypatch.setattr(linker, "_MEMORY", {})
    shelf = next(s for s in cat.shelves if s.name == "cim")
    assert len(linker.link_index(shelf).ids) == len(shelf)
