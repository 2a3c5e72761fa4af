"""Dates in the forms analysts type: ISO (2024-01-15, 2024-01-15T10:00Z), "15 Jan 2024",
"Jan 15 2024", "January 15th, 2024", 15/01/2024 (day first when the first number is over 12,
else US order), with an optional time of day. Results are UTC; a date without a year is the
latest such date that is not in the future.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

MON = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?" \
      r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?(?![a-z])"
CLOCK = r"(?:\s*,?\s+(?:at\s+)?\d{1,2}(?::\d{2}){1,2}(?:\s*[ap]\.?m\.?)?(?:\s*(?:utc|z))?)?"
DATE = (r"\b(?:\d{4}-\d{1,2}-\d{1,2}(?:[t ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
        r"(?:z|[+-]\d{2}:?\d{2})?|\d{4}/\d{1,2}/\d{1,2}|\d{1,2}/\d{1,2}/\d{4}"
        rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{MON}(?:\s*,?\s*\d{{4}})?"
        rf"|{MON}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:\s*,?\s*\d{{4}})?(?![\d:]))" + CLOCK)
MONTHS = {m: i + 1 for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])}


def parse_date(text: str, now: datetime) -> tuple[datetime, bool] | None:
    """One date expression → (UTC datetime, has_time_of_day), or None when it is not a date."""
    t = text.strip().lower().rstrip(",")
    clock = re.search(r"(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*([ap])?\.?m?\.?", t)
    iso = re.match(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})", t)
    try:
        if iso:
            y, mo, d = (int(g) for g in iso.groups())
            rest = t[iso.end():]
            clock = re.search(r"(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*([ap])?\.?m?\.?", rest)
        elif m := re.match(r"(\d{1,2})/(\d{1,2})/(\d{4})", t):
            a, b, y = (int(g) for g in m.groups())
            mo, d = (b, a) if a > 12 else (a, b)  # 15/01/2024 is day-first; else US order
        else:
            mon = re.search(MON, t)
            if not mon:
                return None
            mo = MONTHS[mon.group(0)[:3]]
            before, after = t[: mon.start()], t[mon.end():]
            dm = re.search(r"(\d{1,2})(?:st|nd|rd|th)?\s*(?:of\s*)?$", before) or \
                re.match(r"\s*(\d{1,2})(?:st|nd|rd|th)?", after)
            if not dm:
                return None
            d = int(dm.group(1))
            ym = re.search(r"\b(\d{4})\b", after)
            if ym:
                y = int(ym.group(1))
            else:
                y = now.year if (mo, d) <= (now.month, now.day) else now.year - 1
            if clock and ym and clock.start() < t.find(ym.group(1)):
                clock = None
        h = mi = s = 0
        if clock:
            h, mi, s = int(clock.group(1)), int(clock.group(2)), int(clock.group(3) or 0)
            if clock.group(4) == "p" and h < 12:
                h += 12
            elif clock.group(4) == "a" and h == 12:
                h = 0
        dt = datetime(y, mo, d, h, mi, s, tzinfo=timezone.utc)
    except (ValueError, OverflowError):
        return None
    off = re.search(r"([+-])(\d{2}):?(\d{2})$", t) if iso else None
    if off:
        sign = 1 if off.group(1) == "+" else -1
        try:
            dt -= sign * timedelta(hours=int(off.group(2)), minutes=int(off.group(3)))
        except OverflowError:
            return None
    return dt, bool(clock)


def next_day(dt: datetime) -> datetime:
    """The day after `dt`; the last representable day stays itself rather than overflow."""
    try:
        return dt + timedelta(days=1)
    except OverflowError:
        return dt


def fmt(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M UTC") if (dt.hour or dt.minute) else \
        dt.strftime("%Y-%m-%d")
