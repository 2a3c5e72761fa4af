"""Per-catalog phrase indexes, built once and cached by catalog identity.

Every source contributes stemmed phrases that point at *targets*: the source itself (name,
synonyms), its concepts, its fields (name, synonyms), its fields' known values (literal values and
their meanings, "RemoteInteractive (RDP)" → "rdp") and generic entity words ("computer" → the
source's host fields). Building this costs a few milliseconds per catalog; parsing a question then
only does dictionary look-ups.

The cache is a `WeakKeyDictionary` keyed by the `Catalog` object; an entry is rebuilt when the
catalog's source objects change (a source added or replaced). Mutating a `Source` in place is not
detected — build a new source instead.
"""

from __future__ import annotations

import math
import re
import threading
import weakref
from dataclasses import dataclass, field
from typing import Callable

from lexiquery.catalog.model import Catalog, EntityKind, FieldDef, Source
from lexiquery.nl.lexicon import RESERVED, STOP_STEMS, stem, stem_words

# Priority when one phrase has several meanings in one source (lower wins).
KIND_ORDER = {"concept": 0, "source": 1, "field": 2, "known": 3, "entity": 4}
WEIGHTS = {"source": 4.0, "concept": 4.0, "field": 1.5, "known": 3.0, "entity": 0.6}

# Generic words for entity kinds, so "computers" finds a host field without a catalog synonym.
ENTITY_WORDS: dict[EntityKind, list[str]] = {
    EntityKind.user: ["user", "account", "username", "user name", "people", "person", "identity"],
    EntityKind.host: ["host", "hostname", "computer", "machine", "device", "server", "endpoint",
                      "workstation", "host name", "computer name"],
    EntityKind.ip: ["ip", "ip address", "address", "ips"],
    EntityKind.process: ["process", "executable", "binary", "program", "image"],
    EntityKind.file: ["file", "filename", "file name", "document"],
    EntityKind.url: ["url", "uri", "link", "website", "web site", "path"],
    EntityKind.domain: ["domain", "domain name", "fqdn"],
    EntityKind.email: ["email", "e-mail", "email address", "mail address", "mailbox"],
    EntityKind.app: ["app", "application"],
    EntityKind.resource: ["resource"],
    EntityKind.hash: ["hash", "sha256", "sha1", "md5", "checksum", "file hash"],
    EntityKind.port: ["port"],
}
# Words a table name may be made of that say nothing about its data on their own.
GENERIC_NAME_WORDS = frozenset(stem_words(
    "event events log logs table data info record records cl custom usage update operation "
    "operations alert alerts activity activities audit audits"))
_SRC_ROLE = {"src", "source", "client", "caller", "local", "origin", "originating", "sender",
             "initiator", "actor", "from"}
_DST_ROLE = {"dest", "destination", "dst", "target", "remote", "server", "recipient", "to"}


@dataclass(frozen=True)
class Target:
    kind: str  # source | concept | field | known | entity
    name: str  # source id, concept name, field name
    value: object = None  # known value
    meaning: str = ""
    primary: bool = False  # the concept's or source's own name, not a synonym

    @property
    def weight(self) -> float:
        return WEIGHTS[self.kind] + (0.25 if self.primary else 0.0)


@dataclass
class SourceIndex:
    source: Source
    phrases: dict[str, list[tuple[tuple[str, ...], list[Target]]]] = field(default_factory=dict)
    max_len: int = 1
    vocab: frozenset[str] = frozenset()
    roles: dict[str, str] = field(default_factory=dict)
    entity_fields: dict[EntityKind, list[str]] = field(default_factory=dict)
    known: dict[str, list[tuple[str, object, str]]] = field(default_factory=dict)
    own: list[tuple[str, ...]] = field(default_factory=list)  # the source's name and synonyms
    order: int = 0

    def add(self, words: tuple[str, ...], target: Target) -> None:
        if not words or (len(words) == 1 and (words[0] in STOP_STEMS or words[0] in RESERVED
                                              or len(words[0]) < 2)):
            return
        bucket = self.phrases.setdefault(words[0], [])
        for phrase, targets in bucket:
            if phrase == words:
                if target not in targets:
                    targets.append(target)
                    targets.sort(key=lambda t: KIND_ORDER[t.kind])
                return
        bucket.append((words, [target]))
        bucket.sort(key=lambda p: -len(p[0]))
        self.max_len = max(self.max_len, len(words))

    def lookup(self, stems: list[str], i: int) -> tuple[int, list[Target]] | None:
        """Longest catalog phrase starting at stems[i]: (length, targets)."""
        for phrase, targets in self.phrases.get(stems[i], ()):
            n = len(phrase)
            if tuple(stems[i:i + n]) == phrase:
                return n, targets
        return None

    def names_itself(self, phrase: tuple[str, ...]) -> bool:
        """Does `phrase` contain the source's own name or a synonym ("failed sign-in")?"""
        n = len(phrase)
        return any(0 < len(o) < n and any(phrase[i:i + len(o)] == o
                                          for i in range(n - len(o) + 1)) for o in self.own)

    def field_phrases(self) -> set[tuple[str, ...]]:
        return {p for b in self.phrases.values() for p, ts in b
                if any(t.kind in {"field", "entity"} for t in ts)}


@dataclass
class CatalogIndex:
    """`shelf_n` and `shelf_df` count the shelves' tables (`nl.linker`), for `shelf_idf`.
    `deferred` are a big workspace's imported tables, not indexed here (see `_build`)."""

    sources: list[SourceIndex]
    by_id: dict[str, SourceIndex]
    phrase_df: dict[tuple[str, ...], int]
    vocab_df: dict[str, int]
    shelf_n: int = 0
    shelf_df: Callable[[tuple[str, ...]], int] | None = None
    deferred: list[Source] = field(default_factory=list)  # imported tables left to the linker
    deferred_shelves: list[object] = field(default_factory=list)  # built from them, on demand

    def idf(self, phrase: tuple[str, ...]) -> float:
        n = len(self.sources)
        return math.log((n + 1) / max(1, self.phrase_df.get(phrase, 1))) + 0.1

    def shelf_idf(self, phrase: tuple[str, ...]) -> float:
        """`idf` for a shelf table's phrase, counted over the shelves' tables (where "user"
        is in a third of them); a phrase no shelf column holds falls back to `idf`."""
        shelved = self.shelf_df(phrase) if self.shelf_df else 0
        if not shelved:
            return self.idf(phrase)
        # On the catalog's own scale: among 900 tables a phrase looks far rarer than it
        # would among 13, and must not outweigh the same phrase in a curated source for that.
        scale = math.log(len(self.sources) + 1) / math.log(self.shelf_n + 1)
        return math.log((self.shelf_n + 1) / shelved) * scale + 0.1

    def vocab_idf(self, word: str) -> float:
        n = len(self.sources)
        return math.log((n + 1) / max(1, self.vocab_df.get(word, n)))


def _camel_words(value: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", value)


def field_role(f: FieldDef) -> str:
    """'src', 'dst', 'parent', 'context' (an initiating process's) or '' from the words of a
    field's name and synonyms."""
    words = set(re.split(r"[\s_\-]+", " ".join([f.name, *f.synonyms]).lower()))
    if "parent" in words:
        return "parent"
    if "initiating" in words:  # the initiating process's context (its remote session IP …):
        return "context"       # not an end of the event, and not the plain field either
    if words & _DST_ROLE and not words & _SRC_ROLE:
        return "dst"
    if words & _SRC_ROLE and not words & _DST_ROLE:
        return "src"
    head = f.name.split("_")[0]
    return "src" if head in _SRC_ROLE else "dst" if head in _DST_ROLE else ""


def index_source(src: Source, order: int) -> SourceIndex:
    """The phrase index of one source (`order` breaks ties: lower wins)."""
    si = SourceIndex(source=src, order=order)
    # A table named by one generic word (`Event`, `Usage`, `Operation`) is not what every
    # question saying "events" means: such a name only counts written as the name itself.
    plain = src.origin != "builtin" and not src.concepts
    for p in [src.name, *src.synonyms, src.id.replace("_", " ")]:
        words = stem_words(p)
        if plain and len(words) == 1 and words[0] in GENERIC_NAME_WORDS:
            continue
        si.add(words, Target("source", src.id, primary=p == src.name))
        si.own.append(words)
    # Platform names an analyst may type: KQL/SQL tables and columns ("SigninLogs", "ResultType").
    for b in (src.bindings.kql, src.bindings.sql):
        if b is not None:
            table = b.table.split(".")[-1].strip('"[]`')
            for p in {table, _camel_words(table)}:
                words = stem_words(p)
                if plain and len(words) == 1 and words[0] in GENERIC_NAME_WORDS:
                    continue
                si.add(words, Target("source", src.id))
    for c in src.concepts:
        for p in [c.name, *c.synonyms]:
            si.add(stem_words(p), Target("concept", c.name, primary=p == c.name))
    ordered = [*(n for n in src.default_fields if src.field(n)),
               *(f.name for f in src.fields if f.name not in src.default_fields)]
    explicit: set[tuple[str, ...]] = set()
    for f in src.fields:
        si.roles[f.name] = field_role(f)
        for p in [f.name, *f.synonyms]:
            words = stem_words(p)
            explicit.add(words)
            si.add(words, Target("field", f.name))
        for kv in f.known_values:
            si.known.setdefault(str(kv.value).lower(), []).append((f.name, kv.value, kv.meaning))
            _index_known(si, f, kv.value, kv.meaning)
    for p in src.bindings.platforms():
        for logical, column in src.bindings.columns(p).items():
            col = column.split(".")[-1]
            for words in {stem_words(col), stem_words(_camel_words(col))}:
                if words not in explicit:
                    si.add(words, Target("field", logical))
    for name in ordered:
        f = src.field(name)
        if f is not None and f.entity is not None:
            si.entity_fields.setdefault(f.entity, []).append(name)
    for names in si.entity_fields.values():  # the event's own ends before a process's context
        names.sort(key=lambda n: "initiating" in n.split("_"))
    for kind, names in si.entity_fields.items():
        for w in ENTITY_WORDS.get(kind, []):
            words = stem_words(w)
            if words not in explicit:
                for n in names:
                    si.add(words, Target("entity", n))
    text = " ".join([src.name, src.description, *src.synonyms])
    si.vocab = frozenset(w for w in stem_words(text) if w not in STOP_STEMS and len(w) > 2)
    return si


def _index_known(si: SourceIndex, f: FieldDef, value: object, meaning: str) -> None:
    t = Target("known", f.name, value, meaning)
    phrases = []
    if meaning and len(meaning.split()) <= 6:
        phrases.append(meaning)
    for inner in re.findall(r"\(([^)]{2,40})\)", meaning):
        phrases.extend(p for p in re.split(r"\s*(?:,|/|\bor\b)\s*", inner) if p)
    head = meaning.split("(")[0].strip()
    if head and head != meaning and len(head.split()) <= 4:
        phrases.append(head)
    # "MFA failed or was denied by the user": each alternative of two words or more
    for part in re.split(r"\s*(?:\bor\b|[,;/])\s*", head):
        if part != head and 2 <= len(part.split()) <= 5:
            phrases.append(part)
    if isinstance(value, str) and re.search(r"[A-Za-z]{3}", value):
        phrases.extend([value, _camel_words(value)])
    for p in phrases:
        words = stem_words(p)
        if len(words) == 1 and not re.search(r"[a-z]{2}", words[0]):
            continue
        si.add(words, t)


NAME_WORD_MAX_DF = 2  # a table-name word shared by more tables says little ("device")


def _name_words(catalog: Catalog, sources: list[SourceIndex]) -> None:
    """A schema table's distinctive name words are source phrases: "vpn" finds `VpnLogs_CL`,
    "registry" `DeviceRegistryEvents`, "proxy" `proxy_logs` — a word only one or two of the
    catalog's tables carry in their name."""
    words: dict[str, set[str]] = {}
    for si in sources:
        if si.source.schema_import:
            spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ",
                            si.source.name)
            parts = [w for w in stem_words(spaced) if w != "cl"]
            # "cloudtrail" for AWSCloudTrail: analysts join the words a name splits
            joined = {parts[i] + parts[i + 1] for i in range(len(parts) - 1)}
            for w in (set(parts) | joined) - GENERIC_NAME_WORDS:
                if len(w) > 2 and w not in STOP_STEMS and w not in RESERVED:
                    words.setdefault(w, set()).add(si.source.id)
    for si in sources:
        for w, ids in words.items():
            if si.source.id in ids and len(ids) <= NAME_WORD_MAX_DF and \
                    si.lookup([w], 0) is None:
                si.add((w,), Target("source", si.source.id))


EAGER_SCHEMA_TABLES = 60  # more imported tables than this are linked, not all indexed


def _build(catalog: Catalog) -> CatalogIndex:
    """Every source's phrases — except, in a big workspace, its imported tables: those are
    retrieved by the linker like shelf tables (`deferred`) and indexed when retrieved, so a
    1,000-table import costs no second of indexing before the first question."""
    schema = [s for s in catalog if s.schema_import]
    deferred = schema if len(schema) > EAGER_SCHEMA_TABLES else []
    skip = {id(s) for s in deferred}
    sources = [index_source(s, i) for i, s in enumerate(catalog) if id(s) not in skip]
    _name_words(catalog, sources)
    phrase_df: dict[tuple[str, ...], int] = {}
    vocab_df: dict[str, int] = {}
    for si in sources:
        for p in si.field_phrases():
            phrase_df[p] = phrase_df.get(p, 0) + 1
        for w in si.vocab:
            vocab_df[w] = vocab_df.get(w, 0) + 1
    return CatalogIndex(sources, {si.source.id: si for si in sources}, phrase_df, vocab_df,
                        deferred=deferred)


_CACHE: "weakref.WeakKeyDictionary[Catalog, tuple[tuple[Source, ...], CatalogIndex]]" = \
    weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def catalog_index(catalog: Catalog) -> CatalogIndex:
    """The (cached) index of `catalog`; rebuilt when its source objects change."""
    current = tuple(catalog)
    with _LOCK:
        hit = _CACHE.get(catalog)
    if hit is not None and len(hit[0]) == len(current) and \
            all(a is b for a, b in zip(hit[0], current)):
        return hit[1]
    idx = _build(catalog)
    with _LOCK:
        _CACHE[catalog] = (current, idx)
    return idx


__all__ = ["CatalogIndex", "SourceIndex", "Target", "catalog_index", "field_role", "index_source",
           "stem"]
