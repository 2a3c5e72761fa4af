"""LexiQuery: plain-English questions to checked KQL, SPL and SQL, computed on your own machine.

    >>> import lexiquery
    >>> answer = lexiquery.ask("failed sign-ins in the last 24 hours by user")
    >>> [q.query for q in answer.queries]

Heavy modules are imported on first use so that `lexiquery --help` starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from lexiquery.answer import Answer


def ask(question: str, **kwargs: Any) -> "Answer":
    """Answer `question` with checked queries; see `lexiquery.orchestrator.ask` for options."""
    from lexiquery.orchestrator import ask as _ask

    return _ask(question, **kwargs)


__all__ = ["ask", "__version__"]
