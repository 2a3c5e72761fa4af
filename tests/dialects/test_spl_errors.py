"""SPL parser errors: malformed searches fail with the code, line, column and hint a user needs;
writing commands are refused; constructs the IR cannot hold never crash and are never dropped
silently."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lexiquery.catalog.builtin import builtin_catalog
from lexiquery.catalog.model import Catalog, Source
from lexiquery.dialects.parsing import line_col
from lexiquery.dialects.spl.parse import UNSUPPORTED_COMMANDS, parse_spl
from lexiquery.errors import QueryError

from .cases import SIGNIN, TEST_SOURCE
from .spl_queries import AUTH_SOURCE

CATALOG = builtin_catalog()
CATALOG.add(AUTH_SOURCE)
SIGNIN_PREFIX = 'index=azure sourcetype="azure:aad:signin"'

# name: (query, code, line, column, words the hint must contain)
MALFORMED: dict[str, tuple[str, str, int, int, str | None]] = {
    "missing_pipe": (f"{SIGNIN_PREFIX} stats count by user", "syntax", 1, 43,
                     "put | before stats"),
    "double_equals_in_search": (f'{SIGNIN_PREFIX} user=="bob"', "syntax", 1, 47, "user="),
    "unclosed_quote": (f'{SIGNIN_PREFIX} user="bob\n| stats count', "syntax", 1, 48,
                       'missing "'),
    "unclosed_paren": (f"{SIGNIN_PREFIX} (user=bob OR user=alice", "syntax", 1, 43,
                       "matching ')'"),
    "stray_close_paren": (f"{SIGNIN_PREFIX} user=bob)", "syntax", 1, 51, "remove it"),
    "empty_command": (f"{SIGNIN_PREFIX} | | stats count", "syntax", 1, 43, "extra '|'"),
    "trailing_pipe": (f"{SIGNIN_PREFIX} | stats count |", "syntax", 1, 57, "after '|'"),
    "stats_by_nothing": (f"{SIGNIN_PREFIX}\n| stats count by", "syntax", 2, 17,
                         "field to group by"),
    "unknown_command": (f"{SIGNIN_PREFIX}\n| stast count by user", "syntax", 2, 3, "stats"),
    "unknown_field_search": (f"{SIGNIN_PREFIX} usr=bob", "unknown_field", 1, 43, "user"),
    "unknown_field_where": (f'{SIGNIN_PREFIX}\n| where srcip=="1.2.3.4"', "unknown_field", 2,
                            9, "src_ip"),
    "unknown_field_stats": (f"{SIGNIN_PREFIX}\n| stats dc(srcip) by user", "unknown_field", 2,
                            12, "src_ip"),
    "unknown_sourcetype": (f"{SIGNIN_PREFIX[:-1]}s\" user=bob", "unknown_source", 1, 13,
                           "azure:aad:signin"),
    "unknown_index": ("index=firewal user=bob", "unknown_source", 1, 1, "index=firewall"),
    "no_value": (f"{SIGNIN_PREFIX} user=", "syntax", 1, 48, "user=*"),
    "unclosed_call_in_where": (f'{SIGNIN_PREFIX}\n| where like(user, "a%"', "syntax", 2, 9,
                               "missing ')'"),
    "eval_without_equals": (f"{SIGNIN_PREFIX}\n| eval x lower(user)", "syntax", 2, 10,
                            "eval x=a+1"),
    "unclosed_in_list": (f"{SIGNIN_PREFIX} user IN (a, b", "syntax", 1, 51, "close the list"),
    "unclosed_subsearch": (f"{SIGNIN_PREFIX} [search index=x", "syntax", 1, 43, "']'"),
    "empty_search": ("   ", "syntax", 1, 1, None),
    "empty_where": (f"{SIGNIN_PREFIX}\n| where", "syntax", 2, 8, None),
    "or_without_right_side": (f"{SIGNIN_PREFIX} user=a OR", "syntax", 1, 52, None),
    "sort_without_field": (f"{SIGNIN_PREFIX} | sort 0", "syntax", 1, 51, "sort 0 - count"),
    "unknown_data_model": ("| tstats count from datamodel=Authentcation by user",
                           "unknown_source", 1, 3, "Authentication"),
    "unexpected_token_in_where": (f"{SIGNIN_PREFIX}\n| where user==\"a\" \"b\"", "syntax", 2,
                                  19, "double-quoted"),
    "lookup_has_no_source": ("| inputlookup users.csv", "unknown_source", 1, 15,
                             "lookups are declared in the catalog"),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed(name: str) -> None:
    text, code, line, column, hint = MALFORMED[name]
    with pytest.raises(QueryError) as e:
        parse_spl(text, CATALOG)
    err = e.value
    assert (err.code, err.line, err.column) == (code, line, column), err.message
    assert err.issues[0]["line"] == line and err.issues[0]["column"] == column
    if hint is not None:
        assert err.hint and hint in err.hint, err.hint


def test_enough_malformed_cases() -> None:
    assert len(MALFORMED) >= 15


@pytest.mark.parametrize("command", ["delete", "outputlookup x.csv", "collect index=x",
                                     "sendemail to=a@b.invalid", "script python x.py",
                                     "run x", "map search=\"search x\"", "rest /services"])
def test_writing_commands_are_refused_at_their_position(command: str) -> None:
    text = f"{SIGNIN_PREFIX}\n| stats count by user\n| {command}"
    with pytest.raises(QueryError) as e:
        parse_spl(text, CATALOG)
    assert (e.value.code, e.value.line, e.value.column) == ("read_only", 3, 3)


def test_writing_command_refused_even_after_a_syntax_problem() -> None:
    """The guard runs before the commands are read: nothing hides a write."""
    with pytest.raises(QueryError) as e:
        parse_spl(f"{SIGNIN_PREFIX} | where ((( | delete", CATALOG)
    assert e.value.code == "read_only"


def test_quoted_pipe_is_not_a_command() -> None:
    parsed = parse_spl(f'{SIGNIN_PREFIX} app="a | delete"', CATALOG)
    assert parsed.plan.filters[0].value == "a | delete"  # type: ignore[union-attr]


def test_ambiguous_sourcetype_without_index() -> None:
    """Two sources share the sourcetype: without index= the parser cannot choose."""
    other = SIGNIN.model_copy(deep=True)
    other.id = "signin_copy"
    other.bindings.spl.search = 'index=other sourcetype="azure:aad:signin"'  # type: ignore
    catalog = Catalog([SIGNIN, other])
    with pytest.raises(QueryError) as e:
        parse_spl('sourcetype="azure:aad:signin" user=bob', catalog)
    assert e.value.code == "ambiguous" and "index=" in (e.value.hint or "")
    assert parse_spl('index=other sourcetype="azure:aad:signin"', catalog).source.id == \
        "signin_copy"


@pytest.mark.parametrize("command", sorted(UNSUPPORTED_COMMANDS))
def test_every_unsupported_command_is_reported_at_its_position(command: str) -> None:
    text = f'index=main sourcetype="test:events" user=bob\n| {command} user'
    parsed = parse_spl(text, Catalog([TEST_SOURCE]))
    issues = parsed.unsupported
    assert issues and (issues[0].line, issues[0].column) == (2, 3), command
    assert parsed.plan.filters  # what came before is kept


@given(st.text(alphabet='index=main sourcetype="test:events" |()[]`*\\\'!<>=,.-+ \n'
                        "statsuwhrc0123byASNOT", max_size=80))
@settings(max_examples=300, deadline=None)
def test_garbage_never_crashes(text: str) -> None:
    """Any text either parses or raises a positioned QueryError — nothing else."""
    try:
        parsed = parse_spl(text, Catalog([TEST_SOURCE]))
    except QueryError as e:
        assert e.line is not None and e.column is not None
        line, col = line_col(text, len(text))
        assert e.line <= line
        return
    for issue in parsed.plan.issues:
        assert issue.line is not None


def test_nothing_unsupported_is_dropped_silently() -> None:
    text = ('index=main sourcetype="test:events" mimikatz\n'
            "| rex field=user max_match=0 \"(?<dom>\\w+)\"\n"
            "| eval d=round(duration, 2)\n"
            "| stats stdev(duration) AS sd, count by host")
    parsed = parse_spl(text, Catalog([TEST_SOURCE]))
    where = [(i.line, i.column) for i in parsed.unsupported]
    assert where == [(1, 37), (2, 18), (3, 10), (4, 9)], [i.message for i in parsed.unsupported]
    assert not parsed.faithful
    assert parsed.plan.aggregation is not None and \
        [m.name for m in parsed.plan.aggregation.metrics] == ["count"]


def test_source_with_odd_binding_is_skipped_not_fatal() -> None:
    odd = Source.model_validate({**TEST_SOURCE.model_dump(), "id": "odd",
                                 "bindings": {"spl": {"search": 'index=x "unclosed',
                                                      "fields": {"user": "user"}}}})
    parsed = parse_spl('index=main sourcetype="test:events"', Catalog([odd, TEST_SOURCE]))
    assert parsed.source.id == "events"


@pytest.mark.parametrize("text, column", [
    (f"{SIGNIN_PREFIX} [| outputlookup users.csv]", 46),
    (f"{SIGNIN_PREFIX} | join user [search index=x | collect index=y]", 73),
])
def test_writing_commands_inside_subsearches_are_refused(text: str, column: int) -> None:
    with pytest.raises(QueryError) as e:
        parse_spl(text, CATALOG)
    assert (e.value.code, e.value.line, e.value.column) == ("read_only", 1, column)


@pytest.mark.parametrize("tail", [
    " " + "(" * 3000 + "user=a" + ")" * 3000,
    " " + "NOT " * 3000 + "user=a",
    " | where " + "(" * 3000 + 'user=="a"' + ")" * 3000,
    " | eval x=" + "lower(" * 3000 + "user" + ")" * 3000,
    " | eval x=" + "status + 1 - " * 3000 + "1",
])
def test_absurd_nesting_is_a_syntax_error_not_a_crash(tail: str) -> None:
    with pytest.raises(QueryError) as e:
        parse_spl('index=main sourcetype="test:events"' + tail, Catalog([TEST_SOURCE]))
    assert e.value.code == "syntax" and "deep" in e.value.message


def test_long_flat_chains_are_fine() -> None:
    text = 'index=main sourcetype="test:events" | where ' + "status>1 AND " * 2000 + "status<9"
    assert len(parse_spl(text, Catalog([TEST_SOURCE])).plan.filters) == 2001
