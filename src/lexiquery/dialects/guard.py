"""Read-only guard: refuse query text that could change data, run code or send data away.

Generated queries are read-only by construction; this is the second check, and the one that
protects users who paste queries. It works on text so it also covers queries no parser accepts.

* KQL: control commands start with ``.`` (``.drop table``, ``.set-or-append``, ``.ingest``…);
  plugins that reach out of the cluster (``externaldata``, ``evaluate http_request``,
  ``evaluate sql_request``…) are refused too.
* SPL: commands that write, delete, send or run code (``delete``, ``outputlookup``, ``collect``,
  ``sendemail``, ``script``/``run``, ``outputcsv``, ``sendalert``, ``map``…).
* SQL: only a single SELECT (or WITH … SELECT / UNION of SELECTs) is allowed; checked on the
  sqlglot tree, so ``SELECT`` inside a string literal cannot fool it.
"""

from __future__ import annotations

import re

from lexiquery.ir import PlanIssue, Severity

# KQL control commands: a line (or statement after `;`) whose first token starts with a dot.
_KQL_CONTROL = re.compile(r"(?:^|;)\s*\.[A-Za-z]", re.MULTILINE)
_KQL_EXTERNAL = re.compile(
    r"\b(externaldata|external_table|evaluate\s+(?:http_request(?:_post)?|sql_request|"
    r"cosmosdb_sql_request|mysql_request|postgresql_request|azure_digital_twins_query_request|"
    r"python|r)\b)",
    re.IGNORECASE,
)

# SPL commands that write, delete, notify or execute. `run`/`script` execute external scripts;
# `map` runs arbitrary searches per row; `rest` can call REST endpoints on the search head.
SPL_FORBIDDEN_COMMANDS = frozenset(
    {
        "delete", "outputlookup", "outputcsv", "outputtext", "collect", "mcollect", "meventcollect",
        "tscollect", "sendemail", "sendalert", "script", "run", "map", "rest", "dbxoutput",
        "dbxquery", "sendresults", "summaryindex", "sichart", "sirare", "sistats", "sitimechart",
        "sitop", "crawl", "localop",
    }
)
_SPL_COMMAND = re.compile(r"(?:^|\|)\s*([A-Za-z_][A-Za-z0-9_]*)")
_SPL_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')


def _issue(message: str) -> PlanIssue:
    return PlanIssue(code="read_only", message=message, severity=Severity.error)


def check_kql(text: str) -> list[PlanIssue]:
    issues = []
    if _KQL_CONTROL.search(_strip_kql_strings(text)):
        issues.append(_issue("KQL control commands (starting with '.') are not allowed"))
    m = _KQL_EXTERNAL.search(_strip_kql_strings(text))
    if m:
        issues.append(_issue(f"'{m.group(1)}' reaches outside the workspace and is not allowed"))
    return issues


def _strip_kql_strings(text: str) -> str:
    """Blank out string literals so a value such as ".drop" inside quotes is not a command."""
    return re.sub(r'@?"(?:[^"\\]|\\.)*"|@?\'(?:[^\'\\]|\\.)*\'', '""', text)


def check_spl(text: str) -> list[PlanIssue]:
    stripped = _SPL_QUOTED.sub('""', text)
    issues = []
    # The first segment is the base search (implicit `search`); only later segments are commands.
    for segment in stripped.split("|")[1:]:
        m = _SPL_COMMAND.match("|" + segment)
        if m and m.group(1).lower() in SPL_FORBIDDEN_COMMANDS:
            issues.append(_issue(f"SPL command '{m.group(1)}' writes, sends or runs code"))
    return issues


def check_sql(text: str, dialect: str) -> list[PlanIssue]:
    import sqlglot
    from sqlglot import exp

    try:
        statements = [s for s in sqlglot.parse(text, read=dialect) if s is not None]
    except sqlglot.errors.ParseError as e:
        return [PlanIssue(code="syntax", message=f"SQL does not parse: {e}",
                          severity=Severity.error)]
    if len(statements) != 1:
        return [_issue(f"exactly one SQL statement is allowed, found {len(statements)}")]
    stmt = statements[0]
    if not isinstance(stmt, (exp.Select, exp.Union, exp.Intersect, exp.Except)):
        return [_issue(f"only SELECT is allowed, found {stmt.key.upper()}")]
    bad = (exp.Insert, exp.Update, exp.Delete, exp.Create, exp.Drop, exp.Alter, exp.Merge,
           exp.Command, exp.Into)
    for node in stmt.walk():
        if isinstance(node, bad):
            return [_issue(f"{node.key.upper()} inside a query is not allowed")]
    return []


def check_read_only(platform: str, text: str, *, sql_dialect: str = "postgres") -> list[PlanIssue]:
    """Issues (code ``read_only``, severity error) for anything that is not a pure read."""
    if platform == "kql":
        return check_kql(text)
    if platform == "spl":
        return check_spl(text)
    if platform == "sql":
        return check_sql(text, sql_dialect)
    raise ValueError(f"unknown platform {platform!r}")
