"""The SPL read-only guard: commands that write, delete, send or run code, after any pipe and at
the start of any subsearch `[ … ]`, however deep (`SPL_FORBIDDEN_COMMANDS`); `| from
savedsearch:…`; and macros (`` `name` `` outside quoted values, where Splunk expands them), which
are unknown code: a macro can expand to `| delete`. Declared macros are expanded before the
guard sees the text (`spl.macros`); any that is left is refused. See `dialects.guard` for what
every guard promises."""

from __future__ import annotations

import re

from lexiquery.dialects.parsing import line_col
from lexiquery.dialects.refusals import from_error, issue
from lexiquery.dialects.spl.lex import blank_comments, blank_quoted, split_commands
from lexiquery.errors import QueryError
from lexiquery.ir import PlanIssue

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


def check_spl(text: str) -> list[PlanIssue]:
    """The SPL checks (see the module docstring): on the text with ```comments``` blanked and
    its pipeline split by `spl.lex` (which reports unclosed strings, subsearches and macros)."""
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
