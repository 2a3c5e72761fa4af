"""use_rows: the user's CSV / JSON Lines / Parquet rows, by any platform's column names; every
bad input is a clear InputError and leaves the source's rows as they were."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from lexiquery.catalog.model import Catalog
from lexiquery.engine.sandbox import Sandbox
from lexiquery.errors import InputError, UnknownSourceError
from lexiquery.ir import QueryPlan

from .conftest import NOW, iso


def count(sb: Sandbox, catalog: Catalog, source_id: str) -> int:
    plan = QueryPlan.model_validate({"source": source_id,
                                     "aggregation": {"metrics": [{"fn": "count"}]}})
    return sb.execute_plan(plan, catalog.get(source_id)).rows[0][0]


def test_jsonl_with_sql_names_and_missing_fields(sandbox: Sandbox, catalog: Catalog,
                                                 tmp_path: Path) -> None:
    p = tmp_path / "signins.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in [
        {"time_generated": iso(1), "user_principal_name": "dave@contoso.com",
         "result_type": "50126", "is_interactive": True},
        {"time_generated": iso(2), "user_principal_name": "dave@contoso.com",
         "result_type": "0", "is_interactive": False}]) + "\n")
    assert sandbox.use_rows("signin_logs", p) == 2
    got = sandbox.execute_plan(QueryPlan(source="signin_logs", project=["user", "result_code",
                                                                         "is_interactive",
                                                                         "location"],
                                         sort=[{"field": "time"}]),
                               catalog.get("signin_logs"))
    assert got.rows == [("dave@contoso.com", "0", False, None),
                        ("dave@contoso.com", "50126", True, None)]


def test_parquet_with_spl_names_and_epoch_times(sandbox: Sandbox, catalog: Catalog,
                                                tmp_path: Path) -> None:
    p = tmp_path / "web.parquet"
    t = (NOW - timedelta(hours=1)).timestamp()
    con = duckdb.connect()
    con.execute(f"COPY (SELECT {t} AS _time, 'web09' AS host, 503 AS status, 10 AS bytes "
                f"UNION ALL SELECT {t - 60}, 'web09', 200, 20) TO '{p}' (FORMAT parquet)")
    con.close()
    assert sandbox.use_rows("web_requests", p) == 2
    got = sandbox.execute_plan(QueryPlan.model_validate({
        "source": "web_requests", "time_range": {"start": {"amount": 2, "unit": "hour"}},
        "aggregation": {"metrics": [{"fn": "sum", "field": "bytes_out"}],
                        "group_by": ["host"]}}), catalog.get("web_requests"))
    assert got.rows == [("web09", 30)]


def test_tsv_and_case_insensitive_names(sandbox: Sandbox, catalog: Catalog,
                                        tmp_path: Path) -> None:
    p = tmp_path / "signins.tsv"
    p.write_text(f"TIME\tUserPrincipalName\tresulttype\n{iso(1)}\teve@contoso.com\t0\n")
    assert sandbox.use_rows("signin_logs", p) == 1
    assert count(sandbox, catalog, "signin_logs") == 1


@pytest.mark.parametrize("name,content,message", [
    ("rows.xlsx", b"PK\x03\x04", "unsupported file type '.xlsx'"),
    ("rows.csv", b"", "the file is empty"),
    ("rows.jsonl", b"", "the file is empty"),
    ("rows.csv", b"time,user\n", "the file has no rows"),
    ("rows.parquet", b"PAR1 this is not parquet at all PAR1", "not a readable Parquet file"),
    ("rows.jsonl", b'{"user": "a"\n{{{', "not a readable JSON Lines file"),
    ("rows.csv", b"time,usr,colour\n2026-03-10T10:00:00Z,a,b\n",
     "unknown columns 'usr', 'colour'; expected the field names (time, user, user_display_name"),
    ("rows.csv", b"user,UserPrincipalName\na,b\n",
     "columns 'user', 'UserPrincipalName' all mean the field 'user'"),
    ("rows.csv", b"time,user\n2026-03-10T10:00:00Z,a\nyesterday-ish,b\n",
     "rows.csv, line 3: column 'time' (field 'time', datetime) has the value 'yesterday-ish'"),
    ("rows.csv", b"time,is_interactive\n2026-03-10T10:00:00Z,perhaps\n",
     "line 2: column 'is_interactive' (field 'is_interactive', bool) has the value 'perhaps'"),
])
def test_bad_input_is_clear_and_loads_nothing(sandbox: Sandbox, catalog: Catalog,
                                              tmp_path: Path, name: str, content: bytes,
                                              message: str) -> None:
    before = count(sandbox, catalog, "signin_logs")
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(InputError) as err:
        sandbox.use_rows("signin_logs", p)
    assert message in err.value.message
    assert count(sandbox, catalog, "signin_logs") == before == 11


def test_bad_number_names_column_value_and_line(sandbox: Sandbox, catalog: Catalog,
                                                tmp_path: Path) -> None:
    p = tmp_path / "web.csv"
    p.write_text(f"TimeGenerated,scStatus\n{iso(1)},200\n{iso(2)},two hundred\n")
    with pytest.raises(InputError) as err:
        sandbox.use_rows("web_requests", p)
    assert err.value.message == ("web.csv, line 3: column 'scStatus' (field 'status', int) has "
                                 "the value 'two hundred', which is not a valid int")
    assert count(sandbox, catalog, "web_requests") == 6


def test_missing_file(sandbox: Sandbox, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        sandbox.use_rows("signin_logs", tmp_path / "nope.csv")


def test_unknown_source(sandbox: Sandbox, signin_csv: Path) -> None:
    with pytest.raises(UnknownSourceError, match="unknown source 'nope'"):
        sandbox.use_rows("nope", signin_csv)


def test_unknown_column_hint_names_platform_names(sandbox: Sandbox, tmp_path: Path) -> None:
    p = tmp_path / "rows.csv"
    p.write_text("Account\nx\n")
    with pytest.raises(InputError) as err:
        sandbox.use_rows("signin_logs", p)
    assert "KQL, SPL or SQL column names" in err.value.message
    assert err.value.hint and "catalog show signin_logs" in err.value.hint
