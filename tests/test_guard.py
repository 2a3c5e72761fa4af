"""The read-only guard refuses anything that writes, deletes, sends or runs code."""

from __future__ import annotations

import pytest

from lexiquery.dialects.guard import check_read_only


@pytest.mark.parametrize("text", [
    ".drop table SigninLogs",
    "SigninLogs | take 1;\n.set-or-append T <| SigninLogs",
    "  .ingest into table T (h'https://x.invalid/a.csv')",
    "externaldata(x:string)[@'https://x.invalid/a']",
    "SigninLogs | evaluate http_request('https://x.invalid')",
    "print 1 | evaluate python(typeof(*), 'result = df')",
])
def test_kql_writes_and_external_calls_refused(text: str) -> None:
    issues = check_read_only("kql", text)
    assert issues and all(i.code == "read_only" and i.severity.value == "error" for i in issues)


@pytest.mark.parametrize("text", [
    'SigninLogs | where UserPrincipalName == ".drop table x"',
    "SigninLogs\n| where TimeGenerated > ago(1h)\n| summarize count() by bin(TimeGenerated, 5m)",
    'SecurityEvent | where CommandLine has "externaldata"',
])
def test_kql_reads_pass(text: str) -> None:
    assert check_read_only("kql", text) == []


@pytest.mark.parametrize("cmd", ["delete", "outputlookup bad.csv", "collect index=summary",
                                 "sendemail to=a@b.invalid", "script python x", "run x",
                                 "map search=\"search x\"", "outputcsv x", "rest /services"])
def test_spl_writing_commands_refused(cmd: str) -> None:
    issues = check_read_only("spl", f"index=main sourcetype=x | stats count by host | {cmd}")
    assert [i.code for i in issues] == ["read_only"]


@pytest.mark.parametrize("text", [
    'index=main "| delete" | stats count',
    "index=main delete=1 | stats count by run",
    'index=azure sourcetype="azure:aad:signin" | table user, src_ip | head 10',
])
def test_spl_reads_pass(text: str) -> None:
    assert check_read_only("spl", text) == []


@pytest.mark.parametrize("text", [
    "DELETE FROM signin_logs",
    "DROP TABLE signin_logs",
    "SELECT 1; DROP TABLE signin_logs",
    "INSERT INTO t SELECT * FROM signin_logs",
    "UPDATE signin_logs SET user_principal_name = 'x'",
    "CREATE TABLE x AS SELECT * FROM signin_logs",
    "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
])
def test_sql_anything_but_select_refused(text: str) -> None:
    issues = check_read_only("sql", text, sql_dialect="postgres")
    assert issues and issues[0].severity.value == "error"


def test_sql_select_passes_even_with_keywords_in_strings() -> None:
    sql = "SELECT * FROM signin_logs WHERE result_description = 'DROP TABLE; DELETE' LIMIT 5"
    assert check_read_only("sql", sql, sql_dialect="postgres") == []


def test_unknown_platform() -> None:
    with pytest.raises(ValueError):
        check_read_only("cobol", "x")


# ── SQL: dangerous functions per dialect, found anywhere in the tree ─────────────────────────


def _refused(text: str, dialect: str) -> list[str]:
    issues = check_read_only("sql", text, sql_dialect=dialect)
    assert issues, f"{dialect}: {text}"
    assert all(i.severity.value == "error" for i in issues)
    return [i.code for i in issues]


@pytest.mark.parametrize("dialect,call", [
    ("postgres", "pg_read_file('/etc/passwd')"),
    ("postgres", "pg_read_binary_file('/etc/passwd')"),
    ("postgres", "pg_ls_dir('.')"),
    ("postgres", "pg_stat_file('x')"),
    ("postgres", "lo_import('/etc/passwd')"),
    ("postgres", "lo_export(1, '/tmp/x')"),
    ("postgres", "dblink('host=db.invalid', 'select 1')"),
    ("postgres", "dblink_exec('host=db.invalid', 'drop table t')"),
    ("postgres", "set_config('log_statement', 'none', false)"),
    ("postgres", "pg_terminate_backend(1)"),
    ("postgres", "pg_cancel_backend(1)"),
    ("postgres", "pg_reload_conf()"),
    ("postgres", "pg_advisory_lock(1)"),
    ("postgres", "nextval('s')"),
    ("postgres", "setval('s', 1)"),
    ("postgres", "query_to_xml('delete from t', true, true, '')"),
    ("postgres", "pg_sleep(10)"),
    ("redshift", "pg_terminate_backend(1)"),
    ("mysql", "LOAD_FILE('/etc/passwd')"),
    ("mysql", "sys_exec('id')"),
    ("mysql", "SLEEP(10)"),
    ("mysql", "BENCHMARK(100000000, MD5('x'))"),
    ("mysql", "GET_LOCK('x', 10)"),
    ("sqlite", "load_extension('/tmp/x.so')"),
    ("sqlite", "readfile('/etc/passwd')"),
    ("sqlite", "writefile('/tmp/x', 'y')"),
    ("sqlite", "fts3_tokenizer('simple')"),
    ("tsql", "xp_cmdshell('dir')"),
    ("tsql", "master.dbo.xp_cmdshell('dir')"),
    ("tsql", "[xp_cmdshell]('dir')"),
    ("tsql", "sp_executesql('drop table t')"),
    ("snowflake", "SYSTEM$WHITELIST()"),
    ("snowflake", "system$cancel_all_queries()"),
    ("snowflake", "GET_PRESIGNED_URL(@s, 'x')"),
    ("clickhouse", "sleepEachRow(3)"),
    ("bigquery", "EXTERNAL_QUERY('conn', 'select 1')"),
    ("duckdb", "getenv('HOME')"),
    ("duckdb", "current_setting('allowed_directories')"),
    ("spark", "reflect('java.lang.Runtime', 'getRuntime')"),
    ("spark", "java_method('java.lang.System', 'exit', 1)"),
    ("databricks", "secret('scope', 'key')"),
    ("databricks", "ai_query('endpoint', 'x')"),
])
def test_sql_dangerous_function_refused(dialect: str, call: str) -> None:
    assert _refused(f"SELECT {call} FROM signin_logs", dialect) == ["read_only"]


@pytest.mark.parametrize("dialect,table_function", [
    ("postgres", "pg_ls_dir('.')"),
    ("postgres", "dblink('host=db.invalid', 'select 1') AS t(x text)"),
    ("tsql", "OPENROWSET('SQLNCLI', 'Server=db.invalid;', 'select 1')"),
    ("tsql", "OPENQUERY(srv, 'select 1')"),
    ("tsql", "OPENDATASOURCE('SQLNCLI', 'Data Source=db.invalid').d.s.t"),
    ("clickhouse", "file('/etc/passwd')"),
    ("clickhouse", "url('http://x.invalid/a.csv', CSV)"),
    ("clickhouse", "s3('https://x.invalid/b/k.csv')"),
    ("clickhouse", "remote('db.invalid', 'db', 't')"),
    ("clickhouse", "mysql('db.invalid:3306', 'db', 't', 'u', 'p')"),
    ("clickhouse", "executable('x.sh', 'TSV', 'a String')"),
    ("bigquery", "EXTERNAL_QUERY('conn', 'select 1')"),
    ("duckdb", "read_csv('x.csv')"),
    ("duckdb", "read_text('.tmp/secret.csv')"),
    ("duckdb", "glob('*')"),
    ("duckdb", "query('select 1')"),
    ("databricks", "read_files('/x')"),
    ("trino", "TABLE(system.query(query => 'select 1'))"),
])
def test_sql_dangerous_table_function_refused(dialect: str, table_function: str) -> None:
    assert _refused(f"SELECT * FROM {table_function}", dialect) == ["read_only"]


@pytest.mark.parametrize("text", [
    "SELECT PG_READ_FILE('/etc/passwd') FROM signin_logs",
    "SELECT Pg_Read_File('/etc/passwd') FROM signin_logs",
    "SELECT pg_read_file   ('/etc/passwd') FROM signin_logs",
    "SELECT pg_read_file /* a comment */ ('/etc/passwd') FROM signin_logs",
    "SELECT pg_read_file\n(\n'/etc/passwd')\nFROM signin_logs",
    "SELECT pg_catalog.pg_read_file('/etc/passwd') FROM signin_logs",
    'SELECT "pg_read_file"(\'/etc/passwd\') FROM signin_logs',
    'SELECT "pg_catalog"."pg_read_file"(\'/etc/passwd\') FROM signin_logs',
    "WITH f AS (SELECT pg_read_file('/etc/passwd') AS c) SELECT * FROM f",
    "SELECT * FROM (SELECT pg_read_file('/etc/passwd') AS c) AS s",
    "SELECT (SELECT pg_read_file('/etc/passwd')) AS c FROM signin_logs",
    "SELECT * FROM signin_logs WHERE user_principal_name IN (SELECT pg_read_file('/x'))",
    "SELECT * FROM signin_logs WHERE EXISTS (SELECT 1 WHERE length(pg_read_file('/x')) > 0)",
    "SELECT * FROM signin_logs WHERE user_principal_name = 'a' OR length(lo_get(1)) > 0",
    "SELECT user_principal_name FROM signin_logs UNION SELECT pg_read_file('/x')",
    "SELECT count(*) FROM signin_logs GROUP BY 1 HAVING max(pg_read_file('/x')) > ''",
    "SELECT * FROM signin_logs ORDER BY pg_read_file('/x')",
    "SELECT upper(lower(pg_read_file('/etc/passwd'))) FROM signin_logs",
    "SELECT * FROM signin_logs, LATERAL (SELECT nextval('s')) AS n",
])
def test_sql_postgres_function_variants_refused(text: str) -> None:
    assert _refused(text, "postgres") == ["read_only"]


@pytest.mark.parametrize("dialect,text", [
    ("mysql", "SELECT `load_file`('/etc/passwd') FROM signin_logs"),
    ("mysql", "SELECT * FROM signin_logs WHERE id IN (SELECT SLEEP(5))"),
    ("clickhouse", "SELECT * FROM signin_logs WHERE x IN (SELECT * FROM file('/etc/passwd'))"),
    ("clickhouse", "SELECT * FROM signin_logs WHERE x IN (SELECT * FROM FILE('/etc/passwd'))"),
    ("snowflake", "SELECT * FROM signin_logs WHERE x IN (SELECT SYSTEM$GET_PRIVATELINK())"),
    ("snowflake", "SELECT s.nextval FROM signin_logs"),
    ("snowflake", "SELECT $1 FROM @my_stage/secret.csv"),
    ("tsql", "SELECT NEXT VALUE FOR dbo.s FROM signin_logs"),
    ("tsql", "WITH c AS (SELECT * FROM OPENQUERY(srv, 'select 1')) SELECT * FROM c"),
    ("spark", "SELECT * FROM csv.`/etc/passwd`"),
    ("spark", "SELECT TRANSFORM(a) USING 'cat /etc/passwd' AS (b) FROM signin_logs"),
    ("bigquery", "SELECT * FROM ML.GENERATE_TEXT(MODEL d.m, TABLE d.t, STRUCT(0.2 AS t))"),
    ("clickhouse", "SELECT * FROM signin_logs SETTINGS max_execution_time = 0"),
])
def test_sql_other_dialect_variants_refused(dialect: str, text: str) -> None:
    assert _refused(text, dialect) == ["read_only"]


@pytest.mark.parametrize("dialect,text", [
    ("mysql", "SELECT * FROM signin_logs /*!50000 INTO OUTFILE '/tmp/x.csv' */"),
    ("mysql", "SELECT * FROM signin_logs /*!; DROP TABLE signin_logs */"),
    ("mysql", "SELECT * FROM signin_logs /*M!100000 INTO OUTFILE '/tmp/x.csv' */"),
    ("mysql", "/*! DROP TABLE signin_logs; */ SELECT * FROM signin_logs"),
    ("mysql", "SELECT * FROM signin_logs WHERE 1 = 1 /*!*/"),
    ("mariadb", "SELECT * FROM signin_logs /*M! INTO OUTFILE '/tmp/x.csv' */"),
    ("postgres", "SELECT * FROM signin_logs /*! INTO OUTFILE '/tmp/x.csv' */"),
    ("mysql", "SELECT /*+ SET_VAR(sql_mode = '') */ * FROM signin_logs"),
    ("mysql", "SELECT /*+ RESOURCE_GROUP(admin) */ * FROM signin_logs"),
    ("postgres", "SELECT /*+ Set(work_mem 1TB) */ * FROM signin_logs"),
])
def test_sql_executed_comments_refused(dialect: str, text: str) -> None:
    assert _refused(text, dialect) == ["read_only"]


@pytest.mark.parametrize("dialect,text", [
    ("postgres", "SELECT * INTO stolen FROM signin_logs"),
    ("tsql", "SELECT * INTO #stolen FROM signin_logs"),
    ("mysql", "SELECT * FROM signin_logs INTO OUTFILE '/tmp/x.csv'"),
    ("postgres", "SELECT * FROM signin_logs FOR UPDATE"),
    ("postgres", "SELECT * FROM signin_logs FOR SHARE"),
    ("mysql", "SELECT * FROM signin_logs LOCK IN SHARE MODE"),
])
def test_sql_into_and_locking_refused(dialect: str, text: str) -> None:
    assert _refused(text, dialect) == ["read_only"]


@pytest.mark.parametrize("dialect,text", [
    ("mysql", "SELECT /*+ MAX_EXECUTION_TIME(1000) */ * FROM signin_logs"),
    ("mysql", "SELECT * FROM signin_logs /* an ordinary comment */ -- and another"),
    ("mysql", "SELECT * FROM signin_logs WHERE note = '/*! not a comment */'"),
    ("postgres", "SELECT * FROM signin_logs WHERE app = 'pg_read_file(x)'"),
    ("postgres", "SELECT lower(user_principal_name), count(*) FROM signin_logs GROUP BY 1"),
    ("clickhouse", "SELECT file, url FROM signin_logs"),
    ("mysql", "SELECT sleep FROM signin_logs"),
    ("duckdb", "SELECT * FROM signin_logs WHERE user_principal_name IN (SELECT 'a')"),
])
def test_sql_harmless_lookalikes_pass(dialect: str, text: str) -> None:
    assert check_read_only("sql", text, sql_dialect=dialect) == []


def test_sql_issue_points_at_the_function() -> None:
    [issue] = check_read_only("sql", "SELECT a,\n  pg_read_file('/x') FROM t", sql_dialect="postgres")
    assert (issue.line, issue.column) == (2, 3) and "pg_read_file" in issue.message


def test_sql_unreadable_text_is_a_syntax_error_not_a_pass() -> None:
    [issue] = check_read_only("sql", "SELECT 'unclosed FROM t", sql_dialect="postgres")
    assert issue.code == "syntax" and issue.severity.value == "error" and issue.line == 1


# ── KQL: on kql_lex tokens ─────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("text", [
    'SigninLogs | where UserPrincipalName == @"x\\" | evaluate http_request("https://a.invalid") //"',
    "SigninLogs | where UserPrincipalName == @'x\\' | evaluate http_request('https://a.invalid') //'",
    'SigninLogs | where UserPrincipalName == h@"x\\" | evaluate http_request("https://a.invalid") //"',
    'SigninLogs | where UserPrincipalName == H"x" | evaluate sql_request("Server=db.invalid")',
    "SigninLogs | evaluate hint.distribution = per_node python(typeof(*), 'result = df')",
    "SigninLogs | evaluate http_request_post('https://a.invalid')",
    "SigninLogs | evaluate r(typeof(*), 'result <- df')",
    "external_table('stolen') | take 1",
    "cluster('evil.invalid').database('d').T | take 1",
    "let x = 1;\n.drop table SigninLogs",
    "// a comment\n.show databases",
    "SigninLogs | take 1\n  .drop table SigninLogs",
])
def test_kql_refusals_on_tokens(text: str) -> None:
    issues = check_read_only("kql", text)
    assert issues and all(i.code == "read_only" for i in issues)


def test_kql_text_the_lexer_cannot_read_is_an_error() -> None:
    [issue] = check_read_only("kql", 'SigninLogs | where a == "never closed')
    assert issue.code == "syntax" and issue.severity.value == "error"


@pytest.mark.parametrize("text", [
    'SigninLogs | where Url has "evaluate http_request("',
    'SigninLogs | where Path == @"C:\\dir\\" | take 1',
    "SigninLogs | extend r = 1, python = 2 | project r, python",
    "SigninLogs | extend d = parse_json(x).drop",
])
def test_kql_lookalikes_pass(text: str) -> None:
    assert check_read_only("kql", text) == []


# ── SPL: pipes and subsearches at any depth, macros ─────────────────────────────────────────


@pytest.mark.parametrize("text", [
    "index=main [search index=x | delete]",
    "index=main [| outputlookup stolen.csv]",
    "index=main [outputlookup stolen.csv]",
    "index=main [search index=x [| delete] | fields user]",
    "index=main | appendpipe [| collect index=summary]",
    "index=main | DELETE",
    "index=main | map search=\"search index=x\"",
    "index=main | script python evil",
    "index=main | runshellscript evil.sh",
    "index=main | savedsearch hidden_search",
    "| from savedsearch:hidden_search",
    "index=main `evil_macro`",
    "index=main user=\"quoted\" `evil_macro` x=\"`not_this`\"",
    "index=main | stats count by `evil(a, b)`",
])
def test_spl_refusals(text: str) -> None:
    issues = check_read_only("spl", text)
    assert issues and all(i.code == "read_only" for i in issues)


@pytest.mark.parametrize("text", [
    "index=main ```a comment with `macro` and | delete``` | stats count",
    'index=main [search index=x "| delete" | fields user]',
    # Splunk's manual: "Macros inside of quoted values are not expanded" ("foo`bar`baz").
    'index=main user="`evil_macro`"',
    'index=main CommandLine="powershell -c Write-Host `\\"hi`\\"" | stats count',
])
def test_spl_lookalikes_pass(text: str) -> None:
    assert check_read_only("spl", text) == []
