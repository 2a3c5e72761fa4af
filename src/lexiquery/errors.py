"""One error tree for the whole package.

    LexiQueryError                      base; carries `issues` (structured, codes scripts can match)
    ├── InputError                      the user's input is unusable (empty, garbage, too long)
    │   ├── QuestionError               a question the engine cannot map (no known source, …)
    │   │   └── UnknownFieldError           the question names a field its source does not have
    │   └── QueryError                  a pasted KQL/SPL/SQL query that cannot be read: syntax
    │                                   (code ``syntax``), a table or field the catalog does not
    │                                   know (``unknown_source``, ``unknown_field``), a
    │                                   write/exec command (``read_only``), or a part the query
    │                                   model cannot hold where it must (``unsupported``, e.g.
    │                                   `run` of a KQL join); with line and column
    │   └── DocumentError               a runbook that cannot be ingested: ``unsupported_type``,
    │                                   ``corrupt``, ``encrypted``, ``empty``, ``too_large``,
    │                                   ``unsafe_archive`` (a zip bomb posing as DOCX)
    │   └── UnknownDocumentError        no stored document has that id, label or name
    ├── CatalogError                    a catalog file is malformed or names unknown things
    │   └── UnknownSourceError          a source id that is not in the catalog
    ├── PlanError                       a QueryPlan that cannot be rendered on a platform
    ├── DialectError                    rendering / parsing failed for one dialect
    ├── SandboxError                    (engine/sandbox.py) a query failed or timed out on sample
    │                                   data (codes ``execution``, ``timeout``)
    ├── StorageError                    the SQLite store cannot be read or written
    └── AgentError                      an agent did not answer: unreachable, timed out, or gave
                                        a reply that is not its contract (``agent_unavailable``,
                                        ``agent_timeout``, ``agent_bad_reply``); also registry
                                        refusals (``registration_refused``, ``unknown_agent``,
                                        ``static_agent``: configured, so not removable)

Each maps to one CLI exit code (see `exit_code`) and, at the edges only, to an HTTP status.
"""

from __future__ import annotations

from typing import Any


class LexiQueryError(Exception):
    """Base error. `issues` is a list of dicts ``{code, message, ...}`` for machine readers."""

    exit_code = 1
    code = "error"

    def __init__(self, message: str, *, issues: list[dict[str, Any]] | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.issues = issues or [{"code": self.code, "message": message}]

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"error": self.code, "message": self.message, "issues": self.issues}
        if self.hint:
            d["hint"] = self.hint
        return d


class InputError(LexiQueryError):
    exit_code = 2
    code = "bad_input"


class QuestionError(InputError):
    code = "unanswerable_question"

    def __init__(self, message: str, *, closest_sources: list[str] | None = None,
                 **kw: Any) -> None:
        super().__init__(message, **kw)
        self.closest_sources = closest_sources or []

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["closest_sources"] = self.closest_sources
        return d


class UnknownFieldError(QuestionError):
    code = "unknown_field"


class CatalogError(LexiQueryError):
    exit_code = 3
    code = "catalog_error"


class UnknownSourceError(CatalogError):
    code = "unknown_source"


class PlanError(LexiQueryError):
    exit_code = 4
    code = "plan_error"


class DialectError(LexiQueryError):
    exit_code = 4
    code = "dialect_error"


class StorageError(LexiQueryError):
    exit_code = 5
    code = "storage_error"


class QueryError(InputError):
    """A pasted query that cannot be read. `line`/`column` are 1-based and point at the
    offending token; `expected` says what the parser wanted there; `hint` suggests a fix for
    common slips (``=`` for ``==`` in KQL, a missing pipe, an unclosed quote)."""

    code = "syntax"

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None,
                 expected: str | None = None, hint: str | None = None,
                 code: str | None = None, issues: list[dict[str, Any]] | None = None) -> None:
        if code is not None:
            self.code = code
        self.line = line
        self.column = column
        self.expected = expected
        where = f"line {line}, column {column}: " if line is not None else ""
        full = where + message + (f" (expected {expected})" if expected else "")
        super().__init__(full, hint=hint, issues=issues or [{
            "code": self.code, "message": full, "line": line, "column": column,
            "severity": "error"}])

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d.update(line=self.line, column=self.column, expected=self.expected)
        return d


class DocumentError(InputError):
    """A document (SOP, runbook) that cannot be ingested. Nothing of it is stored. `code` says
    why; `document` names the file."""

    code = "bad_document"

    def __init__(self, message: str, *, code: str, document: str | None = None,
                 hint: str | None = None) -> None:
        self.code = code
        self.document = document
        full = f"{document}: {message}" if document else message
        super().__init__(full, hint=hint, issues=[{"code": code, "message": full,
                                                   "document": document}])


class UnknownDocumentError(InputError):
    """No stored document has this id, id prefix, label or file name."""

    code = "unknown_document"


class AgentError(LexiQueryError):
    """An agent could not be used. `agent` names it; `retryable` says whether calling again may
    help (a timeout or a dead connection may; a reply that breaks the contract will not)."""

    exit_code = 6
    code = "agent_unavailable"

    def __init__(self, message: str, *, agent: str | None = None, code: str | None = None,
                 retryable: bool = False, hint: str | None = None) -> None:
        if code is not None:
            self.code = code
        self.agent = agent
        self.retryable = retryable
        super().__init__(message, hint=hint, issues=[{"code": self.code, "message": message,
                                                      "agent": agent}])


def _subclasses(cls: type) -> list[type]:
    out = [cls]
    for sub in cls.__subclasses__():
        out += _subclasses(sub)
    return out


def error_payload(e: LexiQueryError) -> dict[str, Any]:
    """`e` as JSON for the agent wire: its class name and what rebuilds it."""
    d = e.to_dict()
    d["type"] = type(e).__name__
    if isinstance(e, AgentError):  # an agent that could not reach its own dependency
        d["retryable"], d["agent"] = e.retryable, e.agent
    return d


def error_from_payload(d: dict[str, Any], *, agent: str | None = None) -> LexiQueryError:
    """The error an agent reported, rebuilt as the same class of this tree (so a QuestionError
    raised by a remote planner reads exactly like a local one). An unknown type becomes an
    `AgentError` carrying the message."""
    by_name = {c.__name__: c for c in _subclasses(LexiQueryError)}
    cls = by_name.get(str(d.get("type")))
    message = str(d.get("message") or "the agent reported an error")
    hint = d.get("hint")
    e: LexiQueryError
    if cls is None or cls in (LexiQueryError, AgentError):
        e = AgentError(message, agent=d.get("agent") or agent,
                       code=str(d.get("error") or "agent_failed"), hint=hint,
                       retryable=bool(d.get("retryable", False)))
    elif issubclass(cls, QueryError):
        e = cls.__new__(cls)
        LexiQueryError.__init__(e, message, issues=d.get("issues"), hint=hint)
        e.code = str(d.get("error") or cls.code)
        e.line, e.column, e.expected = d.get("line"), d.get("column"), d.get("expected")
    elif issubclass(cls, DocumentError):
        e = cls.__new__(cls)
        LexiQueryError.__init__(e, message, issues=d.get("issues"), hint=hint)
        e.code, e.document = str(d.get("error") or cls.code), None
    elif issubclass(cls, QuestionError):
        e = cls(message, closest_sources=list(d.get("closest_sources") or []),
                issues=d.get("issues"), hint=hint)
    else:
        e = cls(message, issues=d.get("issues"), hint=hint)
    return e
