"""The catalog's names in comparable form: which words, identifiers and SPL search terms name
which source or field, and the words that name nothing on their own (`GENERIC_WORDS`).

Built once per catalog (`_lexicon`) and shared by the extraction's readers (`extract.py`) and
the definition binder (`extract.bind.py`). See `extract.py`'s docstring for the naming rules.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass, field
from typing import Iterable

from lexiquery.catalog.model import Catalog, Platform
from lexiquery.knowledge.extract import rules

# Single words (and a few phrases) that catalog synonyms use but runbook prose uses for other
# things: "follow the process", "raise an alert", "log in to Sentinel", "the event", "when".
# They neither name a source nor a field on their own; definitions still read them ("are event
# 4672"), where the sentence's shape says a field is meant.
GENERIC_WORDS = frozenset({
    # source synonyms
    "process", "processes", "executions", "endpoint", "connections", "traffic", "flows", "web",
    "requests", "site", "website", "pages", "urls", "lookups", "resolutions", "messages",
    "files", "exchange", "teams", "mailbox", "alerts", "detections", "incidents", "alarms",
    "findings", "performance", "perf", "counters", "metrics", "cpu", "memory", "disk",
    "utilization", "utilisation", "load", "reporting", "agents", "forwarders", "authentication",
    "login", "logon", "logons", "ad", "http", "sign in", "log in", "commands run", "check-ins",
    # field names and synonyms
    "act", "action", "activity", "actor", "address", "admin", "agent", "alert", "answer",
    "answers", "appliance", "application", "args", "arguments", "asset", "binary", "browser",
    "bytes", "caller", "category", "client", "command", "computer", "core", "correlation",
    "counter", "country", "daemon", "date", "description", "details", "detection", "device",
    "document", "domain", "download", "drive", "duration", "elapsed", "entity", "environment",
    "event", "facility", "file", "folder", "geo", "image", "initiator", "instance",
    "integrity", "interactive", "item", "level", "location", "machine", "measurement",
    "message", "method", "metric", "name", "node", "object", "operation", "operations", "os",
    "outcome", "page", "parameters", "parent", "path", "percent", "platform", "principal",
    "priority", "product", "program", "provider", "query", "reading", "reason", "region",
    "requester", "resource", "result", "risk", "risky", "route", "rule", "server", "service",
    "severity", "signature", "size", "slow", "source", "state", "status", "subject",
    "subscription", "summary", "target", "targets", "text", "time", "timestamp", "title",
    "transport", "type", "upload", "usage", "value", "vendor", "verb", "verdict", "version",
    "when", "who", "workload", "workstation", "disposition", "tactic", "tactics",
})
_GENERIC = frozenset(rules.phrase_words(w) for w in GENERIC_WORDS)

# ------------------------------------------------------------------------ catalog lexicon


def _is_identifier(name: str) -> bool:
    """A platform name that cannot be an English word (ResultType, src_ip, status.errorCode);
    "Computer", "Location" and "user" are words, matched as such (and generic ones not)."""
    return not re.fullmatch(r"[A-Za-z][a-z]*", name)


# One `key=value` term of an SPL search, the value quoted or bare.
_SPL_TERM = re.compile(r"""(?P<key>[A-Za-z_][\w.]*) \s*=\s* (?:"(?P<q>[^"]*)" | (?P<v>[^\s|()\[\]"]+))""",
                       re.VERBOSE)


_SPL_NAMING_KEYS = {"index", "sourcetype", "source", "datamodel"}


def _spl_terms(text: str) -> set[tuple[str, str]]:
    return {(m.group("key").lower(), (m.group("q") if m.group("q") is not None else m.group("v"))
             .lower()) for m in _SPL_TERM.finditer(text)}


@dataclass
class _Lexicon:
    """The catalog's names in comparable form, built once per extraction."""

    source_phrases: dict[tuple[str, ...], set[str]] = field(default_factory=dict)
    source_idents: dict[str, set[str]] = field(default_factory=dict)
    spl: dict[str, set[tuple[str, str]]] = field(default_factory=dict)  # source → its terms
    field_phrases: dict[tuple[str, ...], set[tuple[str, str]]] = field(default_factory=dict)
    field_idents: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    table_words: set[str] = field(default_factory=set)  # tables spelt like words ("Perf")
    longest: int = 1
    _starts: dict[int, set[str]] = field(default_factory=dict)  # table → its first words

    @classmethod
    def build(cls, catalog: Catalog) -> "_Lexicon":
        lex = cls()
        for s in catalog:
            lex._source_phrase(s.id.replace("_", " "), s.id)
            lex.source_idents.setdefault(s.id.lower(), set()).add(s.id)
            for name in [s.name, *s.synonyms]:
                lex._source_phrase(name, s.id)
            for p in s.bindings.platforms():
                target = s.target(p)
                if p is Platform.spl:
                    lex.spl[s.id] = _spl_terms(target)
                else:
                    for part in {target, target.split(".")[-1]}:
                        lex.source_idents.setdefault(part.lower(), set()).add(s.id)
                        if not _is_identifier(part):  # "Perf", "Syslog": in prose, a word
                            lex._source_phrase(part, s.id)
                            lex.table_words.add(part.lower())
            for f in s.fields:
                key = (s.id, f.name)
                if _is_identifier(f.name):  # "src_ip"; a plain "user" is matched as a word
                    lex.field_idents.setdefault(f.name.lower(), set()).add(key)
                for name in [f.name.replace("_", " "), *f.synonyms]:
                    words = rules.phrase_words(name)
                    if words:
                        lex.field_phrases.setdefault(words, set()).add(key)
                        lex.longest = max(lex.longest, len(words))
                for p in s.bindings.platforms():
                    col = s.column(p, f.name)
                    if col and _is_identifier(col):
                        lex.field_idents.setdefault(col.lower(), set()).add(key)
                    elif col:
                        lex.field_phrases.setdefault(rules.phrase_words(col), set()).add(key)
        return lex

    def _source_phrase(self, name: str, source_id: str) -> None:
        words = rules.phrase_words(name)
        if words and words not in _GENERIC:
            self.source_phrases.setdefault(words, set()).add(source_id)
            self.longest = max(self.longest, len(words))

    # -- matching

    def phrases(self, text: str, table: dict[tuple[str, ...], set]
                ) -> Iterable[tuple[tuple[str, ...], set, int]]:
        """(phrase, entries, token index) of each longest phrase of `table` in `text`."""
        words = rules.phrase_words(text)
        starts = self._starts.get(id(table))
        if starts is None:
            starts = self._starts[id(table)] = {p[0] for p in table}
        i = 0
        while i < len(words):
            if words[i] not in starts:
                i += 1
                continue
            for n in range(min(self.longest, len(words) - i), 0, -1):
                hit = table.get(words[i:i + n])
                if hit:
                    yield words[i:i + n], hit, i
                    i += n
                    break
            else:
                i += 1

    def sources(self, prose: str, code: str) -> list[str]:
        """Source ids named in the prose (any name) or the code (identifiers only), in the
        order of their first mention."""
        found: list[tuple[int, int, str]] = []
        for part, (text, words_too) in enumerate(((prose, True), (code, False))):
            for i, tok in enumerate(rules.tokens(text)):
                if words_too and tok.lower() in self.table_words:
                    continue  # in prose a table spelt like a word is matched as a word
                hit = self.source_idents.get(tok.lower())
                if hit and len(hit) == 1:
                    found.append((part, i, next(iter(hit))))
            if words_too:
                for _, hit, i in self.phrases(text, self.source_phrases):
                    if len(hit) == 1:  # a synonym two sources share names neither
                        found.append((part, i, next(iter(hit))))
            found.extend((part, i, sid) for sid, i in self.spl_sources(text))
        return _in_order(found)

    def spl_sources(self, text: str) -> list[tuple[str, int]]:
        """(source, token index) for each source whose SPL search terms the text holds: all of
        them, or an `index=`, `sourcetype=` or `source=` term no other source uses (a pinned
        `EventCode=1` alone names nothing)."""
        if "=" not in text:
            return []
        terms = _spl_terms(text)
        out = []
        for sid, own in self.spl.items():
            if not own or not (own & terms):
                continue
            others = set().union(*(t for o, t in self.spl.items() if o != sid))
            if own <= terms or any(t in terms and t not in others and t[0] in _SPL_NAMING_KEYS
                                   for t in own):
                at = min((m.start() for m in _SPL_TERM.finditer(text)
                          if (m.group("key").lower(), (m.group("q") if m.group("q") is not None
                                                       else m.group("v")).lower()) in own),
                         default=0)
                out.append((sid, len(rules.tokens(text[:at]))))
        return out

    def fields(self, prose: str, code: str, sources: list[str]) -> list[str]:
        """"source.field" named in the text, for the given sources only, in order of mention."""
        allowed = set(sources)
        found: list[tuple[int, int, str]] = []
        for part, (text, words_too) in enumerate(((prose, True), (code, False))):
            for i, tok in enumerate(rules.tokens(text)):
                found.extend((part, i, f"{sid}.{fname}")
                             for sid, fname in sorted(self.field_idents.get(tok.lower(), ()))
                             if sid in allowed)
            if words_too:
                for words, hit, i in self.phrases(text, self.field_phrases):
                    if words not in _GENERIC:
                        found.extend((part, i, f"{sid}.{fname}") for sid, fname in sorted(hit)
                                     if sid in allowed)
        return _in_order(found)


def _in_order(found: list[tuple[int, int, str]]) -> list[str]:
    out: list[str] = []
    for *_, item in sorted(found, key=lambda f: (f[0], f[1])):
        if item not in out:
            out.append(item)
    return out


def _add(found: list[str], items: Iterable[str]) -> None:
    for item in items:
        if item not in found:
            found.append(item)


_LEXICONS: "weakref.WeakKeyDictionary[Catalog, tuple[tuple[object, ...], _Lexicon]]" = \
    weakref.WeakKeyDictionary()


def _lexicon(catalog: Catalog) -> _Lexicon:
    """The catalog's lexicon, built once per catalog (20 ms — more than reading a runbook) and
    rebuilt when its source objects change."""
    current = tuple(catalog)
    hit = _LEXICONS.get(catalog)
    if hit is not None and len(hit[0]) == len(current) and \
            all(a is b for a, b in zip(hit[0], current)):
        return hit[1]
    lex = _Lexicon.build(catalog)
    _LEXICONS[catalog] = (current, lex)
    return lex
