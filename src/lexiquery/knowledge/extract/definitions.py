"""The shape of a definition sentence, before anything is bound to the catalog.

    definition_shapes("Failed sign-ins are result codes 50126 and 50053")
                                                    → [DefinitionShape(term, value side)]
    split_value_side("any ResultType other than 0") → ValueSide(field words, values, negated)

Definition sentences come in five forms (see `_DEFINITION_FORMS`): "<term> is/are/means
<values>", "Treat <values> as <term>", "<values> indicates/counts as <term>", "<term>:
<values>" and "<system> records <term> as <values>". The value side is "[field words]
[negation] value (, value)* [and|or value]", the values numbers, hex codes, quoted strings, or
words the bound field knows. Like `extract.rules`, these patterns would rather miss a sentence
than misread one; `extract.bind` binds what they find to exactly one field, or drops it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class DefinitionShape:
    """A sentence that reads "<term> is <value side>" in one of its forms; the value side is
    checked by `split_value_side` and bound to the catalog by the caller."""

    term: str
    value_side: str


_TERM = r"(?P<term>[^:;=]{2,80}?)"
_VALUES_SIDE = r"(?P<side>.+?)"
# The forms, each tried on the whole sentence (without its final full stop):
_DEFINITION_FORMS = [
    # "We consider blocked traffic any connection whose action is deny or drop", "We call a
    # network logon failure a 4625 with logon type 3": the value side opens with a/an/any.
    re.compile(rf"""^(?:we|i)\s+(?:consider|call|define|count|treat)\s+{_TERM}\s+
        (?:to\s+be\s+|as\s+)?(?P<side>(?:an?|any|every|all)\s+.+?)$""",
               re.VERBOSE | re.IGNORECASE),
    # "Failed sign-ins are result codes 50126 and 50053", "A failed logon is event ID 4625",
    # "Privileged logons are defined as event 4672", "Lockouts mean event 4740"
    # (longer verbs first: the first alternative that fits wins)
    re.compile(rf"""^{_TERM}\s+
        (?:(?:is|are)\s+(?:defined|identified|recorded|logged|shown)\s+(?:as|by)
          |(?:is|are)\s+represented\s+by|corresponds?\s+to|maps?\s+to|means?|is|are|==|=)
        \s+{_VALUES_SIDE}$""", re.VERBOSE | re.IGNORECASE),
    # "Treat ResultType 50126 or 50053 as a failure", "Consider event 4740 to be a lockout"
    re.compile(rf"""^(?:[^,;]*?(?:,|\band\b|\bthen\b)\s+)??(?:please\s+)?
        (?:treat|consider|count|classify|regard|flag)\s+
        {_VALUES_SIDE}\s+(?:as|to\s+be)\s+{_TERM}$""", re.VERBOSE | re.IGNORECASE),
    # "ResultType 50126 and 50053 are treated as failures", "Event 4740 counts as a lockout",
    # "Event 4625 indicates a failed logon", "Result code 50053 means a locked account"
    re.compile(rf"""^{_VALUES_SIDE}\s+
        (?:(?:is|are)\s+(?:treated|considered|counted|classified|regarded)\s+as
          |counts?\s+as|indicates?|denotes?|signals?|represents?|means?|is|are)
        \s+{_TERM}$""", re.VERBOSE | re.IGNORECASE),
    # "Successful sign-ins: ResultType 0"; and the other way round, "Event 4625: failed logon"
    re.compile(rf"^{_TERM}\s*:\s*{_VALUES_SIDE}$", re.IGNORECASE),
    # "Windows records a lockout as event 4740 in the Security log"
    re.compile(rf"""^[\w\s-]{{2,40}}?\s+(?:records|logs|reports|writes|raises|marks|flags)\s+
        {_TERM}\s+as\s+{_VALUES_SIDE}$""", re.VERBOSE | re.IGNORECASE),
]
# Which forms may be read either way round (the copula and the colon: "X is Y" where Y holds
# the values or X does).
_EITHER_WAY = (False, True, False, False, True, False)

# Lead-in clauses that scope a definition to its document: "For this procedure a failed
# sign-in is …", "In this runbook, a VPN sign-in means …". They say nothing about the term.
_LEAD_IN = re.compile(r"""^(?:(?:for|in|within|throughout)\s+(?:this|the|our|these)\s+
    (?:procedure|runbook|sop|document|playbook|guide|section|context|hunt|investigation)s?
    (?:\s+purposes?)?|for\s+the\s+purposes?\s+of\s+this\s+\w+|here|below)\s*,?\s+""",
                      re.VERBOSE | re.IGNORECASE)

# Leading words that make a sentence a label, an instruction or a clause rather than a term.
_NOT_A_TERM = {
    "this", "that", "it", "there", "here", "these", "those", "which", "what", "who", "when",
    "if", "note", "notes", "example", "examples", "e.g", "tip", "warning", "caution",
    "important", "threshold", "thresholds", "escalation", "step", "steps", "query", "queries",
    "owner", "contact", "ticket", "reference", "see", "source", "sources", "table", "index",
    "field", "fields", "value", "values", "lookback", "window", "time", "severity", "priority",
    "sla", "count", "number", "total", "limit", "result", "output", "status", "version",
    "author", "date", "updated", "review", "reviewed", "system", "platform", "you", "we",
    "they", "i", "call", "run", "check", "open", "page", "escalate", "ensure", "make",
    "verify", "confirm", "search", "use", "filter", "look", "the", "a", "an",
}


def definition_shapes(sentence: str) -> list[DefinitionShape]:
    """The ways the sentence can be read as a definition, most likely first. Several can
    match ("X is Y"): the caller keeps the first whose value side binds."""
    s = _LEAD_IN.sub("", sentence.strip().rstrip(".!"), count=1)
    s = s.split(";")[0].strip()  # "…; a run of these usually means …" is another sentence
    shapes: list[DefinitionShape] = []
    for form, either in zip(_DEFINITION_FORMS, _EITHER_WAY):
        m = form.match(s)
        if not m:
            continue
        term, side = m.group("term").strip(), m.group("side").strip()
        pairs = [(term, side)] + ([(side, term)] if either else [])
        for t, v in pairs:
            t = _clean_term(t)
            if t and DefinitionShape(t, v) not in shapes:
                shapes.append(DefinitionShape(t, v))
    return shapes


def _clean_term(term: str) -> str | None:
    t = re.sub(r"^(?:an?|the|all|any)\s+", "", term.strip(), flags=re.IGNORECASE)
    t = t.strip(" \"'`*_")
    words = t.split()
    if not words or len(words) > 6 or re.search(r"\d", t):
        return None
    if words[0].lower().strip(",") in _NOT_A_TERM:
        return None
    return t


@dataclass(frozen=True)
class ValueSide:
    """The value side of a definition: the words naming the field, the values as written
    (quotes removed), whether they were bare words (to be checked against known values),
    and whether the sentence negates them ("anything but 0")."""

    field_words: str
    values: list[str]
    bare: bool
    negated: bool
    # "whose name starts with svc_": startswith / endswith / contains; None for equality.
    pattern: str | None = None


# One value: quoted, hexadecimal, a number, or a bare word (kept only if the field knows it).
_VALUE_TOKEN = re.compile(r"""
    "(?P<dq>[^"]+)" | '(?P<sq>[^']+)' | `(?P<bq>[^`]+)` | “(?P<cq>[^”]+)”
  | (?P<hex>0x[0-9A-Fa-f]+)\b
  | (?P<num>-?\d+(?:\.\d+)?)\b(?![.:/]\d)
  | (?P<sep>,|/|&|\b(?:and|or|nor)\b)
  | (?P<word>[A-Za-z][\w-]*)
  | (?P<other>\S)
""", re.VERBOSE)

# Negations in the value side: "anything but 0", "other than 0", "any result code except 0".
_NEGATION = re.compile(r"""
    \b(?:anything\s+(?:but|other\s+than|except)|everything\s+(?:but|except)|other\s+than
        |except(?:\s+for)?|not(?:\s+equal\s+to)?|but\s+not|never|excluding)\b
    | !=|<>|≠
""", re.VERBOSE | re.IGNORECASE)
# Words that may stand around the field's name on the value side without changing it.
FILLER_WORDS = frozenset({
    "any", "all", "every", "a", "an", "the", "with", "of", "where", "whose", "has", "have",
    "having", "is", "are", "equal", "equals", "to", "value", "values", "set", "in", "on",
    "field", "column", "code", "codes", "number", "numbers", "either", "one", "=", "==",
    "event", "events", "record", "records", "entries", "entry", "log", "logs", "id", "ids",
})


# "starts with", "ends in", "contains": the values are a pattern, and any word is one.
_PATTERN = re.compile(r"""\b(?P<start>(?:starts?|starting|begins?|beginning)\s+with)\b
    |\b(?P<end>(?:ends?|ending)\s+(?:with|in))\b|\b(?P<contain>contains?|containing)\b""",
                      re.VERBOSE | re.IGNORECASE)
# An all-capitals token (US, TXT, NXDOMAIN) is written as a code, not a word of prose.
_CODE_WORD = re.compile(r"^[A-Z]{2,12}$")


def split_value_side(side: str) -> ValueSide | None:
    """The value side parsed, or None when it does not end in a list of values. The values
    are the longest run at the end of `side` made of values and separators; everything before
    it is the field words (and any negation). Explanations in brackets after the values
    ("50126 (invalid username or password) or 50053 (account locked)") are left out."""
    side = side.strip()
    unbracketed = re.sub(r"\s*\([^()]*\)", "", side)
    if unbracketed.strip():
        side = unbracketed
    side = side.rstrip(" .;")
    pattern = _PATTERN.search(side)
    if pattern:
        op = ("startswith" if pattern.group("start") else "endswith" if pattern.group("end")
              else "contains")
        tail = side[pattern.end():].strip(" :")
        if re.fullmatch(r"[\"'`“]?[^\s\"'`”]+[\"'`”]?", tail):
            head = side[:pattern.start()]
            negated = bool(_NEGATION.search(head))
            return ValueSide(_NEGATION.sub(" ", head).strip(" :=,"), [tail.strip("\"'`“”")],
                             False, negated, op)
        return None
    toks = [(m.lastgroup, m.group(m.lastgroup or 0), m.start())
            for m in _VALUE_TOKEN.finditer(side)]
    if not toks:
        return None
    for allow_words in (False, True):
        values: list[str] = []
        start = len(side)
        expect_value = True
        i = len(toks) - 1
        while i >= 0:
            kind, text, pos = toks[i]
            if expect_value and kind in {"dq", "sq", "bq", "cq", "hex", "num"} or (
                    expect_value and allow_words and kind == "word"):
                values.insert(0, text)
                start, expect_value = pos, False
            elif not expect_value and kind == "sep":
                expect_value = True
            else:
                break
            i -= 1
        if values and not expect_value:
            head = side[:start]
            negated = bool(_NEGATION.search(head))
            field_words = _NEGATION.sub(" ", head).strip(" :=,")
            bare = allow_words and not all(_CODE_WORD.match(v) for v in values)
            return ValueSide(field_words, values, bare, negated)
    return None


# What joins a definition's head noun to its conditions, and one condition to the next: "a
# 4625 event whose sub status is 0xC000006A", "any sign-in whose location is not US or CA",
# "a 4625 with logon type 3", "a query of type TXT or NULL".
_CLAUSE = re.compile(r"\s+(?:and\s+)?(?:whose|where|with|having|that\s+has|which\s+has|"
                     r"that\s+have|of)\s+", re.IGNORECASE)
_VALUE_IN_HEAD = re.compile(r"""0x[0-9A-Fa-f]+\b|\b\d+\b|"[^"]+"|'[^']+'""")


def split_clauses(side: str) -> tuple[str, list[str]]:
    """The value side's head noun phrase and its conditions: ("a 4625 event", ["sub status
    is 0xC000006A"]). A head that holds values ("a 4625 event") is returned with them only
    ("4625") for the caller to bind as one more condition; ("", [side]) when there is no
    clause."""
    side = re.sub(r"\s*\([^()]*\)", "", side).strip() or side.strip()
    # "starts with" is one operator, not a clause joined by "with".
    protected = _PATTERN.sub(lambda m: m.group(0).replace(" ", "\0"), side)
    parts = [p.replace("\0", " ") for p in _CLAUSE.split(protected, maxsplit=3)]
    if len(parts) < 2:
        return "", [side]
    head, clauses = parts[0], [p for p in parts[1:] if p.strip()]
    values = _VALUE_IN_HEAD.findall(head)
    return (" ".join(values) if values else head), clauses


def head_has_values(head: str) -> bool:
    return bool(_VALUE_IN_HEAD.fullmatch(head.split()[0])) if head.split() else False


__all__ = ["FILLER_WORDS", "DefinitionShape", "ValueSide", "definition_shapes",
           "head_has_values", "split_clauses", "split_value_side"]
