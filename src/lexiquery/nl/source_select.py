"""Choosing the source a question is about — a transparent, additive score per source.

Evidence, per source (each phrase counted once, with the weight of its strongest meaning):

* its name or a synonym ("sign-ins")                          4 (+1 per extra word)
* one of its concepts ("failed logon")                        4 (+0.5 per extra word,
                                                              +0.5 if it names the source)
* a known value by meaning or literal ("RDP", "SharePoint")   3 (+0.5 per extra word)
* a field name or synonym ("caller", "response time")         1.5 × idf (rarer fields say more)
* a generic entity word matching an entity field ("computer") 0.6 × idf
* a word of its description (SharePoint, heartbeat)       0.6 × idf
* a value whose kind fits its entities (.exe → process/file)  0.8–2
* a free number that is one of its known values (4625)        3

Ties keep catalog order, so the outcome is deterministic.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from lexiquery.catalog.model import Catalog, EntityKind, Platform, Source, SourceShelf
from lexiquery.catalog.shelf import Shelf, shelf_of_sources
from lexiquery.nl.index import GENERIC_NAME_WORDS, CatalogIndex, SourceIndex, Target, index_source
from lexiquery.nl.lexicon import STOP_STEMS, stem_words
from lexiquery.nl.linker import link, link_index, name_words
from lexiquery.nl.match import Item, Stream, segment
from lexiquery.nl.tokens import Token

MIN_SCORE = 1.1  # below this nothing in the question is specific to any source
MIN_UNANCHORED = 2.5  # description words alone must add up to more

# value kind → (entity kinds that can hold it, weight)
VALUE_EVIDENCE: dict[str, tuple[tuple[EntityKind, ...], float]] = {
    "ip": ((EntityKind.ip,), 1.5),
    "cidr": ((EntityKind.ip,), 1.5),
    "email": ((EntityKind.email, EntityKind.user), 1.2),
    "url": ((EntityKind.url,), 1.5),
    "domain": ((EntityKind.domain, EntityKind.url, EntityKind.host), 1.2),
    "file": ((EntityKind.process, EntityKind.file), 1.5),
    "hash": ((EntityKind.hash,), 2.0),
    "path": ((EntityKind.url, EntityKind.file), 1.0),
    "hostlike": ((EntityKind.host,), 0.8),
}
_COUNTING = {"top", "limit", "op", "postop", "latest", "show"}


@dataclass
class Candidate:
    si: SourceIndex
    items: list[Item]
    score: float = 0.0
    evidence: list[str] = field(default_factory=list)  # matched phrases, for the notes
    strong: bool = False  # named by source/concept/known value, not only by fields
    anchored: bool = False  # some catalog phrase or fitting value, not description words only

    @property
    def acceptable(self) -> bool:
        return self.score >= (MIN_SCORE if self.anchored else MIN_UNANCHORED)

    @property
    def id(self) -> str:
        return self.si.source.id


def free_number(items: list[Item], k: int) -> bool:
    """A number that is not a count, limit or threshold ("top 10", "more than 5", "10 times")."""
    prev = next((it for it in reversed(items[:k]) if not it.is_filler), None)
    nxt = items[k + 1] if k + 1 < len(items) else None
    if prev is not None and prev.kind == "kw" and prev.kw and prev.kw.cat in _COUNTING:
        return False
    if nxt is not None and nxt.kind == "kw" and nxt.kw and nxt.kw.cat in {"top", "postop"}:
        return False
    if nxt is not None and nxt.tok is not None and nxt.tok.low in {"times", "attempts", "tries"}:
        return False
    return True


def score_source(idx: CatalogIndex, si: SourceIndex, tokens: list[Token], st: Stream,
                 *, shelved: bool = False) -> Candidate:
    """One source's evidence; a `shelved` source's field phrases weigh by their rarity among
    the shelves' tables."""
    idf = idx.shelf_idf if shelved else idx.idf
    items = segment(tokens, st, si)
    c = Candidate(si, items)
    seen: set[str] = set()
    for k, it in enumerate(items):
        if it.kind == "cat":
            # One-letter subwords (`UserName_s`: a custom-log type suffix) would make any
            # phrase look unique.
            phrase = tuple(s for t in tokens[it.i0:it.i1] for s in t.subwords if len(s) > 1)
            best = 0.0
            for t in it.targets:
                w = t.weight
                if t.kind in {"source", "concept"}:
                    w += (1.0 if t.kind == "source" else 0.5) * (len(phrase) - 1)
                    c.strong = True
                    if t.kind == "concept" and si.names_itself(phrase):
                        w += 0.5  # "failed sign-in" says which data it is about
                        if set(phrase) & _name_words(idx, si):
                            w += NAME_IN_CONCEPT  # "failed windows logons": names the source
                elif t.kind == "known":
                    w += 0.5 * (len(phrase) - 1)  # "blocked by conditional access"
                    c.strong = True
                elif t.kind in {"field", "entity"}:
                    w *= idf(phrase)
                best = max(best, w)
            if _typed_fit(si, items, k):
                best += 0.5
            c.anchored = True
            key = " ".join(phrase)
            if key not in seen:
                seen.add(key)
                c.score += best
                c.evidence.append(it.text)
        elif it.kind == "word" and it.tok is not None:
            for s in it.tok.subwords:
                if s in si.vocab and s not in STOP_STEMS and s not in seen:
                    seen.add(s)
                    c.score += 0.6 * idx.vocab_idf(s)
                    c.evidence.append(it.tok.text)
            if it.vkind == "hostlike":
                c.score += _value_weight(si, "hostlike")
                c.anchored = c.anchored or _value_weight(si, "hostlike") > 0
        elif it.kind == "value" and it.tok is not None:
            c.score += _value_weight(si, it.tok.kind)
            c.anchored = c.anchored or _value_weight(si, it.tok.kind) > 0
            if it.tok.kind == "number" and free_number(items, k):
                key = _num_key(it.tok.value)
                if key in si.known:
                    c.score += 3.0
                    c.strong = True
                    c.evidence.append(it.tok.text)
            elif it.tok.kind == "hex" and it.tok.low in si.known:  # 0xC000006A: a code
                c.score += 3.0
                c.strong = True
                c.evidence.append(it.tok.text)
            elif it.tok.kind == "quoted" and it.tok.low.strip("\"'`“”‘’") in si.known:
                c.score += 2.0
                c.evidence.append(it.tok.text)
    return c


def _typed_fit(si: SourceIndex, items: list[Item], k: int) -> bool:
    """A field named right before a number ("status 404") fits better where it is numeric."""
    j = k + 1
    while j < len(items) and (items[j].is_filler or items[j].is_kw("op")):
        j += 1
    if j >= len(items) or items[j].tok is None or items[j].tok.kind != "number":  # type: ignore[union-attr]
        return False
    key = _num_key(items[j].tok.value)  # type: ignore[union-attr]
    for t in items[k].targets:
        f = si.source.field(t.name) if t.kind in {"field", "entity"} else None
        if f is not None and (f.type.numeric or any(str(kv.value).lower() == key
                                                    for kv in f.known_values)):
            return True
    return False


def _value_weight(si: SourceIndex, kind: str) -> float:
    ev = VALUE_EVIDENCE.get(kind)
    if ev is None:
        return 0.0
    return ev[1] if any(e in si.entity_fields for e in ev[0]) else 0.0


def _num_key(v: object) -> str:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).lower()


def rank_sources(idx: CatalogIndex, tokens: list[Token], st: Stream,
                 shelved: Sequence[Candidate] = (),
                 platforms: Sequence[Platform] = ()) -> list[Candidate]:
    """Every catalog source and the `shelved` candidates scored, best first (stable: ties keep
    catalog order, and the catalog's own sources come before shelf tables). With `platforms`,
    only sources bound on one of them compete."""
    cands = [score_source(idx, si, tokens, st) for si in idx.sources
             if not platforms or any(si.source.bindings.columns(p) or
                                     getattr(si.source.bindings, p.value) is not None
                                     for p in platforms)]
    cands += list(shelved)
    edge = not _unique_names(cands)  # a source the question names needs no tie-breaker
    return sorted(cands, key=lambda c: (-round(c.score + (_edge(c) if edge else 0.0), 6),
                                        c.si.order))


UNIQUE_NAME = 3.0
# A concept phrase that holds a word only this source's name has ("failed windows logons" of
# Windows security events): the question names the source as well as the concept.
NAME_IN_CONCEPT = 3.0


def _name_words(idx: CatalogIndex, si: SourceIndex) -> frozenset[str]:
    """Stems of the source's name that no other source's name has (not generic words)."""
    mine = set(stem_words(si.source.name)) - GENERIC_NAME_WORDS - STOP_STEMS
    others = {w for o in idx.sources if o is not si for w in stem_words(o.source.name)}
    return frozenset(w for w in mine - others if len(w) > 2)


def _unique_names(cands: list[Candidate]) -> bool:
    """A word of the question that names exactly one of the user's or the reference tables
    ("vpn" → `VpnLogs_CL`) says which data the analyst means, more than generic words
    ("failed", "logins") that a curated source's synonyms explain: that table gains
    `UNIQUE_NAME`, and every other source that leaves the word unexplained loses as much.
    (Curated synonyms are written to be broad, so they never trigger this.) True when some
    table was named so."""
    named: dict[tuple[int, int], list[Candidate]] = {}
    for c in cands:
        for it in c.items:
            if it.kind == "cat" and it.is_source:
                named.setdefault((it.i0, it.i1), []).append(c)
    found = False
    for (i0, i1), who in named.items():
        # Unique only if no other source explains all these words as strongly, by its name,
        # a concept ("RDP logons") or a known value; a longer name wins over a shorter one
        # inside it ("non-interactive sign-ins" over "sign-ins").
        if len(who) != 1 or who[0].si.source.origin == "builtin" or any(
                c is not who[0] and any(it.kind == "cat" and it.i0 <= i0 and i1 <= it.i1 and
                                        (it.is_source or it.concept or it.known)
                                        for it in c.items) for c in cands):
            continue
        found = True
        who[0].score += UNIQUE_NAME
        who[0].strong = True
        for c in cands:
            if c is not who[0] and not any(it.kind == "cat" and it.i0 < i1 and i0 < it.i1
                                           for it in c.items):
                c.score -= UNIQUE_NAME
    return found


CURATED_EDGE = 2.5
CURATED_TIE = 1.0


def _edge(c: Candidate) -> float:
    """Curated sources win near-ties with shelf tables: by `CURATED_EDGE` when the question
    names them (source, concept or known value) — their synonyms were written for analysts'
    words, a table name's words only resemble them — and by `CURATED_TIE` on field words alone
    (the linker's share of BM25 must not decide between equals)."""
    if c.si.order >= SHELF_ORDER or c.si.source.origin != "builtin" or c.score <= 0:
        return 0.0
    return CURATED_EDGE if c.strong else CURATED_TIE


LINK_SHARE = 0.1
SHELF_ORDER = 1_000_000  # shelf tables lose ties to the catalog's own sources
_SHELF_INDEX: "OrderedDict[tuple[int, tuple[str, ...]], tuple[Source, SourceIndex]]" = \
    OrderedDict()
_SHELF_LOCK = threading.Lock()


def shelf_index(src: Source, names: Sequence[str] = ()) -> SourceIndex:
    """The phrase index of a shelf source, kept for the last 4,096 built (a shelf returns the
    same object for the same table, so identity is the key). `names` are words that name the
    table among its shelf (`linker.name_words`): source phrases, as for imported tables."""
    key = (id(src), tuple(names))
    with _SHELF_LOCK:
        hit = _SHELF_INDEX.get(key)
        if hit is not None and hit[0] is src:
            _SHELF_INDEX.move_to_end(key)
            return hit[1]
    si = index_source(src, SHELF_ORDER)
    for w in names:
        if si.lookup([w], 0) is None:
            si.add((w,), Target("source", src.id))
    with _SHELF_LOCK:
        _SHELF_INDEX[key] = (src, si)
        while len(_SHELF_INDEX) > 4096:
            _SHELF_INDEX.popitem(last=False)
    return si


def shelf_candidates(catalog: Catalog, idx: CatalogIndex, tokens: list[Token], st: Stream,
                     platforms: Sequence[Platform] = (), k: int = 8) -> list[Candidate]:
    """The shelf tables the linker retrieves for the question, scored like catalog sources,
    plus the evidence of their own name (`Link.name_evidence`, and a table the question spells
    out wins outright)."""
    # A reference shelf on a platform with a workspace (the CIM data models under a Splunk
    # inventory) is for reading queries, not for answering questions.
    fenced = set(catalog.workspace_platforms)
    shelves = [s for s in [*catalog.shelves, *_deferred_shelves(idx)]
               if (not platforms or s.platform in platforms)
               and not (s.kind == "reference" and s.platform in fenced)]
    if not shelves:
        return []
    _shelf_df(idx, shelves)
    out: list[Candidate] = []
    for rank, lk in enumerate(link(shelves, tokens, k=k)):
        src = lk.shelf.source(lk.source_id)
        if src is None:
            continue
        # The table's own name words name it only when the question uses at least half of
        # them: "weather" alone is not `AgriFoodWeatherLogs`.
        named_here = lk.literal or lk.coverage >= 0.5
        names = name_words(lk.shelf, lk.source_id) \
            if named_here and isinstance(lk.shelf, Shelf) else []
        c = score_source(idx, shelf_index(src, names), tokens, st, shelved=True)
        if not lk.literal and ((lk.coverage < 0.5 and not c.acceptable) or
                               (lk.name_evidence <= 0 and c.score < MIN_UNANCHORED)):
            # One word of a long name and nothing else ("weather" → AgriFoodWeatherLogs), or
            # a generic field word alone ("user"), is a coincidence of vocabulary, not the
            # analyst naming that table.
            continue
        # The linker's BM25F sees column words the phrase matcher misses in compound names
        # (`InitiatingProcessFileName`); a small share of it breaks near-ties between tables.
        # The name's words already matched as the table's own synonym ("windows event" for
        # WindowsEvent) are not counted twice.
        named = any(it.kind == "cat" and it.is_source for it in c.items)
        bonus = (0.0 if named else lk.name_evidence) + (10.0 if lk.literal else 0.0) + \
            LINK_SHARE * lk.score
        c.score += bonus
        if lk.literal or (lk.name_evidence > 0 and not named):
            c.anchored = True
            c.strong = c.strong or lk.literal or lk.name_evidence >= 2.5
            c.evidence.insert(0, src.name if lk.literal else f"words of {src.name}")
        c.score -= rank * 1e-6  # equal scores keep the linker's order
        out.append(c)
    return out


def _deferred_shelves(idx: CatalogIndex) -> list[SourceShelf]:
    """The big workspace's imported tables as shelves, one per platform (built once per
    catalog index)."""
    if idx.deferred and not idx.deferred_shelves:
        with _SHELF_LOCK:
            if not idx.deferred_shelves:
                idx.deferred_shelves = [
                    shelf for p in Platform
                    if len(shelf := shelf_of_sources("imported", p, idx.deferred))]
    return idx.deferred_shelves  # type: ignore[return-value]


def _shelf_df(idx: CatalogIndex, shelves: list[SourceShelf]) -> None:
    """Make `idx.idf` count the shelves' tables (once per catalog index)."""
    if idx.shelf_df is not None:
        return
    links = [link_index(s) for s in shelves if hasattr(s, "tables")]  # type: ignore[arg-type]

    def df(phrase: tuple[str, ...]) -> int:
        return sum(min((li.column_df(w) for w in phrase), default=0) for li in links)

    idx.shelf_n = sum(len(li.ids) for li in links)
    idx.shelf_df = df


def closest_sources(idx: CatalogIndex, words: list[str], ranked: list[Candidate],
                    limit: int = 5) -> list[str]:
    """Source ids ranked for an error message: by score, then by loose word overlap."""
    def overlap(si: SourceIndex) -> int:
        return sum(1 for w in words if any(v.startswith(w[:4]) for v in si.vocab if len(w) > 3))

    order = sorted(ranked, key=lambda c: (-round(c.score, 6), -overlap(c.si), c.si.order))
    return [c.id for c in order[:limit]]
