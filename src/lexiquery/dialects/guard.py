"""Read-only guard: refuse query text that could change data, run code or send data away.

    check_read_only(platform, text, sql_dialect=…) → [PlanIssue]   (code ``read_only``, error)

Generated queries are read-only by construction; this is the second check, and the one that
protects users who paste queries. Each language is checked on its own lexer's tokens or its
parser's tree — never on text with strings stripped by a regular expression, which a verbatim
string (`@"x\\"`) or a comment can fool. Text the lexer cannot read (an unclosed string) is a
``syntax`` issue, also of error severity: what cannot be read cannot be shown to be a read.

Each language's guard is in its folder (`kql.guard`, `spl.guard`, `sql.guard`: one SELECT,
checked on the sqlglot tree in its dialect, with each dialect's dangerous functions and
executable comments refused); each registers as its `Language.check`.
"""

from __future__ import annotations

from lexiquery.dialects import language_of
from lexiquery.ir import PlanIssue


def check_read_only(platform: str, text: str, *, sql_dialect: str = "postgres") -> list[PlanIssue]:
    """Issues (code ``read_only``, severity error) for anything that is not a pure read, and a
    ``syntax`` issue when the text cannot be lexed; [] for a read. `ValueError` for a platform
    that is no language here."""
    return language_of(platform).check(text, sql_dialect)
