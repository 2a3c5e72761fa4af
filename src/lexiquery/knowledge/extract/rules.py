"""Sentence-level patterns for reading runbooks: section numbers, thresholds and time windows
(the shape of a definition sentence is in `extract.definitions`). Nothing here knows the
catalog; `extract.py` binds what these find to sources and fields.

Each pattern errs on the side of missing a sentence rather than misreading one: a missed
threshold leaves the query as the analyst asked it, a wrong one changes its results.

    section_number("4.2 Triage")                    → ("4.2", "Triage")
    find_thresholds("more than 10 failed sign-ins within 5 minutes")
                                  → [RawThreshold(gt, 10, "failed sign-ins")] (+ find_buckets)
    find_lookbacks("Look back 24 hours.")           → [(24, "hour", span)]
    tokens(text), phrase_words(text), stem(word)    the word handling the others share
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

Unit = Literal["minute", "hour", "day", "week"]

# ------------------------------------------------------------------------------ words

_WORD_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15,
    "twenty": 20, "thirty": 30, "forty-five": 45, "sixty": 60, "ninety": 90,
}
_UNITS: dict[str, Unit] = {
    "minute": "minute", "minutes": "minute", "min": "minute", "mins": "minute", "m": "minute",
    "hour": "hour", "hours": "hour", "hr": "hour", "hrs": "hour", "h": "hour",
    "day": "day", "days": "day", "d": "day",
    "week": "week", "weeks": "week", "wk": "week", "wks": "week", "w": "week",
}
# Seconds, months and years are recognised so that they are *not* misread, then skipped:
# the model's TimeWindow holds minutes to weeks only.
_SKIPPED_UNITS = {"second", "seconds", "sec", "secs", "s", "month", "months", "year", "years"}

# A count or amount: digits (with thousands commas) or a small number word.
_NUM = r"(?:\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?|" + "|".join(
    sorted((re.escape(w) for w in _WORD_NUMBERS), key=len, reverse=True)) + r")"
# A unit spelled out or abbreviated; single letters only right after digits ("24h", "7d").
_UNIT = r"(?:minutes?|mins?|hours?|hrs?|days?|weeks?|wks?|seconds?|secs?|months?|years?)"
_AMOUNT_UNIT = rf"""(?:
        (?P<num>{_NUM})[\s-]*(?P<unit>{_UNIT})\b        # "24 hours", "5-minute", "an hour"
      | (?P<cnum>\d+)(?P<cunit>[mhdw])\b                # "24h", "15m", "7d"
      | (?P<bare>minute|hour|day|week)\b                # "the past hour" (an implied 1)
    )"""


def number(text: str) -> float | None:
    """A count as written ("10", "1,000", "ten", "an"); None when it is not one."""
    t = text.strip().lower().replace(",", "")
    if t in _WORD_NUMBERS:
        return float(_WORD_NUMBERS[t])
    try:
        return float(t)
    except ValueError:
        return None


@lru_cache(maxsize=8192)
def stem(word: str) -> str:
    """A word without its plural ending, lower-cased: enough to make "sign-ins", "Logons" and
    "result codes" meet the catalog's "sign-in", "logon" and "result code". Applied to both
    sides of every comparison, so an odd stem ("aadsts" → "aadst") still matches itself."""
    w = word.lower()
    if len(w) <= 3 and w != "ins":
        return w
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith(("sses", "xes", "ches", "shes")):
        return w[:-2]
    if w.endswith("s") and not w.endswith(("ss", "us", "is", "as")):
        return w[:-1]
    return w


# A token: letters/digits/underscore runs, joined by - . ' : / inside (not at the ends), so
# "sign-ins", "status.errorCode", "azure:aad:signin" and "10.0.0.0/8" stay whole.
_TOKEN = re.compile(r"[A-Za-z0-9_]+(?:[-.':/][A-Za-z0-9_]+)*")


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def phrase_words(text: str) -> tuple[str, ...]:
    """The comparable form of a phrase: tokens lower-cased, hyphens dropped, plurals stemmed.
    Dropping hyphens keeps the noun "sign-in" apart from the verb "sign in"."""
    return tuple(stem(t.replace("-", "")) for t in tokens(text))


# ----------------------------------------------------------------------------- sentences

# Sentence ends: . ! ? ; followed by white space (so "4.2", "10.0.0.0" and "e.g.x" stay
# whole), or a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


# ------------------------------------------------------------------------ section numbers

# A heading's own number: "3. Detection", "4.2 Triage", "§3 Detection", "Step 3: Contain",
# "Section 4.2 – Scope", "3) Detection". Bare numbers are at most 3 digits a part so a
# heading that starts with a year or an event ID ("2024 review", "4625 storms") is not read
# as section 2024; after a keyword ("Step 12", "§ 1024") any number is taken.
_SECTION = re.compile(r"""
    ^\s*
    (?:
        (?:§+|(?:section|sect\.|step|phase|stage|part|procedure|appendix)\b)\s*
        (?P<kw_num>\d+(?:\.\d+){0,4})\.?
      | (?P<num>\d{1,3}(?:\.\d{1,3}){0,4})(?:\.(?!\d)|\))?
    )
    (?=\s|[:\-–—)]|$)
    [\s:\-–—.)]*
    (?P<title>.*?)\s*$
""", re.VERBOSE | re.IGNORECASE)


def section_number(heading: str) -> tuple[str | None, str]:
    """(number as written, the title without it); (None, heading) when it has none."""
    m = _SECTION.match(heading)
    if not m:
        return None, heading.strip()
    return m.group("kw_num") or m.group("num"), m.group("title") or heading.strip()


# ---------------------------------------------------------------------------- time windows

Span = tuple[int, int]


@dataclass(frozen=True)
class RawWindow:
    amount: int
    unit: Unit
    span: Span


def _window(m: re.Match[str]) -> RawWindow | None:
    """The amount and unit of an `_AMOUNT_UNIT` match; None for seconds, months or 0."""
    if m.group("cnum"):
        amount, unit_word = float(m.group("cnum")), m.group("cunit")
    elif m.group("num"):
        amount, unit_word = number(m.group("num")) or 0.0, m.group("unit")
    else:
        amount, unit_word = 1.0, m.group("bare")
    unit = _UNITS.get(unit_word.lower())
    if unit is None or unit_word.lower() in _SKIPPED_UNITS or amount < 1 or amount != int(amount):
        return None
    return RawWindow(int(amount), unit, m.span())


# How far back to search: "in the last 24 hours", "over the past hour", "for the previous 30
# minutes", "past 7d". The amount may be left out ("the last day"). "5 minutes past the hour"
# does not match: "past" must be followed by the amount or unit, not by "the".
_LOOKBACK_LAST = re.compile(rf"""
    \b(?:last|past|previous|preceding|prior)\s+ {_AMOUNT_UNIT}
""", re.VERBOSE | re.IGNORECASE)

# "look back 7 days", "lookback of 24 hours", "look-back window: 24h", "go back 14 days",
# "search back 2 weeks"
_LOOKBACK_BACK = re.compile(rf"""
    \b(?:look(?:ing)?|go(?:ing)?|search(?:ing)?|reach(?:ing)?)[\s-]?back
    (?:\s+(?:period|window|range))?
    \s*(?:of|over|for|to|is|=|:)?\s*(?:the\s+)?(?:last\s+|past\s+)?
    {_AMOUNT_UNIT}
""", re.VERBOSE | re.IGNORECASE)

# "a 24-hour lookback", "7 day look-back"
_LOOKBACK_AFTER = re.compile(rf"""
    {_AMOUNT_UNIT}\s*look[\s-]?back
""", re.VERBOSE | re.IGNORECASE)

# "since 3 days ago", "from 2 weeks ago" (a bare "3 days ago" is as often a date: "last
# reviewed 3 days ago")
_LOOKBACK_SINCE = re.compile(rf"""
    \b(?:since|from)\s+{_AMOUNT_UNIT}\s+ago\b
""", re.VERBOSE | re.IGNORECASE)


# Cheap pre-checks: most sentences of a runbook hold no time unit and no comparison.
_ANY_UNIT = re.compile(r"\d\s*[mhdw]\b|minute|\bmins?\b|hour|\bhrs?\b|\bdays?\b|week|\bwks?\b",
                       re.IGNORECASE)
_ANY_COUNT = re.compile(r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
                        r"|fifteen|twenty|thirty|sixty|ninety)\b", re.IGNORECASE)


def find_lookbacks(sentence: str) -> list[RawWindow]:
    """Every lookback window in the sentence, in order, without overlaps."""
    found: list[RawWindow] = []
    if not _ANY_UNIT.search(sentence):
        return found
    lower = sentence.lower()
    for pattern, needs in ((_LOOKBACK_LAST, ("last", "past", "previous", "preceding", "prior")),
                           (_LOOKBACK_BACK, ("back",)), (_LOOKBACK_AFTER, ("back",)),
                           (_LOOKBACK_SINCE, ("ago",))):
        if not any(n in lower for n in needs):
            continue  # the pattern's keyword is absent: skip the scan
        for m in pattern.finditer(sentence):
            w = _window(m)
            if w and not any(_overlaps(w.span, f.span) for f in found):
                found.append(w)
    return sorted(found, key=lambda w: w.span)


# The window a threshold counts in: "within 5 minutes", "in 10 minutes", "in any 5-minute
# window", "per hour", "over a 15 minute period", "in an hour". Only read next to a threshold:
# on its own "within 15 minutes" is usually a response time, not a query window.
_BUCKET = re.compile(rf"""
    \b(?:within|in|inside|over|during|per|every|each|for)\s+
    (?:(?:a|any|one|the\s+same|a\s+single|a\s+rolling|any\s+rolling|the|an)\s+)?
    {_AMOUNT_UNIT}
    (?:\s+(?:window|period|interval|span|bucket|timeframe))?
""", re.VERBOSE | re.IGNORECASE)


_DURATION = re.compile(rf"\s*(?:per\s+|in\s+|within\s+)?{_AMOUNT_UNIT}\s*", re.VERBOSE | re.IGNORECASE)


def duration(text: str) -> RawWindow | None:
    """A table cell that is a duration and nothing else ("10 minutes", "1 hour", "24h")."""
    m = _DURATION.fullmatch(text)
    return _window(m) if m else None


def find_buckets(text: str) -> list[RawWindow]:
    if not _ANY_UNIT.search(text):
        return []
    return [w for m in _BUCKET.finditer(text) if (w := _window(m))]


def _overlaps(a: Span, b: Span) -> bool:
    return a[0] < b[1] and b[0] < a[1]


# ------------------------------------------------------------------------------ thresholds

Op = Literal["gt", "ge", "lt", "le"]

# A comparison before its number: "more than 10", "at least 5", "≥ 20", "exceeds 100",
# "over 50", "fewer than 3", "no more than 2". The number must not run on into an address or
# a version ("over 10.0.0.0/8", "above 4.2.1").
_THRESHOLD_PRE = re.compile(rf"""
    (?P<cmp>
        \b(?:more\s+than | greater\s+than | higher\s+than | larger\s+than | over | above
      | exceed(?:s|ed|ing)? | in\s+excess\s+of | upwards\s+of
      | at\s+least | no\s+(?:fewer|less)\s+than | a\s+minimum\s+of | minimum\s+of
      | fewer\s+than | less\s+than | lower\s+than | under | below
      | at\s+most | no\s+more\s+than | a\s+maximum\s+of | maximum\s+of | up\s+to)
      | >= | ≥ | => | > | <= | ≤ | =< | <
    )
    \s*(?P<n>{_NUM})\b(?![.,:/]\d)
""", re.VERBOSE | re.IGNORECASE)

# A comparison after its number: "10 or more", "3 or fewer", "5+ failures".
_THRESHOLD_POST = re.compile(rf"""
    (?<![\w.])(?P<n>{_NUM})
    (?:\s+or\s+(?P<post>more|greater|higher|above|over|fewer|less|lower|below|under)\b|(?P<plus>\+))
""", re.VERBOSE | re.IGNORECASE)

_PRE_OPS: dict[str, Op] = {
    "more than": "gt", "greater than": "gt", "higher than": "gt", "larger than": "gt",
    "over": "gt", "above": "gt", "exceed": "gt", "exceeds": "gt", "exceeded": "gt",
    "exceeding": "gt", "in excess of": "gt", "upwards of": "gt", ">": "gt",
    "at least": "ge", "no fewer than": "ge", "no less than": "ge", "a minimum of": "ge",
    "minimum of": "ge", ">=": "ge", "≥": "ge", "=>": "ge",
    "fewer than": "lt", "less than": "lt", "lower than": "lt", "under": "lt", "below": "lt",
    "<": "lt",
    "at most": "le", "no more than": "le", "a maximum of": "le", "maximum of": "le",
    "up to": "le", "<=": "le", "≤": "le", "=<": "le",
}
_POST_OPS: dict[str, Op] = {"more": "ge", "greater": "ge", "higher": "ge", "above": "ge",
                            "over": "ge", "fewer": "le", "less": "le", "lower": "le",
                            "below": "le", "under": "le"}

# What is counted ends at a window, a preposition of scope, a clause or punctuation.
_WHAT_STOP = {"within", "in", "inside", "per", "over", "during", "every", "each", "for",
              "from", "against", "on", "across", "by", "after", "before", "at", "since",
              "and", "or", "but", "then", "which", "that", "who", "is", "are", "was", "were",
              "than", "to", "should", "must", "will", "triggers", "trigger", "with", "of"}
# Verbs that end what is counted once it has a word ("20 accounts fail", "5 hosts show"); the
# first word may be one of them as an adjective ("10 failed sign-ins").
_VERB_STOP = {"fail", "fails", "failed", "failing", "occur", "occurs", "occurred", "appear",
              "appears", "happen", "happens", "come", "comes", "show", "shows", "hit", "hits",
              "arrive", "arrives", "originate", "originates", "exist", "exists", "seen",
              "logged", "recorded", "observed", "detected", "reported", "targeting", "using",
              "sign", "signs", "log", "logs", "try", "tries", "attempt", "attempts", "have", "has",
              "had", "get", "gets", "reach", "reaches", "within"}
_LEAD_STOP = {"when", "if", "where", "once", "whenever", "and", "or", "then", "escalate",
              "alert", "page", "raise", "notify", "while", "unless"}
_DETERMINERS = {"a", "an", "the", "any", "one", "each", "every", "its", "their", "his", "her",
                "this", "that", "number", "count", "total"}


MAX_PER_SENTENCE = 20  # a "sentence" with more thresholds is a flattened table or noise


@dataclass(frozen=True)
class RawThreshold:
    op: Op
    value: float
    what: str
    span: Span


def _what_after(rest: str) -> str:
    words: list[str] = []
    if rest.lstrip()[:1] in {",", ";", ":", ".", "(", ")"}:
        return ""  # "is over 50, escalate": nothing follows the number in its clause
    for m in re.finditer(r"[^\s,;:.()]+", rest):
        w = m.group(0)
        if w.lower() in _WHAT_STOP or len(words) == 6 or (words and w.lower() in _VERB_STOP):
            break
        words.append(w)
        if m.end() < len(rest) and rest[m.end()] in ",;:.()":
            break
    return " ".join(words)


def _what_before(head: str) -> str:
    """The subject before a trailing comparison ("the count exceeds 100" → "count";
    "the number of failed sign-ins is over 50" → "number of failed sign-ins")."""
    words = re.findall(r"[^\s,;:()]+", head)
    while words and words[-1].lower() in {"is", "are", "was", "were", "be", "gets", "goes",
                                          "reaches", "rises", "climbs"}:
        words.pop()
    picked: list[str] = []
    for w in reversed(words[-6:]):
        if w.lower() in _LEAD_STOP:
            break
        picked.insert(0, w)
    while picked and picked[0].lower() in _DETERMINERS - {"number", "count", "total"}:
        picked.pop(0)
    return " ".join(picked)


def find_thresholds(sentence: str) -> list[RawThreshold]:
    """Every count threshold in the sentence, in order. A number followed by a time unit is a
    duration ("over 5 minutes", "at least 7 days"), not a count, and is skipped."""
    found: list[RawThreshold] = []
    if not _ANY_COUNT.search(sentence):
        return found
    patterns = [_THRESHOLD_PRE]
    if " or " in sentence or "+" in sentence:
        patterns.append(_THRESHOLD_POST)
    for pattern in patterns:
        for m in pattern.finditer(sentence):
            if any(_overlaps(m.span(), t.span) for t in found):
                continue
            value = number(m.group("n"))
            if value is None or (m.group("n").lower() in {"a", "an"}):
                continue
            rest = sentence[m.end():m.end() + 80]
            if re.match(rf"\s*-?\s*{_UNIT}\b|[mhdw]\b|\s*(?:am|pm)\b", rest, re.IGNORECASE):
                continue  # a duration or a time of day
            head = sentence[max(0, m.start() - 80):m.start()]  # what is counted is near
            if re.search(r"\b(?:version|v|build|release|server|windows|tls|python)\s*$", head,
                         re.IGNORECASE):
                continue  # "version 2.0 or higher" is a requirement, not a count
            if pattern is _THRESHOLD_PRE:
                op = _PRE_OPS[re.sub(r"\s+", " ", m.group("cmp").lower())]
            else:
                op = "ge" if m.group("plus") else _POST_OPS[m.group("post").lower()]
            percent = re.match(r"\s*(?:%|percent\b)", rest, re.IGNORECASE)
            if percent:  # "CPU above 90%": what is measured comes before the comparison
                what = f"{_what_before(head)} %".strip()
            else:
                what = _what_after(rest[:80]) or _what_before(head)
            found.append(RawThreshold(op, value, what, m.span()))
            if len(found) == MAX_PER_SENTENCE:
                break
    return sorted(found, key=lambda t: t.span)
