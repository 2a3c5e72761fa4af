"""Shared fixtures. Every test gets its own data directory: nothing touches ~/.local/share."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "data"
    monkeypatch.setenv("LEXIQUERY_DATA_DIR", str(d))
    return d
