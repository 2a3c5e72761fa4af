"""The known-errors base: built-in data integrity, lookups, finding codes in text, user files."""

from __future__ import annotations

from pathlib import Path

import pytest

from lexiquery.catalog.builtin import builtin_catalog
from lexiquery.catalog.model import FieldType, Platform
from lexiquery.dialects import render
from lexiquery.errors import InputError
from lexiquery.ir import Condition, Operator, QueryPlan
from lexiquery.knowledge.known_errors.base import KnownErrorBase
from lexiquery.knowledge.known_errors.files import (builtin_errors, load_known_errors,
                                                    read_known_errors_file)
from lexiquery.knowledge.known_errors.model import SYSTEMS, KnownError, SuggestedFilter

BUILTIN = builtin_errors()
BASE = KnownErrorBase(BUILTIN)
CATALOG = builtin_catalog()


# --------------------------------------------------------------------------- built-in data


def test_builtin_base_covers_each_system_with_unique_codes() -> None:
    codes = [e.code.casefold() for e in BUILTIN]
    assert len(codes) == len(set(codes))
    counts = {s: sum(e.system == s for e in BUILTIN) for s in SYSTEMS}
    assert counts["entra"] >= 40
    assert counts["windows"] >= 45
    assert counts["ntstatus"] >= 13
    assert counts["http"] >= 20
    assert counts["splunk"] >= 9 and counts["kusto"] >= 9
    assert BASE.systems() == ["entra", "windows", "ntstatus", "http", "splunk", "kusto"]


@pytest.mark.parametrize("code", [
    "AADSTS50126", "AADSTS50053", "AADSTS50055", "AADSTS50057", "AADSTS50058", "AADSTS50072",
    "AADSTS50074", "AADSTS50076", "AADSTS50079", "AADSTS50097", "AADSTS50105", "AADSTS50125",
    "AADSTS50133", "AADSTS50140", "AADSTS50144", "AADSTS50158", "AADSTS50173", "AADSTS50034",
    "AADSTS53000", "AADSTS53001", "AADSTS53003", "AADSTS530032", "AADSTS500121", "AADSTS65001",
    "AADSTS70008", "AADSTS70011", "AADSTS70016", "AADSTS700016", "AADSTS7000215",
    "AADSTS7000222", "AADSTS90094", "AADSTS81010", "AADSTS16000", "AADSTS16003", "AADSTS51004",
    "AADSTS54000", "AADSTS90072", "AADSTS700082", "AADSTS50011", "AADSTS50020", "AADSTS50059",
    "AADSTS50128", "AADSTS50194", "AADSTS90095",
    "1102", "4624", "4625", "4634", "4647", "4648", "4656", "4662", "4663", "4670", "4672",
    "4688", "4689", "4697", "4698", "4699", "4700", "4701", "4702", "4719", "4720", "4722",
    "4723", "4724", "4725", "4726", "4728", "4729", "4732", "4733", "4738", "4740", "4756",
    "4767", "4768", "4769", "4771", "4776", "4778", "4779", "4798", "4799", "5140", "5145",
    "5156", "7045", "4104",
    "0xC000006A", "0xC0000064", "0xC000006D", "0xC000006E", "0xC000006F", "0xC0000070",
    "0xC0000071", "0xC0000072", "0xC0000193", "0xC0000234", "0xC0000224", "0xC000015B",
    "0xC0000133",
    "200", "201", "204", "301", "302", "304", "400", "401", "403", "404", "405", "408", "409",
    "413", "429", "499", "500", "502", "503", "504",
    "E_LOW_MEMORY_CONDITION", "E_QUERY_RESULT_SET_TOO_LARGE", "E_RUNAWAY_QUERY", "SEM0100",
    "SYN0002", "KQL-PARTIAL-FAILURE", "KQL-BAD-REQUEST", "KQL-THROTTLED", "KQL-TIMEOUT",
    "SPL-PARSE", "SPL-UNKNOWN-COMMAND", "SPL-JOB-FAILED", "SPL-CONCURRENCY", "SPL-AUTO-CANCELED",
    "SPL-SUBSEARCH-TRUNCATED", "SPL-DISK-SPACE", "SPL-EVAL-MALFORMED", "SPL-NO-RESULTS",
])
def test_the_codes_analysts_meet_are_in_the_base(code: str) -> None:
    error = BASE.get(code)
    assert error is not None and error.code == code
    assert error.meaning and error.action and error.title
    assert error.origin == "builtin"


def test_every_builtin_filter_names_a_real_field_with_a_value_of_its_type() -> None:
    checked = 0
    for error in BUILTIN:
        if error.filter is None:
            continue
        source = CATALOG.get(error.filter.source)
        assert source is not None, error.code
        field = source.field(error.filter.field)
        assert field is not None, error.code
        values = error.filter.value if isinstance(error.filter.value, list) else [error.filter.value]
        for value in values:
            if field.type in (FieldType.int, FieldType.long):
                assert isinstance(value, int) and not isinstance(value, bool), error.code
            else:
                assert field.type is FieldType.string and isinstance(value, str), error.code
        checked += 1
    assert checked >= 130


def test_every_builtin_filter_renders_on_each_platform_its_source_is_bound_to() -> None:
    rendered = 0
    for error in BUILTIN:
        if error.filter is None:
            continue
        source = CATALOG.get(error.filter.source)
        assert source is not None
        plan = QueryPlan(source=source.id, filters=[error.filter.condition()])
        platforms = source.bindings.platforms()
        assert platforms, source.id
        for platform in platforms:
            text = render(plan, source, platform, sql_dialect="postgres")
            value = str(error.filter.value)
            assert value.lower() in text.lower(), (error.code, platform, text)
            rendered += 1
    assert rendered >= 390


def test_the_filters_point_at_the_field_each_system_lives_in() -> None:
    assert BASE.get("50126").filter == SuggestedFilter(source="signin_logs", field="result_code",
                                                       value="50126")
    assert BASE.get("4625").filter.condition() == Condition(field="event_id", op=Operator.eq,
                                                            value=4625)
    assert BASE.get("0xC000006A").filter.field == "sub_status"
    assert BASE.get("0xC000006D").filter.field == "status"
    assert BASE.get("503").filter.source == "web_requests"
    assert BASE.get("503").filter.value == 503
    # Not in the Security log, nor in user sign-ins: no filter rather than one that finds nothing.
    for code in ("7045", "4104", "AADSTS7000215", "AADSTS7000222"):
        assert BASE.get(code).filter is None
    assert "System log" in BASE.get("7045").title
    assert "PowerShell" in BASE.get("4104").title
    kql = render(QueryPlan(source="windows_security_events",
                           filters=[BASE.get("0xC000006A").filter.condition()]),
                 CATALOG.get("windows_security_events"), Platform.kql)
    assert "SubStatus" in kql and "0xC000006A".lower() in kql.lower()


def test_builtin_errors_are_copies() -> None:
    first = builtin_errors()
    first[0].meaning = "changed"
    assert builtin_errors()[0].meaning != "changed"


# --------------------------------------------------------------------------- get


@pytest.mark.parametrize("written,code", [
    ("aadsts50126", "AADSTS50126"), ("AADSTS50126", "AADSTS50126"), ("50126", "AADSTS50126"),
    ("error 50126", "AADSTS50126"), ("  Error   50126 ", "AADSTS50126"),
    ("InvalidUserNameOrPassword", "AADSTS50126"), ("0xc000006a", "0xC000006A"),
    ("C000006A", "0xC000006A"), ("STATUS_WRONG_PASSWORD", "0xC000006A"), ("4625", "4625"),
    ("EventID 4625", "4625"), ("event id 4625", "4625"), ("Event 4625", "4625"),
    ("HTTP 503", "503"), ("status 503", "503"), ("503", "503"), ("sem0100", "SEM0100"),
    ("e_low_memory_condition", "E_LOW_MEMORY_CONDITION"),
    ("0x80DA0003", "E_QUERY_RESULT_SET_TOO_LARGE"), ("80da0003", "E_QUERY_RESULT_SET_TOO_LARGE"),
    ("spl-parse", "SPL-PARSE"), ("Unknown search command", "SPL-UNKNOWN-COMMAND"),
])
def test_get_tolerates_the_usual_spellings(written: str, code: str) -> None:
    found = BASE.get(written)
    assert found is not None and found.code == code


@pytest.mark.parametrize("written", ["", "   ", "99999", "AADSTS1", "0xC0000999", "4001",
                                     "418", "SPL-NOPE"])
def test_get_returns_none_for_codes_the_base_does_not_hold(written: str) -> None:
    assert BASE.get(written) is None


def test_later_entries_replace_earlier_ones_with_the_same_code() -> None:
    mine = KnownError(code="50126", system="entra", title="Ours", meaning="Our meaning.")
    base = KnownErrorBase([*BUILTIN, mine])
    assert len(base) == len(BUILTIN)
    assert base.get("AADSTS50126").meaning == "Our meaning."
    assert base.get("error 50126").title == "Ours"
    assert [e.code for e in base][-1] == "AADSTS50126"


def test_a_known_error_keeps_one_spelling_per_code_and_adds_the_usual_aliases() -> None:
    error = KnownError(code="aadsts50999", system="entra", title="T", meaning="M",
                       aliases=["50999", "MyName"])
    assert error.code == "AADSTS50999"
    assert error.aliases == ["50999", "MyName", "error 50999"]
    assert KnownError(code="EventID 4625", system="windows", title="T", meaning="M").code == "4625"
    assert KnownError(code="c000006a", system="ntstatus", title="T", meaning="M").code == \
        "0xC000006A"
    with pytest.raises(ValueError, match="AADSTS followed by digits"):
        KnownError(code="AADSTSX", system="entra", title="T", meaning="M")
    with pytest.raises(ValueError, match="100 to 599"):
        KnownError(code="999", system="http", title="T", meaning="M")
    with pytest.raises(ValueError, match="not one of"):
        KnownError(code="X", system="okta", title="T", meaning="M")


# --------------------------------------------------------------------------- find


def _found(text: str) -> list[tuple[str, str]]:
    return [(m.code, m.written) for m in BASE.find(text)]


@pytest.mark.parametrize("text", [
    "failed sign-ins in the last 24 hours",
    "top 10 users by failed logons",
    "connections to port 443 from the internet",
    "users with more than 500 requests per minute",
    "logons in the year 2024",
    "show me 1000 events from the firewall",
    "more than 500 errors in 5 minutes",
    "the last 4700 events on DC01",
    "we saw 4700 logons yesterday",
    "5xx errors on the checkout API",
    "response time above 4625 ms",
    "requests from 10.46.25.1 and 192.168.4624.1",
    "sign-ins from build 50126.2 of the app",
    "how many hosts in the last 7 days",
    "sign-ins that took over 50126 ms",
])
def test_ordinary_numbers_are_not_codes(text: str) -> None:
    assert BASE.find(text) == []


@pytest.mark.parametrize("text,expected", [
    ("show AADSTS50126 and aadsts53003 failures", [("AADSTS50126", "AADSTS50126"),
                                                   ("AADSTS53003", "aadsts53003")]),
    ("users with error 50053 today", [("AADSTS50053", "50053")]),
    ("sign-ins with result 50126 or 50074", [("AADSTS50126", "50126"), ("AADSTS50074", "50074")]),
    ("event 4625 on host X", [("4625", "4625")]),
    ("event id 4625", [("4625", "4625")]),
    ("EventID=4740 in the last day", [("4740", "4740")]),
    ("4625 events by host", [("4625", "4625")]),
    ("events 4624 and 4625", [("4624", "4624"), ("4625", "4625")]),
    ("compare 4624/4625 logons per user", [("4624", "4624"), ("4625", "4625")]),
    ("count windows logons 4624 by host", [("4624", "4624")]),
    ("failed logons with sub status 0xC000006A", [("0xC000006A", "0xC000006A")]),
    ("HTTP 503 from the API", [("503", "503")]),
    ("503 errors this morning", [("503", "503")]),
    ("status 503", [("503", "503")]),
    ("status code 404 by path", [("404", "404")]),
    ("the proxy returned 502 and 504", [("502", "502"), ("504", "504")]),
    ("404s on /admin", [("404", "404")]),
    ("E_LOW_MEMORY_CONDITION", [("E_LOW_MEMORY_CONDITION", "E_LOW_MEMORY_CONDITION")]),
    ("SEM0100 on my query", [("SEM0100", "SEM0100")]),
    # Pasted queries.
    ("SecurityEvent | where EventID == 4625 and LogonType == 3", [("4625", "4625")]),
    ('SecurityEvent | where EventID in ("4624", "4625")', [("4624", "4624"), ("4625", "4625")]),
    ("index=wineventlog EventCode=4740", [("4740", "4740")]),
    ('W3CIISLog | where scStatus == "503"', [("503", "503")]),
    ("index=web status=404 OR status=500", [("404", "404"), ("500", "500")]),
    ('SigninLogs | where ResultType == "50126"', [("AADSTS50126", "50126")]),
    ("SigninLogs | where ResultType == 50053", [("AADSTS50053", "50053")]),
    ('index=azure status.errorCode=50126', [("AADSTS50126", "50126")]),
    ('SecurityEvent | where SubStatus == "0xc000006a"', [("0xC000006A", "0xc000006a")]),
])
def test_codes_written_with_their_context_are_found(text: str,
                                                   expected: list[tuple[str, str]]) -> None:
    assert _found(text) == expected


@pytest.mark.parametrize("message,code", [
    ("Error in 'search' command: Unable to parse the search: Comparator '=' has an invalid term "
     "on the left hand side: status=", "SPL-PARSE"),
    ("Unknown search command 'statz'.", "SPL-UNKNOWN-COMMAND"),
    ("The search job has failed due to an error. You may be able view the job in the Job "
     "Inspector.", "SPL-JOB-FAILED"),
    ("The maximum number of concurrent historical searches on this instance has been reached.",
     "SPL-CONCURRENCY"),
    ("Search auto-canceled", "SPL-AUTO-CANCELED"),
    ("[subsearch]: Subsearch produced 50000 results, truncating to maxout 10000.",
     "SPL-SUBSEARCH-TRUNCATED"),
    ("The minimum free disk space (5000MB) reached for /opt/splunk/var/run/splunk/dispatch.",
     "SPL-DISK-SPACE"),
    ("Error in 'eval' command: The expression is malformed. Expected ).", "SPL-EVAL-MALFORMED"),
    ("No results found. Try expanding the time range.", "SPL-NO-RESULTS"),
    ("'where' operator: Failed to resolve column or scalar expression named 'Foo'", "SEM0100"),
    ("'take' operator: Failed to resolve table or column expression named 'Appquests'",
     "SEM0100"),
    ("Query could not be parsed at '|' on line [1,0]", "SYN0002"),
    ("Request is invalid and cannot be executed.", "KQL-BAD-REQUEST"),
    ("The Kusto DataEngine has failed to execute a query: 'Query result set has exceeded the "
     "internal record count limit 500000 (E_QUERY_RESULT_SET_TOO_LARGE).'",
     "E_QUERY_RESULT_SET_TOO_LARGE"),
    ("The HashJoin operator has exceeded the memory budget during evaluation. Results may be "
     "incorrect or incomplete (E_RUNAWAY_QUERY).", "E_RUNAWAY_QUERY"),
])
def test_a_pasted_error_message_is_recognised(message: str, code: str) -> None:
    codes = [m.code for m in BASE.find(message)]
    assert codes[:1] == [code]


def test_one_code_is_reported_once_where_it_first_appears_and_overlaps_keep_the_longest() -> None:
    text = ("Query execution has exceeded the allowed limits (80DA0003): The results of this "
            "query exceed the set limit of 500000 records, so not all records were returned "
            "(E_QUERY_RESULT_SET_TOO_LARGE, 0x80DA0003).")
    found = BASE.find(text)
    assert [m.code for m in found] == ["KQL-LIMITS-EXCEEDED", "E_QUERY_RESULT_SET_TOO_LARGE"]
    assert found[1].written == "80DA0003" and text[found[1].start:found[1].end] == "80DA0003"
    assert [m.code for m in BASE.find("50126, again AADSTS50126 and error 50126")] == \
        ["AADSTS50126"]
    partial = BASE.find("Partial query failure: Low memory condition (E_LOW_MEMORY_CONDITION).")
    assert [m.code for m in partial] == ["KQL-PARTIAL-FAILURE", "E_LOW_MEMORY_CONDITION"]


def test_mentions_point_at_the_text_and_carry_the_entry() -> None:
    text = "Lockouts: event 4740 then AADSTS50053"
    mentions = BASE.find(text)
    assert [text[m.start:m.end] for m in mentions] == ["4740", "AADSTS50053"]
    assert mentions[1].error.filter.value == "50053"


def test_unknown_aadsts_and_ntstatus_codes_are_reported_as_inferred() -> None:
    [entra] = BASE.find("what is AADSTS9999999?")
    assert entra.code == "AADSTS9999999" and entra.error.origin == "inferred"
    assert entra.error.filter.value == "9999999"
    [nt] = BASE.find("Status: 0xc0000999")
    assert nt.code == "0xC0000999" and nt.error.origin == "inferred"
    assert BASE.find("flags 0x00000010") == []


def test_an_sop_paragraph_yields_each_code_in_order() -> None:
    paragraph = ("1. Search SigninLogs for ResultType 50126 and 50053 over the last 24 hours. "
                 "2. On the DC, look for EventID 4740 and 4625 events with Sub Status "
                 "0xC000006A. 3. If the VPN portal returns HTTP 401 or 403, escalate.")
    assert [m.code for m in BASE.find(paragraph)] == [
        "AADSTS50126", "AADSTS50053", "4740", "4625", "0xC000006A", "401", "403"]


# --------------------------------------------------------------------------- user files


def test_a_user_yaml_file_overrides_builtin_codes_and_adds_new_ones(tmp_path: Path) -> None:
    path = tmp_path / "ours.yaml"
    path.write_text(
        "errors:\n"
        "  - code: '50126'\n"  # no system: it overrides the built-in Entra code
        "    title: Wrong password (our tenant)\n"
        "    meaning: Our users mistype; page SOC only above 20 in 5 minutes.\n"
        "  - code: APP-1001\n"
        "    system: custom\n"
        "    title: Payment gateway timeout\n"
        "    meaning: The payment provider did not answer within 30 seconds.\n"
        "    action: Check the provider status page.\n"
        "    aliases: [PGW timeout]\n"
        "    filter: {source: web_requests, field: status, value: '504'}\n", encoding="utf-8")
    base = load_known_errors([path], CATALOG)
    ours = base.get("AADSTS50126")
    assert ours.system == "entra" and ours.origin == str(path)
    assert ours.meaning.startswith("Our users mistype")
    app = base.get("app-1001")
    assert app.filter.value == 504  # typed from the catalog: status is a number
    assert [m.code for m in base.find("seeing PGW timeout and error 50126")] == \
        ["APP-1001", "AADSTS50126"]
    assert len(base) == len(BUILTIN) + 1


def test_a_plain_yaml_list_is_read_too(tmp_path: Path) -> None:
    path = tmp_path / "list.yml"
    path.write_text("- {code: 'ERR-7', meaning: Disk full on the collector.}\n", encoding="utf-8")
    [error] = read_known_errors_file(path)
    assert (error.code, error.system, error.title) == ("ERR-7", "custom", "ERR-7")


def test_a_user_csv_file_is_read_with_typed_filters(tmp_path: Path) -> None:
    path = tmp_path / "ours.csv"
    path.write_text(
        "\ufeffcode,system,title,meaning,action,aliases,source,field,op,value\n"
        "4625,windows,Failed logon,Our meaning of 4625.,Call the desk,bad logon;logon failure,"
        "windows_security_events,event_id,eq,4625\n"
        "\n"
        "ORA-01017,custom,Oracle login denied,\"Invalid username/password; logon denied.\",,"
        "ORA 1017,,,,\n"
        "APP-2,custom,Many codes,Any of them.,,,signin_logs,result_code,in,50126;50053\n"
        "APP-3,custom,Two lines,\"First line.\nSecond line.\",,,,,,\n",
        encoding="utf-8")
    errors = read_known_errors_file(path, CATALOG)
    assert [e.code for e in errors] == ["4625", "ORA-01017", "APP-2", "APP-3"]
    assert errors[3].meaning == "First line. Second line."
    assert errors[0].filter.value == 4625 and errors[0].aliases[:2] == ["bad logon",
                                                                      "logon failure"]
    assert errors[1].filter is None and errors[1].meaning.startswith("Invalid username/password")
    assert errors[2].filter.op is Operator.in_ and errors[2].filter.value == ["50126", "50053"]
    base = load_known_errors([path])
    assert base.get("EventID 4625").action == "Call the desk"
    assert [m.code for m in base.find("user got ORA-01017 twice")] == ["ORA-01017"]


def test_a_numeric_custom_code_needs_context_to_be_found(tmp_path: Path) -> None:
    path = tmp_path / "n.yaml"
    path.write_text("- {code: '7001', system: custom, meaning: Our app's queue is full.}\n",
                    encoding="utf-8")
    base = load_known_errors([path])
    assert base.find("top 7001 rows") == []
    assert [m.code for m in base.find("the app logged error 7001")] == ["7001"]


@pytest.mark.parametrize("body,needle", [
    ("- {code: X1, meaning: M, colour: red}\n", "entry 1 (code X1): unknown key 'colour'"),
    ("- {code: X1, meening: M}\n", "Did you mean 'meaning'"),
    ("- {meaning: M}\n", "entry 1: missing 'code'"),
    ("- {code: X1, meaning: ''}\n", "entry 1 (code X1): missing 'meaning'"),
    ("- {code: X1, meaning: M, filter: {source: nowhere, field: f, value: v}}\n",
     "filter source 'nowhere' is not in the catalog"),
    ("- {code: X1, meaning: M, filter: {source: signin_logs, field: result, value: v}}\n",
     "filter field 'result' is not a field of signin_logs"),
    ("- {code: X1, meaning: M, filter: {source: signin_logs, field: result_code, op: like, "
     "value: v}}\n", "unknown filter op 'like'"),
    ("- {code: X1, meaning: M, filter: {source: windows_security_events, field: event_id, "
     "value: abc}}\n", "event_id (int): 'abc' is not a whole number"),
    ("- {code: X1, meaning: M, filter: {source: signin_logs, field: result_code}}\n",
     "the filter has no 'value'"),
    ("- {code: X1, meaning: M, source: signin_logs, field: result_code, value: '1', "
     "filter: {source: signin_logs, field: result_code, value: '1'}}\n", "not both"),
    ("- {code: X1, system: okta, meaning: M}\n", "system 'okta' is not one of"),
    ("- {code: abc, system: entra, meaning: M}\n", "AADSTS followed by digits"),
    ("- {code: X1, meaning: M}\n- {code: x1, meaning: N}\n",
     "entry 2 (code x1): code x1 is already defined at entry 1 (code X1)"),
    ("errors: [1, 2]\n", "entry 1: an entry is a mapping"),
    ("colour: red\n", "a YAML file holds a list of entries"),
    ("- {code: X1, meaning: [unclosed\n", "is not valid YAML"),
])
def test_a_malformed_yaml_entry_is_a_clear_error(tmp_path: Path, body: str, needle: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_known_errors_file(path, CATALOG)
    assert str(path) in info.value.message
    assert needle in info.value.message + " " + (info.value.hint or "")
    assert info.value.issues[0]["file"] == str(path)


@pytest.mark.parametrize("body,needle", [
    ("code,meaning,colour\nX1,M,red\n", "line 1: unknown column 'colour'"),
    ("code,title\nX1,T\n", "line 1: the header has no 'meaning' column"),
    ("code,meaning\nX1,M\n,N\n", "line 3: missing 'code'"),
    ("code,meaning,source,field,value\nX1,M,signin_logs,nope,1\n",
     "line 2: filter field 'nope' is not a field of signin_logs"),
    ("code,meaning,source,field,op,value\nX1,M,signin_logs,result_code,between,1\n",
     "line 2: unknown filter op 'between'"),
    ("code,meaning,source,field\nX1,M,signin_logs,result_code\n", "the filter has no 'value'"),
    ("code,meaning\nX1,M,extra\n", "line 2: 3 cells for 2 columns"),
    ('code,meaning\nX1,"two\nlines"\nX1,again\n', "line 4: code X1 is already defined at line 2"),
])
def test_a_malformed_csv_row_is_a_clear_error(tmp_path: Path, body: str, needle: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_known_errors_file(path, CATALOG)
    assert needle in info.value.message
    assert str(path) in info.value.message


def test_without_a_catalog_unknown_sources_are_accepted_as_written(tmp_path: Path) -> None:
    path = tmp_path / "own.yaml"
    path.write_text("- {code: X1, meaning: M, filter: {source: my_app_logs, field: err, "
                    "value: 7}}\n", encoding="utf-8")
    [error] = read_known_errors_file(path)
    assert error.filter.source == "my_app_logs" and error.filter.value == 7
    with pytest.raises(InputError, match="not in the catalog"):
        read_known_errors_file(path, CATALOG)


@pytest.mark.parametrize("name", ["errors.json", "errors.txt", "errors"])
def test_an_unsupported_file_type_is_refused_with_a_hint(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_known_errors_file(path)
    assert "unsupported file type" in info.value.message
    assert ".yaml" in (info.value.hint or "") and ".csv" in (info.value.hint or "")


def test_a_missing_or_non_utf8_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_known_errors_file(tmp_path / "absent.yaml")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("code,meaning\nX1,caf\xe9\n".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        read_known_errors_file(latin)


def test_an_empty_file_adds_nothing(tmp_path: Path) -> None:
    (tmp_path / "empty.yaml").write_text("", encoding="utf-8")
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    assert read_known_errors_file(tmp_path / "empty.yaml") == []
    assert read_known_errors_file(tmp_path / "empty.csv") == []
    assert len(load_known_errors([tmp_path / "empty.yaml"])) == len(BUILTIN)


def test_a_suggested_filter_checks_its_operator() -> None:
    with pytest.raises(ValueError, match="non-empty list"):
        SuggestedFilter(source="s", field="f", op=Operator.in_, value="x")
    with pytest.raises(ValueError, match="single value"):
        SuggestedFilter(source="s", field="f", value=["x"])
    with pytest.raises(ValueError, match="takes no value"):
        SuggestedFilter(source="s", field="f", op=Operator.exists, value="x")
