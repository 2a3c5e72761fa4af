"""Golden hand-written SQL over the built-in catalog's SQL bindings, with the plan each one means.

Each entry is a query an analyst could paste (several dialects, their own idioms: T-SQL's TOP and
DATEADD, Snowflake's TIME_SLICE and RLIKE, BigQuery's APPROX_QUANTILES, MySQL's BINARY and
GROUP_CONCAT, SQLite's GLOB and datetime('now', …), DuckDB's TIME_BUCKET, ClickHouse's
quantile(p)(x)…) and the plan `parse_sql` must return, compared exactly. The plans were
reviewed by hand; notable readings:

* a plain `=` is case-sensitive in postgres, snowflake, duckdb, sqlite…, case-insensitive in
  T-SQL and MySQL (their default collations); `COLLATE …_CS_AS` / `BINARY` make it exact;
* in postgres a LIKE pattern's backslash escapes the next character (`'%\\system32'` ends with
  "system32"); T-SQL has no default escape but `[_]` is a literal underscore;
* Snowflake's RLIKE matches the whole string, so it reads as an anchored regex;
* joins, CTEs, subqueries, UNION, window functions, DISTINCT ON, QUALIFY and OFFSET become an
  ``unsupported`` issue at their keyword, and the rest of the query is still read.
"""

from __future__ import annotations

from typing import Any

from lexiquery.catalog.builtin import builtin_catalog

__all__ = ["GOLDEN_QUERIES", "builtin_catalog"]

GOLDEN_QUERIES: dict[str, dict[str, Any]] = {
    "pg_failed_signins_top_users": {
        "dialect": "postgres",
        "sql": r"""SELECT user_principal_name, COUNT(*) AS failures
FROM signin_logs
WHERE time_generated >= NOW() - INTERVAL '24 hours'
  AND result_type <> '0'
GROUP BY user_principal_name
ORDER BY failures DESC
LIMIT 10""",
        "plan": {'source': 'signin_logs',
                 'time_range': {'start': {'amount': 1, 'unit': 'day'}},
                 'filters': [{'field': 'result_code', 'op': 'ne', 'value': '0'}],
                 'aggregation': {'metrics': [{'fn': 'count', 'alias': 'failures'}], 'group_by': ['user']},
                 'sort': [{'field': 'failures', 'descending': True}],
                 'limit': 10},
    },
    "pg_quoted_names_ilike_last_week": {
        "dialect": "postgres",
        "sql": r"""SELECT "device_name", "process_command_line"
FROM "public"."process_events"
WHERE "process_command_line" ILIKE '%mimikatz%'
  AND event_time >= CURRENT_DATE - INTERVAL '7 days'""",
        "plan": {'source': 'process_creation',
                 'time_range': {'start': {'amount': 7, 'unit': 'day', 'snap': 'day'}},
                 'filters': [{'field': 'command_line', 'op': 'contains', 'value': 'mimikatz'}],
                 'project': ['host', 'command_line']},
    },
    "pg_regex_case_insensitive": {
        "dialect": "postgres",
        "sql": r"""SELECT * FROM process_events WHERE process_command_line ~* 'powershell.+-enc'""",
        "plan": {'source': 'process_creation',
                 'filters': [{'field': 'command_line', 'op': 'regex', 'value': 'powershell.+-enc'}]},
    },
    "pg_regex_negated": {
        "dialect": "postgres",
        "sql": r"""SELECT * FROM process_events WHERE folder_path !~ '^C:\\Windows'""",
        "plan": {'source': 'process_creation',
                 'filters': [{'kind': 'not',
                              'item': {'field': 'process_path',
                                       'op': 'regex',
                                       'value': '^C:\\\\Windows',
                                       'case_sensitive': True}}]},
    },
    "pg_in_not_in": {
        "dialect": "postgres",
        "sql": r"""SELECT time_generated, computer, target_user_name
FROM security_events
WHERE event_id IN (4624, 4625) AND logon_type NOT IN (3, 10)
ORDER BY time_generated DESC""",
        "plan": {'source': 'windows_security_events',
                 'filters': [{'field': 'event_id', 'op': 'in', 'value': [4624, 4625]},
                             {'field': 'logon_type', 'op': 'not_in', 'value': [3, 10]}],
                 'project': ['time', 'host', 'user'],
                 'sort': [{'field': 'time', 'descending': True}]},
    },
    "pg_between_ports_exact_action": {
        "dialect": "postgres",
        "sql": r"""SELECT source_ip, destination_port FROM firewall_events
WHERE destination_port BETWEEN 1 AND 1024 AND device_action = 'Deny'""",
        "plan": {'source': 'firewall_events',
                 'filters': [{'kind': 'and',
                              'items': [{'field': 'dest_port', 'op': 'ge', 'value': 1},
                                        {'field': 'dest_port', 'op': 'le', 'value': 1024}]},
                             {'field': 'action', 'op': 'eq', 'value': 'Deny', 'case_sensitive': True}],
                 'project': ['src_ip', 'dest_port']},
    },
    "pg_percentile_with_hidden_count": {
        "dialect": "postgres",
        "sql": r"""SELECT server_name, PERCENTILE_CONT(0.95) WITHIN GROUP (ORDER BY time_taken_ms) AS p95_latency
FROM web_requests
GROUP BY server_name
HAVING COUNT(*) > 100""",
        "plan": {'source': 'web_requests',
                 'aggregation': {'metrics': [{'fn': 'percentile',
                                              'field': 'response_time',
                                              'percentile': 95.0,
                                              'alias': 'p95_latency'},
                                             {'fn': 'count'}],
                                 'group_by': ['host']},
                 'having': [{'field': 'event_count', 'op': 'gt', 'value': 100}],
                 'project': ['host', 'p95_latency']},
    },
    "pg_hourly_trend_ordinals": {
        "dialect": "postgres",
        "sql": r"""SELECT DATE_TRUNC('hour', request_time) AS hour, COUNT(*)
FROM web_requests
WHERE request_time >= NOW() - INTERVAL '1 day'
GROUP BY 1
ORDER BY 1""",
        "plan": {'source': 'web_requests',
                 'time_range': {'start': {'amount': 1, 'unit': 'day'}},
                 'aggregation': {'metrics': [{'fn': 'count'}],
                                 'time_bucket': {'amount': 1, 'unit': 'hour'}},
                 'sort': [{'field': 'time'}]},
    },
    "pg_case_when_computed": {
        "dialect": "postgres",
        "sql": r"""SELECT user_name, CASE WHEN status >= 500 THEN 'error' WHEN status >= 400 THEN 'client' ELSE 'ok' END AS outcome
FROM web_requests""",
        "plan": {'source': 'web_requests',
                 'computed': [{'name': 'outcome',
                               'expr': {'kind': 'call',
                                        'fn': 'if',
                                        'args': [{'kind': 'compare',
                                                  'left': {'kind': 'field', 'name': 'status'},
                                                  'op': 'ge',
                                                  'right': {'kind': 'literal', 'value': 500}},
                                                 {'kind': 'literal', 'value': 'error'},
                                                 {'kind': 'call',
                                                  'fn': 'if',
                                                  'args': [{'kind': 'compare',
                                                            'left': {'kind': 'field', 'name': 'status'},
                                                            'op': 'ge',
                                                            'right': {'kind': 'literal', 'value': 400}},
                                                           {'kind': 'literal', 'value': 'client'},
                                                           {'kind': 'literal', 'value': 'ok'}]}]}}],
                 'project': ['user', 'outcome']},
    },
    "pg_computed_functions": {
        "dialect": "postgres",
        "sql": r"""SELECT *, LOWER(account_name) || '@' || COALESCE(account_domain, '-') AS who,
       SUBSTRING(process_command_line FROM 1 FOR 40) AS cmd_head,
       LENGTH(process_command_line) AS cmd_len,
       CAST(process_id AS TEXT) AS pid_text
FROM process_events""",
        "plan": {'source': 'process_creation',
                 'computed': [{'name': 'who',
                               'expr': {'kind': 'call',
                                        'fn': 'concat',
                                        'args': [{'kind': 'call',
                                                  'fn': 'lower',
                                                  'args': [{'kind': 'field', 'name': 'user'}]},
                                                 {'kind': 'literal', 'value': '@'},
                                                 {'kind': 'call',
                                                  'fn': 'coalesce',
                                                  'args': [{'kind': 'field', 'name': 'user_domain'},
                                                           {'kind': 'literal', 'value': '-'}]}]}},
                              {'name': 'cmd_head',
                               'expr': {'kind': 'call',
                                        'fn': 'substring',
                                        'args': [{'kind': 'field', 'name': 'command_line'},
                                                 {'kind': 'literal', 'value': 0},
                                                 {'kind': 'literal', 'value': 40}]}},
                              {'name': 'cmd_len',
                               'expr': {'kind': 'call',
                                        'fn': 'length',
                                        'args': [{'kind': 'field', 'name': 'command_line'}]}},
                              {'name': 'pid_text',
                               'expr': {'kind': 'call',
                                        'fn': 'to_string',
                                        'args': [{'kind': 'field', 'name': 'process_id'}]}}]},
    },
    "pg_count_distinct_having_alias": {
        "dialect": "postgres",
        "sql": r"""SELECT user_principal_name, COUNT(DISTINCT ip_address) AS ips
FROM signin_logs
GROUP BY user_principal_name
HAVING COUNT(DISTINCT ip_address) > 3
ORDER BY ips DESC""",
        "plan": {'source': 'signin_logs',
                 'aggregation': {'metrics': [{'fn': 'count_distinct', 'field': 'src_ip', 'alias': 'ips'}],
                                 'group_by': ['user']},
                 'having': [{'field': 'ips', 'op': 'gt', 'value': 3}],
                 'sort': [{'field': 'ips', 'descending': True}]},
    },
    "pg_first_last_seen": {
        "dialect": "postgres",
        "sql": r"""SELECT client_ip, MIN(request_time) AS first_seen, MAX(request_time) AS last_seen, COUNT(*) AS hits
FROM web_requests
WHERE status = 404
GROUP BY client_ip""",
        "plan": {'source': 'web_requests',
                 'filters': [{'field': 'status', 'op': 'eq', 'value': 404}],
                 'aggregation': {'metrics': [{'fn': 'first_seen'},
                                             {'fn': 'last_seen'},
                                             {'fn': 'count', 'alias': 'hits'}],
                                 'group_by': ['src_ip']}},
    },
    "pg_null_checks": {
        "dialect": "postgres",
        "sql": r"""SELECT * FROM signin_logs
WHERE ip_address IS NOT NULL AND ip_address <> '' AND (location IS NULL OR location = '')""",
        "plan": {'source': 'signin_logs',
                 'filters': [{'field': 'src_ip', 'op': 'exists'},
                             {'field': 'location', 'op': 'not_exists'}]},
    },
    "pg_absolute_window": {
        "dialect": "postgres",
        "sql": r"""SELECT * FROM signin_logs
WHERE time_generated >= '2024-03-01' AND time_generated < TIMESTAMP '2024-03-08 12:00:00'""",
        "plan": {'source': 'signin_logs',
                 'time_range': {'start': {'at': '2024-03-01T00:00:00Z'},
                                'end': {'at': '2024-03-08T12:00:00Z'}}},
    },
    "pg_fetch_first": {
        "dialect": "postgres",
        "sql": r"""SELECT event_time, host_name, syslog_message FROM syslog
WHERE severity_level = 'err'
ORDER BY event_time DESC
FETCH FIRST 20 ROWS ONLY""",
        "plan": {'source': 'syslog',
                 'filters': [{'field': 'severity', 'op': 'eq', 'value': 'err', 'case_sensitive': True}],
                 'project': ['time', 'host', 'message'],
                 'sort': [{'field': 'time', 'descending': True}],
                 'limit': 20},
    },
    "pg_like_forms": {
        "dialect": "postgres",
        "sql": r"""SELECT * FROM process_events
WHERE file_name LIKE 'cmd%' AND process_command_line NOT LIKE '%/c%' AND folder_path LIKE '%\system32'""",
        "plan": {'source': 'process_creation',
                 'filters': [{'field': 'process',
                              'op': 'startswith',
                              'value': 'cmd',
                              'case_sensitive': True},
                             {'field': 'command_line',
                              'op': 'not_contains',
                              'value': '/c',
                              'case_sensitive': True},
                             {'field': 'process_path',
                              'op': 'endswith',
                              'value': 'system32',
                              'case_sensitive': True}]},
    },
    "pg_lower_equality_and_or": {
        "dialect": "postgres",
        "sql": r"""SELECT * FROM signin_logs
WHERE LOWER(app_display_name) = 'azure portal'
  AND (risk_level_during_sign_in = 'high' OR NOT is_interactive)""",
        "plan": {'source': 'signin_logs',
                 'filters': [{'field': 'app', 'op': 'eq', 'value': 'azure portal'},
                             {'kind': 'or',
                              'items': [{'field': 'risk_level',
                                         'op': 'eq',
                                         'value': 'high',
                                         'case_sensitive': True},
                                        {'kind': 'not',
                                         'item': {'field': 'is_interactive', 'op': 'eq', 'value': True}}]}]},
    },
    "pg_string_agg_values": {
        "dialect": "postgres",
        "sql": r"""SELECT user_principal_name, STRING_AGG(DISTINCT ip_address, ', ') AS ips, ARRAY_AGG(app_display_name) AS apps
FROM signin_logs
GROUP BY user_principal_name""",
        "plan": {'source': 'signin_logs',
                 'aggregation': {'metrics': [{'fn': 'values', 'field': 'src_ip', 'alias': 'ips'},
                                             {'fn': 'list', 'field': 'app', 'alias': 'apps'}],
                                 'group_by': ['user']}},
    },
    "pg_distinct_sorted": {
        "dialect": "postgres",
        "sql": r"""SELECT DISTINCT location FROM signin_logs ORDER BY location""",
        "plan": {'source': 'signin_logs',
                 'aggregation': {'group_by': ['location']},
                 'sort': [{'field': 'location'}]},
    },
    "pg_left_join_of_two_sources": {
        "dialect": "postgres",
        "sql": r"""SELECT s.user_principal_name, p.file_name
FROM signin_logs AS s
LEFT JOIN process_events AS p ON s.user_principal_name = p.account_name
WHERE s.result_type = '0'""",
        "plan": {'source': 'signin_logs',
                 'stages': [{'kind': 'join', 'how': 'left', 'right': {
                     'source': 'process_creation', 'project': ['process', 'user']},
                     'on': [{'left': 'user', 'right': 'user'}]},
                     {'kind': 'step', 'filters': [
                         {'field': 'result_code', 'op': 'eq', 'value': '0'}],
                      'project': ['user', 'process']}]},
    },
    "pg_cte_read_as_stages": {
        "dialect": "postgres",
        "sql": r"""WITH failed AS (
  SELECT * FROM signin_logs WHERE result_type <> '0'
)
SELECT user_principal_name, COUNT(*) AS n FROM failed GROUP BY user_principal_name""",
        "plan": {'source': 'signin_logs',
                 'filters': [{'field': 'result_code', 'op': 'ne', 'value': '0'}],
                 'stages': [{'kind': 'step', 'aggregation': {
                     'metrics': [{'fn': 'count', 'alias': 'n'}], 'group_by': ['user']}}]},
    },
    "pg_window_unsupported": {
        "dialect": "postgres",
        "sql": r"""SELECT user_principal_name, time_generated,
       ROW_NUMBER() OVER (PARTITION BY user_principal_name ORDER BY time_generated DESC) AS rn
FROM signin_logs""",
        "plan": {'source': 'signin_logs',
                 'project': ['user', 'time'],
                 'issues': [{'code': 'unsupported',
                             'message': 'line 2, column 8: a window function (OVER …) is not supported',
                             'severity': 'error',
                             'line': 2,
                             'column': 8}]},
    },
    "pg_in_subquery_is_a_semi_join": {
        "dialect": "postgres",
        "sql": r"""SELECT * FROM signin_logs
WHERE result_type <> '0'
  AND ip_address IN (SELECT source_ip FROM firewall_events WHERE device_action = 'deny')""",
        "plan": {'source': 'signin_logs',
                 'filters': [{'field': 'result_code', 'op': 'ne', 'value': '0'}],
                 'stages': [{'kind': 'join', 'how': 'semi', 'right': {
                     'source': 'firewall_events', 'filters': [
                         {'field': 'action', 'op': 'eq', 'value': 'deny',
                          'case_sensitive': True}]},
                     'on': [{'left': 'src_ip', 'right': 'src_ip'}]}]},
    },
    "pg_union_unsupported": {
        "dialect": "postgres",
        "sql": r"""SELECT ip_address FROM signin_logs
UNION
SELECT source_ip FROM firewall_events""",
        "plan": {'source': 'signin_logs',
                 'project': ['src_ip'],
                 'issues': [{'code': 'unsupported',
                             'message': 'line 2, column 1: UNION is not supported (only the first SELECT '
                                        'is read)',
                             'severity': 'error',
                             'line': 2,
                             'column': 1}]},
    },
    "pg_distinct_on_unsupported": {
        "dialect": "postgres",
        "sql": r"""SELECT DISTINCT ON (user_principal_name) user_principal_name, time_generated
FROM signin_logs
ORDER BY user_principal_name, time_generated DESC""",
        "plan": {'source': 'signin_logs',
                 'aggregation': {'group_by': ['user', 'time']},
                 'sort': [{'field': 'user'}, {'field': 'time', 'descending': True}],
                 'issues': [{'code': 'unsupported',
                             'message': 'line 1, column 8: DISTINCT ON is not supported',
                             'severity': 'error',
                             'line': 1,
                             'column': 8}]},
    },
    "pg_subquery_in_from_is_a_stage": {
        "dialect": "postgres",
        "sql": r"""SELECT t.user_principal_name
FROM (SELECT * FROM signin_logs WHERE result_type <> '0') AS t
WHERE t.location = 'US'""",
        "plan": {'source': 'signin_logs',
                 'filters': [{'field': 'result_code', 'op': 'ne', 'value': '0'}],
                 'stages': [{'kind': 'step', 'filters': [
                     {'field': 'location', 'op': 'eq', 'value': 'US', 'case_sensitive': True}],
                     'project': ['user']}]},
    },
    "pg_offset_unsupported": {
        "dialect": "postgres",
        "sql": r"""SELECT * FROM syslog ORDER BY event_time DESC LIMIT 10 OFFSET 20""",
        "plan": {'source': 'syslog',
                 'sort': [{'field': 'time', 'descending': True}],
                 'limit': 10,
                 'issues': [{'code': 'unsupported',
                             'message': 'line 1, column 56: OFFSET is not supported',
                             'severity': 'error',
                             'line': 1,
                             'column': 56}]},
    },
    "tsql_top_failed_logons": {
        "dialect": "tsql",
        "sql": r"""SELECT TOP 10 [target_user_name], COUNT(*) AS [failures]
FROM dbo.security_events
WHERE [time_generated] >= DATEADD(hour, -24, GETUTCDATE()) AND event_id = 4625
GROUP BY target_user_name
ORDER BY COUNT(*) DESC""",
        "plan": {'source': 'windows_security_events',
                 'time_range': {'start': {'amount': 1, 'unit': 'day'}},
                 'filters': [{'field': 'event_id', 'op': 'eq', 'value': 4625}],
                 'aggregation': {'metrics': [{'fn': 'count', 'alias': 'failures'}], 'group_by': ['user']},
                 'sort': [{'field': 'failures', 'descending': True}],
                 'limit': 10},
    },
    "tsql_collate_and_default_case": {
        "dialect": "tsql",
        "sql": r"""SELECT * FROM process_events
WHERE account_name COLLATE Latin1_General_CS_AS = 'Administrator' AND file_name = 'PSEXEC.EXE'""",
        "plan": {'source': 'process_creation',
                 'filters': [{'field': 'user',
                              'op': 'eq',
                              'value': 'Administrator',
                              'case_sensitive': True},
                             {'field': 'process', 'op': 'eq', 'value': 'PSEXEC.EXE'}]},
    },
    "tsql_like_brackets_today": {
        "dialect": "tsql",
        "sql": r"""SELECT device_name, folder_path FROM process_events
WHERE folder_path LIKE '%\Temp\[_]%' AND event_time >= CAST(GETUTCDATE() AS DATE)""",
        "plan": {'source': 'process_creation',
                 'time_range': {'start': {'amount': 0, 'unit': 'day', 'snap': 'day'}},
                 'filters': [{'field': 'process_path', 'op': 'contains', 'value': '\\Temp\\_'}],
                 'project': ['host', 'process_path']},
    },
    "tsql_daily_bucket_len": {
        "dialect": "tsql",
        "sql": r"""SELECT DATEADD(day, DATEDIFF(day, 0, request_time), 0) AS [day], SUM(bytes_sent) AS total_bytes_out
FROM web_requests
WHERE LEN(uri_path) > 100
GROUP BY DATEADD(day, DATEDIFF(day, 0, request_time), 0)""",
        "plan": {'source': 'web_requests',
                 'filters': [{'field': 'length_uri_path', 'op': 'gt', 'value': 100}],
                 'computed': [{'name': 'length_uri_path',
                               'expr': {'kind': 'call',
                                        'fn': 'length',
                                        'args': [{'kind': 'field', 'name': 'uri_path'}]}}],
                 'aggregation': {'metrics': [{'fn': 'sum', 'field': 'bytes_out'}],
                                 'time_bucket': {'amount': 1, 'unit': 'day'}}},
    },
    "tsql_offset_fetch_unsupported": {
        "dialect": "tsql",
        "sql": r"""SELECT event_time, host_name FROM syslog ORDER BY event_time OFFSET 10 ROWS FETCH NEXT 5 ROWS ONLY""",
        "plan": {'source': 'syslog',
                 'project': ['time', 'host'],
                 'sort': [{'field': 'time'}],
                 'limit': 5,
                 'issues': [{'code': 'unsupported',
                             'message': 'line 1, column 62: OFFSET is not supported',
                             'severity': 'error',
                             'line': 1,
                             'column': 62}]},
    },
    "snowflake_ilike_dateadd_rlike": {
        "dialect": "snowflake",
        "sql": r"""SELECT user_id, operation FROM office_activity
WHERE creation_time >= DATEADD(day, -7, CURRENT_TIMESTAMP())
  AND operation ILIKE '%download%' AND user_id RLIKE '.*@contoso[.]com'""",
        "plan": {'source': 'office_activity',
                 'time_range': {'start': {'amount': 1, 'unit': 'week'}},
                 'filters': [{'field': 'operation', 'op': 'contains', 'value': 'download'},
                             {'field': 'user',
                              'op': 'regex',
                              'value': '^(?:.*@contoso[.]com)$',
                              'case_sensitive': True}],
                 'project': ['user', 'operation']},
    },
    "snowflake_time_slice_listagg": {
        "dialect": "snowflake",
        "sql": r"""SELECT TIME_SLICE(time_generated, 15, 'MINUTE') AS time_generated,
       LISTAGG(DISTINCT caller, ',') WITHIN GROUP (ORDER BY caller) AS callers
FROM azure_activity
GROUP BY TIME_SLICE(time_generated, 15, 'MINUTE')""",
        "plan": {'source': 'azure_activity',
                 'aggregation': {'metrics': [{'fn': 'values', 'field': 'user', 'alias': 'callers'}],
                                 'time_bucket': {'amount': 15, 'unit': 'minute'}}},
    },
    "snowflake_regexp_instr_qualify": {
        "dialect": "snowflake",
        "sql": r"""SELECT * FROM audit_logs
WHERE REGEXP_INSTR(operation_name, 'role', 1, 1, 0, 'i') > 0
QUALIFY ROW_NUMBER() OVER (PARTITION BY initiated_by_user ORDER BY time_generated DESC) = 1""",
        "plan": {'source': 'audit_logs',
                 'filters': [{'field': 'operation', 'op': 'regex', 'value': 'role'}],
                 'issues': [{'code': 'unsupported',
                             'message': 'line 3, column 1: QUALIFY is not supported',
                             'severity': 'error',
                             'line': 3,
                             'column': 1}]},
    },
    "bigquery_timestamp_sub_regex": {
        "dialect": "bigquery",
        "sql": r"""SELECT client_ip, uri_path FROM `my-project.logs.web_requests`
WHERE request_time >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 6 HOUR)
  AND REGEXP_CONTAINS(uri_path, r'(?i)wp-login|xmlrpc')""",
        "plan": {'source': 'web_requests',
                 'time_range': {'start': {'amount': 6, 'unit': 'hour'}},
                 'filters': [{'field': 'uri_path', 'op': 'regex', 'value': 'wp-login|xmlrpc'}],
                 'project': ['src_ip', 'uri_path']},
    },
    "bigquery_quantiles_array_agg": {
        "dialect": "bigquery",
        "sql": r"""SELECT server_name, APPROX_QUANTILES(time_taken_ms, 100)[OFFSET(99)] AS p99,
       ARRAY_AGG(DISTINCT client_ip IGNORE NULLS) AS clients
FROM web_requests
GROUP BY server_name
ORDER BY p99 DESC
LIMIT 5""",
        "plan": {'source': 'web_requests',
                 'aggregation': {'metrics': [{'fn': 'percentile',
                                              'field': 'response_time',
                                              'percentile': 99.0,
                                              'alias': 'p99'},
                                             {'fn': 'values', 'field': 'src_ip', 'alias': 'clients'}],
                                 'group_by': ['host']},
                 'sort': [{'field': 'p99', 'descending': True}],
                 'limit': 5},
    },
    "bigquery_daily_trunc": {
        "dialect": "bigquery",
        "sql": r"""SELECT TIMESTAMP_TRUNC(event_time, DAY) AS day, COUNT(DISTINCT query_name) AS names
FROM dns_events
WHERE event_time >= TIMESTAMP_SUB(TIMESTAMP_TRUNC(CURRENT_TIMESTAMP(), DAY), INTERVAL 7 DAY)
GROUP BY day""",
        "plan": {'source': 'dns_events',
                 'time_range': {'start': {'amount': 7, 'unit': 'day', 'snap': 'day'}},
                 'aggregation': {'metrics': [{'fn': 'count_distinct', 'field': 'query', 'alias': 'names'}],
                                 'time_bucket': {'amount': 1, 'unit': 'day'}}},
    },
    "mysql_date_sub_binary_regexp": {
        "dialect": "mysql",
        "sql": r"""SELECT * FROM syslog
WHERE event_time >= DATE_SUB(UTC_TIMESTAMP(), INTERVAL 2 HOUR)
  AND BINARY process_name = 'sshd' AND syslog_message REGEXP 'failed password'""",
        "plan": {'source': 'syslog',
                 'time_range': {'start': {'amount': 2, 'unit': 'hour'}},
                 'filters': [{'field': 'process', 'op': 'eq', 'value': 'sshd', 'case_sensitive': True},
                             {'field': 'message', 'op': 'regex', 'value': 'failed password'}]},
    },
    "mysql_group_concat_like": {
        "dialect": "mysql",
        "sql": r"""SELECT host_name, GROUP_CONCAT(DISTINCT process_name SEPARATOR ', ') AS procs, COUNT(*) AS n
FROM syslog
WHERE syslog_message LIKE 'error%'
GROUP BY host_name
ORDER BY n DESC
LIMIT 20""",
        "plan": {'source': 'syslog',
                 'filters': [{'field': 'message', 'op': 'startswith', 'value': 'error'}],
                 'aggregation': {'metrics': [{'fn': 'values', 'field': 'process', 'alias': 'procs'},
                                             {'fn': 'count', 'alias': 'n'}],
                                 'group_by': ['host']},
                 'sort': [{'field': 'n', 'descending': True}],
                 'limit': 20},
    },
    "sqlite_datetime_glob": {
        "dialect": "sqlite",
        "sql": r"""SELECT * FROM process_events
WHERE event_time >= datetime('now', '-7 days') AND file_name GLOB '*.ps1' AND account_name == 'SYSTEM'""",
        "plan": {'source': 'process_creation',
                 'time_range': {'start': {'amount': 1, 'unit': 'week'}},
                 'filters': [{'field': 'process',
                              'op': 'endswith',
                              'value': '.ps1',
                              'case_sensitive': True},
                             {'field': 'user', 'op': 'eq', 'value': 'SYSTEM', 'case_sensitive': True}]},
    },
    "sqlite_hourly_strftime": {
        "dialect": "sqlite",
        "sql": r"""SELECT strftime('%Y-%m-%d %H:00:00', event_time) AS event_time, COUNT(*) AS event_count
FROM dns_events
WHERE query_name LIKE '%.onion'
GROUP BY strftime('%Y-%m-%d %H:00:00', event_time)""",
        "plan": {'source': 'dns_events',
                 'filters': [{'field': 'query', 'op': 'endswith', 'value': '.onion'}],
                 'aggregation': {'metrics': [{'fn': 'count'}],
                                 'time_bucket': {'amount': 1, 'unit': 'hour'}}},
    },
    "duckdb_time_bucket_quantile": {
        "dialect": "duckdb",
        "sql": r"""SELECT TIME_BUCKET(INTERVAL '15 minutes', sample_time) AS sample_time, QUANTILE_CONT(counter_value, 0.9) AS p90
FROM perf_counters
WHERE counter_name = '% Processor Time' AND sample_time >= NOW() - INTERVAL 3 HOUR
GROUP BY 1""",
        "plan": {'source': 'perf_counters',
                 'time_range': {'start': {'amount': 3, 'unit': 'hour'}},
                 'filters': [{'field': 'counter',
                              'op': 'eq',
                              'value': '% Processor Time',
                              'case_sensitive': True}],
                 'aggregation': {'metrics': [{'fn': 'percentile',
                                              'field': 'value',
                                              'percentile': 90.0,
                                              'alias': 'p90'}],
                                 'time_bucket': {'amount': 15, 'unit': 'minute'}}},
    },
    "duckdb_regexp_matches_list": {
        "dialect": "duckdb",
        "sql": r"""SELECT computer, LIST(DISTINCT os_name) AS os_names
FROM agent_heartbeats
WHERE regexp_matches(computer, '^web-\d+', 'i') AND heartbeat_time >= CURRENT_DATE - INTERVAL 1 DAY AND heartbeat_time < CURRENT_DATE
GROUP BY computer""",
        "plan": {'source': 'heartbeat',
                 'time_range': {'start': {'amount': 1, 'unit': 'day', 'snap': 'day'},
                                'end': {'amount': 0, 'unit': 'day', 'snap': 'day'}},
                 'filters': [{'field': 'host', 'op': 'regex', 'value': '^web-\\d+'}],
                 'aggregation': {'metrics': [{'fn': 'values', 'field': 'os_name', 'alias': 'os_names'}],
                                 'group_by': ['host']}},
    },
    "clickhouse_interval_quantile_match": {
        "dialect": "clickhouse",
        "sql": r"""SELECT toStartOfInterval(request_time, INTERVAL 5 MINUTE) AS request_time, quantile(0.99)(time_taken_ms) AS p99
FROM web_requests
WHERE request_time >= now() - INTERVAL 1 HOUR AND match(user_agent, '(?i)curl|wget')
GROUP BY request_time""",
        "plan": {'source': 'web_requests',
                 'time_range': {'start': {'amount': 1, 'unit': 'hour'}},
                 'filters': [{'field': 'user_agent', 'op': 'regex', 'value': 'curl|wget'}],
                 'aggregation': {'metrics': [{'fn': 'percentile',
                                              'field': 'response_time',
                                              'percentile': 99.0,
                                              'alias': 'p99'}],
                                 'time_bucket': {'amount': 5, 'unit': 'minute'}}},
    },
    "spark_collect_set_rlike": {
        "dialect": "spark",
        "sql": r"""SELECT computer, collect_set(target_user_name) AS users
FROM security_events
WHERE time_generated >= date_sub(current_date(), 7) AND new_process_name RLIKE '(?i)rundll32'
GROUP BY computer""",
        "plan": {'source': 'windows_security_events',
                 'time_range': {'start': {'amount': 7, 'unit': 'day', 'snap': 'day'}},
                 'filters': [{'field': 'process', 'op': 'regex', 'value': 'rundll32'}],
                 'aggregation': {'metrics': [{'fn': 'values', 'field': 'user', 'alias': 'users'}],
                                 'group_by': ['host']}},
    },
    "trino_approx_percentile": {
        "dialect": "trino",
        "sql": r"""SELECT site_name, approx_percentile(time_taken_ms, 0.5) AS median_ms
FROM web_requests
WHERE request_time >= current_timestamp - INTERVAL '1' HOUR AND regexp_like(uri_path, '\.php$')
GROUP BY site_name""",
        "plan": {'source': 'web_requests',
                 'time_range': {'start': {'amount': 1, 'unit': 'hour'}},
                 'filters': [{'field': 'uri_path',
                              'op': 'regex',
                              'value': '\\.php$',
                              'case_sensitive': True}],
                 'aggregation': {'metrics': [{'fn': 'percentile',
                                              'field': 'response_time',
                                              'percentile': 50.0,
                                              'alias': 'median_ms'}],
                                 'group_by': ['site']}},
    },
    "redshift_getdate_listagg": {
        "dialect": "redshift",
        "sql": r"""SELECT alert_severity, LISTAGG(alert_name, ', ') AS names, COUNT(*) AS alerts
FROM security_alerts
WHERE time_generated >= GETDATE() - INTERVAL '12 hours'
GROUP BY alert_severity
HAVING COUNT(*) >= 5 OR alert_severity = 'High'""",
        "plan": {'source': 'security_alerts',
                 'time_range': {'start': {'amount': 12, 'unit': 'hour'}},
                 'aggregation': {'metrics': [{'fn': 'list', 'field': 'alert_name', 'alias': 'names'},
                                             {'fn': 'count', 'alias': 'alerts'}],
                                 'group_by': ['severity']},
                 'having': [{'kind': 'or',
                             'items': [{'field': 'alerts', 'op': 'ge', 'value': 5},
                                       {'field': 'severity',
                                        'op': 'eq',
                                        'value': 'High',
                                        'case_sensitive': True}]}]},
    },
    "duckdb_group_by_all_rename": {
        "dialect": "duckdb",
        "sql": r"""SELECT user_principal_name AS signed_in_as, date_trunc('hour', time_generated) AS hour, count(*) AS n
FROM signin_logs
WHERE time_generated >= now() - INTERVAL 1 DAY
GROUP BY ALL
ORDER BY n DESC""",
        "plan": {'source': 'signin_logs',
                 'time_range': {'start': {'amount': 1, 'unit': 'day'}},
                 'computed': [{'name': 'signed_in_as', 'expr': {'kind': 'field', 'name': 'user'}}],
                 'aggregation': {'metrics': [{'fn': 'count', 'alias': 'n'}],
                                 'group_by': ['signed_in_as'],
                                 'time_bucket': {'amount': 1, 'unit': 'hour'}},
                 'sort': [{'field': 'n', 'descending': True}]},
    },
    "pg_success_rate_case_in_avg": {
        "dialect": "postgres",
        "sql": r"""SELECT app_display_name, AVG(CASE WHEN result_type = '0' THEN 1.0 ELSE 0.0 END) AS success_rate
FROM signin_logs
GROUP BY app_display_name
ORDER BY success_rate""",
        "plan": {'source': 'signin_logs',
                 'computed': [{'name': 'if_result_code',
                               'expr': {'kind': 'call',
                                        'fn': 'if',
                                        'args': [{'kind': 'compare',
                                                  'left': {'kind': 'field', 'name': 'result_code'},
                                                  'op': 'eq',
                                                  'right': {'kind': 'literal', 'value': '0'}},
                                                 {'kind': 'literal', 'value': 1.0},
                                                 {'kind': 'literal', 'value': 0.0}]}}],
                 'aggregation': {'metrics': [{'fn': 'avg',
                                              'field': 'if_result_code',
                                              'alias': 'success_rate'}],
                                 'group_by': ['app']},
                 'sort': [{'field': 'success_rate'}]},
    },
    "bigquery_timestamp_literal_utc": {
        "dialect": "bigquery",
        "sql": r"""SELECT * FROM signin_logs
WHERE time_generated >= TIMESTAMP '2024-03-01 00:00:00 UTC' AND location IN ('US', 'CA')""",
        "plan": {'source': 'signin_logs',
                 'time_range': {'start': {'at': '2024-03-01T00:00:00Z'}},
                 'filters': [{'field': 'location',
                              'op': 'in',
                              'value': ['US', 'CA'],
                              'case_sensitive': True}]},
    },
    "tsql_top_percent_unsupported": {
        "dialect": "tsql",
        "sql": r"""SELECT TOP 10 PERCENT * FROM signin_logs ORDER BY time_generated DESC""",
        "plan": {'source': 'signin_logs',
                 'sort': [{'field': 'time', 'descending': True}],
                 'issues': [{'code': 'unsupported',
                             'message': 'line 1, column 15: TOP/FETCH … PERCENT or WITH TIES is not '
                                        'supported',
                             'severity': 'error',
                             'line': 1,
                             'column': 15}]},
    },
    "pg_case_with_like": {
        "dialect": "postgres",
        "sql": r"""SELECT *, CASE WHEN file_name LIKE 'power%' THEN 'powershell' ELSE 'other' END AS family
FROM process_events""",
        "plan": {'source': 'process_creation',
                 'computed': [{'name': 'family',
                               'expr': {'kind': 'call',
                                        'fn': 'if',
                                        'args': [{'kind': 'compare',
                                                  'left': {'kind': 'field', 'name': 'process'},
                                                  'op': 'startswith',
                                                  'right': {'kind': 'literal', 'value': 'power'}},
                                                 {'kind': 'literal', 'value': 'powershell'},
                                                 {'kind': 'literal', 'value': 'other'}]}}]},
    },
    "pg_having_lower_group_key": {
        "dialect": "postgres",
        "sql": r"""SELECT user_principal_name, COUNT(*) AS n
FROM signin_logs
GROUP BY user_principal_name
HAVING LOWER(user_principal_name) LIKE 'adm%' AND COUNT(*) > 10""",
        "plan": {'source': 'signin_logs',
                 'aggregation': {'metrics': [{'fn': 'count', 'alias': 'n'}], 'group_by': ['user']},
                 'having': [{'field': 'user', 'op': 'startswith', 'value': 'adm'},
                            {'field': 'n', 'op': 'gt', 'value': 10}]},
    },
    "pg_upper_time_bound_only": {
        "dialect": "postgres",
        "sql": r"""SELECT * FROM signin_logs WHERE time_generated < '2024-01-01'""",
        "plan": {'source': 'signin_logs',
                 'filters': [{'field': 'time', 'op': 'lt', 'value': '2024-01-01T00:00:00Z'}]},
    },
    "pg_exists_on_expression": {
        "dialect": "postgres",
        "sql": r"""SELECT client_ip, COALESCE(user_name, referer) AS who FROM web_requests
WHERE COALESCE(user_name, referer) IS NOT NULL AND COALESCE(user_name, referer) <> ''""",
        "plan": {'source': 'web_requests',
                 'filters': [{'field': 'who', 'op': 'exists'}],
                 'computed': [{'name': 'who',
                               'expr': {'kind': 'call',
                                        'fn': 'coalesce',
                                        'args': [{'kind': 'field', 'name': 'user'},
                                                 {'kind': 'field', 'name': 'referer'}]}}],
                 'project': ['src_ip', 'who']},
    },
}
