"""Schema linking over shelves: which of hundreds of tables a question may be about.

The rules engine scores every catalog source phrase by phrase (`source_select`), which is right
for a few dozen curated sources and far too slow for 1,000 tables. For the shelves (reference
packs, workspaces) this module first *retrieves* a handful of candidate tables with BM25F, then
the engine scores only those like any other source.

Ranking, per shelf table (a document with three fields, each a bag of word stems):

* the table name split into words (`DeviceRegistryEvents` → device registry event), weight 3;
* the extra phrases the table carries (sourcetype, data model synonyms, event kinds), weight 2;
* the column names split into words (`InitiatingProcessFileName` → initiating process file
  name), weight 1.

BM25 (k1 1.2, b 0.75) over the weighted term frequencies; idf over the shelf's tables. A table
whose name the question spells out (`DeviceEvents`, `VpnLogs_CL`; a one-word name such as `Event`
only when quoted) is always retrieved first.

`name_evidence` turns a table-name match into the engine's currency: 0.8 × the idf (over table
names) of the name words the question uses, at most 5 — one rare word ("registry", "vpn") is
about a source synonym's weight; a word half the tables share ("device") is worth little — less
0.25 × the idf of the name words it does not use, so `DeviceRegistryEvents` beats
`DeviceCustomRegistryEvents` for "registry changes". Entity words ("user", "ip") are no name
evidence: nearly every question has one.

The index depends only on the shelf's content: it is cached in memory per shelf and on disk
under the cache directory, keyed by the shelf's content hash and this module's version, so a
cold process does not split 25,000 column names again.
"""

from __future__ import annotations

import functools
import marshal
import math
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from lexiquery.catalog.model import SourceShelf
from lexiquery.catalog.shelf import Shelf, table_words
from lexiquery.nl.index import NAME_WORD_MAX_DF
from lexiquery.nl.lexicon import STOP_STEMS, stem_words
from lexiquery.nl.tokens import Token
from lexiquery.private_files import private_dir

VERSION = 1  # bump when the index's content or layout changes: old cache files are ignored
FIELD_WEIGHTS = (3.0, 2.0, 1.0)  # name, words, columns
K1, B = 1.2, 0.75
LITERAL_BONUS = 10.0  # the question names the table: it is the table
_GENERIC = frozenset(stem_words("event events log logs table data info record records cl user "
                                "users account ip address host device name id"))


def split_name(name: str) -> tuple[str, ...]:
    """Stems of an identifier's words: camel case, digits, underscores, dots and colons split."""
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", name)
    return tuple(w for w in stem_words(text) if w and not w.isdigit())


@dataclass
class LinkIndex:
    """Postings (stem → [(table number, weighted tf)]), per-table lengths and name stems."""

    ids: list[str]
    names: list[str]
    postings: dict[str, list[tuple[int, float]]]
    lengths: list[float]
    name_stems: list[tuple[str, ...]]
    name_df: dict[str, int]

    @functools.cached_property
    def by_name(self) -> dict[str, int]:
        return {n: i for i, n in enumerate(self.names)}

    @functools.cached_property
    def avg_len(self) -> float:
        return (sum(self.lengths) / len(self.lengths)) if self.lengths else 1.0

    def idf(self, stem: str) -> float:
        n, df = len(self.ids), len(self.postings.get(stem, ()))
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def name_idf(self, stem: str) -> float:
        return math.log((len(self.ids) + 1) / (self.name_df.get(stem, 0) + 1)) + 0.1

    def column_df(self, stem: str) -> int:
        return len(self.postings.get(stem, ()))


def _build(shelf: Shelf) -> LinkIndex:
    postings: dict[str, dict[int, float]] = {}
    lengths: list[float] = []
    name_stems: list[tuple[str, ...]] = []
    name_df: dict[str, int] = {}
    for i, t in enumerate(shelf.tables):
        bags = (split_name(t.name) + stem_words(table_words(t.name)),
                tuple(s for w in (*t.words, *(m for _v, m in t.kinds),
                                  *(n for c in t.concepts for n in (c[0], *c[1])))
                      for s in split_name(w)),
                tuple(s for c, _ in t.columns for s in split_name(c)))
        total = 0.0
        for weight, bag in zip(FIELD_WEIGHTS, bags):
            for s in bag:
                if s in STOP_STEMS or len(s) < 2:
                    continue
                postings.setdefault(s, {})
                postings[s][i] = postings[s].get(i, 0.0) + weight
                total += weight
        lengths.append(total or 1.0)
        own = tuple(dict.fromkeys(s for s in split_name(t.name) + stem_words(table_words(t.name))
                                  if s not in STOP_STEMS))
        name_stems.append(own)
        for s in set(own):
            name_df[s] = name_df.get(s, 0) + 1
    return LinkIndex([t.id for t in shelf.tables], [t.name.lower() for t in shelf.tables],
                     {s: sorted(p.items()) for s, p in postings.items()}, lengths, name_stems,
                     name_df)


_MEMORY: dict[str, LinkIndex] = {}
_LOCK = threading.Lock()


def cache_dir() -> Path | None:
    """Where link indexes are kept between processes: `$LEXIQUERY_CACHE_DIR`, else
    `<data dir>/cache`; None when neither can be written (the index is then rebuilt)."""
    # Settings are read only when a shelf is first linked: a start without shelves never pays.
    from lexiquery.config import get_settings  # deferred: read only when a shelf is linked

    env = os.environ.get("LEXIQUERY_CACHE_DIR")
    try:
        return Path(env) if env else get_settings().data_dir / "cache"
    except Exception:  # noqa: BLE001 — a bad setting must not stop a question; no disk cache
        return None


def _load(path: Path) -> LinkIndex | None:
    try:
        data = marshal.loads(path.read_bytes())
        return LinkIndex(*data)
    except (OSError, EOFError, ValueError, TypeError):
        return None


def _save(path: Path, idx: LinkIndex) -> None:
    """Atomic write; a full disk or a read-only directory only costs the rebuild next time."""
    try:
        private_dir(path.parent)  # like the rest of the data directory: the owner's only
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".link-", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            marshal.dump([idx.ids, idx.names, idx.postings, idx.lengths, idx.name_stems,
                          idx.name_df], f)
        os.replace(tmp, path)
    except OSError:
        try:
            Path(tmp).unlink(missing_ok=True)  # type: ignore[possibly-undefined]
        except (OSError, NameError):
            pass


def link_index(shelf: Shelf) -> LinkIndex:
    """The shelf's index: from memory, from the disk cache, or built (then cached)."""
    key = f"{shelf.kind}-{shelf.name}-{shelf.content_hash()}-v{VERSION}"
    with _LOCK:
        hit = _MEMORY.get(key)
    if hit is not None:
        return hit
    folder = cache_dir()
    path = folder / f"link-{re.sub(r'[^A-Za-z0-9_.-]', '_', key)}.marshal" if folder else None
    idx = _load(path) if path is not None and path.is_file() else None
    if idx is None or len(idx.ids) != len(shelf.tables):
        idx = _build(shelf)
        if path is not None:
            _save(path, idx)
    with _LOCK:
        _MEMORY[key] = idx
    return idx




def name_words(shelf: Shelf, source_id: str) -> list[str]:
    """The words of a table's name that name it among its shelf ("vpn" for `VpnLogs_CL`,
    "cloudtrail" for `AWSCloudTrail`): rare name words and adjacent pairs joined."""
    idx = link_index(shelf)
    try:
        own = idx.name_stems[idx.ids.index(source_id)]
    except ValueError:
        return []
    parts = [w for w in own if w != "cl"]
    joined = [parts[i] + parts[i + 1] for i in range(len(parts) - 1)]
    rare = [w for w in parts if idx.name_df.get(w, 0) <= NAME_WORD_MAX_DF]
    return [w for w in dict.fromkeys(rare + joined)
            if w not in _GENERIC and len(w) > 2 and w not in STOP_STEMS]


@dataclass(frozen=True)
class Link:
    """One retrieved table: its shelf, source id, BM25F score, whether the question names
    it literally, and the share of its name the question covers (`name_evidence`)."""

    shelf: SourceShelf
    source_id: str
    score: float
    literal: bool
    name_evidence: float
    coverage: float = 0.0  # share of the name's distinctive words the question uses


def _spelled_as_name(word: str, quoted: bool) -> bool:
    """Is `word` written as a table name rather than as an English word? `DeviceEvents`,
    `VpnLogs_CL`, `W3CIISLog` are; "event" or "Heartbeat" at the start of a sentence are not
    (a quoted or back-ticked name always is)."""
    return quoted or bool(re.search(r"[a-z0-9][A-Z]|_|[A-Z]{2}[a-z]", word))


def _name_evidence(idx: LinkIndex, i: int, qset: set[str]) -> tuple[float, float]:
    """(name evidence, coverage) of table `i` for the question's stems (module docstring)."""
    words = [s for s in idx.name_stems[i] if s not in _GENERIC]
    hit = sum(idx.name_idf(s) for s in words if s in qset)
    miss = sum(idx.name_idf(s) for s in words if s not in qset)
    evidence = min(5.0, 0.8 * hit) - 0.25 * miss if hit else 0.0
    covered = {s for s in words if s in qset}
    for a, b in zip(words, words[1:]):  # "cloudtrail" covers cloud and trail
        if a + b in qset:
            covered |= {a, b}
    return evidence, (len(covered) / len(words) if words else 0.0)


def question_stems(tokens: list[Token]) -> list[str]:
    out: list[str] = []
    for t in tokens:
        if t.kind in {"word", "quoted"}:
            for s in split_name(str(t.text).strip("\"'`“”‘’")):
                if s not in STOP_STEMS and len(s) > 1:
                    out.append(s)
    return out


def link(shelves: list[SourceShelf], tokens: list[Token], k: int = 8) -> list[Link]:
    """The `k` best tables over all `shelves` for the question's tokens, best first."""
    stems = question_stems(tokens)
    literal = {w.lower() for t in tokens if t.kind in {"word", "quoted"}
               and _spelled_as_name(w := str(t.text).strip("\"'`“”‘’"), t.kind == "quoted")}
    found: list[Link] = []
    qset = set(stems)
    for shelf in shelves:
        if not isinstance(shelf, Shelf) or not len(shelf):
            continue
        idx = link_index(shelf)
        scores: dict[int, float] = {}
        avg = idx.avg_len
        for s in set(stems):
            plist = idx.postings.get(s)
            if not plist:
                continue
            w = idx.idf(s)
            for i, tf in plist:
                norm = tf * (K1 + 1) / (tf + K1 * (1 - B + B * idx.lengths[i] / avg))
                scores[i] = scores.get(i, 0.0) + w * norm
        for name in literal:
            i = idx.by_name.get(name)
            if i is not None:
                scores[i] = scores.get(i, 0.0) + LITERAL_BONUS
        # Only the shelf's own best k can be among the best k overall: the name evidence is
        # worked out for those alone.
        best = sorted(scores.items(), key=lambda kv: (-kv[1], idx.ids[kv[0]]))[:k]
        for i, score in best:
            evidence, coverage = _name_evidence(idx, i, qset)
            found.append(Link(shelf, idx.ids[i], score, idx.names[i] in literal, evidence,
                              coverage))
    found.sort(key=lambda lk: (-lk.literal, -lk.score, lk.source_id))
    return found[:k]
