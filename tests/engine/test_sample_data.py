"""Sample data: deterministic, realistic distributions driven by the catalog, for built-in
sources (with profiles) and imported ones (without)."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import timedelta

import pytest

from lexiquery.catalog.model import Catalog, FieldType, Source
from lexiquery.engine.sample_data import generate_columns, generate_rows
from lexiquery.engine.sandbox import Sandbox
from lexiquery.ir import QueryPlan

from .conftest import NOW


def test_same_seed_same_rows_other_seed_other_rows(catalog: Catalog) -> None:
    src = catalog.get("signin_logs")
    a = generate_rows(src, 300, seed=1, now=NOW)
    assert a == generate_rows(src, 300, seed=1, now=NOW)
    assert a != generate_rows(src, 300, seed=2, now=NOW)
    later = generate_rows(src, 300, seed=1, now=NOW + timedelta(days=1))
    assert later != a and max(r["time"] for r in later) > NOW


def test_deterministic_across_processes(catalog: Catalog) -> None:
    """No salted hash(): a fresh interpreter (another PYTHONHASHSEED) makes the same rows."""
    import os
    import subprocess
    import sys

    code = ("from datetime import datetime, timezone; from lexiquery.catalog.builtin import "
            "builtin_catalog; from lexiquery.engine.sample_data import generate_rows; "
            "s = builtin_catalog().get('firewall_events'); "
            "print(repr(generate_rows(s, 50, seed=3, now=datetime(2026, 3, 10, 12, "
            "tzinfo=timezone.utc))))")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}, timeout=60).stdout
            for seed in ("1", "2")}
    assert len(outs) == 1 and len(next(iter(outs))) > 1000


def test_rows_are_typed_as_the_catalog_says(catalog: Catalog) -> None:
    for src in catalog:
        for row in generate_rows(src, 200, now=NOW):
            for f in src.fields:
                v = row[f.name]
                if v is None:
                    continue
                expected = {FieldType.string: str, FieldType.int: int, FieldType.long: int,
                            FieldType.real: float, FieldType.bool: bool, FieldType.guid: str,
                            FieldType.dynamic: str}.get(f.type)
                if expected is not None:
                    assert isinstance(v, expected), (src.id, f.name, v)


def test_signin_result_codes_and_failed_user(catalog: Catalog) -> None:
    rows = generate_rows(catalog.get("signin_logs"), 5000, now=NOW)
    codes = Counter(r["result_code"] for r in rows)
    assert 0.75 < codes["0"] / len(rows) < 0.9
    known = {str(kv.value) for kv in catalog.get("signin_logs").field("result_code").known_values}
    assert set(codes) == known  # every known code shows up, nothing else
    assert codes["50126"] > codes["50053"] > codes["50055"]
    failed = Counter(r["user"] for r in rows if r["result_code"] != "0")
    top, top_count = failed.most_common(1)[0]
    assert top_count > 5 * statistics.median(failed.values())
    everyone = Counter(r["user"] for r in rows)
    assert everyone.most_common(1)[0][0] != top  # the victim is not simply the busiest user
    rare = [u for u, n in everyone.items() if u.startswith("adm-")]
    assert rare and all(everyone[u] < 0.01 * len(rows) for u in rare)


def test_windows_event_ids_and_logon_types(catalog: Catalog) -> None:
    rows = generate_rows(catalog.get("windows_security_events"), 5000, now=NOW)
    ids = Counter(r["event_id"] for r in rows)
    assert ids[4624] > 3 * ids[4625] > 0 and ids[4625] > 3 * ids[4720] > 0
    types = Counter(r["logon_type"] for r in rows if r["event_id"] == 4624)
    assert types[3] > types[2] > 0 and types[10] > 0
    assert all(r["process"] is None for r in rows if r["event_id"] == 4624)
    assert all(r["process"] for r in rows if r["event_id"] == 4688)
    assert all(r["activity"].startswith(str(r["event_id"])) for r in rows)


def test_web_status_and_numbers(catalog: Catalog) -> None:
    rows = generate_rows(catalog.get("web_requests"), 5000, now=NOW)
    status = Counter(r["status"] for r in rows)
    assert status[200] / len(rows) > 0.6
    assert 0 < status[404] < 0.1 * len(rows) and 0 < status[500] < status[404]
    sizes = [r["bytes_out"] for r in rows if r["bytes_out"] is not None]
    assert min(sizes) >= 0 and statistics.median(sizes) < max(sizes) / 20  # a long tail
    times = [r["response_time"] for r in rows if r["response_time"] is not None]
    assert 20 < statistics.median(times) < 1000


def test_times_within_30_days_mostly_working_hours(catalog: Catalog) -> None:
    rows = generate_rows(catalog.get("signin_logs"), 5000, now=NOW)
    times = [r["time"] for r in rows]
    assert all(NOW - timedelta(days=30) <= t <= NOW for t in times)
    assert all(t.utcoffset() == timedelta(0) for t in times)
    working = sum(1 for t in times if 8 <= t.hour < 18 and t.weekday() < 5)
    assert working / len(times) > 0.5  # 10 of 24 hours on 5 of 7 days would be 30 %
    assert max(times) - min(times) > timedelta(days=25)


def test_ips_hosts_and_mixed_case(catalog: Catalog) -> None:
    rows = generate_rows(catalog.get("firewall_events"), 3000, now=NOW)
    ips = ({r["src_ip"] for r in rows} | {r["dest_ip"] for r in rows}) - {None}
    private = [ip for ip in ips if ip.startswith(("10.", "192.168.")) or
               (ip.startswith("172.") and 16 <= int(ip.split(".")[1]) < 32)]
    assert private and any(":" in ip for ip in ips) and len(private) < len(ips)
    signins = generate_rows(catalog.get("signin_logs"), 3000, now=NOW)
    users = {r["user"] for r in signins}
    assert len({u.lower() for u in users}) < len(users)  # Alice@… and alice@… both occur
    hosts = Counter(r["device"] for r in rows)
    (noisy, n1), (_, n2) = hosts.most_common(2)
    assert n1 > 1.5 * n2  # one noisy host


def test_missing_values_in_optional_fields_only(catalog: Catalog) -> None:
    src = catalog.get("signin_logs")
    rows = generate_rows(src, 4000, now=NOW)
    for name in ("time", "user", "result_code", "risk_level"):
        assert all(r[name] is not None for r in rows), name
    missing = sum(r["location"] is None for r in rows)
    assert 0 < missing < 0.1 * len(rows)


def test_every_concept_matches_a_meaningful_share(catalog: Catalog) -> None:
    with Sandbox(catalog, rows_per_source=2000, now=NOW) as sb:
        for src in catalog:
            for concept in src.concepts:
                plan = QueryPlan.model_validate({"source": src.id, "filters": concept.filters,
                                                 "aggregation": {"metrics": [{"fn": "count"}]}})
                n = sb.execute_plan(plan, src).rows[0][0]
                assert n >= 20, (src.id, concept.name, n)  # at least 1 %
        failed = QueryPlan.model_validate({"source": "signin_logs", "filters": [
            {"field": "result_code", "op": "ne", "value": "0"}],
            "aggregation": {"metrics": [{"fn": "count"}]}})
        share = sb.execute_plan(failed, catalog.get("signin_logs")).rows[0][0] / 2000
        assert 0.1 < share < 0.25


IMPORTED = Source.model_validate({
    "id": "vpn_sessions", "name": "VPN sessions", "time_field": "started",
    "fields": [
        {"name": "started", "type": "datetime"},
        {"name": "ended", "type": "datetime"},
        {"name": "account", "type": "string"},
        {"name": "client_address", "type": "string"},
        {"name": "gateway", "type": "string", "entity": "host"},
        {"name": "outcome", "type": "string", "known_values": [
            {"value": "connected", "meaning": "success"},
            {"value": "auth_failed", "meaning": "authentication failed"},
            {"value": "timeout", "meaning": "no answer"}]},
        {"name": "duration", "type": "timespan"},
        {"name": "bytes_total", "type": "long"},
        {"name": "score", "type": "real"},
        {"name": "tags", "type": "dynamic"},
        {"name": "session", "type": "guid"},
        {"name": "mfa", "type": "bool"},
        {"name": "note", "type": "string"}],
    "concepts": [{"name": "stale note", "filters": [
        {"field": "note", "op": "startswith", "value": "STALE:"}]},
        {"name": "big transfer", "filters": [{"field": "bytes_total", "op": "gt",
                                              "value": 10 ** 12}]}],
    "bindings": {"sql": {"table": "vpn.sessions", "columns": {"started": "start_time",
                                                             "account": "account_name"}}},
    "origin": "imported.yaml"})


def test_a_source_without_profile(catalog: Catalog) -> None:
    cols = generate_columns(IMPORTED, 1000, now=NOW)
    assert len(cols["started"]) == 1000
    outcomes = Counter(cols["outcome"])
    assert outcomes["connected"] > outcomes["auth_failed"] > 0
    assert sum(str(n).startswith("STALE:") for n in cols["note"]) >= 10  # planted to 1 %
    assert sum(b is not None and b > 10 ** 12 for b in cols["bytes_total"]) >= 10
    assert any(a and "@" in a for a in cols["account"])  # a user-like name is a user
    with Sandbox(Catalog([*catalog, IMPORTED]), rows_per_source=500, now=NOW) as sb:
        got = sb.execute_sql("SELECT COUNT(*) AS n, COUNT(account_name) AS a FROM vpn.sessions",
                             "postgres", IMPORTED)
        assert got.rows == [(500, 500)]


@pytest.mark.parametrize("n", [0, 1, 7])
def test_tiny_sizes(catalog: Catalog, n: int) -> None:
    for src in catalog:
        assert len(generate_rows(src, n, now=NOW)) == n


# The rows of these sources before generation was made faster (same seed, n and now): the
# speed-ups reorganise the work, never the draws. A deliberate change to the data updates them.
ROW_DIGESTS = {"windows_security_events": "51853da13655f527", "signin_logs": "47d30e4f54ed1dc3",
               "firewall_events": "bf513f9825b25379", "syslog": "e4316c60e68408ab",
               "process_creation": "87fde386692d4ff5"}


@pytest.mark.parametrize("source_id", list(ROW_DIGESTS))
def test_rows_are_the_same_as_before_the_speed_up(catalog: Catalog, source_id: str) -> None:
    import hashlib

    cols = generate_columns(catalog.get(source_id), 3000, seed=3, now=NOW, epoch_times=True)
    assert hashlib.sha256(repr(cols).encode()).hexdigest()[:16] == ROW_DIGESTS[source_id]


def test_fast_draws_are_randrange_and_choice() -> None:
    import random

    from lexiquery.engine.sample_values import below_rows

    for sizes in [(1,), (7,), (16384,), (16383, 40, 8), (2**40 + 3,)]:
        fast, slow = random.Random("draws"), random.Random("draws")
        assert below_rows(fast, sizes, 500) == [[slow.randrange(m) for m in sizes]
                                                for _ in range(500)]
        assert fast.random() == slow.random()  # and the generator is left in the same state


def test_lognormal_table_gives_the_formulas_floats() -> None:
    import math
    import random

    from lexiquery.engine.sample_values import _normal_table, indices, lognormal

    n = 20_000  # long enough for the table
    got = lognormal(random.Random("ln"), n, 3.3, 0.7)
    z = _normal_table()
    assert got == [math.exp(3.3 + 0.7 * z[i]) for i in indices(random.Random("ln"), n)]
    assert lognormal(random.Random("ln"), 10, 9.9, 0.1) == [
        math.exp(9.9 + 0.1 * z[i]) for i in indices(random.Random("ln"), 10)]


def test_sample_indices_is_random_sample() -> None:
    import random

    from lexiquery.engine.sample_values import sample_indices

    for n in [0, 1, 5, 21, 30, 1000, 20_000]:  # both of CPython's methods: pool and set
        for k in sorted({0, min(n, 1), min(n, 6), n // 3, n}):
            fast, slow = random.Random(f"s{n}:{k}"), random.Random(f"s{n}:{k}")
            assert sample_indices(fast, n, k) == slow.sample(range(n), k), (n, k)
            assert fast.random() == slow.random()
    with pytest.raises(ValueError):
        sample_indices(random.Random(0), 3, 4)
