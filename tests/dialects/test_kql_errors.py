"""Malformed KQL: every error names its code and the line and column of the offending token,
with a hint for the common slips; control commands and external calls are refused as
read-only before anything else is read."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lexiquery.catalog.builtin import builtin_catalog
from lexiquery.dialects.kql.parse import parse_kql
from lexiquery.errors import QueryError

from .kql_queries import QUERIES

CATALOG = builtin_catalog()

# name → (query, code, line, column, words the hint must contain or None)
ERRORS: dict[str, tuple[str, str, int, int, str | None]] = {
    "assign_for_compare": ('SigninLogs\n| where ResultType = "0"', "syntax", 2, 20,
                           "use == to compare; = assigns in extend"),
    "assign_for_compare_in_and": ('SigninLogs\n| where Location == "US" and ResultType = 0',
                                  "syntax", 2, 41, "use == to compare"),
    "missing_pipe": ('SigninLogs where ResultType == "0"', "syntax", 1, 12,
                     "put | before where"),
    "missing_pipe_later": ('SigninLogs\n| where ResultType == "0"\n  summarize count()',
                           "syntax", 3, 3, "put | before summarize"),
    "unclosed_double_quote": ('SigninLogs\n| where UserPrincipalName == "alice@contoso.com',
                              "syntax", 2, 30, "close the quote"),
    "unclosed_single_quote_before_more_lines": ("SigninLogs\n| where Location == 'US\n| take 5",
                                                "syntax", 2, 21, "close the quote"),
    "unclosed_verbatim": ('DeviceProcessEvents | where FolderPath matches regex @"(?i)temp',
                          "syntax", 1, 54, "close the quote"),
    "unclosed_paren": ('SigninLogs\n| where (ResultType == "0" and (Location == "US")', "syntax",
                       2, 9, "balanced"),
    "extra_close_paren": ('SigninLogs\n| where ResultType == "0")', "syntax", 2, 26,
                          "remove it"),
    "unknown_operator_summerize": ("SigninLogs\n| summerize count() by UserPrincipalName",
                                   "syntax", 2, 3, "did you mean summarize?"),
    "unknown_operator_projct": ("SigninLogs | projct UserPrincipalName", "syntax", 1, 14,
                                "did you mean project?"),
    "double_ampersand": ('SigninLogs | where ResultType == "0" && Location == "US"', "syntax",
                         1, 38, "use and instead of &&"),
    "double_pipe": ('SigninLogs | where ResultType == "0" || Location == "US"', "syntax", 1, 38,
                    "use or instead of ||"),
    "unknown_table": ("SignInLogs | take 10", "unknown_source", 1, 1, "did you mean SigninLogs?"),
    "unknown_table_after_let": ("let n = 5;\nSecurityEvents\n| take n", "unknown_source", 2, 1,
                                "SecurityEvent"),
    "unknown_column": ('SigninLogs\n| where UserPrincipleName == "a"', "unknown_field", 2, 9,
                       "did you mean UserPrincipalName"),
    "unknown_column_after_summarize": ("SigninLogs\n| summarize n = count() by Location\n"
                                       "| where UserPrincipalName == 'a'", "unknown_field", 3, 9,
                                       "only its outputs exist: Location, n"),
    "sort_without_by": ("Syslog | sort TimeGenerated desc", "syntax", 1, 15, "sort by"),
    "top_without_by": ("Syslog | top 10 TimeGenerated", "syntax", 1, 17, "top N by"),
    "take_not_a_number": ("Syslog | take ten", "syntax", 1, 15, None),
    "bad_datetime": ("Syslog | where TimeGenerated > datetime(2024-13-45)", "syntax", 1, 32,
                     None),
    "bad_timespan_unit": ("Syslog | where TimeGenerated > ago(5x)", "syntax", 1, 36, None),
    "unknown_escape": ("Syslog | where SyslogMessage has 'a\\qb'", "syntax", 1, 36, "verbatim"),
    "dangling_comparison": ("Syslog | where Computer ==", "syntax", 1, 27, None),
    "empty_summarize": ("Syslog | summarize", "syntax", 1, 19, None),
    "bad_let": ("let x = ;\nSyslog", "syntax", 1, 7, None),
    "only_lets": ("let x = 5;", "syntax", 1, 11, None),
    "empty": ("   // nothing here\n", "syntax", 2, 1, None),
    "missing_bin_comma": ("Syslog | summarize count() by bin(TimeGenerated 1h)", "syntax", 1, 49,
                          "separate the arguments with a comma"),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_malformed_query(name: str) -> None:
    text, code, line, column, hint = ERRORS[name]
    with pytest.raises(QueryError) as info:
        parse_kql(text, CATALOG)
    err = info.value
    assert (err.code, err.line, err.column) == (code, line, column), err.message
    assert err.message.startswith(f"line {line}, column {column}: ")
    if hint is not None:
        assert err.hint and hint in err.hint, err.hint


def test_there_are_enough_error_cases() -> None:
    assert len(ERRORS) >= 15


@pytest.mark.parametrize("text,line,column", [
    (".drop table SigninLogs", 1, 1),
    (".set-or-append Audit <| SigninLogs | take 10", 1, 1),
    ("SigninLogs | take 1;\n.drop table SigninLogs", 2, 1),
    ("let bad = externaldata(ip:string) [@\"https://example.com/ips.txt\"];\n"
     "SigninLogs | where IPAddress in (bad)", 1, 11),
    ("SigninLogs | join (externaldata(x:string) [@\"https://x\"]) on x", 1, 20),
    ("SigninLogs | evaluate http_request(\"https://example.com\")", 1, 23),
])
def test_writes_and_outside_calls_are_read_only_errors(text: str, line: int, column: int) -> None:
    with pytest.raises(QueryError) as info:
        parse_kql(text, CATALOG)
    assert (info.value.code, info.value.line, info.value.column) == ("read_only", line, column)


def test_read_only_wins_over_a_later_syntax_error() -> None:
    """A write command is refused as such even when the rest would not parse."""
    with pytest.raises(QueryError) as info:
        parse_kql(".drop table X with (((", CATALOG)
    assert info.value.code == "read_only"


def test_error_to_dict_carries_the_position() -> None:
    with pytest.raises(QueryError) as info:
        parse_kql('SigninLogs | where ResultType = "0"', CATALOG)
    d = info.value.to_dict()
    assert d["line"] == 1 and d["column"] == 31 and d["expected"] == "'=='" and d["hint"]


@pytest.mark.parametrize("text", ['search "mimikatz"', "print x = 1",
                                  "datatable(a:int) [1, 2] | take 1"])
def test_queries_without_a_table_are_refused_with_the_position(text: str) -> None:
    with pytest.raises(QueryError) as info:
        parse_kql(text, CATALOG)
    assert (info.value.code, info.value.line, info.value.column) == ("unsupported", 1, 1)


_SNIPPETS = ["|", "(", ")", "[", "]", '"', "'", "@", "=", "==", "!", "~", ".", "..", ",", ";",
             "\n", " where ", " by ", " and ", "summarize ", "ago(", "1d", "let x = 1;",
             "dynamic([", "between (", "in~", "!has", "project ", "count()", "bin(", "//",
             "TimeGenerated", "datetime(", "$left", "*", "-", "0x", "1.5h"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(QUERIES)), st.lists(
    st.tuples(st.integers(min_value=0, max_value=400), st.integers(min_value=0, max_value=6),
              st.sampled_from(_SNIPPETS)), min_size=1, max_size=4))
def test_mangled_queries_never_crash(name: str, edits: list[tuple[int, int, str]]) -> None:
    """Any text is either read or refused with a positioned QueryError — never a crash."""
    text = QUERIES[name][0]
    for at, cut, insert in edits:
        at = min(at, len(text))
        text = text[:at] + insert + text[at + cut:]
    try:
        parsed = parse_kql(text, CATALOG)
    except QueryError as e:
        assert e.line is not None and e.column is not None
        assert e.code in ("syntax", "unknown_source", "unknown_field", "read_only",
                          "unsupported")
    else:
        assert all(i.line is not None for i in parsed.unsupported)
