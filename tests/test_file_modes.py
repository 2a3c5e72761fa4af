"""Every store in the data directory is 0600 in a 0700 directory (issue 12: `lexiquery.db` was
0644 while `registry.json` was 0600), whatever the umask says, and an older, wider install is
narrowed when a store opens it."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from pathlib import Path
from typing import Iterator

import pytest

import lexiquery
from cost.records import rec
from knowledge.sops import BRUTE_FORCE
from lexiquery.catalog.builtin import builtin_catalog
from lexiquery.catalog.store import save_imported
from lexiquery.config import get_settings
from lexiquery.cost.store import SqliteCostStore
from lexiquery.journeys import JourneyStore
from lexiquery.knowledge.store import ProcedureStore
from lexiquery.private_files import private_sqlite, private_umask
from lexiquery.registry.store import RegistryFile
from ollama_server import FakeOllama


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The common 022: without the fixes, files come out 0644 and directories 0755."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def modes(root: Path) -> dict[str, str]:
    found = {".": oct(stat.S_IMODE(root.stat().st_mode))}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = oct(stat.S_IMODE(path.lstat().st_mode))
    return found


def wider(root: Path) -> dict[str, str]:
    """Every entry of `root` more open than 0700 (directories) or 0600 (files)."""
    return {name: mode for name, mode in modes(root).items()
            if int(mode, 8) & ~(0o700 if (root / name).is_dir() else 0o600)}


def test_every_store_is_private(data_dir: Path, fake_ollama: FakeOllama) -> None:
    settings = get_settings()
    lexiquery.ask("failed sign-ins by app yesterday", platforms=["kql"])  # a journey
    with ProcedureStore(settings) as store:  # a hybrid runbook ingest: SQLite, Chroma, costs
        added = store.add_bytes("SOP-017.md", BRUTE_FORCE.encode())
        assert added.document.embedded
    cost = SqliteCostStore(settings.cost_db_path)
    cost.add(rec())
    cost.close()
    source = next(iter(builtin_catalog()))
    save_imported([source.model_copy(update={"origin": "mine.yaml"})], settings.catalog_dir)
    RegistryFile(settings.registry_path).update(lambda data: None)

    found = modes(data_dir)
    for store_file in ("lexiquery.db", "cost.db", "sop/sop.db", "sop/chroma/chroma.sqlite3",
                       "catalogs/mine.yaml", "registry.json"):
        assert found.get(store_file) == "0o600", (store_file, found)
    assert any(name.endswith(".bin") for name in found), "Chroma wrote its segment files"
    assert wider(data_dir) == {}


def test_an_older_wider_install_is_narrowed_on_open(data_dir: Path) -> None:
    data_dir.mkdir(mode=0o755)
    db = sqlite3.connect(data_dir / "lexiquery.db")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE t (x)")
    db.commit()  # the -wal and -shm files exist while the connection is open
    os.chmod(data_dir / "lexiquery.db", 0o644)
    assert wider(data_dir)
    JourneyStore(data_dir / "lexiquery.db").count()
    db.close()
    assert wider(data_dir) == {}


def test_sqlite_companions_follow_the_database_file(tmp_path: Path) -> None:
    path = private_sqlite(tmp_path / "new" / "x.db")
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE t (x)")
    db.commit()
    assert {p.name for p in path.parent.iterdir()} == {"x.db", "x.db-wal", "x.db-shm"}
    assert wider(path.parent) == {}
    db.close()


def test_the_umask_is_restored_after_overlapping_blocks() -> None:
    """Blocks in several threads share one count: the last one out restores the umask."""
    entered, release = threading.Barrier(5), threading.Event()

    def hold() -> None:
        with private_umask():
            entered.wait(timeout=10)
            release.wait(timeout=10)

    threads = [threading.Thread(target=hold) for _ in range(4)]
    for t in threads:
        t.start()
    entered.wait(timeout=10)
    current = os.umask(0o077)
    os.umask(current)
    assert current == 0o077
    release.set()
    for t in threads:
        t.join(timeout=10)
    current = os.umask(0o022)
    assert current == 0o022
