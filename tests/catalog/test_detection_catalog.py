"""What the catalog knows so real detections read (issue 16): the ESCU macro pack and its
`_filter` hooks (expanded, and said so), curated sources that also answer for the reference
columns of their table, and the lookup tables detections read."""

from __future__ import annotations

import pytest
import yaml

from lexiquery.catalog.escu_macros import ESCU_MACROS, FILTER_PATTERN, escu_macros
from lexiquery.catalog.importers import import_catalog_data
from lexiquery.catalog.model import Catalog, Platform, SplMacro
from lexiquery.catalog.store import load_catalog
from lexiquery.dialects.reading import read_query
from lexiquery.dialects.spl.macros import expand_search
from lexiquery.errors import QueryError
from lexiquery.ir import iter_conditions


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return load_catalog(None)


# ── the ESCU macro pack ─────────────────────────────────────────────────────────────────────


def test_the_pack_holds_the_published_definitions() -> None:
    pack = escu_macros()
    assert pack["security_content_ctime(1)"].definition == \
        'convert timeformat="%Y-%m-%dT%H:%M:%S" ctime($field$)'
    assert pack["security_content_ctime(1)"].args == ["field"]
    # summariesonly is itself three macros deep, as ESCU ships it
    text = expand_search("`security_content_summariesonly`", pack).text
    assert text == "summariesonly=false allow_old_summaries=true fillnull_value=null"
    assert expand_search("`drop_dm_object_name(Processes)`", pack).text == \
        "rename Processes.* AS *"
    for name in ("azure_monitor_aad", "kube_audit", "process_powershell", "process_net"):
        assert name in pack and pack[name].note, name


def test_filter_macros_are_the_empty_filter_by_name_only() -> None:
    pack = escu_macros()
    assert pack["windows_lsass_minidump_via_comsvcs_filter"].definition == "search *"
    assert "search *" in pack[FILTER_PATTERN.replace("*", "anything")].note
    assert pack.get("windows_filter_helper(1)") is None  # a call with values is not the hook
    assert pack.get("filter_something") is None  # the name must end in _filter
    assert "some_detection_filter" not in set(pack)  # a pattern, not a declaration


def test_expansion_says_what_each_call_became(cat: Catalog) -> None:
    query = ("| tstats `security_content_summariesonly` count from datamodel=Endpoint.Processes "
             "where `process_net` Processes.process=*localgroup* by Processes.dest Processes.user"
             "\n| `drop_dm_object_name(Processes)`\n| `net_localgroup_admins_add_filter`")
    parsed = read_query(query, "spl", catalog=cat)
    assert parsed.source.id == "cim_endpoint_processes"
    notes = "\n".join(parsed.notes)
    assert "`security_content_summariesonly` expanded to `summariesonly=false " in notes
    assert '`process_net` expanded to `(Processes.process_name="net.exe"' in notes
    assert "`drop_dm_object_name(Processes)` expanded to `rename Processes.* AS *`" in notes
    assert "`net_localgroup_admins_add_filter` expanded to `search *`" in notes
    assert "tuned it to drop false positives" in notes  # the _filter caveat is told
    # the expansion is what was read: process_net's names are filters of the plan
    values = {str(v) for c in iter_conditions(parsed.plan.filters) if c.field == "process_name"
              for v in (c.value if isinstance(c.value, list) else [c.value])}
    assert {"net.exe", "net1.exe"} <= values, parsed.plan.filters
    assert parsed.text == query  # the text as written; positions are about it


def test_a_site_definition_wins_over_the_pack_and_the_pattern() -> None:
    site = yaml.safe_load("""
id: site_security
name: Site security events
time_field: time
fields: [{name: time, type: datetime}, {name: user, type: string}]
bindings:
  spl:
    search: index=site sourcetype=site:sec
    fields: {time: _time, user: user}
    macros:
      my_detection_filter: 'search user!="svc_*"'
      cloudtrail: index=aws_prod sourcetype=aws:cloudtrail
""")
    [source] = import_catalog_data(site, "site.yaml")
    macros = Catalog([source]).spl_macros()
    expansion = expand_search("`cloudtrail` | `my_detection_filter` | `other_filter`", macros)
    assert expansion.text == ('index=aws_prod sourcetype=aws:cloudtrail | search user!="svc_*" '
                              "| search *")
    notes = expansion.notes()
    assert notes[0] == "macro `cloudtrail` expanded to `index=aws_prod sourcetype=aws:cloudtrail`"
    assert notes[1] == 'macro `my_detection_filter` expanded to `search user!="svc_*"`'
    assert "ESCU ships" in notes[2]


def test_positions_are_told_about_the_text_as_written(cat: Catalog) -> None:
    # an unknown field after a macro: the column is where the user wrote it
    query = "`wineventlog_security` EventCode=4625 NoSuchField=1 | stats count"
    with pytest.raises(QueryError) as e:
        read_query(query, "spl", catalog=cat)
    assert e.value.code == "unknown_field"
    assert (e.value.line, e.value.column) == (1, query.index("NoSuchField") + 1)
    assert "expansion" not in e.value.message


def test_an_error_inside_an_expansion_names_the_macro(cat: Catalog) -> None:
    site = cat.get("windows_security_events")
    assert site is not None and site.bindings.spl is not None
    spl = site.bindings.spl.model_copy(update={"macros": {
        "nowhere": SplMacro(definition="sourcetype=no:such:data")}})
    mine = site.model_copy(update={"bindings": site.bindings.model_copy(update={"spl": spl})})
    with pytest.raises(QueryError) as e:
        read_query("search `nowhere` verb=create | stats count by user", "spl",
                   catalog=Catalog([mine]))
    assert e.value.code == "unknown_source"
    assert "in the expansion of the macro `nowhere` (`sourcetype=no:such:data`)" in \
        e.value.message
    assert (e.value.line, e.value.column) == (1, 8)


def test_unknown_macros_stay_refused(cat: Catalog) -> None:
    for query in ("`wineventlog_security` `not_a_macro` | stats count",
                  "`wineventlog_security` `some_detection_filter(1)` | stats count"):
        with pytest.raises(QueryError) as e:
            read_query(query, "spl", catalog=cat)
        assert e.value.code == "read_only", query


def test_every_pack_macro_has_a_valid_declaration() -> None:
    pack = escu_macros()
    assert set(pack) == set(ESCU_MACROS)
    for key, macro in pack.items():
        arity = int(key.split("(")[1].rstrip(")")) if "(" in key else 0
        assert len(macro.args) == arity, key
        assert all(f"${a}$" in macro.definition for a in macro.args), key


# ── curated sources answer for the reference columns of their tables ────────────────────────


def _translate(query: str, source: str, target: str, cat: Catalog):  # type: ignore[no-untyped-def]
    from lexiquery.operations import translate_query  # deferred: the operations layer is heavy

    return translate_query(query, source, target, catalog=cat, check=False)


def test_a_reference_column_of_a_curated_table_is_read(cat: Catalog) -> None:
    q = ("SigninLogs | where AuthenticationRequirement == 'singleFactorAuthentication' "
         "| summarize count() by UserPrincipalName")
    parsed = read_query(q, "kql", catalog=cat)
    assert parsed.source.id == "signin_logs"  # the curated source, not a bare reference table
    [cond] = list(iter_conditions(parsed.plan.filters))
    assert cond.field == "authentication_requirement"
    assert parsed.plan.aggregation is not None and parsed.plan.aggregation.group_by == ["user"]
    field = parsed.source.field("authentication_requirement")
    assert field is not None and "KQL and SQL only" in field.description and not field.synonyms
    # SigninLogs' SQL table names its columns in snake_case: the added column is one of them
    assert parsed.source.column(Platform.sql, "authentication_requirement") == \
        "authentication_requirement"
    t = _translate(q, "kql", "sql", cat)
    assert t.valid and "authentication_requirement = 'singlefactorauthentication'" in \
        t.query.lower()


def test_a_column_bound_on_one_platform_is_a_precise_not_bound(cat: Catalog) -> None:
    t = _translate("SigninLogs | where AuthenticationRequirement == 'singleFactorAuthentication' "
                   "| summarize count() by UserPrincipalName", "kql", "spl", cat)
    assert not t.valid and t.query == ""
    assert [(i.code, i.field or "authentication_requirement") for i in t.issues
            if i.severity.value == "error"] == [("not_bound", "authentication_requirement")]
    assert "authentication_requirement" in t.issues[0].message
    # and from SPL: a Sysmon field DeviceProcessEvents does not have under that name
    t = _translate('index=sysmon source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" '
                   'EventCode=1 OriginalFileName="PsExec.exe" | stats count by host',
                   "spl", "kql", cat)
    assert not t.valid and any(i.code == "not_bound" and "original_file_name" in i.message
                               for i in t.issues)


def test_windows_security_fields_of_the_same_name_translate(cat: Catalog) -> None:
    """SecurityEvent's columns and the XmlWinEventLog:Security fields are the event XML's own
    names: a column both references have is one field, bound on both."""
    t = _translate("SecurityEvent | where EventID == 4625 | summarize count() by FailureReason",
                   "kql", "spl", cat)
    assert t.valid, t.issues
    assert "FailureReason" in t.query and "EventCode=4625" in t.query
    t = _translate("`wineventlog_security` EventCode=4625 | stats count by FailureReason, "
                   "TargetUserName", "spl", "kql", cat)
    assert "FailureReason" in t.query and "TargetUserName" in t.query, t.issues


def test_curated_names_keep_answering_for_their_aliases(cat: Catalog) -> None:
    # TargetUserName is the SPL alias of the curated `user`, not a second, SPL-only field
    parsed = read_query("`wineventlog_security` EventCode=4625 TargetUserName=bob "
                        "| stats count by Computer", "spl", catalog=cat)
    assert {c.field for c in iter_conditions(parsed.plan.filters)} == {"event_id", "user"}
    assert parsed.plan.aggregation is not None and parsed.plan.aggregation.group_by == ["host"]
    src = parsed.source
    assert src.column(Platform.spl, "user") == "user"
    assert not any(f.name.startswith("target_user_name") for f in src.fields)


def test_the_builtin_catalog_alone_stays_curated() -> None:
    from lexiquery.catalog.builtin import builtin_catalog  # deferred: only this test needs it

    plain = builtin_catalog().get("signin_logs")
    assert plain is not None and plain.field("authentication_requirement") is None


# ── lookup tables ────────────────────────────────────────────────────────────────────────────


def test_the_lookups_detections_read_are_declared(cat: Catalog) -> None:
    assert {"lolbas_file_path_lookup", "privileged_accounts", "identity_lookup_expanded",
            "threat_intel_domains", "threat_intel_ips", "threat_intel_file_hashes",
            "domain_controllers", "compromised_hosts"} <= set(cat.lookups)
    table = cat.lookup("privileged_accounts")
    assert table is not None and table.keys == ["user"]
    src = cat.get(table.id)  # a join's right side finds it by id …
    assert src is not None and src.time_field is None
    assert src.target(Platform.spl) == "| inputlookup privileged_accounts"
    assert src.target(Platform.kql) == "privileged_accounts"
    assert src.column(Platform.sql, "is_privileged") == "is_privileged"
    assert table.id in cat and table.id not in cat.ids()  # … but it is not an event source
    assert all(s.id != table.id for s in cat)
    assert all(set(r) <= {f.name for f in table.fields} for r in table.rows) and table.rows


def test_how_splunk_matches_a_lookup_is_kept(cat: Catalog) -> None:
    lolbas = cat.lookup("lolbas_file_path_lookup")
    assert lolbas is not None
    assert not lolbas.exact("lolbas_file_name") and lolbas.match["lolbas_file_name"] == "wildcard"
    assert lolbas.case_sensitive is False
    threat = cat.lookup("threat_intel_ips")
    assert threat is not None and threat.exact("ip") and threat.case_sensitive is True


def test_a_lookup_declaration_is_checked() -> None:
    from lexiquery.catalog.lookups import LookupTable

    with pytest.raises(ValueError, match="unknown fields"):
        LookupTable.model_validate({"name": "x", "fields": [{"name": "a"}], "keys": ["b"]})
    with pytest.raises(ValueError):
        LookupTable.model_validate({"name": "x y", "fields": [{"name": "a"}]})
    t = LookupTable.model_validate({"name": "spl_only", "fields": [{"name": "a"}],
                                    "kql_table": "", "sql_table": "site.spl_only"})
    assert t.source().bindings.kql is None
    assert t.source().target(Platform.sql) == "site.spl_only"


# ── CIM datasets bound on other platforms ───────────────────────────────────────────────────


def test_cim_bindings_name_real_columns_on_both_sides(cat: Catalog) -> None:
    from lexiquery.catalog.cim_bindings import cim_bindings
    from lexiquery.catalog.reference import pack_tables

    kql_tables = {t.name: {c for c, _ty in t.columns} for t in pack_tables("log_analytics")[1]}
    assert cim_bindings(), "the facts are shipped"
    for sid, per in cim_bindings().items():
        src = cat.get(sid)
        assert src is not None, sid
        for platform, binding in per.items():
            assert set(binding.columns) <= {f.name for f in src.fields}, (sid, platform)
            assert src.bindings.columns(Platform(platform)) == binding.columns
            if platform == "kql":
                assert set(binding.columns.values()) <= kql_tables[binding.table], sid


def test_tstats_over_endpoint_processes_translates_to_kql(cat: Catalog) -> None:
    t = _translate("| tstats `security_content_summariesonly` count from datamodel=Endpoint.Processes"
                   " where `process_net` Processes.process=*localgroup* by Processes.dest "
                   "Processes.parent_process_name | `drop_dm_object_name(Processes)`",
                   "spl", "kql", cat)
    assert t.valid, t.issues
    assert t.query.startswith("DeviceProcessEvents")
    for column in ("FileName", "ProcessVersionInfoOriginalFileName", "ProcessCommandLine",
                   "DeviceName", "InitiatingProcessFileName"):
        assert column in t.query, column


def test_a_cim_field_without_an_exact_counterpart_is_not_bound(cat: Catalog) -> None:
    t = _translate("| tstats count from datamodel=Endpoint.Processes where "
                   "Processes.process_name=cmd.exe by Processes.user", "spl", "kql", cat)
    assert not t.valid and t.query == ""
    assert any(i.code == "not_bound" and "'user'" in i.message for i in t.issues), t.issues
    t = _translate("| tstats count from datamodel=Authentication where "
                   "Authentication.action=failure by Authentication.user", "spl", "kql", cat)
    assert not t.valid and any(i.code == "not_bound" for i in t.issues)  # left SPL-only


def test_a_filter_read_as_the_default_is_said_on_the_translation(cat: Catalog) -> None:
    t = _translate("`wineventlog_security` EventCode=4625 | stats count by user "
                   "| `brute_force_filter`", "spl", "kql", cat)
    assert t.valid, t.issues
    [caveat] = [i for i in t.issues if i.code == "macro_default"]
    assert caveat.severity.value == "info" and (caveat.line, caveat.column) == (1, 63)
    assert "`brute_force_filter` was read as `search *`" in caveat.message
    # a declared macro, even ESCU's, is not a guess about the site: no caveat
    t = _translate("`wineventlog_security` EventCode=4625 | stats count by user", "spl", "kql", cat)
    assert not [i for i in t.issues if i.code == "macro_default"]
