"""How the read-only guards report a refusal: an error-severity issue at a position, and the
first refusal raised as the reader's `QueryError` (the parsers and the sandbox refuse what the
guard refuses, with the same words)."""

from __future__ import annotations

import re

from lexiquery.errors import QueryError
from lexiquery.ir import PlanIssue, Severity


def issue(message: str, line: int | None = None, column: int | None = None,
          code: str = "read_only") -> PlanIssue:
    """An error-severity guard issue (``read_only`` unless said otherwise)."""
    return PlanIssue(code=code, message=message, severity=Severity.error, line=line,
                     column=column)


def from_error(e: QueryError) -> PlanIssue:
    """A reader's `QueryError` as the guard's issue, keeping its code and position."""
    return issue(e.message, e.line, e.column, code=e.code)


_POSITION = re.compile(r"^line \d+, column \d+: ")  # QueryError writes the position itself


def raise_first(issues: list[PlanIssue]) -> None:
    """The guard's first refusal as a reader's `QueryError`, at the guard's position (the
    parsers and the sandbox refuse what the guard refuses, with the same words)."""
    for found in issues:
        raise QueryError(_POSITION.sub("", found.message), line=found.line,
                         column=found.column, code=found.code,
                         hint="only queries that read are accepted"
                         if found.code == "read_only" else None)
