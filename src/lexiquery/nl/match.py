"""Segmentation: tokens → items, for one source.

An item is one unit of meaning: a keyword phrase of the generic lexicon ("more than", "group
by"), a catalog phrase of the source ("failed sign-in", "source ip", "RDP"), a value token
(10.1.2.3, powershell.exe, 404) or a plain word. Matching is greedy longest-first over word
stems; a tie between a keyword and a catalog phrase of the same length goes to the catalog,
except for reserved structural words ("by", "top", "count" ...), so a field called "count" never
swallows "count of". A hyphenated word may hold two items ("non-interactive").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lexiquery.nl.index import SourceIndex, Target
from lexiquery.nl.lexicon import KEYWORDS, KW_MAXLEN, RESERVED, STOPWORDS, Kw
from lexiquery.nl.tokens import Token

_PCT = re.compile(r"^p(\d{1,2}(?:\.\d+)?)$", re.IGNORECASE)
_HOSTLIKE = re.compile(r"^(?=.*\d)(?=.*[a-z])[a-z0-9][a-z0-9-]{1,62}$", re.IGNORECASE)


@dataclass
class Item:
    kind: str  # kw | cat | value | word
    i0: int  # first token index
    i1: int  # one past the last token index
    text: str
    kw: Kw | None = None
    targets: list[Target] = field(default_factory=list)
    tok: Token | None = None
    used: bool = False
    helped: bool = False  # a word of the source's description: understood, but free to use
    role: str = ""  # role resolved for a field item by the pass that used it

    @property
    def fields(self) -> list[str]:
        """Candidate field names, explicit field phrases before generic entity words."""
        out: list[str] = []
        for kind in ("field", "entity"):
            for t in self.targets:
                if t.kind == kind and t.name not in out:
                    out.append(t.name)
        return out

    @property
    def concept(self) -> str | None:
        return next((t.name for t in self.targets if t.kind == "concept"), None)

    @property
    def known(self) -> list[Target]:
        return [t for t in self.targets if t.kind == "known"]

    @property
    def is_source(self) -> bool:
        return any(t.kind == "source" for t in self.targets)

    @property
    def vkind(self) -> str:
        """Value kind of a value/word item ('' for others)."""
        if self.tok is None:
            return ""
        if self.kind == "value":
            return self.tok.kind
        if self.kind == "word" and _HOSTLIKE.match(self.tok.text):
            return "hostlike"
        return ""

    def is_kw(self, *cats: str) -> bool:
        return self.kind == "kw" and self.kw is not None and self.kw.cat in cats

    @property
    def is_filler(self) -> bool:
        """A stop word that carries no meaning on its own."""
        if self.kind != "word" or self.tok is None or self.tok.low not in STOPWORDS:
            return False
        return not (self.tok.text.isupper() and len(self.tok.text) >= 2)  # "US" is a value


@dataclass
class Stream:
    """The question's word stems, flattened; values and time expressions break phrases."""

    stems: list[str]
    owner: list[int]
    starts: list[bool]
    ends: list[bool]
    lex: list[tuple[int, Kw] | None]


def build_stream(tokens: list[Token]) -> Stream:
    stems: list[str] = []
    owner: list[int] = []
    starts: list[bool] = []
    ends: list[bool] = []
    for ti, t in enumerate(tokens):
        words = t.subwords if (t.kind in {"word", "sym"} and not t.used and t.subwords) \
            else ("\x00",)
        for k, w in enumerate(words):
            stems.append(w)
            owner.append(ti)
            starts.append(k == 0)
            ends.append(k == len(words) - 1)
    lex: list[tuple[int, Kw] | None] = []
    for j in range(len(stems)):
        best = None
        if stems[j] != "\x00":
            for n in range(min(KW_MAXLEN, len(stems) - j), 0, -1):
                kw = KEYWORDS.get(tuple(stems[j:j + n]))
                if kw is not None and "\x00" not in stems[j:j + n]:
                    best = (n, kw)
                    break
        lex.append(best)
    return Stream(stems, owner, starts, ends, lex)


def segment(tokens: list[Token], st: Stream, si: SourceIndex) -> list[Item]:
    """Items of the question as seen by source `si` (see the module docstring)."""
    items: list[Item] = []
    j = 0
    n_st = len(st.stems)
    while j < n_st:
        ti = st.owner[j]
        tok = tokens[ti]
        if _short_code_value(tokens, ti, si) and not tok.used:
            low = tok.low
            items.append(Item("cat", ti, ti + 1, tok.text, tok=tok, targets=[
                Target("known", f, v, meaning) for f, v, meaning in si.known[low]]))
            j += 1
            continue
        if st.stems[j] == "\x00":
            if not tok.used:
                items.append(Item("value" if tok.is_value or tok.kind == "ord" else "word",
                                  ti, ti + 1, tok.text, tok=tok))
            j += 1
            continue
        lex = st.lex[j]
        cat = si.lookup(st.stems, j)
        pick_cat = cat is not None and (
            lex is None or cat[0] > lex[0]
            or (cat[0] == lex[0] == 1 and st.stems[j] not in RESERVED)
            or _names_source_not_sort(tok, lex, cat[1]))
        if tok.kind == "word" and _PCT.match(tok.text) and not pick_cat:
            items.append(Item("kw", ti, ti + 1, tok.text, kw=Kw("agg", "p" + tok.text[1:]),
                              tok=tok))
            j += 1
            continue
        if pick_cat and cat is not None:
            n = cat[0]
            last = st.owner[j + n - 1]
            items.append(Item("cat", ti, last + 1, _span(tokens, ti, last), targets=cat[1],
                              tok=tok))
            j += n
        elif lex is not None:
            n = lex[0]
            last = st.owner[j + n - 1]
            items.append(Item("kw", ti, last + 1, _span(tokens, ti, last), kw=lex[1], tok=tok))
            j += n
        else:
            if st.starts[j]:  # a word not matched at its start is one item
                items.append(Item("word", ti, ti + 1, tok.text, tok=tok))
            elif items and items[-1].i1 <= ti:  # the rest of a hyphenated word
                items.append(Item("word", ti, ti + 1, st.stems[j], tok=tok))
            j += 1
    return items


_TYPE_WORDS = frozenset({"type", "typ", "kind", "class", "record"})


def _short_code_value(tokens: list[Token], ti: int, si: SourceIndex) -> bool:
    """ "record type A", "types MX and AAAA": a code of one or two capitals is a stop word ("A")
    or too short to be a catalog phrase ("MX") unless it is a known value of the source written
    where a value stands: after a word such as "type", before "records", or next to another
    known value of the same field in a list."""
    tok = tokens[ti]
    if tok.kind != "word" or len(tok.text) > 2 or not tok.text.isupper() or \
            (ti == 0 and len(tok.text) == 1):  # "A records ..." opens with an article
        return False
    hits = si.known.get(tok.low)
    if not hits:
        return False
    fields = {h[0] for h in hits}
    prev = tokens[ti - 1] if ti > 0 else None
    if prev is not None and prev.kind == "word" and prev.subwords and \
            prev.subwords[-1] in _TYPE_WORDS:
        return True
    nxt = tokens[ti + 1] if ti + 1 < len(tokens) else None
    if nxt is not None and nxt.kind == "word" and nxt.subwords[:1] == ("record",):
        return True  # "A records"

    def known_at(i: int) -> bool:
        if not 0 <= i < len(tokens):
            return False
        return any(h[0] in fields for h in si.known.get(tokens[i].low.strip(",;"), []))

    def joiner(i: int) -> bool:
        return 0 <= i < len(tokens) and tokens[i].low in {",", "and", "or", "nor"}

    return (joiner(ti + 1) and known_at(ti + 2)) or (joiner(ti - 1) and known_at(ti - 2))


def _names_source_not_sort(tok: Token, lex: tuple[int, Kw] | None,
                           targets: list[Target]) -> bool:
    """ "orders by status" names a source called "orders"; it is not "order by status". The
    stemmer makes both read "order by", so a plural surface form that names a source wins."""
    return (lex is not None and lex[1].cat == "sort" and tok.low.endswith("s")
            and any(t.kind == "source" for t in targets))


def _span(tokens: list[Token], a: int, b: int) -> str:
    return " ".join(t.text for t in tokens[a:b + 1])
