"""The KQL read-only guard, on `kql.lex` tokens: control commands (a `.` command at the start of
the query, of a statement or of a line: `.drop table`, `.set-or-append`); `externaldata` and
`external_table`; cross-cluster calls that name another service (`cluster()`, `adx()`); and
plugins that reach out or run code (`evaluate http_request`, `sql_request`, `python`, `r`…).
See `dialects.guard` for what every guard promises."""

from __future__ import annotations

from lexiquery.dialects.kql.lex import Token, tokenize
from lexiquery.dialects.parsing import line_col
from lexiquery.dialects.refusals import from_error, issue
from lexiquery.errors import QueryError
from lexiquery.ir import PlanIssue

# KQL plugins (`evaluate <name>(…)`) that call another service or run code in the cluster. A
# call to one of these names is refused wherever it is (after `evaluate hint.x = y` options too):
# nothing else is spelled that way.
KQL_PLUGINS = frozenset({
    "http_request", "http_request_post", "sql_request", "cosmosdb_sql_request",
    "mysql_request", "postgresql_request", "azure_digital_twins_query_request", "python", "r",
    "ai_embeddings", "ai_embed_text", "ai_chat_completion", "ai_chat_completion_prompt"})
# KQL operators and functions that read from outside the workspace.
_KQL_EXTERNAL = frozenset({"externaldata", "external_table", "cluster", "adx"})


def check_kql(text: str) -> list[PlanIssue]:
    """The KQL checks (see the module docstring) on `kql.lex` tokens."""
    try:
        tokens = tokenize(text)
    except QueryError as e:
        return [from_error(e)]
    return kql_token_issues(text, tokens)


def kql_token_issues(text: str, tokens: list[Token]) -> list[PlanIssue]:
    """The KQL checks on tokens the caller has (the KQL parser refuses with the first)."""
    issues: list[PlanIssue] = []
    for k, t in enumerate(tokens[:-1]):
        prev, nxt = (tokens[k - 1] if k else None), tokens[k + 1]
        found = None
        if t.is_op(".") and nxt.kind == "ident" and _starts_statement(text, prev, t):
            found = f"'.{nxt.text}' is a control command: KQL control commands are not " \
                    "allowed, only queries that read"
        elif t.kind == "ident" and not (prev is not None and prev.is_op(".")):
            name = str(t.value).lower()
            if name in KQL_PLUGINS and nxt.is_op("("):
                found = f"the plugin '{t.text}' calls another service or runs code"
            elif name in _KQL_EXTERNAL and (nxt.is_op("(") or name == "externaldata"):
                found = f"'{t.text}' reaches outside the workspace"
        if found:
            line, col = line_col(text, t.offset)
            issues.append(issue(f"line {line}, column {col}: {found}", line, col))
    return issues


def _starts_statement(text: str, prev: Token | None, dot: Token) -> bool:
    """A `.` that opens the query, a statement (after `;`) or a line: a control command."""
    if prev is None or prev.is_op(";"):
        return True
    line_start = text.rfind("\n", 0, dot.offset) + 1
    return not text[line_start:dot.offset].strip()
