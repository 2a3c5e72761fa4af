"""Hybrid ranking: reciprocal-rank fusion of the lexical (BM25) and dense (embedding) rankings.

RRF (Cormack, Clarke & Büttcher, 2009) sums 1 / (k + rank) over the rankings a chunk appears in.
It needs no score calibration between BM25's unbounded scores and cosine distances, which is
why it is the usual fusion for hybrid search; k = 60 is the paper's constant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

RRF_K = 60


@dataclass
class Fused:
    chunk_id: str
    score: float
    lexical_rank: int | None
    dense_rank: int | None


def fuse(lexical: Sequence[str], dense: Sequence[str], *, k: int = RRF_K) -> list[Fused]:
    """Chunk ids ranked by RRF over two rankings (best first; ties keep lexical order)."""
    lex_rank = {cid: r for r, cid in enumerate(lexical, 1)}
    dense_rank = {cid: r for r, cid in enumerate(dense, 1)}
    out = []
    for cid in dict.fromkeys([*lexical, *dense]):
        lr, dr = lex_rank.get(cid), dense_rank.get(cid)
        score = (1 / (k + lr) if lr else 0.0) + (1 / (k + dr) if dr else 0.0)
        out.append(Fused(cid, score, lr, dr))
    order = {cid: i for i, cid in enumerate(dict.fromkeys([*lexical, *dense]))}
    out.sort(key=lambda f: (-f.score, order[f.chunk_id]))
    return out


__all__ = ["Fused", "RRF_K", "fuse"]
