"""Persisted imports: file naming, round trip, removal by either id, and damaged files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from lexiquery.catalog.importers import import_file
from lexiquery.catalog.store import (
    add_source,
    load_catalog,
    persisted_files,
    remove_imported,
    save_imported,
)
from lexiquery.errors import CatalogError

FIX = Path(__file__).with_name("fixtures")


def test_round_trip_keeps_every_detail(tmp_path: Path) -> None:
    cdir = tmp_path / "catalogs"
    imported = import_file(FIX / "my_sources.yaml") + import_file(FIX / "pg_dump_schema.sql")
    path = save_imported(imported, cdir, name="mixed")
    assert path == cdir / "mixed.yaml"
    cat = load_catalog(cdir, warn=pytest.fail)
    for s in imported:
        assert cat.get(s.id) == s  # origin, concepts, bindings, descriptions all survive


def test_default_name_is_the_imported_file(tmp_path: Path) -> None:
    path = save_imported(import_file(FIX / "mysqldump.sql"), tmp_path)
    assert path.name == "mysqldump.yaml"
    with pytest.raises(CatalogError, match="no sources"):
        save_imported([], tmp_path)


def test_reimport_replaces_but_another_file_of_the_same_name_does_not(tmp_path: Path) -> None:
    """schema.json and schema.sql both import as "schema": the second must not silently
    replace the first, and re-importing either replaces only its own earlier import."""
    kusto = tmp_path / "schema.json"
    kusto.write_text((FIX / "kusto_schema.json").read_text())
    ddl = tmp_path / "schema.sql"
    ddl.write_text((FIX / "ddl_postgres.sql").read_text())
    cdir = tmp_path / "catalogs"
    first = save_imported(import_file(kusto), cdir, name="schema")
    second = save_imported(import_file(ddl), cdir, name="schema")
    assert first != second and second.name == "schema-2.yaml"
    again = save_imported(import_file(ddl), cdir, name="schema")
    assert again == second and len(persisted_files(cdir)) == 2
    cat = load_catalog(cdir)
    assert "custom_app_cl" in cat and "payments" in cat


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    cdir = tmp_path / "catalogs"
    sources = import_file(FIX / "my_sources.yaml")
    path = save_imported(sources, cdir, name="mine")
    before = path.read_bytes()

    def boom(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(CatalogError, match="No space left"):
        save_imported(sources, cdir, name="mine")
    assert path.read_bytes() == before  # the old import is intact
    assert not list(cdir.glob(".import-*"))


def test_unwritable_catalog_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "catalogs"
    blocker.write_text("a file where the directory should be")
    with pytest.raises(CatalogError, match="cannot save"):
        save_imported(import_file(FIX / "my_sources.yaml"), blocker, name="mine")


def test_remove_by_the_id_the_catalog_shows(tmp_path: Path) -> None:
    """A schema table named like a built-in answers to `<id>_kql`; removing it by that id
    works, leaves the rest of its import, and keeps the origin of what remains."""
    cdir = tmp_path / "catalogs"
    sources = import_file(FIX / "kusto_schema.json")
    save_imported(sources, cdir, name="workspace")
    assert add_source(load_catalog(None), sources[0]) == "signin_logs_kql"
    assert remove_imported("signin_logs_kql", cdir, warn=pytest.fail)
    cat = load_catalog(cdir)
    assert "signin_logs_kql" not in cat and cat.get("signin_logs") is not None
    perf = cat.get("perf")
    assert perf is not None and perf.origin == "kusto_schema.json"
    assert not remove_imported("signin_logs_kql", cdir)
    # the last source of a file takes the file with it
    for sid in ("security_event", "perf", "custom_app_cl"):
        assert remove_imported(sid, cdir)
    assert persisted_files(cdir) == []


def test_removing_a_builtin_is_not_possible(tmp_path: Path) -> None:
    cdir = tmp_path / "catalogs"
    save_imported(import_file(FIX / "kusto_schema.json"), cdir, name="workspace")
    assert not remove_imported("syslog", cdir)
    assert "syslog" in load_catalog(cdir)


@pytest.mark.parametrize("content", [
    "sources: [ {id: ",                        # truncated YAML
    "sources: 3",                              # wrong shape
    "sources:\n  - id: x\n    name: X\n",      # a source with no fields or bindings
    "\x00\x01garbage",                         # binary
])
def test_a_damaged_import_is_skipped_with_a_warning(tmp_path: Path, content: str) -> None:
    cdir = tmp_path / "catalogs"
    save_imported(import_file(FIX / "my_sources.yaml"), cdir, name="mine")
    (cdir / "damaged.yaml").write_text(content)
    warnings: list[str] = []
    cat = load_catalog(cdir, warn=warnings.append)
    assert "vpn_sessions" in cat and "signin_logs" in cat
    assert len(warnings) == 1 and str(cdir / "damaged.yaml") in warnings[0]
    # removal still works around it, and says so
    warnings.clear()
    assert remove_imported("vpn_sessions", cdir, warn=warnings.append)
    assert len(warnings) == 1 and "damaged.yaml" in warnings[0]


def test_reimporting_replaces_a_damaged_file(tmp_path: Path) -> None:
    cdir = tmp_path / "catalogs"
    cdir.mkdir()
    (cdir / "mine.yaml").write_text("sources: [ {id: ")
    path = save_imported(import_file(FIX / "my_sources.yaml"), cdir, name="mine")
    assert path.name == "mine.yaml"
    warnings: list[str] = []
    assert "vpn_sessions" in load_catalog(cdir, warn=warnings.append) and not warnings


def test_default_warning_goes_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cdir = tmp_path / "catalogs"
    cdir.mkdir()
    (cdir / "broken.yaml").write_text("sources: 3")
    load_catalog(cdir)
    err = capsys.readouterr().err
    assert err.startswith("warning: skipping the imported catalog") and "broken.yaml" in err


def test_later_imports_and_extra_files_win_by_id(tmp_path: Path) -> None:
    cdir = tmp_path / "catalogs"
    save_imported(import_file(FIX / "my_sources.yaml"), cdir, name="mine")
    override = tmp_path / "override.yaml"
    data = yaml.safe_load((FIX / "my_sources.yaml").read_text())
    data["sources"][0]["description"] = "overridden"
    override.write_text(yaml.safe_dump(data))
    cat = load_catalog(cdir, [override])
    vpn = cat.get("vpn_sessions")
    assert vpn is not None and vpn.description == "overridden" and vpn.origin == "override.yaml"
    # a user file with concepts may replace a built-in of the same id on purpose
    sig = yaml.safe_load((Path(__file__).parents[2] / "src/lexiquery/catalog/builtin/"
                          "signin_logs.yaml").read_text())
    sig["description"] = "our sign-ins"
    mine = tmp_path / "signins.yaml"
    mine.write_text(yaml.safe_dump(sig))
    signin = load_catalog(None, [mine]).get("signin_logs")
    assert signin is not None and signin.description == "our sign-ins"
