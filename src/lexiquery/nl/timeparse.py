"""Time expressions: ranges ("last 24 hours", "yesterday", "between DATE and DATE") and buckets
("per hour", "every 5 minutes", "over time").

Both work on the raw question and report the character spans they consumed, so the rest of the
engine never reads "24" in "last 24 hours" as a value. Absolute times are UTC (aware datetimes);
a date without a year is the latest such date that is not in the future.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from lexiquery.ir import AbsoluteTime, RelativeTime, TimeBucket, TimeRange, TimeUnit, span_cap
from lexiquery.limits import MAX_LOOKBACK_YEARS
from lexiquery.nl.dates import DATE, MON, MONTHS, fmt, next_day, parse_date
from lexiquery.nl.lexicon import NUMBER_WORDS, TIME_UNITS

_NUM = r"(\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen" \
       r"|twenty|thirty|forty|fifty|sixty|few|couple(?:\s+of)?)"
_UNIT = r"(seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|wks?|months?|years?|yrs?" \
        r"|s|m|h|d|w)"
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_WD = r"(mon|tue|wed|thu|fri|sat|sun)(?:day|sday|nesday|rsday|urday)?"
_F = re.IGNORECASE

_PAT_BETWEEN = re.compile(
    rf"\b(?:between|from)\s+({DATE})\s+(?:and|to|until|till|through|thru|-)\s+({DATE})", _F)
_PAT_SINCE = re.compile(rf"\b(?:since|after|starting(?:\s+from|\s+on)?|from)\s+({DATE})", _F)
_PAT_BEFORE = re.compile(rf"\b(?:before|until|till|up\s+to|prior\s+to)\s+({DATE})", _F)
_PAT_ON = re.compile(rf"(?:\b(?:on|for|during|at|of)\s+)?({DATE})", _F)
_PAT_LAST = re.compile(
    rf"\b(?:(?:in|over|during|within|for|from)\s+)?(?:the\s+)?(?:last|past|previous|prior|recent)"
    rf"\s+(?:{_NUM}\s*)?{_UNIT}\b", _F)
_PAT_WITHIN = re.compile(rf"\b(?:in|within|during|for)\s+(?:the\s+)?{_NUM}\s*{_UNIT}\b", _F)
_PAT_COMPACT = re.compile(r"(?<![\w/])(\d+)\s?(h|hrs?|d|w|wk)\b", _F)
_PAT_AGO = re.compile(rf"\b(?:since\s+)?{_NUM}\s*{_UNIT}\s+ago\b", _F)
_PAT_DAYWORD = re.compile(r"\b(since\s+)?(so\s+far\s+)?(today|yesterday|this\s+morning"
                          r"|this\s+week|this\s+month)\b", _F)
_PAT_WEEKDAY = re.compile(rf"\b(since|on|last)\s+{_WD}\b", _F)
_PAT_MONTH = re.compile(rf"\b(?:in|during)\s+({MON})(?:\s+(\d{{4}}))?\b(?!\s*\d)", _F)

_BUCKET_EVERY = re.compile(rf"\b(?:per|by|each|every|an?\s+interval\s+of)\s+(?:{_NUM}\s*)?"
                           rf"{_UNIT}\b(?!\s+ago)", _F)
_BUCKET_BINS = re.compile(rf"\b(?:(?:in|into|using|with)\s+)?{_NUM}[\s-]*{_UNIT}\s+(?:buckets?"
                          r"|bins?|intervals?|windows?|increments?|slots?|chunks?|granularity)\b",
                          _F)
_BUCKET_ADV = re.compile(r"\b(minutely|hourly|daily|nightly|weekly)\b", _F)
_BUCKET_DEFAULT = re.compile(r"\b(?:(?:over|through|across)\s+time|trends?|trending|timelines?"
                             r"|time[\s-]?series|timecharts?|histograms?|charts?|graphs?"
                             r"|plot(?:ted)?)\b", _F)


@dataclass
class TimeParse:
    """What the time pass found. `spans` are consumed character ranges of the question."""

    range: TimeRange | None = None
    bucket: TimeBucket | None = None
    default_bucket: bool = False
    spans: list[tuple[int, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    text: str = ""
    clamps: int = 0  # spans cut to what the platforms hold: each lowers the confidence


def _num(s: str | None) -> int:
    if not s:
        return 1
    s = s.lower().split()[0]
    return int(s) if s.isdigit() else NUMBER_WORDS.get(s, 1)


def _unit(s: str) -> tuple[int, TimeUnit]:
    """A unit word → (multiplier, IR unit); months and years become days."""
    w = s.lower()
    if w.startswith("month"):
        return 30, TimeUnit.day
    if w.startswith(("year", "yr")):
        return 365, TimeUnit.day
    return 1, TimeUnit(TIME_UNITS.get(w, "day"))


def _rel(amount: int, unit: TimeUnit, snap: bool = False) -> RelativeTime:
    return RelativeTime(amount=max(0, amount), unit=unit, snap="day" if snap else None)


def _span(sc: "_Scanner", amount: int, unit: TimeUnit, m: re.Match[str]) -> int:
    """`amount` `unit`s as asked in `m`, clamped with a note to the furthest a plan reaches
    (`ir.span_cap`): "the last 99999999999 years" is a long time, not an overflow."""
    cap = span_cap(unit)
    if amount <= cap:
        return amount
    sc.out.clamps += 1
    sc.out.notes.append(f'"{m.group(0).strip()}" reaches beyond the {MAX_LOOKBACK_YEARS} years '
                        f"the platforms hold: clamped to {_plural(cap, unit.value)}")
    return cap


def _abs(dt: datetime) -> AbsoluteTime:
    return AbsoluteTime(at=dt)


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}{'' if n == 1 else 's'}"


class _Scanner:
    """Collects every time range found (patterns run most specific first), blanking consumed
    text out so a later pattern cannot read it again; the first one *in the question* wins."""

    def __init__(self, text: str, now: datetime) -> None:
        self.text = text
        self.now = now
        self.out = TimeParse()
        self.found_ranges: list[tuple[int, TimeRange, str, str]] = []

    def consume(self, m: re.Match[str], group: int = 0) -> None:
        s, e = m.span(group)
        self.out.spans.append((s, e))
        self.text = self.text[:s] + " " * (e - s) + self.text[e:]

    def found(self, tr: TimeRange, note: str, m: re.Match[str]) -> None:
        self.found_ranges.append((m.start(), tr, note, m.group(0).strip()))
        self.consume(m)

    def finish(self) -> TimeParse:
        """"today compared to last week": the period asked about comes first."""
        for i, (_, tr, note, said) in enumerate(sorted(self.found_ranges, key=lambda f: f[0])):
            if i == 0:
                self.out.range, self.out.text = tr, said
                self.out.notes.append(f'time range: {note} (from "{said}")')
            else:
                self.out.notes.append(f'second time expression "{said}" ignored; '
                                      "a plan holds one time range")
        self.out.spans.sort()
        return self.out


def parse_time(question: str, now: datetime) -> TimeParse:
    """Find a time range and a time bucket in `question`. Never raises."""
    sc = _Scanner(question, now)
    _buckets(sc)
    _absolute(sc)
    _relative(sc)
    return sc.finish()


def _buckets(sc: _Scanner) -> None:
    for pat in (_BUCKET_BINS, _BUCKET_EVERY):
        for m in list(pat.finditer(sc.text)):
            n, u = m.group(1), m.group(2)
            if len(u) == 1 and not (n and n[0].isdigit()):
                continue  # "by m" is not a bucket; "every 5m" is
            mult, unit = _unit(u)
            if sc.out.bucket is None:
                sc.out.bucket = TimeBucket(amount=_span(sc, max(1, _num(n) * mult), unit, m),
                                           unit=unit)
                sc.out.notes.append(f"time bucket: {_plural(sc.out.bucket.amount, unit.value)}"
                                    f' (from "{m.group(0).strip()}")')
            sc.consume(m)
    for m in list(_BUCKET_ADV.finditer(sc.text)):
        if sc.out.bucket is None:
            word = m.group(1).lower()
            unit = TimeUnit({"minutely": "minute", "hourly": "hour", "weekly": "week"}
                            .get(word, "day"))
            sc.out.bucket = TimeBucket(amount=1, unit=unit)
            sc.out.notes.append(f'time bucket: 1 {unit.value} (from "{m.group(0)}")')
        sc.consume(m)
    for m in list(_BUCKET_DEFAULT.finditer(sc.text)):
        sc.out.default_bucket = True
        sc.consume(m)


def _absolute(sc: _Scanner) -> None:
    now = sc.now
    for m in list(_PAT_BETWEEN.finditer(sc.text)):
        a, b = parse_date(m.group(1), now), parse_date(m.group(2), now)
        if a and b:
            end, note = b[0], ""
            if not b[1]:
                end, note = next_day(b[0]), " (end date included)"
            sc.found(TimeRange(start=_abs(a[0]), end=_abs(end)),
                     f"{fmt(a[0])} to {fmt(end)}{note}", m)
    for m in list(_PAT_SINCE.finditer(sc.text)):
        if (a := parse_date(m.group(1), now)):
            sc.found(TimeRange(start=_abs(a[0])), f"since {fmt(a[0])}", m)
    for m in list(_PAT_BEFORE.finditer(sc.text)):
        if (b := parse_date(m.group(1), now)):
            epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
            sc.found(TimeRange(start=_abs(epoch), end=_abs(b[0])),
                     f"before {fmt(b[0])} (no start given: from the beginning)", m)
    for m in list(_PAT_ON.finditer(sc.text)):
        if (a := parse_date(m.group(1), now)):
            if a[1]:
                sc.found(TimeRange(start=_abs(a[0])), f"since {fmt(a[0])}", m)
            else:
                sc.found(TimeRange(start=_abs(a[0]), end=_abs(next_day(a[0]))),
                         f"the day {a[0]:%Y-%m-%d} (UTC)", m)
    for m in list(_PAT_MONTH.finditer(sc.text)):
        mo = MONTHS[m.group(1)[:3].lower()]
        y = int(m.group(2)) if m.group(2) else (now.year if mo <= now.month else now.year - 1)
        try:
            start = datetime(y, mo, 1, tzinfo=timezone.utc)
            end = datetime(y + (mo == 12), mo % 12 + 1, 1, tzinfo=timezone.utc)
        except ValueError:  # year 0 or 10000
            continue
        sc.found(TimeRange(start=_abs(start), end=_abs(end)), f"the month {start:%Y-%m}", m)


def _plural_number(m: re.Match[str], n: str | None, u: str) -> bool:
    """ "for 404s", "with 500s": a number written straight onto an "s" after for/in/during is the
    plural of a code ("404 responses"), not seconds; "within 30s" and "last 30s" stay times."""
    said = m.group(0).lower()
    return (u.lower() == "s" and bool(n) and bool(re.search(rf"{re.escape(n or '')}s$", said))
            and re.match(r"(?:for|in|during)\b", said) is not None)


def _relative(sc: _Scanner) -> None:
    now = sc.now
    for m in list(_PAT_LAST.finditer(sc.text)) + list(_PAT_WITHIN.finditer(sc.text)):
        if sc.text[m.start():m.end()].strip() == "":
            continue  # already consumed by the first pattern
        n, u = m.group(1), m.group(2)
        if len(u) == 1 and not (n and n[0].isdigit()):
            continue
        if _plural_number(m, n, u):
            continue
        mult, unit = _unit(u)
        asked = _num(n) * mult
        amount = _span(sc, asked, unit, m)
        note = f"last {_plural(amount, unit.value)}"
        if u.lower().startswith(("month", "year")) and amount == asked:
            note += f' ("{u}" taken as {amount} days)'
        sc.found(TimeRange(start=_rel(amount, unit)), note, m)
    for m in list(_PAT_AGO.finditer(sc.text)):
        mult, unit = _unit(m.group(2))
        amount = _span(sc, _num(m.group(1)) * mult, unit, m)
        sc.found(TimeRange(start=_rel(amount, unit)), f"since {_plural(amount, unit.value)} ago",
                 m)
    for m in list(_PAT_DAYWORD.finditer(sc.text)):
        word = " ".join(m.group(3).lower().split())
        since = bool(m.group(1))
        if word in {"today", "this morning"}:
            tr, note = TimeRange(start=_rel(0, TimeUnit.day, True)), "today (UTC)"
        elif word == "yesterday":
            end = None if since else _rel(0, TimeUnit.day, True)
            tr = TimeRange(start=_rel(1, TimeUnit.day, True), end=end)
            note = "since the start of yesterday" if since else "yesterday (UTC)"
        elif word == "this week":
            tr = TimeRange(start=_rel(now.weekday(), TimeUnit.day, True))
            note = "this week (since Monday, UTC)"
        else:
            tr = TimeRange(start=_rel(now.day - 1, TimeUnit.day, True))
            note = "this month (since the 1st, UTC)"
        sc.found(tr, note, m)
    for m in list(_PAT_WEEKDAY.finditer(sc.text)):
        wd = [w[:3] for w in _WEEKDAYS].index(m.group(2).lower()[:3])
        back = (now.weekday() - wd) % 7 or (7 if m.group(1).lower() == "last" else 0)
        name = _WEEKDAYS[wd].capitalize()
        if m.group(1).lower() == "since":
            sc.found(TimeRange(start=_rel(back, TimeUnit.day, True)), f"since {name}", m)
        else:
            end = _rel(back - 1, TimeUnit.day, True) if back else None
            sc.found(TimeRange(start=_rel(back, TimeUnit.day, True), end=end),
                     f"{name} ({back} days ago, UTC)", m)
    for m in list(_PAT_COMPACT.finditer(sc.text)):
        before = sc.text[max(0, m.start() - 8):m.start()].lower()
        if re.search(r"\b(per|every|each|by|top|first|limit)\s*$", before):
            continue
        mult, unit = _unit(m.group(2))
        amount = _span(sc, int(m.group(1)) * mult, unit, m)
        sc.found(TimeRange(start=_rel(amount, unit)), f"last {_plural(amount, unit.value)}", m)
