"""Time expressions and value tokens, independent of any catalog."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from lexiquery.nl.dates import parse_date
from lexiquery.nl.timeparse import parse_time
from lexiquery.nl.tokens import tokenize

NOW = datetime(2024, 6, 12, 15, 30, tzinfo=timezone.utc)  # a Wednesday


def _rel(amount: int, unit: str, snap: bool = False) -> dict[str, Any]:
    d: dict[str, Any] = {"amount": amount, "unit": unit}
    if snap:
        d["snap"] = "day"
    return d


def _abs(iso: str) -> dict[str, Any]:
    return {"at": iso}


RANGES: list[tuple[str, dict[str, Any] | None]] = [
    ("in the last 24 hours", {"start": _rel(24, "hour")}),
    ("past 24h", {"start": _rel(24, "hour")}),
    ("failed logins 24h", {"start": _rel(24, "hour")}),
    ("last hour", {"start": _rel(1, "hour")}),
    ("last week", {"start": _rel(1, "week")}),
    ("in the past 7 days", {"start": _rel(7, "day")}),
    ("over the last 30 minutes", {"start": _rel(30, "minute")}),
    ("in the last 15m", {"start": _rel(15, "minute")}),
    ("last two days", {"start": _rel(2, "day")}),
    ("last month", {"start": _rel(30, "day")}),
    ("3 days ago", {"start": _rel(3, "day")}),
    ("today", {"start": _rel(0, "day", True)}),
    ("yesterday", {"start": _rel(1, "day", True), "end": _rel(0, "day", True)}),
    ("since yesterday", {"start": _rel(1, "day", True)}),
    ("this week", {"start": _rel(2, "day", True)}),
    ("since monday", {"start": _rel(2, "day", True)}),
    ("since 2024-03-01", {"start": _abs("2024-03-01T00:00:00Z")}),
    ("after 2024-03-01T10:00:00Z", {"start": _abs("2024-03-01T10:00:00Z")}),
    ("between 2024-01-01 and 2024-01-05",
     {"start": _abs("2024-01-01T00:00:00Z"), "end": _abs("2024-01-06T00:00:00Z")}),
    ("from 1 Mar 2024 to 3 Mar 2024",
     {"start": _abs("2024-03-01T00:00:00Z"), "end": _abs("2024-03-04T00:00:00Z")}),
    ("on 15 Jan 2024", {"start": _abs("2024-01-15T00:00:00Z"),
                        "end": _abs("2024-01-16T00:00:00Z")}),
    ("on Jan 15 2024", {"start": _abs("2024-01-15T00:00:00Z"),
                        "end": _abs("2024-01-16T00:00:00Z")}),
    ("on January 15th, 2024", {"start": _abs("2024-01-15T00:00:00Z"),
                               "end": _abs("2024-01-16T00:00:00Z")}),
    ("on Jan 15", {"start": _abs("2024-01-15T00:00:00Z"), "end": _abs("2024-01-16T00:00:00Z")}),
    ("on Dec 24", {"start": _abs("2023-12-24T00:00:00Z"), "end": _abs("2023-12-25T00:00:00Z")}),
    ("15/01/2024", {"start": _abs("2024-01-15T00:00:00Z"), "end": _abs("2024-01-16T00:00:00Z")}),
    ("since Jan 15 2024 at 10:30", {"start": _abs("2024-01-15T10:30:00Z")}),
    ("since 2024-03-01 10:00+02:00", {"start": _abs("2024-03-01T08:00:00Z")}),
    ("before 2024-05-01", {"start": _abs("1970-01-01T00:00:00Z"),
                           "end": _abs("2024-05-01T00:00:00Z")}),
    ("in March", {"start": _abs("2024-03-01T00:00:00Z"), "end": _abs("2024-04-01T00:00:00Z")}),
    ("last 20 events", None),
    ("top 5 mayors", None),
    ("latency over 2 seconds", None),
    ("logon type 10", None),
    ("for 404s", None),  # the plural of a code, not 404 seconds
    ("with 500s in the last day", {"start": _rel(1, "day")}),
    ("within 30s", {"start": _rel(30, "second")}),
]


@pytest.mark.parametrize("text,expected", RANGES, ids=[r[0] for r in RANGES])
def test_time_ranges(text: str, expected: dict[str, Any] | None) -> None:
    got = parse_time(text, NOW).range
    dumped = got.model_dump(mode="json", exclude_defaults=True) if got else None
    assert dumped == expected


BUCKETS = [
    ("per hour", (1, "hour")), ("hourly", (1, "hour")), ("daily", (1, "day")),
    ("every 5 minutes", (5, "minute")), ("in 15 minute buckets", (15, "minute")),
    ("by day", (1, "day")), ("per 30 min", (30, "minute")), ("weekly", (1, "week")),
]


@pytest.mark.parametrize("text,expected", BUCKETS, ids=[b[0] for b in BUCKETS])
def test_time_buckets(text: str, expected: tuple[int, str]) -> None:
    b = parse_time(text, NOW).bucket
    assert b is not None and (b.amount, b.unit.value) == expected


@pytest.mark.parametrize("text", ["over time", "trend", "timeline", "as a time series"])
def test_default_bucket_words(text: str) -> None:
    tp = parse_time(text, NOW)
    assert tp.default_bucket and tp.bucket is None


def test_consumed_spans_cover_the_expression() -> None:
    text = "failed sign-ins in the last 24 hours by user"
    tp = parse_time(text, NOW)
    (s, e), = tp.spans
    assert text[s:e] == "in the last 24 hours"


def test_parse_date_rejects_impossible_dates() -> None:
    assert parse_date("2024-02-30", NOW) is None
    assert parse_date("Feb 30 2024", NOW) is None
    assert parse_date("hello", NOW) is None


TOKENS = [
    ("10.1.2.3", "ip", "10.1.2.3"), ("2001:db8::1", "ip", "2001:db8::1"),
    ("10.0.0.0/8", "cidr", "10.0.0.0/8"), ("alice@contoso.com", "email", "alice@contoso.com"),
    ("https://evil.example.com/x?a=1", "url", "https://evil.example.com/x?a=1"),
    ("evil.example.com", "domain", "evil.example.com"), ("powershell.exe", "file", "powershell.exe"),
    ("44d88612fea8a8f36de82e1278abb02f", "hash", "44d88612fea8a8f36de82e1278abb02f"),
    ("/api/login", "path", "/api/login"), ('"Global Administrator"', "quoted",
                                           "Global Administrator"),
    ("1,000,000", "number", 1000000), ("5MB", "number", 5 * 1024 * 1024), ("95th", "ord", 95),
    ("1.2.3.999", "word", "1.2.3.999"),
    ("0xC000006A", "hex", "0xC000006A"), ("$", "literal", "$"), ("-adm", "word", "-adm"),
]


@pytest.mark.parametrize("text,kind,value", TOKENS, ids=[t[0] for t in TOKENS])
def test_value_tokens(text: str, kind: str, value: object) -> None:
    (tok,) = tokenize(text)
    assert (tok.kind, tok.value) == (kind, value)


def test_words_split_on_hyphens_and_stem() -> None:
    toks = tokenize("sign-ins processes IPs")
    assert [t.subwords for t in toks] == [("sign", "in"), ("process",), ("ip",)]
