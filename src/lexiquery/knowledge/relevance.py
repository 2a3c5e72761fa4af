"""Is a runbook passage about this question? A lexical coverage measure the SOP engine gates on.

Search always returns something; using whatever ranked first would let an unrelated runbook
rewrite a query. A passage shapes the answer only when it covers a good share of the question's
*content* words (time phrases, numbers and query verbs such as "show" or "count" say nothing
about which procedure applies). Coverage uses the index's own tokenizer, so runbook identifiers
(ResultType, AADSTS50126) meet the question's words the way search does.
"""

from __future__ import annotations

from lexiquery.knowledge.lexical import tokenize
from lexiquery.nl.lexicon import stem

# Words that carry no procedure meaning in a question (compared after stemming).
_GENERIC = {stem(w) for w in """
    last past previous recent recently hour hours minute minutes min mins day days week weeks
    month months today yesterday since ago over within during time window per by count counts
    number many much top bottom most least show list give query queries search find which
    event events log logs data record records result results total every each all
    sop runbook procedure playbook step steps according follow following
    """.split()}

STRONG = 0.5  # a procedure this relevant may supply its example query
RELEVANT = 0.34  # a passage this relevant may refine filters, windows and thresholds


def content_terms(text: str) -> set[str]:
    return {t for t in tokenize(text) if t not in _GENERIC and not t.isdigit()}


def coverage(question: str, passage: str) -> float:
    """Share of the question's content terms that occur in `passage` (0 when it has none)."""
    q = content_terms(question)
    if not q:
        return 0.0
    return len(q & set(tokenize(passage))) / len(q)


__all__ = ["RELEVANT", "STRONG", "content_terms", "coverage"]
