"""The lexical index of the SOP chunks: BM25 (bm25s) over a tokenizer made for runbook text.

Runbooks are full of identifiers — AADSTS50126, EventID 4625, SigninLogs, ResultType,
`index=wineventlog` — that generic tokenizers break or drop. Here a token is a run of letters and
digits, lower-cased and lightly stemmed; a mixed run such as ``aadsts50126`` is also indexed as its
digit part (``50126``), and camel case is split as well as kept whole (``signinlogs``, ``signin``,
``logs``), so the question's words meet the runbook's identifiers.

The index is rebuilt from SQLite (the truth) when the store's generation changes, from the terms
stored with each chunk; it lives in memory (build times in bench/bench_sop.py).
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np

from lexiquery.nl.lexicon import STOP_STEMS, STOPWORDS, stem

_WORD = re.compile(r"[A-Za-z0-9]+")
_CAMEL = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_MIXED_DIGITS = re.compile(r"\d{3,}")


def tokenize(text: str) -> list[str]:
    """Index terms of `text` (same function for chunks and queries)."""
    out: list[str] = []
    for m in _WORD.finditer(text):
        raw = m.group(0)
        low = raw.lower()
        if low in STOPWORDS:
            continue
        term = stem(low) if low.isalpha() else low
        if term not in STOP_STEMS:  # "sign-ins" leaves "ins", whose stem is the stop word "in"
            out.append(term)
        parts = _CAMEL.findall(raw)
        if len(parts) > 1:
            out.extend(t for t in (stem(p.lower()) for p in parts if len(p) > 1)
                       if t not in STOP_STEMS)
        elif not low.isalpha() and not low.isdigit():
            out.extend(_MIXED_DIGITS.findall(low))
    return out


class LexicalIndex:
    """BM25 over a fixed list of (chunk id, terms). Immutable: rebuild on change."""

    def __init__(self, ids: Sequence[str], terms: Sequence[list[str]]) -> None:
        """Index each chunk's `terms`, as `tokenize` produced them (the store keeps them, so a
        restart does not tokenize every chunk again)."""
        # deferred: bm25s (with numpy and scipy) loads only when the lexical index is built
        import bm25s

        self.ids = list(ids)
        self._pos = {cid: i for i, cid in enumerate(self.ids)}
        self._bm25 = bm25s.BM25()
        self._empty = not self.ids
        if not self._empty:
            # bm25s indexes lists of tokens directly; an empty chunk keeps a placeholder token so
            # positions stay aligned with `ids`.
            self._bm25.index([t or ["\x00"] for t in terms], show_progress=False)

    def __len__(self) -> int:
        return len(self.ids)

    def scores(self, query: str) -> np.ndarray:
        if self._empty:
            return np.zeros(0, dtype=np.float32)
        terms = tokenize(query)
        if not terms:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(terms), dtype=np.float32)

    def top(self, query: str, k: int, *, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        """The best `k` (chunk id, score) with a positive score, restricted to `allowed` ids."""
        s = self.scores(query)
        if not len(s):
            return []
        if allowed is not None:
            mask = np.zeros(len(s), dtype=bool)
            for cid in allowed:
                i = self._pos.get(cid)
                if i is not None:
                    mask[i] = True
            s = np.where(mask, s, 0.0)
        k = min(k, int((s > 0).sum()))
        if k <= 0:
            return []
        best = np.argpartition(-s, k - 1)[:k]
        best = best[np.argsort(-s[best], kind="stable")]
        return [(self.ids[i], float(s[i])) for i in best]


__all__ = ["LexicalIndex", "tokenize"]
