"""The SQLite journey store: round trip, ordering, concurrency-safe writes, corrupt files."""

from __future__ import annotations

from pathlib import Path

import pytest

from lexiquery.answer import Answer, JourneyState
from lexiquery.errors import StorageError
from lexiquery.journeys import JourneyStore


def _answer(i: int) -> Answer:
    a = Answer(journey_id=f"j{i}", question=f"question {i}")
    for s in (JourneyState.PENDING, JourneyState.PLANNING, JourneyState.COMPLETED):
        a.move(s)
    return a


def test_round_trip_and_recent(tmp_path: Path) -> None:
    store = JourneyStore(tmp_path / "db.sqlite")
    for i in range(3):
        store.save(_answer(i))
    got = store.get("j1")
    assert got is not None and got.question == "question 1"
    assert [t.state for t in got.transitions] == [JourneyState.PENDING, JourneyState.PLANNING,
                                                  JourneyState.COMPLETED]
    assert [r["journey_id"] for r in store.recent(2)] == ["j2", "j1"]
    assert store.get("nope") is None
    assert store.count() == 3


def test_reopen_keeps_data(tmp_path: Path) -> None:
    JourneyStore(tmp_path / "db.sqlite").save(_answer(7))
    assert JourneyStore(tmp_path / "db.sqlite").get("j7") is not None


def test_corrupt_file_is_a_clear_error_and_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    garbage = b"this is not a database" * 100
    path.write_bytes(garbage)
    with pytest.raises(StorageError) as e:
        JourneyStore(path)
    assert str(path) in e.value.message and e.value.hint
    assert path.read_bytes() == garbage


def test_unwritable_directory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StorageError):
        JourneyStore(blocker / "sub" / "db.sqlite")
