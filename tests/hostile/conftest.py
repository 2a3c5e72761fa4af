"""One hostile environment for the whole corpus (see `hostile.env`): a tmp tree with canaries,
the working directory inside it, one data directory, and the live surfaces (`hostile.harness`).

`data_dir` overrides the per-test fixture of tests/conftest.py for this folder: the servers and
the MCP session are shared by every case, so they all see one data directory — which is also
the one place the invariants allow writes in.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hostile.env import Paths, make_tree
from hostile.harness import Harness

CLOSED_PORT_URL = "http://127.0.0.1:9"


@pytest.fixture(scope="session")
def hostile_paths(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Paths]:
    paths = make_tree(tmp_path_factory.mktemp("hostile"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LEXIQUERY_DATA_DIR", str(paths.data))
        mp.setenv("LEXIQUERY_OLLAMA_HOST", CLOSED_PORT_URL)
        mp.delenv("A2A_STATIC_AGENTS_JSON", raising=False)
        mp.chdir(paths.cwd)
        yield paths


@pytest.fixture(autouse=True)
def data_dir(hostile_paths: Paths) -> Path:
    return hostile_paths.data


@pytest.fixture(scope="session")
def harness(hostile_paths: Paths) -> Iterator[Harness]:
    h = Harness(hostile_paths)
    try:
        yield h
    finally:
        h.close()
