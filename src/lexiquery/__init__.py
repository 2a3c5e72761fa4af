"""LexiQuery: plain-English questions to checked KQL, SPL and SQL, computed on your own machine.

    >>> import lexiquery
    >>> answer = lexiquery.ask("failed sign-ins in the last 24 hours by user")
    >>> [q.query for q in answer.queries]
    >>> lexiquery.translate_query('index=azure sourcetype="azure:aad:signin" | stats count by user',
    ...                           "spl", "kql").query

Heavy modules are imported on first use so that `lexiquery --help` starts fast.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

# a2a-sdk records OpenTelemetry spans unless told not to: no telemetry (house rule), and they
# cost ~25 % of an A2A call's CPU. Set before any module imports a2a; the user's choice wins.
os.environ.setdefault("OTEL_INSTRUMENTATION_A2A_SDK_ENABLED", "false")

from lexiquery.version import __version__  # noqa: E402  (after the telemetry switch)

if TYPE_CHECKING:
    from lexiquery.answer import Answer

__all__ = ["__version__", "ask", "explain_query", "run_query", "translate_query", "validate_query"]


def ask(question: str, **kwargs: Any) -> "Answer":
    """Answer `question` with checked queries; see `lexiquery.orchestrator.ask` for options."""
    from lexiquery.orchestrator import ask as _ask

    return _ask(question, **kwargs)


def run_query(text: str, platform: str, **kwargs: Any) -> Any:
    """Run a KQL/SPL/SQL query on sample data; see `lexiquery.operations.run_query`."""
    from lexiquery.operations import run_query as _run

    return _run(text, platform, **kwargs)


def translate_query(text: str, from_platform: str, to_platform: str, **kwargs: Any) -> Any:
    """Translate a query between platforms; see `lexiquery.operations.translate_query`."""
    from lexiquery.operations import translate_query as _translate

    return _translate(text, from_platform, to_platform, **kwargs)


def explain_query(text: str, platform: str, **kwargs: Any) -> Any:
    """The query in plain English; see `lexiquery.operations.explain_query`."""
    from lexiquery.operations import explain_query as _explain

    return _explain(text, platform, **kwargs)


def validate_query(text: str, platform: str, **kwargs: Any) -> Any:
    """Every check on a query; see `lexiquery.operations.validate_query_text`."""
    from lexiquery.operations import validate_query_text as _validate

    return _validate(text, platform, **kwargs)


__all__ = ["ask", "run_query", "translate_query", "explain_query", "validate_query",
           "__version__"]
