"""Read-only guard: refuse query text that could change data, run code or send data away.

    check_read_only(platform, text, sql_dialect=…) → [PlanIssue]   (code ``read_only``, error)

Generated queries are read-only by construction; this is the second check, and the one that
protects users who paste queries. Each language is checked on its own lexer's tokens or its
parser's tree — never on text with strings stripped by a regular expression, which a verbatim
string (`@"x\\"`) or a comment can fool. Text the lexer cannot read (an unclosed string) is a
``syntax`` issue, also of error severity: what cannot be read cannot be shown to be a read.

* KQL (`kql_lex.tokenize`): control commands (a `.` command at the start of the query, of a
  statement or of a line: `.drop table`, `.set-or-append`); `externaldata` and
  `external_table`; cross-cluster calls that name another service (`cluster()`, `adx()`); and
  plugins that reach out or run code (`evaluate http_request`, `sql_request`, `python`, `r`…).
* SPL (`spl_lex`): commands that write, delete, send or run code, after any pipe and at the
  start of any subsearch `[ … ]`, however deep (`SPL_FORBIDDEN_COMMANDS`); `| from
  savedsearch:…`; and macros (`` `name` `` outside quoted values, where Splunk expands them),
  which are unknown code: a macro can expand to `| delete`. Declared macros are expanded before the guard sees the text
  (`dialects.spl_macros`); any that is left is refused.
* SQL (`guard_sql`): one SELECT, checked on the sqlglot tree in its dialect, with each
  dialect's dangerous functions (`guard_sql_functions`) and executable comments refused.
"""

from __future__ import annotations

import re

from lexiquery.dialects.kql.lex import Token, tokenize
from lexiquery.dialects.parsing import line_col
from lexiquery.dialects.spl.lex import blank_comments, blank_quoted, split_commands
from lexiquery.dialects.sql.guard import check_sql, from_error, issue, raise_first
from lexiquery.errors import QueryError
from lexiquery.ir import PlanIssue

__all__ = ["SPL_FORBIDDEN_COMMANDS", "check_kql", "check_read_only", "check_spl", "check_sql"]

# KQL plugins (`evaluate <name>(…)`) that call another service or run code in the cluster. A
# call to one of these names is refused wherever it is (after `evaluate hint.x = y` options too):
# nothing else is spelled that way.
KQL_PLUGINS = frozenset({
    "http_request", "http_request_post", "sql_request", "cosmosdb_sql_request",
    "mysql_request", "postgresql_request", "azure_digital_twins_query_request", "python", "r",
    "ai_embeddings", "ai_embed_text", "ai_chat_completion", "ai_chat_completion_prompt"})
# KQL operators and functions that read from outside the workspace.
_KQL_EXTERNAL = frozenset({"externaldata", "external_table", "cluster", "adx"})

# SPL commands that write, delete, notify or execute. `run`/`script`/`runshellscript` execute
# external scripts; `map` runs arbitrary searches per row; `rest` calls REST endpoints on the
# search head; `savedsearch` runs a search whose text is not shown (like a macro); `dump`
# writes files; `fit` saves models; `dbxquery` runs SQL on another database.
SPL_FORBIDDEN_COMMANDS = frozenset(
    {
        "delete", "outputlookup", "outputcsv", "outputtext", "collect", "mcollect", "meventcollect",
        "tscollect", "sendemail", "sendalert", "script", "run", "runshellscript", "map", "rest",
        "dbxoutput", "dbxquery", "sendresults", "summaryindex", "sichart", "sirare", "sistats",
        "sitimechart", "sitop", "crawl", "localop", "savedsearch", "dump", "fit", "deletemodel",
    }
)
# A command starts after a pipe or at the opening of a subsearch, at any depth.
_SPL_COMMAND = re.compile(r"[|\[]\s*([A-Za-z_][A-Za-z0-9_]*)")
_SPL_FROM_SAVED = re.compile(r"\|\s*from\s+(savedsearch:)", re.IGNORECASE)
_SPL_MACRO = re.compile(r"`[^`]*`")


def check_read_only(platform: str, text: str, *, sql_dialect: str = "postgres") -> list[PlanIssue]:
    """Issues (code ``read_only``, severity error) for anything that is not a pure read, and a
    ``syntax`` issue when the text cannot be lexed; [] for a read."""
    if platform == "kql":
        return check_kql(text)
    if platform == "spl":
        return check_spl(text)
    if platform == "sql":
        return check_sql(text, sql_dialect)
    raise ValueError(f"unknown platform {platform!r}")


# ------------------------------------------------------------------------------------ KQL


def check_kql(text: str) -> list[PlanIssue]:
    """The KQL checks (see the module docstring) on `kql_lex` tokens."""
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


# ------------------------------------------------------------------------------------ SPL


def check_spl(text: str) -> list[PlanIssue]:
    """The SPL checks (see the module docstring): on the text with ```comments``` blanked and
    its pipeline split by `spl_lex` (which reports unclosed strings, subsearches and macros)."""
    clean = blank_comments(text)
    try:
        split_commands(clean)
    except QueryError as e:
        return [from_error(e)]
    issues: list[PlanIssue] = []

    def refuse(offset: int, message: str) -> None:
        line, col = line_col(text, offset)
        issues.append(issue(f"line {line}, column {col}: {message}", line, col))

    # Splunk does not expand macros inside quoted values ("foo`bar`baz" is text): only the
    # backticks outside strings call macros.
    blanked = blank_quoted(clean)
    for m in _SPL_MACRO.finditer(blanked):
        refuse(m.start(), f"the macro {text[m.start():m.end()]} is not declared in the catalog: "
                          "its expansion is unknown code (it could write or delete); declare it "
                          "under a source's spl binding 'macros', or expand it by hand")
    for m in _SPL_COMMAND.finditer(blanked):
        if m.group(1).lower() in SPL_FORBIDDEN_COMMANDS:
            refuse(m.start(1), f"the SPL command '{m.group(1)}' writes, sends or runs code")
    for m in _SPL_FROM_SAVED.finditer(blanked):
        refuse(m.start(1), "'from savedsearch:' runs a saved search whose text is not shown")
    return issues
