"""Splunk searches as real deployments write them: their own index names, classic or XML
sourcetypes, classic and CIM field names, CIM data models through tstats."""

from __future__ import annotations

import pytest

from lexiquery.catalog.store import load_catalog
from lexiquery.dialects import parse
from lexiquery.errors import QueryError


@pytest.fixture(scope="module")
def cat():  # type: ignore[no-untyped-def]
    return load_catalog(None)


@pytest.mark.parametrize("query, source", [
    ('index=main sourcetype="WinEventLog:Security" EventCode=4625 | stats count by Account_Name,'
     ' src', "windows_security_events"),
    ("index=wineventlog sourcetype=XmlWinEventLog:Security EventCode=4624 Logon_Type=10",
     "windows_security_events"),
    ("index=linux sourcetype=syslog \"Failed password\" | stats count by host", "syslog"),
    ("index=sec sourcetype=XmlWinEventLog:Microsoft-Windows-Sysmon/Operational EventCode=1 "
     "| stats count by Image", "process_creation"),
    ("index=aws sourcetype=aws:cloudtrail eventName=DeleteTrail | stats count by "
     "sourceIPAddress", "splunk_aws_cloudtrail"),
    ("| tstats count from datamodel=Authentication where Authentication.action=failure by "
     "Authentication.user", "cim_authentication"),
    ("| tstats summariesonly=true count from datamodel=Endpoint.Processes where "
     "Processes.process_name=\"cmd.exe\" by Processes.dest Processes.user",
     "cim_endpoint_processes"),
])
def test_the_search_binds_its_source(cat, query: str, source: str) -> None:  # type: ignore[no-untyped-def]
    parsed = parse(query, "spl", cat)
    assert parsed.source.id == source
    names = {c.field for c in parsed.plan.filters if hasattr(c, "field")}
    assert "index" not in names  # the index says where the data lives, not what it is


def test_a_child_dataset_adds_its_constraint(cat) -> None:  # type: ignore[no-untyped-def]
    parsed = parse("| tstats count from datamodel=Authentication.Failed_Authentication by "
                   "Authentication.src", "spl", cat)
    assert parsed.source.id == "cim_authentication"
    assert any(getattr(f, "field", None) == "action" and f.value == "failure"  # type: ignore
               for f in parsed.plan.filters)
    assert any("Failed_Authentication" in n for n in parsed.notes)


def test_an_unknown_data_model_names_the_known_ones(cat) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(QueryError) as e:
        parse("| tstats count from datamodel=Authentcation by user", "spl", cat)
    assert "Authentication" in (e.value.hint or "")


@pytest.mark.parametrize("query, source", [
    ("`wineventlog_security` EventCode=4625 | stats count by user, src", "windows_security_events"),
    ('`sysmon` EventCode=1 Image="*\\\\rundll32.exe" | stats count by Computer',
     "process_creation"),
    ("(eventtype=wineventlog_security OR source=XmlWinEventLog:Security) EventCode=4720 "
     "| table _time user", "windows_security_events"),
    ("| tstats `security_content_summariesonly` count from datamodel=Endpoint.Processes where "
     'Processes.process_name="rundll32.exe" by Processes.dest Processes.user '
     "| `drop_dm_object_name(Processes)`", "cim_endpoint_processes"),
])
def test_security_content_macros_and_or_spellings_are_understood(cat, query: str,  # type: ignore[no-untyped-def]
                                                                 source: str) -> None:
    from lexiquery.dialects.reading import read_query

    assert read_query(query, "spl", catalog=cat).source.id == source


def test_an_output_macro_is_expanded_and_named(cat) -> None:  # type: ignore[no-untyped-def]
    """`security_content_ctime` is declared (catalog.escu_macros): its expansion is read, and
    whatever of it the reader cannot hold is reported naming the macro."""
    from lexiquery.dialects.reading import read_query

    try:
        parsed = read_query("`wineventlog_security` EventCode=4625 "
                            "| `security_content_ctime(firstTime)`", "spl", catalog=cat)
    except QueryError as e:
        assert "security_content_ctime(firstTime)" in e.message
    else:
        assert any("security_content_ctime(firstTime)" in n for n in parsed.notes)
        assert all("security_content_ctime" in i.message for i in parsed.unsupported)
