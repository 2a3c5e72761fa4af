"""SPL and staged plans (issue 16): every stage kind and every function of schema version 2
is written as SPL and read back to the same plan; the forms real detections use are read as
stages, and what the IR cannot hold is refused by name."""

from __future__ import annotations

from typing import Any

import pytest

from lexiquery.catalog.model import Catalog, Platform
from lexiquery.dialects.roundtrip import plan_diff, same_plan
from lexiquery.dialects.spl.functions import (
    cidr_regex,
    named_groups,
    plain_groups,
    rex_pattern,
)
from lexiquery.dialects.spl.parse import parse_spl
from lexiquery.dialects.spl.render_stages import render_spl
from lexiquery.errors import PlanError, QueryError
from lexiquery.ir import (
    Expand,
    Function,
    Join,
    JoinKind,
    QueryPlan,
    Step,
    TopPerGroup,
    Window,
)

from .cases import SIGNIN, TEST_SOURCE

CATALOG = Catalog([TEST_SOURCE, SIGNIN])
SOURCES = {s.id: s for s in (TEST_SOURCE, SIGNIN)}
PREFIX = 'index=main sourcetype="test:events"'


def F(name: str) -> dict[str, Any]:
    return {"kind": "field", "name": name}


def L(value: Any) -> dict[str, Any]:
    return {"kind": "literal", "value": value}


def C(fn: str, *args: Any) -> dict[str, Any]:
    return {"kind": "call", "fn": fn, "args": list(args)}


def cond(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"field": field, "op": op, **({} if value is None else {"value": value})}


COUNT_BY_USER = {"metrics": [{"fn": "count", "alias": "n"}], "group_by": ["user"]}

# One plan per stage kind, in the shape the parser reads back (a step holds everything the
# fixed pipeline can: `eval … | where …` after stats is one step).
STAGED: dict[str, dict[str, Any]] = {
    "eval_after_stats": {"aggregation": COUNT_BY_USER, "stages": [
        {"kind": "step", "computed": [{"name": "big", "expr": C("mul", F("n"), L(2))}],
         "filters": [cond("big", "gt", 10)]}]},
    "second_stats_with_having": {"aggregation": {
        "metrics": [{"fn": "count", "alias": "n"}], "group_by": ["user", "host"]},
        "stages": [{"kind": "step", "aggregation": {
            "metrics": [{"fn": "count_distinct", "field": "host", "alias": "hosts"},
                        {"fn": "sum", "field": "n", "alias": "total"}],
            "group_by": ["user"]}, "having": [cond("hosts", "ge", 3)],
            "sort": [{"field": "total", "descending": True}], "limit": 20}]},
    "where_after_head": {"sort": [{"field": "time", "descending": True}], "limit": 100,
                         "stages": [{"kind": "step", "filters": [cond("status", "ge", 500)],
                                     "aggregation": {"metrics": [{"fn": "count"}],
                                                     "group_by": ["host"]}}]},
    "sort_after_head": {"limit": 50, "stages": [
        {"kind": "step", "sort": [{"field": "bytes_out", "descending": True}], "limit": 5}]},
    "expand": {"computed": [{"name": "parts", "expr": C("split", F("path"), L("/"))}],
               "stages": [{"kind": "expand", "field": "parts"},
                          {"kind": "step", "aggregation": {
                              "metrics": [{"fn": "count", "alias": "n"}],
                              "group_by": ["parts"]}}]},
    "latest_per_user": {"filters": [cond("status", "eq", 401)], "stages": [
        {"kind": "top_per_group", "by": ["user"],
         "sort": [{"field": "time", "descending": True}]}]},
    "top_three_per_host": {"stages": [
        {"kind": "top_per_group", "by": ["host", "user"], "n": 3,
         "sort": [{"field": "bytes_out", "descending": True}, {"field": "time"}]}]},
    "window_by_key": {"aggregation": COUNT_BY_USER, "stages": [
        {"kind": "window", "metrics": [{"fn": "avg", "field": "n", "alias": "avg_n"},
                                       {"fn": "max", "field": "n", "alias": "max_n"}]},
        {"kind": "step", "filters": [cond("n", "gt", 100)]}]},
    "window_over_events": {"stages": [
        {"kind": "window", "metrics": [{"fn": "count", "alias": "per_host"},
                                       {"fn": "first_seen", "alias": "host_first"}],
         "by": ["host"]}]},
    "inner_join": {"filters": [cond("status", "eq", 401)], "stages": [
        {"kind": "join", "how": "inner", "on": [{"left": "user", "right": "user"}],
         "right": {"source": "events", "filters": [cond("status", "eq", 200)],
                   "aggregation": {"metrics": [{"fn": "count", "alias": "ok_count"}],
                                   "group_by": ["user"]}}}]},
    "left_join_renamed_key": {"stages": [
        {"kind": "join", "how": "left", "on": [{"left": "host", "right": "initiator"}],
         "right": {"source": "events", "aggregation": {
             "metrics": [{"fn": "sum", "field": "bytes_out", "alias": "sent"}],
             "group_by": ["initiator"]}}}]},
    "semi_join": {"stages": [
        {"kind": "join", "how": "semi", "on": [{"left": "src_ip", "right": "src_ip"}],
         "right": {"source": "events", "filters": [cond("status", "eq", 403)],
                   "project": ["src_ip"]}},
        {"kind": "step", "aggregation": COUNT_BY_USER}]},
    "anti_join": {"aggregation": COUNT_BY_USER, "stages": [
        {"kind": "join", "how": "anti", "on": [{"left": "user", "right": "user"}],
         "right": {"source": "events", "filters": [cond("is_admin", "eq", True)],
                   "aggregation": {"metrics": [], "group_by": ["user"]}, "project": ["user"]}}]},
}

# One computed field per new function (and the chains SPL writes as one spath path).
FUNCTIONS: dict[str, dict[str, Any]] = {
    "replace": C("replace", F("path"), L("\\\\+"), L("/")),
    "split_index": C("index", C("split", F("path"), L("\\")), L(-1)),
    "member": C("member", C("parse_json", F("odd")), L("userAgent")),
    "member_chain": C("member", C("index", C("member", C("member", C("parse_json", F("odd")),
                                                           L("props")), L("items")), L(0)),
                      L("name")),
    "array_index_negative": C("index", C("member", C("parse_json", F("odd")), L("items")),
                              L(-1)),
    "array_length": C("array_length", C("member", C("parse_json", F("odd")), L("items"))),
    "array_length_split": C("array_length", C("split", F("path"), L("/"))),
    "parse_json": C("parse_json", F("odd")),
    "start_of_day": C("start_of", F("time"), L("day")),
    "start_of_week": C("start_of", F("time"), L("week")),
    "start_of_month": C("start_of", F("time"), L("month")),
    "start_of_year": C("start_of", F("time"), L("year")),
    "time_diff": C("time_diff", L("hour"), C("now"), F("time")),
    "time_diff_days_nested": C("add", C("time_diff", L("day"), C("now"), F("time")), L(1)),
    "now": C("now"),
    "trim": C("trim", F("user")),
    "true_false": {"kind": "compare", "left": F("bytes_out"), "op": "gt",
                   "right": C("mul", L(3), F("duration"))},
    "extract": C("extract", F("path"), L("^(\\w+)\\\\([^\\\\]+)$"), L(2)),
}


def _plan(body: dict[str, Any]) -> QueryPlan:
    return QueryPlan.model_validate({"source": "events", **body})


def _round_trip(plan: QueryPlan) -> str:
    text = render_spl(plan, TEST_SOURCE, SOURCES.get)
    parsed = parse_spl(text, CATALOG)
    errors = [i.message for i in parsed.plan.issues if i.severity.value == "error"]
    assert not errors, f"{text}\n{errors}"
    assert same_plan(parsed.plan, plan, TEST_SOURCE, Platform.spl), \
        f"{text}\n" + "\n".join(plan_diff(plan, parsed.plan, TEST_SOURCE, Platform.spl))
    return text


@pytest.mark.parametrize("name", list(STAGED))
def test_every_stage_kind_round_trips(name: str) -> None:
    _round_trip(_plan(STAGED[name]))


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_every_new_function_round_trips(name: str) -> None:
    _round_trip(_plan({"computed": [{"name": "out", "expr": FUNCTIONS[name]}],
                       "project": ["user", "out"]}))


def test_the_stage_kinds_and_functions_are_all_covered() -> None:
    kinds = {type(s) for body in STAGED.values() for s in _plan(body).stages}
    assert kinds == {Step, Expand, TopPerGroup, Window, Join}
    hows = {s.how for body in STAGED.values() for s in _plan(body).stages
            if isinstance(s, Join)}
    assert hows == set(JoinKind)
    used = set()
    stack = list(FUNCTIONS.values())
    while stack:
        e = stack.pop()
        if isinstance(e, dict) and e.get("kind") == "call":
            used.add(Function(e["fn"]))
            stack += e["args"]
    assert {Function.extract, Function.replace, Function.split, Function.index,
            Function.member, Function.parse_json, Function.array_length, Function.start_of,
            Function.time_diff, Function.now, Function.trim} <= used


def test_stage_forms_as_written() -> None:
    """The SPL each stage is written as (what an analyst reads, and Splunk's limits)."""
    lines = _round_trip(_plan(STAGED["top_three_per_host"])).splitlines()
    assert lines[-1] == "| dedup 3 host user sortby -bytes_out +_time"
    assert _round_trip(_plan(STAGED["latest_per_user"])).endswith("| dedup user sortby -_time")
    text = _round_trip(_plan(STAGED["left_join_renamed_key"]))
    assert text.splitlines()[-1] == (
        '| join type=left max=0 host [search index=main sourcetype="test:events" '
        '| stats sum(bytes_out) AS sent by initiatedBy.user | rename initiatedBy.user AS host]')
    assert "| search [search " in _round_trip(_plan(STAGED["semi_join"]))
    assert "| search NOT [search " in _round_trip(_plan(STAGED["anti_join"]))
    assert "| eventstats count AS per_host, min(_time) AS host_first by host" in \
        _round_trip(_plan(STAGED["window_over_events"]))
    assert "| mvexpand parts" in _round_trip(_plan(STAGED["expand"]))


def test_function_forms_as_written() -> None:
    def text(name: str) -> str:
        plan = _plan({"computed": [{"name": "out", "expr": FUNCTIONS[name]}]})
        return render_spl(plan, TEST_SOURCE)

    assert 'out=spath(\'odd name\', "props.items{0}.name")' in text("member_chain")
    assert 'out=mvindex(spath(\'odd name\', "items{}"), -1)' in text("array_index_negative")
    assert 'out=relative_time(_time, "@w0")' in text("start_of_week")
    assert "out=floor(now() / 3600) - floor(_time / 3600)" in text("time_diff")
    assert 'rex field=file_path "^(\\\\w+)\\\\\\\\(?<out>[^\\\\\\\\]+)$"' in text("extract")


def test_extract_is_written_only_as_rex() -> None:
    inner = _plan({"computed": [{"name": "out", "expr": C(
        "upper", C("extract", F("path"), L("(a)"), L(1)))}]})
    with pytest.raises(PlanError, match="extract"):
        render_spl(inner, TEST_SOURCE)
    missing_group = _plan({"computed": [{"name": "out", "expr": C(
        "extract", F("path"), L("(a)"), L(2))}]})
    with pytest.raises(PlanError, match="existing group"):
        render_spl(missing_group, TEST_SOURCE)


def test_extract_of_the_whole_match_reads_back_as_a_group() -> None:
    plan = _plan({"computed": [{"name": "out", "expr": C(
        "extract", F("user"), L("[a-z]+@corp"), L(0))}]})
    text = render_spl(plan, TEST_SOURCE)
    assert '| rex field=user "(?<out>[a-z]+@corp)"' in text
    back = parse_spl(text, CATALOG).plan.computed[0].expr
    assert [a.value for a in back.args[1:]] == ["([a-z]+@corp)", 1]  # type: ignore


def test_cidr_ranges_are_the_regex_of_their_addresses() -> None:
    import ipaddress  # deferred: only this test
    import random
    import re

    rng = random.Random(16)
    for cidr in ["10.0.0.0/8", "172.16.0.0/12", "192.168.1.128/25", "203.0.113.7", "0.0.0.0/0"]:
        regex = cidr_regex(cidr)
        assert regex is not None
        net = ipaddress.ip_network(cidr, strict=False)
        for _ in range(2000):
            ip = ipaddress.IPv4Address(rng.getrandbits(32)) if rng.random() < 0.5 else \
                net.network_address + rng.randrange(net.num_addresses)
            assert bool(re.match(regex, str(ip))) == (ip in net), (cidr, ip)
        assert not re.match(regex, "10.256.0.1") and not re.match(regex, "10.01.0.1")
    assert cidr_regex("2001:db8::/32") is None and cidr_regex("10.0.0.0/33") is None


def test_rex_group_numbers() -> None:
    regex = r"(?<user>[^@]+)@(?:x|y)(\d+)[(](?P<rest>.*)\((?'t'z)"
    assert named_groups(regex) == [(1, "user"), (3, "rest"), (4, "t")]
    assert plain_groups(regex) == r"([^@]+)@(?:x|y)(\d+)[(](.*)\((z)"
    assert rex_pattern(r"(a)(?<b>c)(?=d)", 1, "first") == r"(?<first>a)(c)(?=d)"
    assert rex_pattern(r"(a)", 0, "all") == r"(?<all>(a))"
    assert rex_pattern(r"(a)", 2, "none") is None


def test_a_join_needs_the_sources() -> None:
    with pytest.raises(PlanError, match="no catalog was given"):
        render_spl(_plan(STAGED["inner_join"]), TEST_SOURCE)


def test_a_join_that_would_overwrite_a_column_is_refused() -> None:
    plan = _plan({"stages": [{"kind": "join", "how": "inner",
                              "on": [{"left": "user", "right": "user"}],
                              "right": {"source": "events", "project": ["user", "host"]}}]})
    with pytest.raises(PlanError):
        render_spl(plan, TEST_SOURCE, SOURCES.get)


# ------------------------------------------------------------------ detections as written


def _read(text: str) -> QueryPlan:
    return parse_spl(text, CATALOG).plan


def _errors(plan: QueryPlan) -> list[str]:
    return [i.message for i in plan.issues if i.severity.value == "error"]


def test_escu_style_outlier_search() -> None:
    plan = _read(f"{PREFIX} status=401\n"
                 "| stats count by user host\n"
                 "| eventstats avg(count) as avg_count max(count) as max_count by host\n"
                 "| eval ratio=count/avg_count\n"
                 "| where ratio > 3 AND count > 10\n"
                 "| table user host count ratio")
    assert not _errors(plan)
    window, step = plan.stages
    assert isinstance(window, Window) and window.by == ["host"]
    assert [m.name for m in window.metrics] == ["avg_count", "max_count"]
    assert isinstance(step, Step) and [c.name for c in step.computed] == ["ratio"]
    assert len(step.filters) == 2 and step.project == ["user", "host", "count", "ratio"]


def test_rex_spath_and_mvexpand() -> None:
    plan = _read(f"{PREFIX}\n"
                 '| rex field=file_path "^/home/(?<profile>[^/]+)/(?<rest>.*)"\n'
                 "| spath input=\"odd name\" path=detail.items{} output=items\n"
                 "| mvexpand items\n"
                 "| spath input=items path=name output=item_name\n"
                 "| stats dc(item_name) AS names by profile")
    assert not _errors(plan), _errors(plan)
    assert [c.name for c in plan.computed] == ["profile", "rest", "items"]
    profile = plan.computed[0].expr
    assert profile.fn is Function.extract and profile.args[2].value == 1  # type: ignore
    assert plan.computed[1].expr.args[2].value == 2  # type: ignore[union-attr]
    expand, step = plan.stages
    assert isinstance(expand, Expand) and expand.field == "items"
    assert isinstance(step, Step) and step.computed[0].expr.fn is Function.member  # type: ignore
    assert step.aggregation is not None and step.aggregation.group_by == ["profile"]


def test_dedup_forms() -> None:
    plan = _read(f"{PREFIX} status=401 | dedup user src_ip | table user src_ip _time")
    top = plan.stages[0]
    assert isinstance(top, TopPerGroup) and top.by == ["user", "src_ip"]
    assert [(s.field, s.descending) for s in top.sort] == [("time", True)]  # newest first
    plan = _read(f"{PREFIX} | stats count by user host | sort 0 - count | dedup 2 user")
    top = plan.stages[0]
    assert isinstance(top, TopPerGroup) and top.n == 2 and top.sort[0].field == "count"
    assert _errors(_read(f"{PREFIX} | stats count by user host | dedup user"))
    assert _errors(_read(f"{PREFIX} | dedup keepempty=true user"))
    distinct = _read(f"{PREFIX} | dedup user | table user")  # the distinct values
    assert not distinct.stages and distinct.aggregation is not None


def test_joins_as_detections_write_them() -> None:
    plan = _read(f"{PREFIX} status=401\n"
                 f'| join type=inner user [search {PREFIX} status=200 | stats count AS ok by user]'
                 "\n| where ok > 0")
    assert not _errors(plan)
    join = plan.stages[0]
    assert isinstance(join, Join) and join.how is JoinKind.inner
    assert join.right.aggregation is not None and join.on[0].right == "user"
    max1 = _read(f"{PREFIX} | join user [search {PREFIX} | table user host]")
    assert any("max=1" in m for m in _errors(max1))
    semi = _read(f"{PREFIX} [search {PREFIX} status=403 | fields src_ip] | stats count by user")
    assert not _errors(semi)
    assert isinstance(semi.stages[0], Join) and semi.stages[0].how is JoinKind.semi
    assert semi.stages[0].right.project == ["src_ip"]  # the keys it returns
    anti = _read(f"{PREFIX} | stats count by user | search NOT [search {PREFIX} is_admin=true "
                 "| stats count by user | fields user]")
    assert not _errors(anti) and anti.stages[0].how is JoinKind.anti  # type: ignore
    whole = _read(f"{PREFIX} [search {PREFIX} status=403]")
    assert any("whole events" in m for m in _errors(whole))


def test_where_functions() -> None:
    plan = _read(f'{PREFIX} | where like(user, "adm%") AND match(file_path, "\\\\.ps1$") '
                 "AND isnull(host) AND isnotnull(src_ip)")
    assert not _errors(plan) and len(plan.filters) == 4
    private = _read(f'{PREFIX} | where NOT (cidrmatch("10.0.0.0/8", src_ip) OR '
                    'cidrmatch("172.16.0.0/12", src_ip))')
    assert not _errors(private)
    text = render_spl(private, TEST_SOURCE)
    assert same_plan(parse_spl(text, CATALOG).plan, private, TEST_SOURCE, Platform.spl)
    assert any("network-range" in m for m in _errors(_read(
        f'{PREFIX} | where cidrmatch("2001:db8::/32", src_ip)')))
    quoted = _read(f'{PREFIX} "status.errorCode" IN (50126, 50053) | table user')
    assert not _errors(quoted) and quoted.filters[0].field == "result_code"  # type: ignore


def test_refused_by_name() -> None:
    for text, words in [
        (f"{PREFIX} | streamstats count by user", "streamstats"),
        (f"{PREFIX} | fillnull value=0 bytes_out", "fillnull of bytes_out"),
        (f"{PREFIX} | fillnull", "fills every field"),
        (f"{PREFIX} | lookup vip_users user OUTPUT level", "lookup vip_users"),
        (f'{PREFIX} | spath input="odd name"', "spath without path="),
        (f'{PREFIX} | spath input="odd name" path=a{{}}.b output=x', "{} before the end"),
        (f'{PREFIX} | rex field=user mode=sed "s/a/b/"', "rex mode=sed"),
        (f'{PREFIX} | rex field=user "(?<user>[^@]+)"', "overwrites the field 'user'"),
        (f"{PREFIX} | stats count by user | eventstats stdev(count) AS sd", "stdev(count)"),
    ]:
        errors = _errors(_read(text))
        assert any(words in m for m in errors), (text, errors)


def test_convert_ctime_is_display_only() -> None:
    plan = _read(f"{PREFIX} | stats min(_time) as firstTime count by user "
                 "| convert ctime(firstTime)")
    assert not _errors(plan) and plan.issues  # a warning says the time is shown as text
    assert _errors(_read(f"{PREFIX} | convert num(bytes_out)"))


def test_source_or_groups() -> None:
    windows = Catalog([*(s for s in _builtin() if s.id in {
        "windows_security_events", "process_creation"})])
    for text in ["(eventtype=wineventlog_security OR source=XmlWinEventLog:Security) "
                 "EventCode=4625",
                 "(index=wineventlog OR index=main) (sourcetype=XmlWinEventLog OR "
                 "sourcetype=WinEventLog) (source=XmlWinEventLog:Security OR "
                 "source=WinEventLog:Security) EventCode=4625",
                 "sourcetype=xmlwineventlog source=XmlWinEventLog:Security EventCode=4625"]:
        parsed = parse_spl(text, windows)
        assert parsed.source.id == "windows_security_events" and not parsed.plan.issues, text
        assert len(parsed.plan.filters) == 1
    with pytest.raises(QueryError) as e:
        parse_spl('(source=XmlWinEventLog:Security OR '
                  'source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational") EventCode=1',
                  windows)
    assert e.value.code == "unsupported"
    assert "windows_security_events" in str(e.value) and "process_creation" in str(e.value)


def _builtin() -> list[Any]:
    from lexiquery.catalog.builtin import builtin_catalog  # deferred: only this test needs it

    cat = builtin_catalog() if callable(builtin_catalog) else builtin_catalog
    return list(cat)


def test_count_of_a_condition() -> None:
    """`count(eval(cond)) AS n` is the sum of a 1/0 flag, and that form reads back the same."""
    plan = _read(f"{PREFIX} | stats count(eval(status>=500)) AS errors, count by host "
                 "| where errors > 3")
    assert not plan.issues
    assert [c.name for c in plan.computed] == ["errors_flag"]
    assert plan.aggregation is not None and plan.aggregation.metrics[0].field == "errors_flag"
    text = render_spl(plan, TEST_SOURCE)
    assert "| eval errors_flag=if(status>=500, 1, 0)" in text
    assert same_plan(parse_spl(text, CATALOG).plan, plan, TEST_SOURCE, Platform.spl)
    unnamed = _read(f"{PREFIX} | stats count(eval(status>=500)) by host")
    assert any("count(eval(…))" in m for m in _errors(unnamed))


def test_search_star_is_every_event() -> None:
    plan = _read(f"{PREFIX} status=500 | stats count by host | search *")
    assert not plan.issues and not plan.having


def test_a_true_false_value_is_text_in_eval() -> None:
    plan = _plan({"computed": [{"name": "big", "expr": FUNCTIONS["true_false"]}],
                  "stages": [{"kind": "step", "filters": [cond("big", "eq", True)]}]})
    text = _round_trip(plan)
    assert '| eval big=if(bytes_out>(3 * duration), "true", "false")' in text
    assert text.endswith('| where big=="true"')


def test_cim_sources_of_the_shelves_round_trip() -> None:
    """A shelf source bound to `| datamodel Model Dataset search` reads back as itself."""
    from lexiquery.config import get_settings  # deferred: only this test loads the shelves
    from lexiquery.dialects.reading import catalog_or_load

    catalog = catalog_or_load(None, [], get_settings())
    text = "| tstats count from datamodel=Web.Web where Web.status=404 by Web.src"
    parsed = parse_spl(text, catalog)
    assert not parsed.plan.issues
    back = parse_spl(render_spl(parsed.plan, parsed.source), catalog)
    assert back.source.id == parsed.source.id
    assert same_plan(back.plan, parsed.plan, parsed.source, Platform.spl)


# ------------------------------------------------------------------ lookups


WINSEC = 'index=wineventlog source="XmlWinEventLog:Security"'


def _with_lookups() -> Catalog:
    from lexiquery.catalog.builtin import builtin_catalog  # deferred: only these tests

    return builtin_catalog()


def test_lookup_is_a_left_join_with_the_lookup_table() -> None:
    catalog = _with_lookups()
    parsed = parse_spl(f"{WINSEC} EventCode=4624 | lookup threat_intel_ips ip AS src_ip "
                       "OUTPUT threat_category AS category threat_source "
                       "| where isnotnull(category) | stats count by src_ip category", catalog)
    plan = parsed.plan
    assert not plan.issues and any("left join" in n for n in parsed.notes)
    join = plan.stages[0]
    assert isinstance(join, Join) and join.how is JoinKind.left
    assert join.right.source == "threat_intel_ips"
    assert join.right.project == ["ip", "category", "threat_source"]
    assert [c.name for c in join.right.computed] == ["category"]
    text = render_spl(plan, parsed.source, catalog.get)
    assert "| join type=left max=0 src_ip [| inputlookup threat_intel_ips | eval " \
           "category=threat_category | table ip category threat_source | rename ip AS src_ip]" \
        in text
    back = parse_spl(text, catalog)
    assert not back.plan.issues
    assert same_plan(back.plan, plan, parsed.source, Platform.spl)


def test_inputlookup_reads_the_lookup_as_a_source() -> None:
    catalog = _with_lookups()
    alone = parse_spl("| inputlookup privileged_accounts | where department=\"IT\" | table user",
                      catalog)
    assert alone.source.id == "privileged_accounts" and not alone.plan.issues
    semi = parse_spl(f"{WINSEC} EventCode=4625 [| inputlookup privileged_accounts.csv "
                     "| fields user] | stats count by user", catalog).plan
    assert not _errors(semi) and semi.stages[0].how is JoinKind.semi  # type: ignore
    with pytest.raises(QueryError, match="no lookup 'nope'"):
        parse_spl("| inputlookup nope", catalog)


def test_lookups_refused_by_name() -> None:
    catalog = _with_lookups()
    for text, words in [
        (f"{WINSEC} | lookup nope user OUTPUT x", "the lookup nope"),
        (f"{WINSEC} | lookup lolbas_file_path_lookup lolbas_file_name AS process_name "
         "OUTPUT description", "WILDCARD match of lolbas_file_path_lookup.lolbas_file_name"),
        (f"{WINSEC} | lookup privileged_accounts user OUTPUTNEW owner", "OUTPUTNEW"),
        (f"{WINSEC} | lookup privileged_accounts owner AS user OUTPUT user",
         "overwrites that field"),
    ]:
        errors = _errors(parse_spl(text, catalog).plan)
        assert any(words in m for m in errors), (text, errors)


def test_where_comparing_two_expressions() -> None:
    """`where a != b` is a computed true/false flag, tested, and kept out of the output."""
    plan = _read(f"{PREFIX} | where bytes_out > 2*duration")
    assert not plan.issues
    assert plan.filters[0].field == "_f1" and "_f1" not in plan.project  # type: ignore
    assert "bytes_out" in plan.project
    hidden = _read(f"{PREFIX} | eval a=lower(user) | where a!=host | stats count by user")
    assert not hidden.issues and not hidden.project  # the stats leaves the flag out
    after = _read(f"{PREFIX} | stats avg(bytes_out) as a max(bytes_out) as m by host "
                  "| where m > 3*a")
    assert isinstance(after.stages[0], Step) and after.stages[0].project == ["host", "a", "m"]
    for plan in (plan, hidden, after):
        text = render_spl(plan, TEST_SOURCE)
        assert same_plan(parse_spl(text, CATALOG).plan, plan, TEST_SOURCE, Platform.spl), text


def test_eventstats_of_a_condition() -> None:
    plan = _read(f"{PREFIX} | eventstats count(eval(status>=500)) AS errors by host "
                 "| where errors > 3")
    assert not plan.issues
    step, window = plan.stages[:2]
    assert isinstance(step, Step) and step.computed[0].name == "errors_flag"
    assert isinstance(window, Window) and window.metrics[0].field == "errors_flag"
    assert "errors_flag" not in plan.stages[-1].project  # type: ignore[union-attr]
    text = render_spl(plan, TEST_SOURCE)
    assert same_plan(parse_spl(text, CATALOG).plan, plan, TEST_SOURCE, Platform.spl), text


def test_a_whole_source_beats_a_narrowing() -> None:
    from lexiquery.config import get_settings  # deferred: only this test loads the shelves
    from lexiquery.dialects.reading import catalog_or_load

    catalog = catalog_or_load(None, [], get_settings())
    parsed = parse_spl("index=os sourcetype=linux_secure | stats count by host", catalog)
    assert parsed.source.id != "syslog" and not parsed.plan.issues
    windows = parse_spl("(sourcetype=xmlwineventlog OR sourcetype=WinEventLog) "
                        "(source=XmlWinEventLog:System OR source=WinEventLog:System) "
                        "EventCode=7045", catalog)
    assert not windows.plan.issues and len(windows.plan.filters) == 1


def test_top_and_rare_by_a_field_keep_the_first_values_of_each_group() -> None:
    plan = _read(f"{PREFIX} | rare limit=3 showperc=f file_path by host")
    assert not plan.issues and plan.limit is None
    top = plan.stages[0]
    assert isinstance(top, TopPerGroup) and top.by == ["host"] and top.n == 3
    assert [(k.field, k.descending) for k in top.sort] == [("count", False)]
    text = render_spl(plan, TEST_SOURCE)
    assert text.endswith("| dedup 3 host sortby +count")
    assert same_plan(parse_spl(text, CATALOG).plan, plan, TEST_SOURCE, Platform.spl)


def test_a_case_insensitive_lookup_joins_on_lower_cased_keys() -> None:
    catalog = _with_lookups()
    parsed = parse_spl(f"{WINSEC} | lookup threat_intel_file_hashes file_hash AS user "
                       "OUTPUT threat_name | where isnotnull(threat_name)", catalog)
    plan = parsed.plan
    assert not plan.issues
    step, join = plan.stages[:2]
    assert isinstance(step, Step) and step.computed[0].expr.fn is Function.lower  # type: ignore
    assert isinstance(join, Join) and join.on[0].left == join.on[0].right == "_k1"
    assert join.right.computed[0].expr.fn is Function.lower  # type: ignore[union-attr]
    assert "_k1" not in plan.stages[-1].project  # type: ignore[union-attr]
    text = render_spl(plan, parsed.source, catalog.get)
    assert "| eval _k1=lower(" in text and "| join type=left max=0 _k1 [| inputlookup " in text
    assert same_plan(parse_spl(text, catalog).plan, plan, parsed.source, Platform.spl)


def test_a_json_member_used_as_an_array_is_written_with_its_elements() -> None:
    plan = _read(f'{PREFIX} | spath input="odd name" path=Parameters{{}} output=params '
                 "| mvexpand params | spath input=params path=Name output=pname "
                 "| stats count by pname")
    assert not plan.issues
    text = render_spl(plan, TEST_SOURCE)
    assert "| eval params=spath('odd name', \"Parameters{}\")\n| mvexpand params" in text
    assert "pname=spath(params, \"Name\")" in text  # a member used as a value: no {}
    assert same_plan(parse_spl(text, CATALOG).plan, plan, TEST_SOURCE, Platform.spl)


def test_a_step_projecting_every_aggregation_output_reads_back() -> None:
    # The step's projection of every output of the aggregation before it, in order, selects
    # nothing: SPL writes no `table` for it, and the round trip compares it as none.
    plan = QueryPlan.model_validate({
        "source": "events", "aggregation": {"metrics": [{"fn": "values", "field": "path"}]},
        "stages": [{"kind": "step", "project": ["values_path"]}]})
    text = render_spl(plan, TEST_SOURCE)
    assert "| table" not in text
    assert same_plan(parse_spl(text, CATALOG).plan, plan, TEST_SOURCE, Platform.spl)


def test_a_step_projecting_its_input_and_its_computed_field_reads_back() -> None:
    # After a top per group, `table a b` is fused with the `eval later=…` after it: the step
    # projects every output before it and then `later` — what it outputs without a table.
    plan = QueryPlan.model_validate({
        "source": "events", "aggregation": COUNT_BY_USER,
        "stages": [{"kind": "top_per_group", "by": ["user"], "sort": [{"field": "n"}]},
                   {"kind": "step", "project": ["user", "n"]},
                   {"kind": "step", "computed": [{"name": "later", "expr": F("user")}]}]})
    text = render_spl(plan, TEST_SOURCE)
    assert "| table" not in text
    assert same_plan(parse_spl(text, CATALOG).plan, plan, TEST_SOURCE, Platform.spl)


def test_a_fixed_start_up_to_now_reads_back() -> None:
    # `latest=now` reads back as no end; the canonical form drops an end at now before it
    # turns the fixed start into a filter, so both sides compare alike.
    plan = QueryPlan.model_validate({
        "source": "events", "time_range": {
            "start": {"kind": "absolute", "at": "2021-10-11T03:58:44Z"},
            "end": {"kind": "relative", "amount": 0, "unit": "second"}},
        "stages": [{"kind": "step", "aggregation": {"group_by": ["host"]}, "limit": 9}]})
    text = render_spl(plan, TEST_SOURCE)
    assert "latest=now" in text
    assert same_plan(parse_spl(text, CATALOG).plan, plan, TEST_SOURCE, Platform.spl)


def test_a_line_break_in_a_subsearch_value_is_kept() -> None:
    # The subsearch is written on one line: only the breaks between commands become spaces.
    plan = QueryPlan.model_validate({
        "source": "events", "stages": [{"kind": "join", "how": "anti", "right": {
            "source": "events", "filters": [cond("host", "in", ["a\nb"])],
            "project": ["user"]}, "on": [{"left": "user", "right": "user"}]}]})
    text = render_spl(plan, TEST_SOURCE, SOURCES.get)
    assert '"a\nb") | table user]' in text
    assert same_plan(parse_spl(text, CATALOG).plan, plan, TEST_SOURCE, Platform.spl)


def test_a_step_projecting_every_output_of_a_time_bucket_reads_back() -> None:
    plan = QueryPlan.model_validate({
        "source": "events", "aggregation": {"time_bucket": {"amount": 2, "unit": "second"},
                                            "metrics": [{"fn": "count"}]},
        "stages": [{"kind": "step", "project": ["time", "event_count"]}]})
    text = render_spl(plan, TEST_SOURCE)
    assert "| table" not in text
    assert same_plan(parse_spl(text, CATALOG).plan, plan, TEST_SOURCE, Platform.spl)
    swapped = plan.model_copy(update={"stages": [Step(project=["event_count", "time"])]})
    assert not same_plan(parse_spl(text, CATALOG).plan, swapped, TEST_SOURCE, Platform.spl)


def test_an_exists_beside_a_negation_of_the_same_field_is_kept() -> None:
    # `(isnotnull(f) AND f!="")` also excludes empty values: only a bare isnotnull(f), the
    # renderer's guard before a negation, folds into it.
    plan = QueryPlan.model_validate({"source": "events", "filters": [{"kind": "and", "items": [
        {"kind": "not", "item": cond("user", "has", "xB!")}, cond("user", "exists"),
        cond("host", "regex", "^a.b")]}]})  # a regex: the group is written as a where
    text = render_spl(plan, TEST_SOURCE)
    assert '(isnotnull(user) AND user!="")' in text
    read = parse_spl(text, CATALOG).plan
    assert sorted(c.op.value for c in read.filters if hasattr(c, "op")) == \
        ["exists", "regex"]  # and the Not of the contains test
    assert same_plan(read, plan, TEST_SOURCE, Platform.spl)
