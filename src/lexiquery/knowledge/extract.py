"""Procedures out of a runbook: steps, the catalog sources and fields it names, thresholds, time
windows, embedded queries and the definitions that bind its terms to catalog values.

    extract_procedures(doc, catalog, find_codes=…, inert=injection_line) → [Procedure]

What a procedure is. Every heading opens a section; its *own* content runs to the next heading
of any level. A section is a procedure when its content (with what folds into it) has numbered
steps, an embedded query, a threshold or a definition. Folding:

* a top-level section (a child of the document, or of its single title heading) always stands
  on its own; it is a procedure if anything in it or folded into it qualifies;
* a deeper section stands on its own when its own content qualifies ("### 3.1 Brute force"
  with its query); otherwise ("### Notes", "#### Background") its blocks fold into the nearest
  ancestor that stands on its own, so a note's definition or source reaches the procedure the
  note belongs to, and the section number stays the ancestor's;
* content before the first section heading is a procedure titled `doc.title` when it
  qualifies; a document with no section headings is always one procedure titled `doc.title`.

Names. A source counts as named by its id, name or synonyms, its KQL/SQL table, or its SPL
search terms (`index=wineventlog`, with a `sourcetype=`/`source=` term when the index is
shared). Common words that synonyms happen to use ("process", "alerts", "logon", "sign in" the
verb) do not name a source on their own: see `GENERIC_WORDS`. A synonym two sources share is
ambiguous and names neither. Fields are looked for only among the named sources, by name,
synonym or platform column; code blocks contribute identifiers (tables, columns) only.

Definitions bind to exactly one catalog field or are dropped: the field the sentence names
(name, synonym, platform column), looked for in the procedure's sources and then the whole
catalog; with none named, the one field whose known values hold every value (values of fewer
than three characters need the term to match a concept, so "the limit is 10" binds nothing).
A tail saying where the values are logged ("… in SecurityEvent") is allowed and points at the
source. A definition's source counts as named by the procedure.

Nothing here raises on document content: a query that does not parse is recorded with
`parses=False` and the parser's message; a query that writes or deletes is never run, it is
recorded with the read-only guard's message. A query that parses but holds constructs the
IR cannot (a join, `eventstats`) keeps `parses=True` with `error` saying what was lost.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass, field
from typing import Callable, Iterable

from lexiquery.catalog.model import Catalog, FieldDef, FieldType, Platform, Source
from lexiquery.ir import Operator, Scalar, Severity
from lexiquery.knowledge import extract_rules as rules
from lexiquery.knowledge.model import (Block, BlockKind, Definition, EmbeddedQuery, ParsedDocument,
                                       Procedure, Threshold, TimeWindow)

MAX_QUERY_CHARS = 20_000  # a code block longer than this is recorded, not parsed
MAX_SENTENCE_CHARS = 2_000  # a longer "sentence" (a flattened PDF table) is read this far

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


# ------------------------------------------------------------------------ embedded queries

_KQL_LANGS = {"kql", "kusto", "csl", "kusto-query", "kustoql", "sentinel", "azure-kql"}
_SPL_LANGS = {"spl", "splunk", "splunk-spl", "spl2"}
_SQL_LANGS = {  # fence label → the dialect our SQL parser reads it in
    "sql": "postgres", "postgres": "postgres", "postgresql": "postgres", "psql": "postgres",
    "pgsql": "postgres", "plpgsql": "postgres", "tsql": "tsql", "t-sql": "tsql",
    "mssql": "tsql", "sqlserver": "tsql", "transact-sql": "tsql", "mysql": "mysql",
    "mariadb": "mysql", "sqlite": "sqlite", "sqlite3": "sqlite", "duckdb": "duckdb",
    "bigquery": "bigquery", "bq": "bigquery", "snowflake": "snowflake", "trino": "trino",
    "presto": "trino", "spark": "spark", "sparksql": "spark", "spark-sql": "spark",
    "databricks": "databricks", "clickhouse": "clickhouse", "redshift": "redshift",
    # SQL dialects our parser has no idiom for: read as postgres, the closest common ground
    "oracle": "postgres", "plsql": "postgres", "pl/sql": "postgres", "hive": "postgres",
    "hiveql": "postgres", "db2": "postgres", "ansi": "postgres",
}
_UNLABELLED = {"", "text", "txt", "plain", "plaintext", "none", "code", "query"}
_SQL_LIKE = re.compile(r"""\bselect\b[\s\S]*\bfrom\b
    | ^\s*(?:insert\s+into|update\s+\S+\s+set|delete\s+from|drop\s+(?:table|view|database|schema
           |index)|truncate\s+table|alter\s+table|create\s+(?:or\s+replace\s+)?(?:table|view)
           |merge\s+into|grant\s|exec(?:ute)?\s)""", re.IGNORECASE | re.VERBOSE)


def query_language(lang: str | None, text: str, lex: _Lexicon) -> tuple[str, str, bool] | None:
    """(language, SQL dialect or the language, labelled) of a code block; None when the block
    is not a query (bash, JSON, a log sample, a one-word command)."""
    label = re.sub(r"^(?:language-|lang-)|[{}.]", "", (lang or "").strip().lower())
    label = re.split(r"[\s,;]", label, maxsplit=1)[0]
    if label in _KQL_LANGS:
        return "kql", "kql", True
    if label in _SPL_LANGS:
        return "spl", "spl", True
    if label in _SQL_LANGS:
        return "sql", _SQL_LANGS[label], True
    if label not in _UNLABELLED:
        return None
    from lexiquery.errors import InputError
    from lexiquery.operations import guess_platform

    try:
        guess = guess_platform(text)
    except InputError:
        return None
    body = re.sub(r"^(\s*(//|--|#)[^\n]*\n)+", "", text).strip()
    if guess == "kql":
        # guess_platform takes any lone word for a KQL table; outside a kql fence ask for more:
        # a pipe, a let, a control command, or a table the catalog knows.
        first = re.match(r"[A-Za-z_]\w*", body)
        if not ("|" in body or body.startswith((".", "let ")) or (
                first and first.group(0).lower() in lex.source_idents)):
            return None
    if guess == "sql" and not _SQL_LIKE.search(body):
        return None  # "With the account disabled, …" in an indented block is prose
    return guess, "postgres" if guess == "sql" else guess, False


def read_query(text: str, language: str, dialect: str, labelled: bool, path: list[str],
               catalog: Catalog, lex: _Lexicon) -> EmbeddedQuery:
    """The block read with our parser. Never raises: failures are recorded in `error`."""
    from lexiquery.dialects import parse
    from lexiquery.dialects.guard import check_read_only

    q = EmbeddedQuery(language=language, text=text, labelled=labelled,  # type: ignore[arg-type]
                      heading_path=list(path))
    if len(text) > MAX_QUERY_CHARS:
        q.error = f"the query is {len(text)} characters long; only {MAX_QUERY_CHARS} are read"
    else:
        try:
            refused = check_read_only(language, text, sql_dialect=dialect)
            if refused:
                q.error = "refused, not read-only: " + "; ".join(i.message for i in refused)
            else:
                parsed = parse(text, language, catalog, sql_dialect=dialect)
                q.parses, q.source = True, parsed.source.id
                if not parsed.faithful:
                    q.error = "parsed without: " + "; ".join(
                        i.message for i in parsed.plan.issues if i.severity is Severity.error)
        except Exception as exc:  # noqa: BLE001 — a runbook's query must never stop ingestion
            q.error = str(exc) or type(exc).__name__
    if q.source is None:  # it did not parse: the table or search prefix may still say
        named = lex.sources("", text)
        if len(named) == 1:
            q.source = named[0]
    return q


# ----------------------------------------------------------------------------- definitions

_FILLER = frozenset(rules.stem(w) for w in rules.FILLER_WORDS)


def _typed(raw: str, f: FieldDef) -> Scalar | None:
    """`raw` as a value of the field's type, in the field's own spelling when it is a known
    value ("notapplied" → "notApplied"); None when it cannot be one (text for an int field)."""
    if f.type in {FieldType.int, FieldType.long}:
        try:
            return int(raw, 0) if raw.lower().startswith("0x") else int(raw)
        except ValueError:
            return None
    if f.type is FieldType.real:
        try:
            return float(raw)
        except ValueError:
            return None
    if f.type is FieldType.bool:
        return {"true": True, "yes": True, "1": True, "false": False, "no": False,
                "0": False}.get(raw.lower())
    for kv in f.known_values:
        if str(kv.value).lower() == raw.lower():
            return str(kv.value)
    return raw


def _known(f: FieldDef, values: list[str]) -> bool:
    known = {str(kv.value).lower() for kv in f.known_values}
    return bool(known) and all(v.lower() in known for v in values)


def _concept(source: Source, term: str) -> str | None:
    """The concept of `source` the term names: its name or a synonym, compared stemmed; else
    the longest concept phrase of two or more words inside the term."""
    words = tuple(w for w in rules.phrase_words(term) if w not in {"a", "an", "the"})
    best: tuple[int, str] | None = None
    for c in source.concepts:
        for name in [c.name, *c.synonyms]:
            cw = rules.phrase_words(name)
            if cw == words:
                return c.name
            if len(cw) >= 2 and any(words[i:i + len(cw)] == cw for i in range(len(words))):
                if best is None or len(cw) > best[0]:
                    best = (len(cw), c.name)
    return best[1] if best else None


def bind_definition(shape: rules.DefinitionShape, sentence: str, sources: list[str],
                    catalog: Catalog, lex: _Lexicon) -> Definition | None:
    """The definition the sentence makes, bound to exactly one catalog field, or None.

    The field is the one the value side names (name, synonym, platform column), among the
    procedure's sources first and the whole catalog second; with none named, the one field of
    those sources (else of the catalog) whose known values hold every value. Several
    candidates left → None: a definition is never guessed."""
    if _names_a_field(shape.term, lex):
        return None  # "ResultType: 50126" filters a field; it defines no term
    readings = [(shape.value_side, sources)]
    where = _TRAILING_WHERE.match(shape.value_side)
    if where:  # "event 4740 in the Security log": the tail says where, the head what
        readings.append((where.group("head"),
                         [*lex.sources(where.group("where"), ""), *sources]))
    for text, scope in readings:
        side = rules.split_value_side(text)
        d = _bind(shape, side, sentence, scope, catalog, lex) if side else None
        if d:
            return d
    return None


def _bind(shape: rules.DefinitionShape, side: rules.ValueSide, sentence: str,
          sources: list[str], catalog: Catalog, lex: _Lexicon) -> Definition | None:
    side = _unprefixed(side, lex)
    named: set[tuple[str, str]] = set()
    leftover = set(rules.phrase_words(side.field_words))
    for tok in rules.tokens(side.field_words):
        if tok.lower() in lex.field_idents:
            named |= lex.field_idents[tok.lower()]
        elif tok.lower() not in lex.source_idents:
            continue
        leftover.discard(rules.stem(tok.replace("-", "")))
    for words, hit, _ in lex.phrases(side.field_words, lex.field_phrases):
        named |= hit
        leftover -= set(words)
    for words, _, _ in lex.phrases(side.field_words, lex.source_phrases):
        leftover -= set(words)
    if leftover - _FILLER:
        return None  # the value side says more than "field op values": not a definition
    in_scope = [(sid, fname) for sid, fname in named if sid in sources]
    candidates = in_scope or sorted(named)
    if not named:
        candidates = _by_known_values(side.values, sources, catalog) or \
            _by_known_values(side.values, catalog.ids(), catalog)
    pairs = []
    for sid, fname in candidates:
        src = catalog.get(sid)
        f = src.field(fname) if src else None
        if src and f:
            pairs.append((src, f))
    if len(pairs) > 1:
        pairs = [(s, f) for s, f in pairs if _known(f, side.values)]
    if len(pairs) != 1:
        return None
    src, f = pairs[0]
    if side.bare and not _known(f, side.values):
        return None  # bare words are values only when the field knows them
    concept = _concept(src, shape.term)
    if not named and concept is None and any(len(v) < 3 for v in side.values):
        return None  # "The limit is 10": 10 is a logon type, but nothing says so
    values = [_typed(v, f) for v in side.values]
    if any(v is None for v in values):
        return None
    many = len(values) > 1
    op = ((Operator.not_in if many else Operator.ne) if side.negated
          else (Operator.in_ if many else Operator.eq))
    return Definition(term=shape.term, source=src.id, field=f.name, op=op,
                      values=[v for v in values if v is not None], concept=concept,
                      text=sentence)


# A value side that ends by saying where the values are logged ("… in SecurityEvent", "… in
# the Security log"): at most five words after in/from/on.
_TRAILING_WHERE = re.compile(r"^(?P<head>.+?)\s+(?:in|from|on)\s+(?:the\s+)?"
                             r"(?P<where>[\w.:=\"-]+(?:\s+[\w.:=\"-]+){0,4})$", re.IGNORECASE)


_PREFIXED = re.compile(r"(?P<prefix>[A-Za-z]{2,10})(?P<digits>\d{2,})")


def _unprefixed(side: rules.ValueSide, lex: _Lexicon) -> rules.ValueSide:
    """"AADSTS50126 and AADSTS50053" read as result codes 50126 and 50053: values written with
    a prefix that is itself a field's synonym ("aadsts") are that field's bare numbers."""
    if not side.bare:
        return side
    parts = [_PREFIXED.fullmatch(v) for v in side.values]
    prefixes = {m.group("prefix").lower() for m in parts if m}
    if not all(parts) or len(prefixes) != 1 or \
            rules.phrase_words(next(iter(prefixes))) not in lex.field_phrases:
        return side
    return rules.ValueSide(f"{side.field_words} {next(iter(prefixes))}".strip(),
                           [m.group("digits") for m in parts if m], False, side.negated)


def _names_a_field(term: str, lex: _Lexicon) -> bool:
    toks = rules.tokens(term)
    if len(toks) == 1 and toks[0].lower() in lex.field_idents:
        return True
    return lex.field_phrases.get(rules.phrase_words(term)) is not None


def _by_known_values(values: list[str], source_ids: list[str],
                     catalog: Catalog) -> list[tuple[str, str]]:
    out = []
    for sid in source_ids:
        src = catalog.get(sid)
        for f in src.fields if src else ():
            if _known(f, values):
                out.append((sid, f.name))
    return out


# -------------------------------------------------------------------------------- sections

@dataclass
class _Section:
    heading: str | None  # as written; None for the document itself
    level: int
    path: list[str]
    number: str | None  # "3", "4.2": written, else the ordinal path among siblings
    title: str
    parent: "_Section | None" = None
    blocks: list[Block] = field(default_factory=list)
    children: list["_Section"] = field(default_factory=list)
    facts: "_Facts | None" = None
    home: "_Section | None" = None  # the section whose procedure this one's content joins


def _sections(doc: ParsedDocument) -> _Section:
    """The heading tree. A single first heading at the shallowest level is the document's
    title: its children are the top-level sections."""
    headings = [b for b in doc.blocks if b.kind is BlockKind.heading]
    top = min((h.level for h in headings), default=0)
    title_block = headings[0] if headings and headings[0].level == top and \
        sum(h.level == top for h in headings) == 1 else None
    root = _Section(heading=title_block.text if title_block else None,
                    level=title_block.level if title_block else 0,
                    path=[title_block.text] if title_block else [], number=None, title=doc.title)
    stack = [root]
    for b in doc.blocks:
        if b is title_block:
            continue
        if b.kind is not BlockKind.heading:
            stack[-1].blocks.append(b)
            continue
        while len(stack) > 1 and stack[-1].level >= b.level:
            stack.pop()
        parent = stack[-1]
        written, title = rules.section_number(b.text)
        ordinal = str(len(parent.children) + 1)
        number = written or (f"{parent.number}.{ordinal}" if parent.number else ordinal)
        s = _Section(heading=b.text, level=b.level, path=[*parent.path, b.text], number=number,
                     title=title, parent=parent)
        parent.children.append(s)
        stack.append(s)
    return root


def _walk(s: _Section) -> Iterable[_Section]:
    yield s
    for c in s.children:
        yield from _walk(c)


# ------------------------------------------------------------------------------ block facts

_STEP_PARAGRAPH = re.compile(r"^\s*step\s+(?P<n>\d+(?:\.\d+)*)\s*[:.)\-–—]\s*(?P<text>\S.*)$",
                             re.IGNORECASE | re.DOTALL)


@dataclass
class _Facts:
    """What a run of blocks holds, before it is bound to the catalog."""

    steps: list[str] = field(default_factory=list)
    queries: list[EmbeddedQuery] = field(default_factory=list)
    thresholds: list[Threshold] = field(default_factory=list)
    windows: list[TimeWindow] = field(default_factory=list)
    shapes: list[tuple[rules.DefinitionShape, str]] = field(default_factory=list)
    prose: list[str] = field(default_factory=list)  # all text, for codes
    names: list[str] = field(default_factory=list)  # text without inert lines, for names
    code: list[str] = field(default_factory=list)

    def merge(self, other: "_Facts") -> None:
        for name in ("steps", "queries", "thresholds", "shapes", "prose", "names", "code"):
            getattr(self, name).extend(getattr(other, name))
        for w in other.windows:
            _add_window(self.windows, w)


def _add_window(windows: list[TimeWindow], w: TimeWindow) -> None:
    if not any((o.amount, o.unit, o.purpose) == (w.amount, w.unit, w.purpose) for o in windows):
        windows.append(w)


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


class _Reader:
    """Reads blocks into `_Facts`; holds what one extraction shares (catalog, lexicon, the
    parse results of queries already seen)."""

    def __init__(self, catalog: Catalog, inert: Callable[[str], bool] | None) -> None:
        self.catalog = catalog
        self.lex = _lexicon(catalog)
        self.inert = inert
        self._parsed: dict[tuple[str, str, str], EmbeddedQuery] = {}

    def facts(self, blocks: list[Block], path: list[str]) -> _Facts:
        out = _Facts()
        numbers: dict[int, str] = {}
        for b in blocks:
            if b.kind is BlockKind.code:
                out.code.append(b.text)
                q = self.query(b, path)
                if q:
                    out.queries.append(q)
                continue
            live = self._live(b.text)
            out.prose.append(b.text)
            out.names.append("\n".join(live))
            if b.kind is BlockKind.list_item and b.number:
                numbers[b.level] = b.number
                for deeper in [lv for lv in numbers if lv > b.level]:
                    del numbers[deeper]
                parent = numbers.get(b.level - 1) if b.level > 0 else None
                if b.level == 0:
                    out.steps.append(b.text.strip())
                else:
                    num = b.number if "." in b.number or not parent else f"{parent}.{b.number}"
                    out.steps.append(f"{num} {b.text.strip()}")
            elif b.kind is BlockKind.paragraph and (m := _STEP_PARAGRAPH.match(b.text)):
                out.steps.append(m.group("text").strip())
            self._sentences(b, live, out)
        return out

    def query(self, b: Block, path: list[str]) -> EmbeddedQuery | None:
        lang = query_language(b.lang, b.text, self.lex)
        if lang is None:
            return None
        key = (b.text, lang[0], lang[1])
        if key not in self._parsed:
            self._parsed[key] = read_query(b.text, lang[0], lang[1], lang[2], path,
                                           self.catalog, self.lex)
        return self._parsed[key].model_copy(update={"heading_path": list(path),
                                                    "labelled": lang[2]}, deep=True)

    def _live(self, text: str) -> list[str]:
        """The lines of `text` that are not inert."""
        return [ln for ln in text.split("\n") if not (self.inert and self.inert(ln))]

    def _sentences(self, b: Block, lines: list[str], out: _Facts) -> None:
        if b.kind is BlockKind.table:
            rows = [[c.strip() for c in ln.split(" | ")] for ln in lines]
            for cells in rows:
                if len(cells) > 1:  # "Failed sign-in | ResultType | 50126, 50053"
                    row = f"{cells[0]}: {' '.join(cells[1:])}"[:MAX_SENTENCE_CHARS]
                    out.shapes.extend((s, row) for s in rules.definition_shapes(row))
            texts = [", ".join(cells)[:MAX_SENTENCE_CHARS] for cells in rows]
        else:
            texts = [t[:MAX_SENTENCE_CHARS]
                     for t in rules.sentences(" ".join(ln.strip() for ln in lines))]
            for sentence in texts:
                out.shapes.extend((s, sentence) for s in rules.definition_shapes(sentence))
        for sentence in texts:
            self._numbers(sentence, out)

    def _numbers(self, sentence: str, out: _Facts) -> None:
        """Thresholds with their windows, and lookbacks, of one sentence."""
        lookbacks = rules.find_lookbacks(sentence)
        for w in lookbacks:
            _add_window(out.windows, TimeWindow(amount=w.amount, unit=w.unit, text=sentence,
                                                purpose="lookback"))
        found = rules.find_thresholds(sentence)
        for k, t in enumerate(found):
            after = (t.span[1], found[k + 1].span[0] if k + 1 < len(found) else len(sentence))
            before = (found[k - 1].span[1] if k else 0, t.span[0])
            window = None
            for lo, hi in (after, before):
                part = sentence[lo:hi]
                bucket = rules.find_buckets(part)
                if bucket:
                    window = TimeWindow(amount=bucket[0].amount, unit=bucket[0].unit,
                                        text=sentence, purpose="bucket")
                    break
                back = [w for w in lookbacks if lo <= w.span[0] < hi]
                if back:  # "more than 10 in the last 24 hours" counts over the lookback
                    window = TimeWindow(amount=back[0].amount, unit=back[0].unit,
                                        text=sentence, purpose="lookback")
                    break
            if window:
                _add_window(out.windows, window)
            out.thresholds.append(Threshold(op=Operator(t.op), value=t.value,
                                            what=t.what or "count", window=window,
                                            text=sentence))

    def definitions(self, facts: _Facts, sources: list[str]) -> list[Definition]:
        out: list[Definition] = []
        seen: set[tuple[object, ...]] = set()
        done_sentences: set[str] = set()
        for shape, sentence in facts.shapes:
            if sentence in done_sentences:
                continue  # the first reading of a sentence that binds wins
            d = bind_definition(shape, sentence, sources, self.catalog, self.lex)
            if d is None:
                continue
            done_sentences.add(sentence)
            key = (d.term.lower(), d.source, d.field, d.op, tuple(map(str, d.values)))
            if key not in seen:
                seen.add(key)
                out.append(d)
        return out

    def qualifies(self, facts: _Facts, path: list[str]) -> bool:
        if facts.steps or facts.queries or facts.thresholds:
            return True
        return bool(facts.shapes) and bool(self.definitions(facts, self._sources(facts, path)))

    def _sources(self, facts: _Facts, path: list[str]) -> list[str]:
        """Sources the section's headings, text and queries name; the document title's only
        when those name none (a title names what the whole runbook is about, a section what
        it does)."""
        found = self.lex.sources("\n".join([*path[1:], *facts.names]), "\n".join(facts.code))
        _add(found, [q.source for q in facts.queries if q.source])
        if not found and path:
            found = self.lex.sources(path[0], "")
        return found

    def procedure(self, title: str, path: list[str], number: str | None, facts: _Facts,
                  find_codes: Callable[[str], list[str]] | None, *,
                  always: bool = False) -> Procedure | None:
        """The procedure of a section's (merged) facts; None when it holds none of steps,
        queries, thresholds and definitions, unless `always`."""
        code = "\n".join(facts.code)
        sources = self._sources(facts, path)
        definitions = self.definitions(facts, sources)
        _add(sources, [d.source for d in definitions])  # "Lockout | EventID | 4740" names it
        fields = self.lex.fields("\n".join([*path, *facts.names]), code, sources)
        _add(fields, [f"{d.source}.{d.field}" for d in definitions])
        if not (always or facts.steps or facts.queries or facts.thresholds or definitions):
            return None
        codes: list[str] = []
        if find_codes is not None:
            _add(codes, find_codes("\n".join([*path, *facts.prose, code])))
        return Procedure(title=title, heading_path=path, section=number, steps=facts.steps,
                         sources=sources, fields=fields, thresholds=facts.thresholds,
                         windows=facts.windows, queries=facts.queries,
                         definitions=definitions, codes=codes)


# ----------------------------------------------------------------------------------- entry

def extract_procedures(doc: ParsedDocument, catalog: Catalog, *,
                       find_codes: Callable[[str], list[str]] | None = None,
                       inert: Callable[[str], bool] | None = None) -> list[Procedure]:
    """The document's procedures in reading order (see the module docstring for what makes a
    procedure and how subsections fold).

    `find_codes(text)` returns the canonical known-error codes the text mentions (the
    known-errors base supplies it); `inert(line)` marks lines to leave out of definitions,
    thresholds, windows, and the sources and fields named (the store passes
    `injection.injection_line`): a planted line may not steer which table is queried. They stay
    text: steps keep them, and codes are still read from them."""
    reader = _Reader(catalog, inert)
    root = _sections(doc)
    sections = list(_walk(root))
    for s in sections:
        s.facts = reader.facts(s.blocks, s.path)
    if len(sections) == 1:  # no section headings: the whole document is one procedure
        assert root.facts is not None
        whole = reader.procedure(doc.title, root.path, None, root.facts, find_codes, always=True)
        return [whole] if whole else []
    for s in sections[1:]:
        assert s.facts is not None and s.parent is not None
        own = s.parent is root or reader.qualifies(s.facts, s.path)
        s.home = s if own else s.parent.home
    merged: dict[int, _Facts] = {}
    for s in sections[1:]:
        assert s.home is not None and s.facts is not None
        if s.home is s:
            merged[id(s)] = _Facts()
        elif s.heading:  # a folded section's heading is part of its parent's text
            merged[id(s.home)].prose.append(s.heading)
            merged[id(s.home)].names.append(s.heading)
        merged[id(s.home)].merge(s.facts)
    assert root.facts is not None
    out = [reader.procedure(doc.title, root.path, None, root.facts, find_codes)]
    for s in sections[1:]:
        if id(s) in merged:
            out.append(reader.procedure(s.title, s.path, s.number, merged[id(s)], find_codes))
    return [p for p in out if p is not None]
