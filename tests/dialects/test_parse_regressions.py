"""Readings the parsers got wrong once; each test names what a user would have seen."""

from __future__ import annotations

import pytest

from lexiquery.catalog.builtin import builtin_catalog
from lexiquery.catalog.model import Platform
from lexiquery.dialects import parse
from lexiquery.ir import Condition


@pytest.mark.parametrize("sql,exact", [
    ("SELECT * FROM audit_logs WHERE UPPER(UPPER(correlation_id)) = '.b'", True),
    ("SELECT * FROM audit_logs WHERE UPPER(correlation_id) <> '0'", True),
    ("SELECT * FROM audit_logs WHERE LOWER(correlation_id) = 'Abc'", True),
    ("SELECT * FROM audit_logs WHERE LOWER(operation_name) = 'add user'", False),
])
def test_upper_and_lower_are_case_folding_only_with_a_folded_literal(sql: str, exact: bool) -> None:
    """`UPPER(x) = '.b'` can never be the case-folding idiom (a folded literal would be '.B'):
    read as folding, KQL and SPL translations matched rows SQL never returns."""
    plan = parse(sql, Platform.sql, builtin_catalog(), sql_dialect="redshift").plan
    (cond,) = [f for f in plan.filters if isinstance(f, Condition)]
    assert bool(plan.computed) is exact
    if not exact:
        assert cond.field == "operation" and cond.case_sensitive is False


def test_spl_search_naming_only_the_index_reads_as_its_one_source() -> None:
    """Runbooks write `index=wineventlog EventCode=4740`; the binding also names the source."""
    parsed = parse("index=wineventlog EventCode=4740 | stats count by user", Platform.spl,
                   builtin_catalog())
    assert parsed.plan.source == "windows_security_events"
    assert any("names only its index" in n for n in parsed.notes)


def test_spl_index_with_a_contradicting_sourcetype_is_still_refused() -> None:
    from lexiquery.errors import QueryError

    with pytest.raises(QueryError, match="no catalog source"):
        parse('index=azure sourcetype="azure:nothing" | stats count', Platform.spl,
              builtin_catalog())


def test_spl_quoted_field_name_before_in() -> None:
    """Detections write `"status.errorCode" IN (…)`; it was refused as "unexpected ','"."""
    text = 'index=azure sourcetype="azure:aad:signin" "status.errorCode" IN ("50126", "50053")'
    plan = parse(text, Platform.spl, builtin_catalog()).plan
    (cond,) = [f for f in plan.filters if isinstance(f, Condition)]
    assert (cond.field, cond.op.value, sorted(cond.value)) == ("result_code", "in",
                                                             ["50053", "50126"])


@pytest.mark.parametrize("old, new", [("makeset", "make_set"), ("makelist", "make_list")])
def test_kql_old_spellings_of_make_set_and_make_list(old: str, new: str) -> None:
    """Older detections write makeset()/makelist(); Kusto still accepts them."""
    cat = builtin_catalog()
    a = parse(f"SigninLogs | summarize {old}(IPAddress) by UserPrincipalName", Platform.kql, cat)
    b = parse(f"SigninLogs | summarize {new}(IPAddress) by UserPrincipalName", Platform.kql, cat)
    assert a.faithful and a.plan.aggregation == b.plan.aggregation
