"""Reading a query an analyst pastes: clean the text, tell its language, expand the SPL macros
the catalog declares, refuse what writes, and parse it into the IR.

    guess_platform("SELECT …")                         → "sql" (kql, spl or sql; or InputError)
    read_query(text, "spl", catalog=…)                 → ParsedQuery (guard first, then the parser)

Used by the query operations (`lexiquery.operations`) and by runbook extraction (an embedded
query's language). Errors: `QueryError` (read_only, syntax, …) and `InputError`.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Sequence

from lexiquery.catalog.model import Catalog, Platform
from lexiquery.catalog.store import load_user_catalog
from lexiquery.config import Settings, get_settings
from lexiquery.dialects import parse, sql_dialect_name
from lexiquery.dialects.guard import check_read_only
from lexiquery.dialects.parsing import ParsedQuery
from lexiquery.dialects.spl.macros import Expansion, expand_macros, expand_search
from lexiquery.errors import InputError, QueryError
from lexiquery.ir import Severity
from lexiquery.user_input import user_text


def dialect_for(platform: Platform, sql_dialect: str | None, settings: Settings) -> str:
    if platform is not Platform.sql:
        return platform.value
    return sql_dialect_name(sql_dialect or settings.sql_dialect)


def platform_of(value: Platform | str) -> Platform:
    try:
        return Platform(str(getattr(value, "value", value)).lower())
    except ValueError:
        raise InputError(f"unknown platform {value!r}; choose kql, spl or sql") from None


def clean_query(text: object, max_chars: int) -> str:
    """The pasted query, or `InputError` when it is empty, binary or over `max_chars`."""
    q = user_text(text, "query", max_chars, long_hint="raise LEXIQUERY_MAX_QUERY_CHARS")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r" for ch in q):
        raise InputError("the query contains binary or control characters")
    return q


_SQL_START = re.compile(r"^\(*\s*(select|with|insert|update|delete|drop|create|alter|merge|"
                        r"truncate|grant|copy|exec|execute)\b", re.IGNORECASE)
_SPL_START = re.compile(r"^(\||search\s|(index|sourcetype|source|host|earliest|latest|tag|"
                        r"eventtype)\s*!?=)", re.IGNORECASE)
_KQL_START = re.compile(r"^(let\s|\.[a-z]|[A-Za-z_][\w]*\s*(\||$|\n))", re.IGNORECASE)


def guess_platform(text: str) -> str:
    """kql, spl or sql from the first words of the text; `InputError` when it cannot tell."""
    body = re.sub(r"^(\s*(//|--|#)[^\n]*\n)+", "", text.lstrip("\ufeff")).strip()
    body = re.sub(r"^/\*.*?\*/\s*", "", body, flags=re.DOTALL)
    if _SQL_START.match(body):
        return "sql"
    if _SPL_START.match(body):
        return "spl"
    if _KQL_START.match(body):
        return "kql"
    raise InputError("cannot tell which language this query is in",
                     hint="pass --platform kql, spl or sql")


def catalog_or_load(catalog: Catalog | None, catalog_files: Sequence[Path | str],
             settings: Settings) -> Catalog:
    if catalog is not None:
        return catalog
    return load_user_catalog(settings, [Path(p) for p in catalog_files])


def read_query(text: str, platform: Platform | str, *, catalog: Catalog | None = None,
               catalog_files: Sequence[Path | str] = (), sql_dialect: str | None = None,
               settings: Settings | None = None) -> ParsedQuery:
    """The query read into the IR: read-only guard first, then the platform's parser."""
    settings = settings or get_settings()
    p = platform_of(platform)
    dialect = dialect_for(p, sql_dialect, settings)
    cat = catalog_or_load(catalog, catalog_files, settings)
    q = clean_query(text, settings.max_query_chars)
    # SPL macros the catalog declares are expanded first; positions are told about the text as
    # written (an error inside an expansion names its macro), and each expansion is a note.
    expansion = expand_search(q, cat.spl_macros()) if p is Platform.spl else Expansion(q, q)
    # check_read_only also reports SQL it cannot parse: that is the parser's to say, not a refusal
    refused = [expansion.relocate_issue(i) for i in
               check_read_only(p.value, expansion.text, sql_dialect=dialect)
               if i.code == "read_only"]
    if refused:
        raise QueryError("; ".join(i.message for i in refused), code="read_only",
                         hint="LexiQuery only reads: queries that write, delete, send or run "
                              "code are refused")
    try:
        parsed = parse(expansion.text, p, cat, sql_dialect=dialect)
    except QueryError as e:
        raise expansion.relocate_error(e) from None
    if expansion.calls:
        parsed.plan.issues = [expansion.relocate_issue(i) for i in parsed.plan.issues] + \
            expansion.caveats()
        parsed.notes[:0] = expansion.notes()
        parsed.text = q
    return parsed


def expand_declared(text: str, platform: Platform, catalog: Catalog) -> str:
    """SPL with the macros the catalog declares expanded (`dialects.spl.render.macros`), so the guard
    and the parser read what Splunk would run; other text as it is. Raises a ``read_only``
    `QueryError` for macros that nest too deep."""
    if platform is not Platform.spl:
        return text
    return expand_macros(text, catalog.spl_macros())


def require_faithful(parsed: ParsedQuery, doing: str) -> None:
    errors = [i for i in parsed.plan.issues if i.severity is Severity.error]
    if errors:
        raise QueryError(f"cannot {doing}: " + "; ".join(i.message for i in errors),
                         code="unsupported", line=errors[0].line, column=errors[0].column,
                         issues=[i.model_dump(mode="json") for i in errors],
                         hint="the query model cannot hold these parts; rewrite them or remove "
                              "them to see the rest")
