"""Finding known-error codes in free text (questions, SOP paragraphs, pasted error messages).

Questions are full of numbers that are not codes ("last 24 hours", "top 10", "port 443", "more
than 500 requests", "1000 events"), so each system has its own rule and the bare-number rules are
conservative — a missed code costs a hint, a false one sends an investigation the wrong way:

- Entra: ``AADSTS50126`` always (an unknown AADSTS code is still reported, as an "inferred"
  entry); a bare number of 5+ digits only when the base has it as an Entra code.
- Windows event IDs need context: "event 4625", "event id 4625", "EventID=4625", "4625 events",
  "events 4624 and 4625", "4624/4625 logons"; a lone 4-digit ID only when "event", "logon",
  "windows"… is written within a few words of it. Never after a quantity word ("more than",
  "top", "last", "port" …) nor before a unit ("4700 ms").
- NTSTATUS ``0xC000006A`` (any 8-hex-digit 0x code the base has, Kusto's 0x80DA0003 included)
  always; an unknown 0xC… code is reported as an inferred NTSTATUS entry.
- HTTP statuses need context: "HTTP 503", "status 503", "status code 404", "returned 502",
  "503 errors", "404s", "500/502 responses". "5xx" names no single code and finds nothing.
- Everything else (Splunk, Kusto, custom entries, and descriptive aliases of any entry): the code
  and each alias as a phrase, case-insensitively, between word boundaries — so a pasted message
  ("Error in 'eval' command: The expression is malformed.") is recognised. Purely numeric aliases
  of custom entries need a preceding "error"/"code"/"status"/"event".

Overlapping matches keep the longer (earlier) one; each code is reported once, where it first
appears.
"""

from __future__ import annotations

import re
from typing import Iterator, Protocol

from lexiquery.knowledge.known_errors.model import ErrorMention, KnownError, SuggestedFilter


class CodeLookup(Protocol):
    """What the finder needs of a base (`base.KnownErrorBase`): its entries and a lookup."""

    def get(self, code: str) -> KnownError | None: ...

    def __iter__(self) -> Iterator[KnownError]: ...

# Words after which a number is a quantity, a port or a year, not a code.
_QUANTITY = re.compile(
    r"(?:\b(?:than|over|under|above|below|least|most|top|first|last|limit|take|head|tail|"
    r"about|around|approximately|roughly|nearly|almost|exceeds?|exceeding|exceeded|past|next|"
    r"port|ports|pid|year|years|since|until|before|after|every|per|within|only|max|min|"
    r"maximum|minimum|threshold|count|total|sample|up\s+to)|[<>~≈]=?|==?)\s*$", re.I)
# Words after a number that make it a quantity or a measure.
_UNIT = re.compile(r"^\s*(?:%|ms\b|msec|s\b|sec|secs|seconds?|mins?\b|minutes?|h\b|hrs?\b|"
                   r"hours?|days?|weeks?|months?|years?|bytes?|kb\b|mb\b|gb\b|tb\b|rows?\b|"
                   r"records?\b|results?\b|times\b|users?\b|hosts?\b|machines?\b|devices?\b|"
                   r"accounts?\b|requests?\b|attempts?\b|connections?\b|ips?\b|"
                   r"[.,]\d)", re.I)
_NUM_EDGE_BEFORE = re.compile(r"[\w.:/\\-]$")  # part of an IP, a path, a version, a date
_NUM_EDGE_AFTER = re.compile(r"^(?:[.:/\\]\w|-\d|\w)")

_AADSTS = re.compile(r"\bAADSTS[ _-]?(\d{4,8})\b", re.I)
_HEXCODE = re.compile(r"(?<![\w])(0x[0-9a-f]{8})(?![\w])", re.I)
_BARE_NT = re.compile(r"(?<![\w])(c0000[0-9a-f]{3})(?![\w])", re.I)
_NUMBER = re.compile(r"(?<![\w.])\d+(?![\w])")
_LIST_SEP = r"\s*(?:,|/|&|\+|\band\b|\bor\b|,\s*and\b|,\s*or\b)\s*"
_EVENT_LEAD = re.compile(
    r"\b(?:event[\s_-]*ids?|eventids?|event[\s_-]*codes?|eventcodes?|events?|"
    r"windows\s+events?|security\s+events?)\s*(?:==|=|:|#|\bin\b\s*\(?|\()?\s*[\"']?"
    r"(\d{4}(?:[\"']?" + _LIST_SEP + r"[\"']?\d{4})*)", re.I)
_EVENT_TAIL = re.compile(
    r"(?<![\w.])(\d{4}(?:" + _LIST_SEP + r"\d{4})*)\s*(?:-|\s)?\s*(?:events?|eventids?)\b", re.I)
# "4625 logons" reads as an event ID only for the logon events themselves ("we saw 4700 logons"
# is a count).
_LOGON_TAIL = re.compile(
    r"(?<![\w.])(\d{4}(?:" + _LIST_SEP + r"\d{4})*)\s*(?:-|\s)?\s*"
    r"(?:logons?|logoffs?|log-?ons?|logon\s+failures?|failed\s+logons?)\b", re.I)
_LOGON_EVENTS = frozenset({"4624", "4625", "4634", "4647", "4648", "4672", "4768", "4769", "4771",
                           "4776", "4778", "4779"})
_EVENT_PLURAL = re.compile(r"(?<![\w.])(\d{4})s\b")
_COUNTED = re.compile(r"\s*(?!(?:was|has|its|this|does|plus|across|versus|less|is|as)\b)"
                      r"[a-z-]{2,}s\b", re.I)
_EVENT_CONTEXT = re.compile(r"\b(?:events?|event\s*ids?|eventids?|eventcodes?|logons?|logoffs?|"
                            r"log\s*on|windows|security\s+log|domain\s+controllers?|sysmon|"
                            r"kerberos|ntlm|active\s+directory)\b", re.I)
_HTTP_LEAD = re.compile(
    r"\b(?:https?(?:/\d(?:\.\d)?)?|status(?:\s*code)?s?|sc-?status|response\s*codes?|"
    r"status\s*of|returned|returns|returning|return\s*codes?|responded\s*with|got\s*an?)"
    r"\s*(?:==|=|:|\bin\b\s*\(?|\()?\s*[\"']?(\d{3}(?:[\"']?" + _LIST_SEP + r"[\"']?\d{3})*)"
    r"(?![\w])", re.I)
_HTTP_TAIL = re.compile(
    r"(?<![\w.])(\d{3}(?:" + _LIST_SEP + r"\d{3})*)(?:\s*(?:errors?|responses?|status(?:es)?|"
    r"codes?|status\s*codes?)\b|s\b)", re.I)
_NUMERIC_LEAD = re.compile(r"\b(?:error|err|code|status|event|result)\s*[:#=]?\s*$", re.I)
_ENTRA_LEAD = re.compile(r"\b(?:error|code|result|result\s*type|result\s*code|errorcode|"
                         r"sign-?in\s*error)s?\s*(?:code)?\s*(?:[:#]|={1,2})?\s*$", re.I)

_Candidate = tuple[int, int, str, KnownError]


class ErrorFinder:
    """The matching rules compiled for one base (built once, on the first `find`)."""

    def __init__(self, base: CodeLookup) -> None:
        self.base = base
        self.windows = {e.code for e in base if e.system == "windows"}
        self.http = {e.code for e in base if e.system == "http"}
        self.entra_digits = {e.code[len("AADSTS"):] for e in base if e.system == "entra"}
        phrases: dict[str, KnownError] = {}
        numeric: dict[str, KnownError] = {}
        for error in base:
            for spelling in [error.code, *error.aliases]:
                text = " ".join(spelling.split())
                if not text:
                    continue
                if error.system in ("entra", "windows", "http", "ntstatus") and (
                        spelling == error.code or _is_code_spelling(text)):
                    continue  # the system's own rule reads these, with their context
                if text.isdigit():
                    numeric.setdefault(text, error)
                    continue
                phrases.setdefault(text.casefold(), error)
        self.numeric = numeric
        self.phrase_errors = phrases
        # One alternation of every phrase costs ~10 ms per runbook page; a phrase can only
        # match where its first word occurs, so each text compiles (and caches) the
        # alternation of the few phrases whose first word it contains.
        self._by_anchor: dict[str, list[str]] = {}
        self._always: list[str] = []
        for p in phrases:
            anchor = _WORDS.search(p)
            (self._by_anchor.setdefault(anchor.group(0), []) if anchor else self._always
             ).append(p)
        self._compiled: dict[frozenset[str], re.Pattern[str]] = {}
        self.phrases = bool(phrases)

    # ------------------------------------------------------------------ rules

    def find(self, text: str) -> list[ErrorMention]:
        candidates: list[_Candidate] = []
        candidates += self._aadsts(text)
        candidates += self._hex(text)
        candidates += self._entra_bare(text)
        candidates += self._windows(text)
        candidates += self._http(text)
        candidates += self._phrases(text)
        candidates += self._numeric(text)
        candidates.sort(key=lambda c: (c[0], -(c[1] - c[0])))
        taken: list[tuple[int, int]] = []
        seen: set[str] = set()
        mentions: list[ErrorMention] = []
        for start, end, written, error in candidates:
            if any(start < e and s < end for s, e in taken):
                continue
            taken.append((start, end))
            if error.code in seen:
                continue
            seen.add(error.code)
            mentions.append(ErrorMention(code=error.code, written=written, start=start, end=end,
                                         error=error))
        mentions.sort(key=lambda m: m.start)
        return mentions

    def _aadsts(self, text: str) -> list[_Candidate]:
        out = []
        for m in _AADSTS.finditer(text):
            error = self.base.get("AADSTS" + m.group(1)) or _inferred_entra(m.group(1))
            out.append((m.start(), m.end(), m.group(0), error))
        return out

    def _hex(self, text: str) -> list[_Candidate]:
        out = []
        for m in _HEXCODE.finditer(text):
            error = self.base.get(m.group(1))
            if error is None and m.group(1)[2].lower() == "c":
                error = _inferred_ntstatus(m.group(1))
            if error is not None:
                out.append((m.start(), m.end(), m.group(0), error))
        for m in _BARE_NT.finditer(text):
            error = self.base.get("0x" + m.group(1))
            if error is not None and error.system == "ntstatus":
                out.append((m.start(), m.end(), m.group(0), error))
        return out

    def _entra_bare(self, text: str) -> list[_Candidate]:
        out = []
        for m in _NUMBER.finditer(text):
            digits = m.group(0)
            if len(digits) < 5 or digits not in self.entra_digits:
                continue
            if not _ENTRA_LEAD.search(text[:m.start()]) and not _plain_number(text, m):
                continue
            error = self.base.get("AADSTS" + digits)
            if error is not None:
                out.append((m.start(), m.end(), digits, error))
        return out

    def _windows(self, text: str) -> list[_Candidate]:
        out: list[_Candidate] = []
        for m in _EVENT_LEAD.finditer(text):
            out += self._listed(text, m, 1, self.windows, guard=False)
        for m in _EVENT_TAIL.finditer(text):
            out += self._listed(text, m, 1, self.windows, guard=True)
        for m in _LOGON_TAIL.finditer(text):
            out += self._listed(text, m, 1, self.windows & _LOGON_EVENTS, guard=True)
        if not _EVENT_CONTEXT.search(text):
            return out
        for m in _EVENT_PLURAL.finditer(text):
            error = self.base.get(m.group(1)) if m.group(1) in self.windows else None
            if error is not None and not _QUANTITY.search(text[:m.start()]):
                out.append((m.start(1), m.end(1), m.group(1), error))
        for m in _NUMBER.finditer(text):
            digits = m.group(0)
            if len(digits) != 4 or digits not in self.windows or not _plain_number(text, m):
                continue
            if _COUNTED.match(text[m.end():]):
                continue  # "4700 logons": a count of something; the tail rules read "4625 events"
            window = text[max(0, m.start() - 40):m.end() + 40]
            error = self.base.get(digits)
            if error is not None and _EVENT_CONTEXT.search(window):
                out.append((m.start(), m.end(), digits, error))
        return out

    def _http(self, text: str) -> list[_Candidate]:
        out: list[_Candidate] = []
        for m in _HTTP_LEAD.finditer(text):
            out += self._listed(text, m, 1, self.http, guard=False)
        for m in _HTTP_TAIL.finditer(text):
            out += self._listed(text, m, 1, self.http, guard=True)
        return out

    def _listed(self, text: str, m: re.Match[str], group: int, codes: set[str], *,
                guard: bool) -> list[_Candidate]:
        """Each code of a matched list ("4624, 4625 and 4634"), at its own position."""
        if guard and _QUANTITY.search(text[:m.start(group)]):
            return []
        if guard and _NUM_EDGE_BEFORE.search(text[:m.start(group)]):
            return []
        out: list[_Candidate] = []
        offset = m.start(group)
        for n in re.finditer(r"\d+", m.group(group)):
            if n.group(0) in codes:
                error = self.base.get(n.group(0))
                if error is not None:
                    out.append((offset + n.start(), offset + n.end(), n.group(0), error))
        return out

    def _phrases(self, text: str) -> list[_Candidate]:
        if not self.phrases:
            return []
        words = set(_WORDS.findall(text.casefold()))
        wanted = frozenset([p for w in words & self._by_anchor.keys()
                            for p in self._by_anchor[w]] + self._always)
        if not wanted:
            return []
        pattern = self._compiled.get(wanted)
        if pattern is None:
            if len(self._compiled) > 512:
                self._compiled.clear()
            # Longest first, so "Query execution has exceeded the allowed limits (80DA0003)"
            # beats its own fragments in the alternation.
            pattern = re.compile("|".join(_phrase_pattern(p) for p in
                                          sorted(wanted, key=len, reverse=True)), re.I)
            self._compiled[wanted] = pattern
        out = []
        for m in pattern.finditer(text):
            error = self.phrase_errors.get(" ".join(m.group(0).split()).casefold())
            if error is not None:
                out.append((m.start(), m.end(), m.group(0), error))
        return out

    def _numeric(self, text: str) -> list[_Candidate]:
        out = []
        for m in _NUMBER.finditer(text):
            error = self.numeric.get(m.group(0))
            if error is not None and _NUMERIC_LEAD.search(text[:m.start()]):
                out.append((m.start(), m.end(), m.group(0), error))
        return out


_WORDS = re.compile(r"\w+")


def _plain_number(text: str, m: re.Match[str]) -> bool:
    """The number stands alone: not part of an IP/path/date, no quantity word before it and no
    unit after it."""
    before, after = text[:m.start()], text[m.end():]
    if _NUM_EDGE_BEFORE.search(before) or _NUM_EDGE_AFTER.search(after):
        return False
    return not _QUANTITY.search(before) and not _UNIT.search(after)


_CODE_SPELLING = re.compile(
    r"^(?:aadsts\s*|error\s*|event\s*id\s*|eventid\s*|event\s*|http\s*|status\s*|0x)?"
    r"[0-9a-f]*\d[0-9a-f]*$", re.I)


def _is_code_spelling(text: str) -> bool:
    """"50126", "error 50126", "EventID 4625", "HTTP 503", "C000006A": read by the system rules."""
    return bool(_CODE_SPELLING.match(text))


def _phrase_pattern(phrase: str) -> str:
    body = r"\s+".join(re.escape(w) for w in phrase.split())
    lead = r"(?<!\w)" if phrase[:1].isalnum() or phrase[:1] == "_" else ""
    tail = r"(?!\w)" if phrase[-1:].isalnum() or phrase[-1:] == "_" else ""
    return lead + body + tail


def _inferred_entra(digits: str) -> KnownError:
    return KnownError(
        code=f"AADSTS{digits}", system="entra",
        title=f"Entra ID error AADSTS{digits} (not in the known-errors base)",
        meaning="An Entra ID sign-in or token error code that the known-errors base does not "
                "describe.",
        action=f"Look it up on Microsoft's error page (login.microsoftonline.com/error?code="
               f"{digits}) and read result_description in the sign-in logs; add it to your own "
               "known-errors file once you know what it means here.",
        filter=SuggestedFilter(source="signin_logs", field="result_code", value=digits),
        origin="inferred")


def _inferred_ntstatus(code: str) -> KnownError:
    return KnownError(
        code=code, system="ntstatus",
        title=f"NTSTATUS {code.upper().replace('0X', '0x')} (not in the known-errors base)",
        meaning="A Windows NTSTATUS error code that the known-errors base does not describe.",
        action="Look the code up in Microsoft's NTSTATUS values reference (ntstatus.h); on a "
               "failed logon (4625) read both Status and Sub Status.",
        origin="inferred")
