"""The cost tracker: rates, totals, unknown counts, the structlog event, failing stores."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from pathlib import Path

import pytest

from cost.records import embed, rec
from lexiquery.config import get_settings
from lexiquery.cost.store import SqliteCostStore
from lexiquery.cost.tracker import LOGGER_NAME, CostTracker, rate_for

RATES = {"llama3": {"per_1k_tokens": 0.002, "per_compute_s": 0.0001}}


def tracker(tmp_path: Path, **settings: object) -> CostTracker:
    return CostTracker(get_settings(**settings), SqliteCostStore(tmp_path / "cost.db"))


def test_cost_from_tokens_and_compute_seconds_with_latest_tag(tmp_path: Path) -> None:
    t = tracker(tmp_path, cost_rates=RATES)
    out = t.record(rec(model="llama3:latest", prompt_tokens=1000, completion_tokens=500,
                       total_tokens=None, compute_s=2.0, estimated_cost=0.0))
    assert out.total_tokens == 1500
    assert out.estimated_cost == pytest.approx(0.002 * 1.5 + 0.0001 * 2.0)
    assert t.store().records("j1") == [out]  # type: ignore[union-attr]


def test_a_rate_keyed_with_latest_prices_the_bare_name_too() -> None:
    s = get_settings(cost_rates={"llama3:latest": {"per_1k_tokens": 1.0}})
    assert rate_for(s, "llama3") == {"per_1k_tokens": 1.0}
    assert rate_for(s, "llama3:latest") == {"per_1k_tokens": 1.0}
    assert rate_for(s, "llama3:8b") == {}  # another tag is another model


def test_rates_come_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    monkeypatch.setenv("LEXIQUERY_COST_RATES", json.dumps({"nomic-embed-text": {
        "per_1k_tokens": 0.5}}))
    out = CostTracker(get_settings(), SqliteCostStore(tmp_path / "c.db")).record(
        embed(prompt_tokens=2000, compute_s=None))
    assert out.estimated_cost == pytest.approx(1.0)


def test_an_unknown_model_costs_nothing(tmp_path: Path) -> None:
    out = tracker(tmp_path, cost_rates=RATES).record(rec(model="mistral", estimated_cost=9.0))
    assert out.estimated_cost == 0.0


def test_missing_counters_are_unknown_not_zero(tmp_path: Path) -> None:
    t = tracker(tmp_path, cost_rates=RATES)
    t.record(rec(prompt_tokens=None, completion_tokens=None, total_tokens=None, compute_s=1.0))
    t.record(rec(prompt_tokens=300, completion_tokens=None, total_tokens=999, compute_s=None))
    t.record(rec(prompt_tokens=100, completion_tokens=20, total_tokens=None, compute_s=None))
    first, half, whole = t.store().records("j1")  # type: ignore[union-attr]
    assert first.total_tokens is None and first.prompt_tokens is None
    assert first.estimated_cost == pytest.approx(0.0001)  # compute only: no count is known
    assert half.total_tokens is None  # a stale total is not trusted over the counts
    assert half.estimated_cost == pytest.approx(0.002 * 0.3)  # the known count is priced
    assert whole.total_tokens == 120
    summary = t.summarize([first, half, whole])
    assert summary.totals.unknown_token_calls == 2
    assert summary.totals.total_tokens == 120
    assert summary.totals.prompt_tokens == 400 and summary.totals.completion_tokens == 20


def test_an_embedding_has_no_completion_so_its_total_is_its_prompt(tmp_path: Path) -> None:
    out = tracker(tmp_path).record(embed(prompt_tokens=12, completion_tokens=None,
                                         total_tokens=None))
    assert (out.completion_tokens, out.total_tokens) == (0, 12)
    unknown = tracker(tmp_path).record(embed(prompt_tokens=None, completion_tokens=None))
    assert unknown.total_tokens is None and unknown.completion_tokens is None


def test_summarize_breaks_down_by_service_and_model(tmp_path: Path) -> None:
    t = tracker(tmp_path, cost_rates=RATES)
    records = [t.record(rec(seconds=0)), t.record(rec(seconds=1, operation="repair")),
               t.record(embed(seconds=2)), t.record(embed(seconds=3, service="knowledge-errors"))]
    s = t.summarize(records)
    assert s.journey_id == "j1" and s.totals.calls == 4
    assert {k: v.calls for k, v in s.by_service.items()} == {
        "planner": 2, "knowledge-sop": 1, "knowledge-errors": 1}
    assert {k: v.total_tokens for k, v in s.by_model.items()} == {
        "llama3:latest": 240, "nomic-embed-text": 16}
    assert s.totals.estimated_cost == pytest.approx(sum(r.estimated_cost for r in records))
    assert t.summarize([]).totals.calls == 0


def test_every_call_emits_one_model_call_event_through_logging_never_stdout(
        tmp_path: Path, caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str]) -> None:
    t = tracker(tmp_path, cost_rates=RATES)
    with caplog.at_level(logging.INFO, logger=LOGGER_NAME):
        out = t.record(rec(prompt_tokens=None, completion_tokens=5))
        t.record(embed())
    events = [json.loads(r.getMessage()) for r in caplog.records if r.name == LOGGER_NAME]
    assert [e["event"] for e in events] == ["model_call", "model_call"]
    first = events[0]
    assert first["journey_id"] == "j1" and first["model"] == "llama3:latest"
    assert first["service"] == "planner" and first["operation"] == "plan"
    assert first["prompt_tokens"] is None and first["total_tokens"] is None
    assert first["estimated_cost"] == out.estimated_cost and "logged_at" in first
    assert events[1]["model_type"] == "embedding"
    assert capsys.readouterr().out == ""


def test_a_store_that_fails_is_logged_and_never_breaks_the_caller(
        own_redis, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    from cost.conftest import stop
    from lexiquery.cost.redis_store import RedisCostStore

    url, proc = own_redis
    t = CostTracker(get_settings(), RedisCostStore(url))
    t.record(rec())
    stop(proc)  # Redis dies in the middle of the journey
    with caplog.at_level(logging.WARNING, logger=LOGGER_NAME):
        out = t.record(rec(seconds=1))
    assert out.total_tokens == 120
    warned = [r.getMessage() for r in caplog.records if "not stored" in r.getMessage()]
    assert len(warned) == 1 and f"Redis at {url} is not reachable" in warned[0]
    assert t.journey_cost("j1").totals.calls == 2  # the answer still gets its cost


def test_a_dead_redis_backend_costs_the_caller_nothing_but_a_warning(
        caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t = CostTracker(get_settings(cost_backend="redis", redis_url=f"redis://127.0.0.1:{port}/0"))
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger=LOGGER_NAME):
        for _ in range(5):
            t.record(rec())
    assert time.monotonic() - started < 3.0  # tried once, then left alone for a while
    warnings = [r.getMessage() for r in caplog.records if "not stored" in r.getMessage()]
    assert len(warnings) == 1 and "is not reachable" in warnings[0]
    assert "LEXIQUERY_COST_BACKEND=sqlite" in warnings[0]


def test_the_default_store_opens_in_the_data_directory(data_dir: Path) -> None:
    t = CostTracker(get_settings())
    t.record(rec())
    assert (data_dir / "cost.db").is_file()
    assert len(SqliteCostStore(data_dir / "cost.db").records("j1")) == 1
    t.close()


def test_many_threads_share_one_tracker(data_dir: Path) -> None:
    t = CostTracker(get_settings())
    threads = [threading.Thread(target=lambda i=i: [t.record(rec(f"t{i}", seconds=k))
                                                    for k in range(10)]) for i in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert not any(th.is_alive() for th in threads)
    store = t.store()
    assert store is not None
    assert sorted(c.journey_id for c in store.recent(10)) == [f"t{i}" for i in range(6)]
    assert all(c.totals.calls == 10 for c in store.recent(10))


def test_journey_cost_reads_the_store_with_other_processes_records(tmp_path: Path) -> None:
    shared = SqliteCostStore(tmp_path / "cost.db")
    shared.add(rec("j9", seconds=0, service="knowledge-sop"))  # written by another agent
    t = CostTracker(get_settings(), SqliteCostStore(tmp_path / "cost.db"))
    t.record(rec("j9", seconds=1))
    cost = t.journey_cost("j9")
    assert cost.totals.calls == 2 and set(cost.by_service) == {"planner", "knowledge-sop"}
    empty = t.journey_cost("no-calls")
    assert empty.journey_id == "no-calls" and empty.totals.calls == 0


def test_journey_cost_falls_back_to_memory_when_the_store_is_down(
        caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t = CostTracker(get_settings(cost_backend="redis", redis_url=f"redis://127.0.0.1:{port}/0",
                                 cost_rates=RATES))
    with caplog.at_level(logging.WARNING, logger=LOGGER_NAME):
        t.record(rec("j7", prompt_tokens=1000, completion_tokens=0, compute_s=0.0))
        t.record(embed("j7"))
        cost = t.journey_cost("j7")
    assert cost.totals.calls == 2 and cost.totals.total_tokens == 1008
    assert cost.totals.estimated_cost == pytest.approx(0.002)


def test_a_store_that_failed_is_tried_again_after_a_while(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    import lexiquery.cost.tracker as tracker_module

    blocked = tmp_path / "data"
    blocked.write_text("a file where the data directory should be")
    t = CostTracker(get_settings(data_dir=blocked))
    with caplog.at_level(logging.WARNING, logger=LOGGER_NAME):
        t.record(rec(seconds=0))  # cannot open: logged, not raised
        t.record(rec(seconds=1))  # within the retry window: not even tried
    assert len([r for r in caplog.records if "not stored" in r.getMessage()]) == 1
    assert "set LEXIQUERY_DATA_DIR" in caplog.records[-1].getMessage()
    blocked.unlink()
    monkeypatch.setattr(tracker_module, "RETRY_AFTER_S", 0.0)  # the window has passed
    t.record(rec(seconds=2))
    assert [r.at for r in SqliteCostStore(blocked / "cost.db").records("j1")] == \
        [rec(seconds=2).at]
