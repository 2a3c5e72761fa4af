"""The Redis backend of the cost store (`LEXIQUERY_COST_BACKEND=redis`), same contract as
`SqliteCostStore` (see `cost.store`).

Keys, all under ``lexiquery:cost:``:

    journey:<id>   sorted set: one member per record, scored by its time (UTC microseconds);
                   member = a 20-digit sequence number, a space, the record's JSON. A sorted
                   set rather than a list: records come back in time order even when writers
                   interleave, and retention cuts a journey's old records with one
                   ZREMRANGEBYSCORE. The sequence keeps same-time records in write order (and
                   two identical records distinct).
    journeys       sorted set: journey id → time of its last record (`recent`, newest first)
    first          sorted set: journey id → time of its first record (which journeys `purge`
                   must look at, without scanning them all)
    orphans        records outside any journey (kept and purged, never listed as a journey)
    seq            the sequence counter

Writes are one Lua script (atomic: a record and its index entries land together, one round
trip). Retention is twofold: every record key gets EXPIRE of the retention period on each
write (so Redis forgets a quiet journey by itself), and `purge` — on open and at most hourly —
cuts old records and ZREMRANGEBYSCOREs the index. A Redis that is down, or answers
something else, is a `StorageError` with a hint; the password of the URL is never printed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from lexiquery.cost.contract import Retention
from lexiquery.cost.model import JourneyCost, UsageRecord
from lexiquery.cost.summary import summarize, to_us, utc
from lexiquery.errors import StorageError

PREFIX = "lexiquery:cost:"
INDEX = PREFIX + "journeys"
FIRST = PREFIX + "first"
ORPHANS = PREFIX + "orphans"
SEQ = PREFIX + "seq"
CONNECT_TIMEOUT_S = 2.0  # a down Redis must not hold a journey: refused or silent, fail fast
COMMAND_TIMEOUT_S = 5.0
T = TypeVar("T")

_ADD = """
local seq = redis.call('INCR', KEYS[4])
redis.call('ZADD', KEYS[1], ARGV[1], string.format('%020d', seq) .. ' ' .. ARGV[2])
if tonumber(ARGV[4]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[4]) end
if ARGV[3] ~= '' then
  redis.call('ZADD', KEYS[2], 'GT', ARGV[1], ARGV[3])
  redis.call('ZADD', KEYS[3], 'LT', ARGV[1], ARGV[3])
end
return seq
"""
# Cut one journey's records older than ARGV[1]; drop it from both indexes when none is left,
# else move its first time forward. Atomic, so a record written meanwhile is never orphaned.
_PURGE_JOURNEY = """
local n = redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #first == 0 then
  redis.call('ZREM', KEYS[2], ARGV[2])
  redis.call('ZREM', KEYS[3], ARGV[2])
else
  redis.call('ZADD', KEYS[3], first[2], ARGV[2])
end
return n
"""


def journey_key(journey_id: str) -> str:
    return f"{PREFIX}journey:{journey_id}"


def safe_url(url: str) -> str:
    """`url` without its password (it goes into messages and logs)."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        host = parts.hostname or ""
        netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        return "<unreadable Redis URL>"


def _parse(member: str) -> UsageRecord:
    return UsageRecord.model_validate_json(member.split(" ", 1)[1])


class RedisCostStore:
    """Usage records in Redis (see the module docstring for the keys). Thread-safe: the client
    pools its connections."""

    def __init__(self, url: str, *, retention_days: float | None = None) -> None:
        self.url = url
        self._shown = safe_url(url)
        try:
            self._redis = redis.Redis.from_url(
                url, decode_responses=True, socket_connect_timeout=CONNECT_TIMEOUT_S,
                socket_timeout=COMMAND_TIMEOUT_S, health_check_interval=30)
        except ValueError as e:
            raise StorageError(f"LEXIQUERY_REDIS_URL {self._shown!r} is not a Redis URL: {e}",
                               hint="write it as redis://HOST:PORT/DB (rediss:// for TLS)") from e
        self._add = self._redis.register_script(_ADD)
        self._purge_journey = self._redis.register_script(_PURGE_JOURNEY)
        self._ttl_s = math.ceil(retention_days * 86400) if retention_days else 0
        self.retention = Retention(retention_days, self.purge)
        self.ping()
        self.retention.apply()

    def _call(self, work: Callable[[], T]) -> T:
        """`work()`; Redis errors become a `StorageError` that says what to do."""
        try:
            return work()
        except (RedisConnectionError, RedisTimeoutError) as e:
            raise StorageError(
                f"Redis at {self._shown} is not reachable: {e}",
                hint="start Redis (e.g. `redis-server`), fix LEXIQUERY_REDIS_URL, or keep "
                     "costs in the data directory with LEXIQUERY_COST_BACKEND=sqlite") from e
        except RedisError as e:
            raise StorageError(
                f"Redis at {self._shown} refused a cost-store command: {e}",
                hint=f"the keys under {PREFIX!r} must be LexiQuery's own; check the URL's "
                     "database number and credentials, or set LEXIQUERY_COST_BACKEND=sqlite")\
                from e

    def add(self, record: UsageRecord) -> None:
        key = journey_key(record.journey_id) if record.journey_id is not None else ORPHANS
        record = record.model_copy(update={"at": utc(record.at)})  # read back as SQLite's are
        self._call(lambda: self._add(
            keys=[key, INDEX, FIRST, SEQ],
            args=[to_us(record.at), record.model_dump_json(), record.journey_id or "",
                  self._ttl_s]))
        self.retention.due()

    def records(self, journey_id: str) -> list[UsageRecord]:
        members: list[str] = self._call(lambda: self._redis.zrange(journey_key(journey_id),
                                                                   0, -1))
        return [_parse(m) for m in members]

    def summary(self, journey_id: str) -> JourneyCost | None:
        records = self.records(journey_id)
        return summarize(records, journey_id) if records else None

    def recent(self, limit: int = 20) -> list[JourneyCost]:
        out: list[JourneyCost] = []
        seen: set[str] = set()  # a write while we page moves journeys up: never list one twice
        start, page = 0, max(limit, 1) * 2
        while len(out) < limit:
            ids: list[str] = self._call(
                lambda first=start: self._redis.zrevrange(INDEX, first, first + page - 1))
            if not ids:
                break
            pipe = self._redis.pipeline(transaction=False)
            for j in ids:
                pipe.zrange(journey_key(j), 0, -1)
            pages: list[Any] = self._call(pipe.execute)
            for j, members in zip(ids, pages):
                # An expired journey key can outlive its index entry until the next purge.
                if members and j not in seen and len(out) < limit:
                    seen.add(j)
                    out.append(summarize([_parse(m) for m in members], j))
            start += page
        return out

    def purge(self, older_than: datetime) -> int:
        cut = to_us(older_than)
        removed = 0
        stale: list[str] = self._call(lambda: self._redis.zrangebyscore(FIRST, "-inf",
                                                                        f"({cut}"))
        for j in stale:
            removed += int(self._call(lambda j=j: self._purge_journey(
                keys=[journey_key(j), INDEX, FIRST], args=[cut, j])))
        removed += int(self._call(lambda: self._redis.zremrangebyscore(ORPHANS, "-inf",
                                                                       f"({cut}")))
        # Index entries whose journey ended before the cut (their keys may have expired).
        self._call(lambda: self._redis.zremrangebyscore(INDEX, "-inf", f"({cut}"))
        return removed

    def ping(self) -> None:
        self._call(self._redis.ping)

    def close(self) -> None:
        try:
            self._redis.close()
        except RedisError:
            pass  # closing a dead connection has nothing left to release
