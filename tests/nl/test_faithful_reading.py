"""Faithful reading of the question by the rules engine (issue 15), without any runbook:
negations tied to the right field and value, no invented filters, comparisons on computed
lengths, measure words the catalog knows, vague amounts, and short codes read as values.

Each rule is checked on several wordings, not only on the development set's sentences."""

from __future__ import annotations

from typing import Any

import pytest
from planchecks import NOW

from lexiquery.catalog.model import Catalog
from lexiquery.ir import And, Condition, Filter, Not, Operator, Or, QueryPlan
from lexiquery.nl.rules import ParsedQuestion, parse_question


def ask(catalog: Catalog, q: str) -> ParsedQuestion:
    return parse_question(q, catalog, now=NOW)


def facts(plan: QueryPlan) -> set[tuple[str, str, Any]]:
    """Top-level filter facts (field, op, value) with polarity read through `not`; a computed
    length reads as `length(field)`."""
    computed = {c.name: c.expr for c in plan.computed}

    def name(f: str) -> str:
        e = computed.get(f)
        if e is not None and getattr(e, "kind", "") == "call":
            return f"{e.fn.value}({e.args[0].name})"  # type: ignore[union-attr]
        return f

    def val(v: Any) -> Any:
        if isinstance(v, list):
            return tuple(sorted(str(x).lower() for x in v))
        return None if v is None else str(v).lower()

    out: set[tuple[str, str, Any]] = set()

    def walk(f: Filter, neg: bool = False) -> None:
        if isinstance(f, Condition):
            op = f"not_{f.op.value}" if neg else f.op.value
            out.add((name(f.field), op, val(f.value)))
        elif isinstance(f, Not):
            walk(f.item, not neg)
        elif isinstance(f, And) and not neg:
            for i in f.items:
                walk(i)
        elif isinstance(f, Or):
            out.add(("or", "", str(f)))

    for f in plan.filters:
        walk(f)
    return out


def fields(plan: QueryPlan) -> set[str]:
    return {f for f, _, _ in facts(plan)}


def metric(plan: QueryPlan) -> tuple[str, str | None] | None:
    if plan.aggregation is None or not plan.aggregation.metrics:
        return None
    m = plan.aggregation.metrics[0]
    return m.fn.value, m.field


def group(plan: QueryPlan) -> list[str]:
    return plan.aggregation.group_by if plan.aggregation else []


def not_understood(res: ParsedQuestion) -> str:
    return next((n for n in res.notes if n.startswith("not understood")), "")


# ------------------------------------------------------------------ negation and scope words


@pytest.mark.parametrize("q", [
    "failed logons excluding service accounts starting with svc_",
    "failed logons except service accounts that start with svc_",
    "failed logons, not service accounts beginning with svc_",
    "failed logons apart from service accounts prefixed with svc_",
])
def test_excluded_prefix_negates_the_prefix_and_drops_the_adjective(catalog: Catalog,
                                                                    q: str) -> None:
    plan = ask(catalog, q).plan
    assert ("user", "not_startswith", "svc_") in facts(plan), facts(plan)
    assert "logon_type" not in fields(plan)


@pytest.mark.parametrize("q", [
    "failed logons by service accounts starting with svc_ in the last 48 hours",
    "service accounts beginning with svc_ with failed logons today",
])
def test_explicit_prefix_explains_service_accounts(catalog: Catalog, q: str) -> None:
    plan = ask(catalog, q).plan
    assert ("user", "startswith", "svc_") in facts(plan)
    assert "logon_type" not in fields(plan)


@pytest.mark.parametrize("q,suffix", [
    ("successful logons (4624) excluding accounts ending with $ in the last day", "$"),
    ("successful logons without accounts that end with $", "$"),
    ("successful logons except accounts ending in -adm", "-adm"),
])
def test_excluded_suffix(catalog: Catalog, q: str, suffix: str) -> None:
    assert ("user", "not_endswith", suffix) in facts(ask(catalog, q).plan)


@pytest.mark.parametrize("q,values", [
    ("DNS lookups except record types A and AAAA per client in the last day", ("a", "aaaa")),
    ("dns queries excluding types MX and A", ("a", "mx")),
    ("dns queries other than record types A or AAAA", ("a", "aaaa")),
])
def test_excluded_list_of_short_codes(catalog: Catalog, q: str, values: tuple[str, ...]) -> None:
    plan = ask(catalog, q).plan
    assert ("query_type", "not_in", values) in facts(plan), facts(plan)
    assert "src_ip" not in fields(plan)


@pytest.mark.parametrize("q", ["DNS lookups of type A per client in the last hour",
                               "lookups of A records per client", "dns queries with record type A"])
def test_single_letter_type_is_a_value(catalog: Catalog, q: str) -> None:
    assert ("query_type", "eq", "a") in facts(ask(catalog, q).plan)


def test_an_article_a_is_no_value(catalog: Catalog) -> None:
    plan = ask(catalog, "a list of dns queries per client").plan
    assert "query_type" not in fields(plan)


@pytest.mark.parametrize("q,op,codes", [
    ("sign-ins from outside the US in the last 24 hours", "ne", "us"),
    ("failed sign-ins outside the US per user", "ne", "us"),
    ("sign-ins not in the US", "ne", "us"),
    ("sign-ins from the US per user in the last 7 days", "eq", "us"),
    ("sign-ins from Germany", "eq", "de"),
    ("sign-ins from the United Kingdom or France", "in", ("fr", "gb")),
    ("sign-ins outside of the US and Canada", "not_in", ("ca", "us")),
])
def test_countries_after_place_words(catalog: Catalog, q: str, op: str, codes: Any) -> None:
    assert ("location", op, codes) in facts(ask(catalog, q).plan)


def test_country_names_need_a_place_word(catalog: Catalog) -> None:
    plan = ask(catalog, "US sign-ins by user").plan  # no "from/in/outside": not a country here
    assert "location" not in fields(plan)


@pytest.mark.parametrize("q", ["dns queries per client without NXDOMAIN responses in the last hour",
                               "dns queries without NXDOMAIN per client",
                               "dns lookups per client excluding NXDOMAIN answers"])
def test_negated_known_value_lands_on_its_own_field(catalog: Catalog, q: str) -> None:
    plan = ask(catalog, q).plan
    assert ("result_code", "ne", "3") in facts(plan), facts(plan)
    assert "src_ip" not in fields(plan) and group(plan) == ["src_ip"]


@pytest.mark.parametrize("q,fname", [
    ("web requests without a user agent in the last day", "user_agent"),
    ("sign-ins with no user agent", "user_agent"),
    ("web requests per client without a referrer", "referer"),
])
def test_without_a_field_means_empty(catalog: Catalog, q: str, fname: str) -> None:
    assert (fname, "not_exists", None) in facts(ask(catalog, q).plan)


@pytest.mark.parametrize("q", ["failed logons other than sub status 0xC000006A in the last day",
                               "failed logons where sub status is not 0xC000006A",
                               "failed logons excluding sub status 0xc000006a"])
def test_hex_codes_are_values_never_hosts(catalog: Catalog, q: str) -> None:
    plan = ask(catalog, q).plan
    assert ("sub_status", "ne", "0xc000006a") in facts(plan), facts(plan)
    assert "host" not in fields(plan)


def test_a_known_hex_code_alone_picks_its_source_and_field(catalog: Catalog) -> None:
    plan = ask(catalog, "logons with sub status 0xC0000064").plan
    assert plan.source == "windows_security_events"
    assert ("sub_status", "eq", "0xc0000064") in facts(plan)


# ------------------------------------------------------------------ no invented filters


@pytest.mark.parametrize("q,bad", [
    ("users added to a security-enabled global group (event 4728)", "added"),
    ("accounts removed from a group (event 4729)", "removed"),
    ("hosts running powershell.exe", "running"),
])
def test_a_verb_after_a_plural_field_is_no_value(catalog: Catalog, q: str, bad: str) -> None:
    plan = ask(catalog, q).plan
    assert all(v != bad for _, _, v in facts(plan)), facts(plan)


@pytest.mark.parametrize("q", ["members added to the Domain Admins group (4728) in the last 30 days",
                               "who was added to the Domain Admins group (4728)"])
def test_a_capitalised_field_word_inside_a_name_is_no_field(catalog: Catalog, q: str) -> None:
    plan = ask(catalog, q).plan
    assert "user_domain" not in fields(plan) and "user" not in fields(plan)


@pytest.mark.parametrize("q", ["sum of bytes sent per user through the firewall in the last 7 days",
                               "bytes sent per user via the firewall",
                               "firewall connections per user across all devices"])
def test_function_words_are_no_names(catalog: Catalog, q: str) -> None:
    plan = ask(catalog, q).plan
    assert "user" not in fields(plan) and group(plan) == ["user"]


@pytest.mark.parametrize("q,word", [
    ("processes launched by suspicious parents on servers in the last day", "suspicious"),
    ("files downloaded by contractors from SharePoint in the last 7 days", "contractors"),
    ("sign-ins by interns today", "interns"),
])
def test_unknown_words_after_by_are_not_understood_not_errors(catalog: Catalog, q: str,
                                                            word: str) -> None:
    res = ask(catalog, q)
    assert not [i for i in res.plan.issues if i.code == "unknown_field"]
    assert word in not_understood(res)
    assert all(v != word for _, _, v in facts(res.plan))


def test_a_column_name_after_grouped_by_is_still_an_unknown_field(catalog: Catalog) -> None:
    for q in ("failed sign-ins grouped by shoe_size", "failed sign-ins by shoe_size",
              "failed sign-ins per favourite_colour"):
        res = ask(catalog, q)
        assert [i.field for i in res.plan.issues if i.code == "unknown_field"], q


@pytest.mark.parametrize("q,name", [
    ("successful logons (4624) by svc_backup in the last day", "svc_backup"),
    ("sign-ins by svc_sql01 today", "svc_sql01"),
    ("failed logons by adm_jsmith", "adm_jsmith"),
])
def test_an_account_identifier_after_by_is_the_user(catalog: Catalog, q: str, name: str) -> None:
    res = ask(catalog, q)
    assert ("user", "eq", name) in facts(res.plan), facts(res.plan)
    assert not [i for i in res.plan.issues if i.code == "unknown_field"]


def test_user_names_after_a_singular_field_still_work(catalog: Catalog) -> None:
    assert ("user", "eq", "bob") in facts(ask(catalog, "sign-ins for user bob").plan)
    assert ("host", "eq", "web01") in facts(ask(catalog, "logons on host web01").plan)


# ------------------------------------------------------------------ computed lengths


@pytest.mark.parametrize("q,fname,op,n", [
    ("dns queries where the length of the query name is more than 60", "query", "gt", "60"),
    ("dns queries for domains longer than 50 characters in the last day", "query", "gt", "50"),
    ("web requests whose url is longer than 200 characters in the last hour", "uri_path", "gt",
     "200"),
    ("command lines longer than 1000 characters on endpoints in the last day", "command_line",
     "gt", "1000"),
    ("dns queries whose domain is shorter than 5 chars", "query", "lt", "5"),
    ("web requests where the url is over 300 characters", "uri_path", "gt", "300"),
    ("process creations where the length of the command line is at least 500", "command_line",
     "ge", "500"),
])
def test_length_comparisons_are_on_a_computed_length(catalog: Catalog, q: str, fname: str,
                                                     op: str, n: str) -> None:
    plan = ask(catalog, q).plan
    assert (f"length({fname})", op, n) in facts(plan), facts(plan)
    assert fname not in fields(plan)


def test_a_plain_numeric_comparison_is_no_length(catalog: Catalog) -> None:
    plan = ask(catalog, "dns queries with response code more than 2").plan
    assert not plan.computed and ("result_code", "gt", "2") in facts(plan)


# ------------------------------------------------------------------ metric words


@pytest.mark.parametrize("q,source,m,g", [
    ("bytes sent per source ip", "firewall_events", ("sum", "bytes_out"), ["src_ip"]),
    ("source ips by bytes sent in the last 24 hours", "firewall_events", ("sum", "bytes_out"),
     ["src_ip"]),
    ("bytes received per destination ip on the firewall", "firewall_events",
     ("sum", "bytes_in"), ["dest_ip"]),
    ("sum of bytes sent per user through the firewall in the last 7 days", "firewall_events",
     ("sum", "bytes_out"), ["user"]),
    ("minimum free memory per host in the last 6 hours", "perf_counters", ("min", "value"),
     ["host"]),
    ("maximum cpu per computer", "perf_counters", ("max", "value"), ["host"]),
    ("count of distinct domains queried per client in the last hour", "dns_events",
     ("count_distinct", "query"), ["src_ip"]),
    ("number of distinct hosts each service account logged on to in the last hour",
     "windows_security_events", ("count_distinct", "host"), ["user"]),
    ("response time per url", "web_requests", ("avg", "response_time"), ["uri_path"]),
])
def test_metric_words_the_catalog_knows(catalog: Catalog, q: str, source: str,
                                        m: tuple[str, str], g: list[str]) -> None:
    plan = ask(catalog, q).plan
    assert plan.source == source
    assert metric(plan) == m and group(plan) == g, (metric(plan), group(plan))
    assert not plan.having


@pytest.mark.parametrize("q", ["distinct client IPs per url path for 404s in the last day",
                               "distinct client IPs per url path with 404s in the last day"])
def test_plural_status_codes_are_codes_not_seconds(catalog: Catalog, q: str) -> None:
    plan = ask(catalog, q).plan
    assert ("status", "eq", "404") in facts(plan)
    assert metric(plan) == ("count_distinct", "src_ip") and group(plan) == ["uri_path"]
    assert plan.time_range is not None and plan.time_range.start.amount == 1  # type: ignore


def test_seconds_after_within_stay_a_time(catalog: Catalog) -> None:
    plan = ask(catalog, "failed sign-ins within 30s").plan
    assert plan.time_range is not None


# ------------------------------------------------------------------ vague amounts


@pytest.mark.parametrize("q,m,g", [
    ("show users with too many failed sign-ins in the last day", ("count", None), ["user"]),
    ("accounts with an unusual number of failed sign-ins in the last 24 hours", ("count", None),
     ["user"]),
    ("source IPs with excessive failed windows logons in the last hour", ("count", None),
     ["src_ip"]),
    ("source IPs with failed sign-ins against a suspicious number of distinct users in the last"
     " hour", ("count_distinct", "user"), ["src_ip"]),
    ("sites with too many server errors in the last 5 minutes", ("count", None), ["site"]),
    ("users signing in from too many countries in the last 24 hours",
     ("count_distinct", "location"), ["user"]),
    ("service accounts logging on to too many hosts in the last hour",
     ("count_distinct", "host"), ["user"]),
    ("clients with lots of NXDOMAIN responses", ("count", None), ["src_ip"]),
    ("users with an abnormal amount of failed sign-ins", ("count", None), ["user"]),
])
def test_vague_amounts_count_per_entity_without_a_threshold(catalog: Catalog, q: str,
                                                            m: tuple[str, Any],
                                                            g: list[str]) -> None:
    res = ask(catalog, q)
    assert metric(res.plan) == m and group(res.plan) == g, (metric(res.plan), group(res.plan))
    assert not res.plan.having
    assert not [i for i in res.plan.issues if i.code == "unsupported"]
    for w in ("too", "many", "unusual", "suspicious", "excessive", "abnormal"):
        assert f'"{w}"' not in not_understood(res)


def test_excessive_windows_logons_are_windows_security_events(catalog: Catalog) -> None:
    plan = ask(catalog, "source IPs with excessive failed windows logons in the last hour").plan
    assert plan.source == "windows_security_events"
    assert ("event_id", "eq", "4625") in facts(plan)


def test_unusual_alone_is_still_anomaly_detection(catalog: Catalog) -> None:
    res = ask(catalog, "unusual sign-ins per user")
    assert [i.code for i in res.plan.issues] == ["unsupported"]


# ------------------------------------------------------------------ written values win


def test_a_written_code_beats_a_contradicting_concept_word(catalog: Catalog) -> None:
    res = ask(catalog, "windows logon failures (4625) excluding logon type 3 in the last 12 hours")
    assert ("event_id", "eq", "4625") in facts(res.plan)
    assert ("event_id", "eq", "4624") not in facts(res.plan)
    assert ("logon_type", "ne", "3") in facts(res.plan)
    assert any(n.startswith("filter dropped:") for n in res.notes)


def test_a_count_threshold_with_a_plain_plural_noun(catalog: Catalog) -> None:
    plan = ask(catalog, "failed logons (4625) per account with at least 5 failures in the last "
                        "10 minutes").plan
    assert [(h.op, h.value) for h in plan.having] == [(Operator.ge, 5)]  # type: ignore[union-attr]
    assert "logon_type" not in fields(plan)
