"""Documents from outside — catalog files (YAML, JSON, Kusto schema JSON) and known-errors
files — are bounded in depth and in values before anything walks them (lexiquery/limits.py):
a nesting bomb or a YAML alias bomb ("billion laughs") is one clear error, never a
RecursionError traceback or minutes of validation."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from lexiquery.catalog.importers import import_file
from lexiquery.errors import CatalogError, InputError
from lexiquery.knowledge.known_errors.files import read_known_errors_file
from lexiquery.limits import MAX_JSON_DEPTH, check_document, load_yaml_bounded

# Nine levels of nine aliases: ~400 bytes that a reader would meet as 9**9 (387 million) values.
ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]\n"
    for i in range(8))
DEEP_JSON = "[" * 5000 + "]" * 5000
DEEP_YAML = "a: " + "[" * 5000 + "]" * 5000 + "\n"


def test_the_alias_bomb_is_refused_at_once() -> None:
    started = time.perf_counter()
    with pytest.raises(InputError, match="more than 1,000,000 values"):
        load_yaml_bounded(ALIAS_BOMB, what="bomb.yaml")
    assert time.perf_counter() - started < 10  # counted, never expanded (~0.5 s here)


def test_depth_is_counted_without_recursion() -> None:
    nested: list[object] = []
    for _ in range(MAX_JSON_DEPTH - 1):
        nested = [nested]
    assert check_document(nested, what="x") is nested
    with pytest.raises(InputError, match=f"deeper than {MAX_JSON_DEPTH} levels"):
        check_document([nested], what="x")
    deep: list[object] = []
    for _ in range(100_000):  # far past the interpreter's recursion limit
        deep = [deep]
    with pytest.raises(InputError):
        check_document(deep, what="x")


@pytest.mark.parametrize("name,content", [
    ("bomb.yaml", ALIAS_BOMB), ("deep.yaml", DEEP_YAML), ("deep.json", DEEP_JSON),
    # A schema cell (JSON inside a JSON string) nested past the interpreter's recursion limit.
    ("deep_kusto.json", '{"Tables": [{"TableName": "x", "Rows": [["{\\"a\\": ' + "[" * 3000
     + '"]]}]}'),
])
def test_catalog_files_refuse_bombs_with_a_catalog_error(tmp_path: Path, name: str,
                                                         content: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CatalogError) as err:
        import_file(path)
    assert name in err.value.message or "deep" in err.value.message or \
        "schema" in err.value.message


@pytest.mark.parametrize("content", [ALIAS_BOMB, DEEP_YAML])
def test_known_errors_files_refuse_bombs(tmp_path: Path, content: str) -> None:
    path = tmp_path / "errors.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_known_errors_file(path)
    assert "errors.yaml" in err.value.message


def test_ordinary_documents_still_load(tmp_path: Path) -> None:
    path = tmp_path / "vpn.yaml"
    path.write_text("id: vpn_sessions\nname: VPN sessions\nfields:\n"
                    "  - {name: user, type: string}\n"
                    "bindings:\n  sql: {table: vpn_sessions}\n", encoding="utf-8")
    assert [s.id for s in import_file(path)] == ["vpn_sessions"]
