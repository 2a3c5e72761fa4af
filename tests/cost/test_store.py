"""The cost store contract, run against both backends: SQLite (a file) and Redis (a real
redis-server started by the session fixture)."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from cost.records import T0, embed, rec
from lexiquery.config import get_settings
from lexiquery.cost.store import CostStore, SqliteCostStore, open_cost_store
from lexiquery.errors import StorageError

WRITER = Path(__file__).with_name("writer.py")


def test_a_store_is_a_cost_store(store: CostStore) -> None:
    assert isinstance(store, CostStore)
    store.ping()


def test_records_come_back_in_time_order_whatever_the_write_order(store: CostStore) -> None:
    later, earlier = rec(seconds=5, operation="repair"), rec(seconds=1, operation="plan")
    store.add(later)
    store.add(earlier)
    store.add(rec("other", seconds=3))
    got = store.records("j1")
    assert [r.operation for r in got] == ["plan", "repair"]
    assert got == [earlier, later]  # every field round-trips, times to the microsecond
    assert got[0].at.tzinfo is not None


def test_same_time_records_keep_their_write_order_and_are_all_kept(store: CostStore) -> None:
    for op in ("a", "b", "c"):
        store.add(rec(operation=op))  # identical but for the operation, same instant
    store.add(rec(operation="a"))  # an exact duplicate is still a second call
    assert [r.operation for r in store.records("j1")] == ["a", "b", "c", "a"]


def test_unknown_counts_round_trip_as_unknown_not_zero(store: CostStore) -> None:
    store.add(rec(prompt_tokens=None, completion_tokens=None, total_tokens=None,
                  compute_s=None, ok=False, error="timeout"))
    (got,) = store.records("j1")
    assert (got.prompt_tokens, got.completion_tokens, got.total_tokens, got.compute_s) == \
        (None, None, None, None)
    assert (got.ok, got.error) == (False, "timeout")


def test_summary_totals_and_breakdowns(store: CostStore) -> None:
    store.add(rec(seconds=0))
    store.add(rec(seconds=1, operation="repair", prompt_tokens=50, completion_tokens=None,
                  total_tokens=None, estimated_cost=0.0005))
    store.add(embed(seconds=2))
    s = store.summary("j1")
    assert s is not None and s.journey_id == "j1"
    assert s.totals.calls == 3
    assert s.totals.prompt_tokens == 158 and s.totals.completion_tokens == 20
    assert s.totals.total_tokens == 128 and s.totals.unknown_token_calls == 1
    assert s.totals.estimated_cost == pytest.approx(0.0015)
    assert set(s.by_service) == {"planner", "knowledge-sop"}
    assert s.by_service["planner"].calls == 2 and s.by_service["planner"].unknown_token_calls == 1
    assert s.by_model["nomic-embed-text"].total_tokens == 8
    assert s.first_at == T0 and s.last_at == T0 + timedelta(seconds=2)


def test_an_unknown_journey_has_no_records_and_no_summary(store: CostStore) -> None:
    store.add(rec())
    assert store.records("nope") == []
    assert store.summary("nope") is None


def test_recent_is_newest_journey_first_and_orphans_are_no_journey(store: CostStore) -> None:
    store.add(rec("old", seconds=0))
    store.add(rec("new", seconds=10))
    store.add(rec("mid", seconds=5))
    store.add(rec("old", seconds=20))  # old's last call is now the newest
    store.add(rec(None, seconds=30, service="sop-engine", operation="embed_documents"))
    recent = store.recent(10)
    assert [c.journey_id for c in recent] == ["old", "new", "mid"]
    assert recent[0].totals.calls == 2
    assert [c.journey_id for c in store.recent(2)] == ["old", "new"]
    assert store.recent(0) == []


def test_purge_removes_older_records_and_says_how_many(store: CostStore) -> None:
    store.add(rec("a", seconds=0))
    store.add(rec("a", seconds=100))
    store.add(rec("b", seconds=1))
    store.add(rec(None, seconds=2))
    store.add(rec(None, seconds=200))
    assert store.purge(T0 + timedelta(seconds=50)) == 3  # a's first, all of b, one orphan
    assert [r.at for r in store.records("a")] == [T0 + timedelta(seconds=100)]
    assert store.records("b") == [] and store.summary("b") is None
    assert [c.journey_id for c in store.recent(10)] == ["a"]
    assert store.purge(T0 + timedelta(seconds=50)) == 0


def test_times_come_back_in_utc_and_naive_ones_are_read_as_utc(store: CostStore) -> None:
    store.add(rec(at=datetime(2026, 1, 5, 9, 0, 0)))
    store.add(rec(at=datetime(2026, 1, 5, 12, 0, 0, tzinfo=timezone(timedelta(hours=2)))))
    naive, plus2 = store.records("j1")
    assert naive.at == datetime(2026, 1, 5, 9, 0, 0, tzinfo=timezone.utc)
    assert plus2.at == datetime(2026, 1, 5, 10, 0, 0, tzinfo=timezone.utc)
    assert naive.at.utcoffset() == plus2.at.utcoffset() == timedelta(0)


def test_retention_is_applied_when_a_store_opens(store_factory) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(timezone.utc)
    first = store_factory()
    first.add(rec("stale", at=now - timedelta(days=40)))
    first.add(rec("fresh", at=now - timedelta(days=1)))
    store_factory(retention_days=30)
    assert first.records("stale") == []
    assert [c.journey_id for c in first.recent(5)] == ["fresh"]


def test_retention_runs_at_most_hourly_on_writes(store_factory) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(timezone.utc)
    store = store_factory(retention_days=30)
    store.add(rec("stale", at=now - timedelta(days=40)))
    assert len(store.records("stale")) == 1  # purged on open, not again within the hour
    store.retention.every_s = 0.0  # the hour has passed
    store.add(rec("fresh", at=now))
    assert store.records("stale") == []
    assert len(store.records("fresh")) == 1


def test_concurrent_writers_in_separate_processes(store_factory) -> None:  # type: ignore[no-untyped-def]
    writers, count = 4, 40
    # The writers start on a store nobody has opened yet (SQLite: the file does not exist),
    # so creating it is raced too.
    procs = [subprocess.Popen([sys.executable, str(WRITER), store_factory.backend,
                               store_factory.location, str(w), str(count)],
                              stderr=subprocess.PIPE, text=True) for w in range(writers)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    store = store_factory()
    shared = store.records("shared")
    assert len(shared) == writers * count // 2
    assert [r.at for r in shared] == sorted(r.at for r in shared)
    for w in range(writers):
        assert len(store.records(f"w{w}")) == count // 2
    summary = store.summary("shared")
    assert summary is not None and set(summary.by_service) == {f"writer-{w}"
                                                              for w in range(writers)}
    if store_factory.backend == "sqlite":
        with sqlite3.connect(store_factory.location) as db:
            assert db.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == 1


def test_open_cost_store_follows_the_backend_setting(fresh_redis: str) -> None:
    from lexiquery.cost.redis_store import RedisCostStore

    assert isinstance(open_cost_store(get_settings()), SqliteCostStore)
    s = open_cost_store(get_settings(cost_backend="redis", redis_url=fresh_redis))
    assert isinstance(s, RedisCostStore)
    s.close()


def test_default_sqlite_store_lives_in_the_data_directory(data_dir: Path) -> None:
    s = open_cost_store(get_settings())
    s.add(rec())
    assert (data_dir / "cost.db").is_file()


# ── failures ─────────────────────────────────────────────────────────────────────────────────

def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when this returns: nothing listens


def test_a_dead_redis_is_a_storage_error_with_the_hint() -> None:
    from lexiquery.cost.redis_store import RedisCostStore

    url = f"redis://127.0.0.1:{_closed_port()}/0"
    with pytest.raises(StorageError) as e:
        RedisCostStore(url)
    assert f"Redis at {url} is not reachable" in e.value.message
    assert "LEXIQUERY_COST_BACKEND=sqlite" in (e.value.hint or "")
    assert "redis-server" in (e.value.hint or "")


def test_a_redis_that_dies_later_fails_each_call_with_storage_error(own_redis) -> None:  # type: ignore[no-untyped-def]
    from cost.conftest import stop
    from lexiquery.cost.redis_store import RedisCostStore

    url, proc = own_redis
    store = RedisCostStore(url)
    store.add(rec())
    stop(proc)
    for call in (lambda: store.add(rec()), lambda: store.records("j1"), store.ping,
                 lambda: store.recent(3), lambda: store.purge(T0)):
        with pytest.raises(StorageError, match=f"Redis at {url} is not reachable"):
            call()
    store.close()


def test_a_redis_password_is_never_printed() -> None:
    from lexiquery.cost.redis_store import RedisCostStore

    url = f"redis://user:s3cret@127.0.0.1:{_closed_port()}/0"
    with pytest.raises(StorageError) as e:
        RedisCostStore(url)
    assert "s3cret" not in str(e.value.to_dict())
    assert "user:***@127.0.0.1" in e.value.message


def test_a_bad_redis_url_is_a_storage_error() -> None:
    from lexiquery.cost.redis_store import RedisCostStore

    with pytest.raises(StorageError, match="not a Redis URL") as e:
        RedisCostStore("http://127.0.0.1:6379")
    assert "redis://" in (e.value.hint or "")


def test_a_foreign_key_in_our_namespace_is_a_storage_error(fresh_redis: str) -> None:
    import redis

    from lexiquery.cost.redis_store import RedisCostStore, journey_key

    redis.Redis.from_url(fresh_redis).set(journey_key("j1"), "not a sorted set")
    store = RedisCostStore(fresh_redis)
    with pytest.raises(StorageError, match="refused a cost-store command"):
        store.records("j1")
    store.close()


def test_redis_journey_keys_expire_after_the_retention(fresh_redis: str) -> None:
    import redis

    from lexiquery.cost.redis_store import RedisCostStore, journey_key

    store = RedisCostStore(fresh_redis, retention_days=2)
    store.add(rec(at=datetime.now(timezone.utc)))
    ttl = redis.Redis.from_url(fresh_redis).ttl(journey_key("j1"))
    assert 2 * 86400 - 60 <= ttl <= 2 * 86400
    assert all(k.startswith(b"lexiquery:cost:")
               for k in redis.Redis.from_url(fresh_redis).keys("*"))
    store.close()


def test_a_corrupt_sqlite_file_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "cost.db"
    path.write_bytes(b"this is not a database, just bytes " * 200)
    with pytest.raises(StorageError) as e:
        SqliteCostStore(path)
    assert str(path) in e.value.message
    assert "move the file aside" in (e.value.hint or "")
    assert isinstance(e.value.__cause__, sqlite3.DatabaseError)  # the raw error is kept as cause


def test_a_sqlite_file_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "cost.db"
    SqliteCostStore(path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(StorageError, match="newer LexiQuery"):
        SqliteCostStore(path)


def test_a_sqlite_file_corrupted_under_a_store_fails_its_calls_until_moved_aside(
        tmp_path: Path) -> None:
    path = tmp_path / "cost.db"
    store = SqliteCostStore(path)
    store.add(rec())
    store.close()  # (an open connection keeps reading the file it opened)
    for extra in (path.with_name("cost.db-wal"), path.with_name("cost.db-shm")):
        extra.unlink(missing_ok=True)
    path.write_bytes(b"\x00garbage" * 512)
    for call in (lambda: store.add(rec()), lambda: store.records("j1"), store.ping):
        with pytest.raises(StorageError, match="cost store") as e:
            call()
        assert "move the file aside" in (e.value.hint or "")
    path.rename(tmp_path / "cost.db.broken")  # what the hint says: a new file is created
    store.add(rec())
    assert len(store.records("j1")) == 1


def test_each_thread_writes_through_its_own_connection(tmp_path: Path) -> None:
    import threading

    store = SqliteCostStore(tmp_path / "cost.db")
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            for k in range(25):
                store.add(rec(f"t{i}", seconds=k))
        except BaseException as e:  # noqa: BLE001 — reported by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert not errors and not any(th.is_alive() for th in threads)
    assert sorted(c.totals.calls for c in store.recent(10)) == [25] * 6
    # The six threads have ended: their connections are closed when the next one opens.
    later = threading.Thread(target=lambda: store.add(rec("later")))
    later.start()
    later.join(timeout=30)
    assert len(store._all) == 2  # this thread's and the last one's
    store.close()
    assert store._all == []
