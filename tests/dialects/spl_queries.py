"""Hand-written Splunk searches over the built-in catalog and the plans they mean."""

from __future__ import annotations

from typing import Any

from lexiquery.catalog.model import Source

AUTH_SOURCE = Source.model_validate({
    "id": "authentication", "name": "CIM Authentication", "time_field": "time",
    "origin": "test",
    "fields": [{"name": "time", "type": "datetime"}, {"name": "user"}, {"name": "src"},
               {"name": "dest"}, {"name": "action"}, {"name": "app"}],
    "bindings": {"spl": {"search": "| tstats summariesonly=t count from datamodel=Authentication",
                         "fields": {"time": "_time", "user": "user", "src": "src",
                                    "dest": "dest", "action": "action", "app": "app"}}},
})

QUERIES: dict[str, tuple[str, dict[str, Any]]] = {}

QUERIES["signin_failures_threshold"] = (
    "index=azure sourcetype=\"azure:aad:signin\" earliest=-24h status.errorCode!=0\n"
    "| stats count AS failures, dc(src_ip) AS ips by user\n"
    "| where failures > 10\n"
    "| sort - failures",
    {'source': 'signin_logs',
      'time_range': {'start': {'amount': 24, 'unit': 'hour'}},
      'filters': [{'field': 'result_code', 'op': 'ne', 'value': '0'}],
      'aggregation': {'metrics': [{'fn': 'count', 'alias': 'failures'},
                                  {'fn': 'count_distinct', 'field': 'src_ip', 'alias': 'ips'}],
                      'group_by': ['user']},
      'having': [{'field': 'failures', 'op': 'gt', 'value': 10}],
      'sort': [{'field': 'failures', 'descending': True}],
      'issues': [{'code': 'unsupported',
                  'message': 'line 4, column 3: a sort without a count is not supported (Splunk '
                             'stops a bare sort at 10,000 rows; write sort 0 for all rows)',
                  'line': 4,
                  'column': 3}]})

QUERIES["signin_sourcetype_only"] = (
    "sourcetype=\"azure:aad:signin\" user=\"*@contoso.com\" location.countryOrRegion!=US\n"
    "| table _time user src_ip location.countryOrRegion\n"
    "| head 100",
    {'source': 'signin_logs',
      'filters': [{'field': 'user', 'op': 'endswith', 'value': '@contoso.com'},
                  {'field': 'location', 'op': 'ne', 'value': 'US'}],
      'project': ['time', 'user', 'src_ip', 'location'],
      'limit': 100})

QUERIES["signin_risky_last_week"] = (
    "index=azure sourcetype=\"azure:aad:signin\" riskLevelDuringSignIn IN (medium, high) earliest=-7d@d latest=@d\n"
    "| stats count by user riskLevelDuringSignIn\n"
    "| sort 0 -count",
    {'source': 'signin_logs',
      'time_range': {'start': {'amount': 7, 'unit': 'day', 'snap': 'day'},
                     'end': {'amount': 0, 'unit': 'day', 'snap': 'day'}},
      'filters': [{'field': 'risk_level', 'op': 'in', 'value': ['medium', 'high']}],
      'aggregation': {'metrics': [{'fn': 'count', 'alias': 'count'}],
                      'group_by': ['user', 'risk_level']},
      'sort': [{'field': 'count', 'descending': True}]})

QUERIES["signin_timechart_by_app"] = (
    "index=azure sourcetype=\"azure:aad:signin\" earliest=-24h\n"
    "| timechart span=1h count by app",
    {'source': 'signin_logs',
      'time_range': {'start': {'amount': 24, 'unit': 'hour'}},
      'aggregation': {'metrics': [{'fn': 'count', 'alias': 'count'}],
                      'group_by': ['app'],
                      'time_bucket': {'unit': 'hour'}},
      'sort': [{'field': 'time'}],
      'issues': [{'code': 'unsupported',
                  'message': 'line 2, column 3: timechart … by app (one column per value) is '
                             'not supported (the plan shows one row per time and value; Splunk '
                             'also keeps only the top 10 values and sums the rest as OTHER)',
                  'severity': 'error',
                  'line': 2,
                  'column': 3}]})

QUERIES["signin_where_like_match"] = (
    "index=azure sourcetype=\"azure:aad:signin\"\n"
    "| where like(userAgent, \"%python%\") OR match(clientAppUsed, \"(?i)^exchange\")\n"
    "| table _time user userAgent clientAppUsed",
    {'source': 'signin_logs',
      'filters': [{'items': [{'field': 'user_agent',
                              'op': 'contains',
                              'value': 'python',
                              'case_sensitive': True},
                             {'field': 'client_app', 'op': 'startswith', 'value': 'exchange'}]}],
      'project': ['time', 'user', 'user_agent', 'client_app']})

QUERIES["signin_values_first_last"] = (
    "index=azure sourcetype=\"azure:aad:signin\" status.errorCode=50126\n"
    "| stats values(src_ip) AS ips, list(app) AS apps, earliest(_time) AS first, latest(_time) AS last by user",
    {'source': 'signin_logs',
      'filters': [{'field': 'result_code', 'op': 'eq', 'value': '50126'}],
      'aggregation': {'metrics': [{'fn': 'values', 'field': 'src_ip', 'alias': 'ips'},
                                  {'fn': 'list', 'field': 'app', 'alias': 'apps'},
                                  {'fn': 'first_seen', 'alias': 'first'},
                                  {'fn': 'last_seen', 'alias': 'last'}],
                      'group_by': ['user']}})

QUERIES["winsec_failed_logons"] = (
    "index=wineventlog source=\"XmlWinEventLog:Security\" EventCode=4625 earliest=-1h\n"
    "| stats count by user, src_ip\n"
    "| where count >= 5\n"
    "| sort 0 - count",
    {'source': 'windows_security_events',
      'time_range': {'start': {'amount': 1, 'unit': 'hour'}},
      'filters': [{'field': 'event_id', 'op': 'eq', 'value': 4625}],
      'aggregation': {'metrics': [{'fn': 'count', 'alias': 'count'}],
                      'group_by': ['user', 'src_ip']},
      'having': [{'field': 'count', 'op': 'ge', 'value': 5}],
      'sort': [{'field': 'count', 'descending': True}]})

QUERIES["winsec_rdp_logons"] = (
    "index=wineventlog source=\"XmlWinEventLog:Security\" EventCode=4624 LogonType=10\n"
    "| table _time host user src_ip WorkstationName",
    {'source': 'windows_security_events',
      'filters': [{'field': 'event_id', 'op': 'eq', 'value': 4624},
                  {'field': 'logon_type', 'op': 'eq', 'value': 10}],
      'project': ['time', 'host', 'user', 'src_ip', 'workstation']})

QUERIES["winsec_encoded_powershell"] = (
    "index=wineventlog source=\"XmlWinEventLog:Security\" EventCode=4688 NewProcessName=\"*\\\\powershell.exe\" CommandLine=\"*-enc*\"\n"
    "| table _time host user CommandLine ParentProcessName",
    {'source': 'windows_security_events',
      'filters': [{'field': 'event_id', 'op': 'eq', 'value': 4688},
                  {'field': 'process', 'op': 'endswith', 'value': '\\powershell.exe'},
                  {'field': 'command_line', 'op': 'contains', 'value': '-enc'}],
      'project': ['time', 'host', 'user', 'command_line', 'parent_process']})

QUERIES["winsec_accounts_created"] = (
    "index=wineventlog source=\"XmlWinEventLog:Security\" EventCode=4720\n"
    "| stats count by SubjectUserName user",
    {'source': 'windows_security_events',
      'filters': [{'field': 'event_id', 'op': 'eq', 'value': 4720}],
      'aggregation': {'metrics': [{'fn': 'count', 'alias': 'count'}],
                      'group_by': ['subject_user', 'user']}})

QUERIES["winsec_top_hosts"] = (
    "index=wineventlog source=\"XmlWinEventLog:Security\" EventCode IN (4625, 4771)\n"
    "| top limit=5 host",
    {'source': 'windows_security_events',
      'filters': [{'field': 'event_id', 'op': 'in', 'value': [4625, 4771]}],
      'aggregation': {'metrics': [{'fn': 'count', 'alias': 'count'}], 'group_by': ['host']},
      'sort': [{'field': 'count', 'descending': True}],
      'limit': 5,
      'issues': [{'code': 'unsupported',
                  'message': 'line 2, column 3: the percent column of top is not supported (the '
                             'IR has no share-of-total metric)',
                  'line': 2,
                  'column': 3}]})

QUERIES["sysmon_office_spawns_powershell"] = (
    "index=sysmon source=\"XmlWinEventLog:Microsoft-Windows-Sysmon/Operational\" EventCode=1 process_name=powershell.exe parent_process_name IN (\"winword.exe\", \"excel.exe\")\n"
    "| table _time host user CommandLine",
    {'source': 'process_creation',
      'filters': [{'field': 'process', 'op': 'eq', 'value': 'powershell.exe'},
                  {'field': 'parent_process',
                   'op': 'in',
                   'value': ['winword.exe', 'excel.exe']}],
      'project': ['time', 'host', 'user', 'command_line']})

QUERIES["sysmon_rare_hashes"] = (
    "index=sysmon source=\"XmlWinEventLog:Microsoft-Windows-Sysmon/Operational\" EventCode=1\n"
    "| stats dc(host) AS hosts by SHA256\n"
    "| where hosts < 3\n"
    "| sort 20 hosts",
    {'source': 'process_creation',
      'aggregation': {'metrics': [{'fn': 'count_distinct', 'field': 'host', 'alias': 'hosts'}],
                      'group_by': ['hash_sha256']},
      'having': [{'field': 'hosts', 'op': 'lt', 'value': 3}],
      'sort': [{'field': 'hosts'}],
      'limit': 20})

QUERIES["sysmon_rare_processes"] = (
    "index=sysmon source=\"XmlWinEventLog:Microsoft-Windows-Sysmon/Operational\" EventCode=1\n"
    "| rare limit=20 process_name",
    {'source': 'process_creation',
      'aggregation': {'metrics': [{'fn': 'count', 'alias': 'count'}], 'group_by': ['process']},
      'sort': [{'field': 'count'}],
      'limit': 20,
      'issues': [{'code': 'unsupported',
                  'message': 'line 2, column 3: the percent column of rare is not supported '
                             '(the IR has no share-of-total metric)',
                  'line': 2,
                  'column': 3}]})

QUERIES["sysmon_long_command_lines"] = (
    "index=sysmon source=\"XmlWinEventLog:Microsoft-Windows-Sysmon/Operational\" EventCode=1\n"
    "| eval cmd_len=len(CommandLine)\n"
    "| where cmd_len > 1000\n"
    "| table host CommandLine cmd_len\n"
    "| sort 0 - cmd_len",
    {'source': 'process_creation',
      'filters': [{'field': 'cmd_len', 'op': 'gt', 'value': 1000}],
      'computed': [{'name': 'cmd_len',
                    'expr': {'fn': 'length', 'args': [{'name': 'command_line'}]}}],
      'project': ['host', 'command_line', 'cmd_len'],
      'sort': [{'field': 'cmd_len', 'descending': True}]})

QUERIES["syslog_ssh_failures_narrowed"] = (
    "index=os sourcetype=linux_secure \"Failed password\"\n"
    "| stats count by host",
    {'source': 'syslog',
      'filters': [{'field': 'message', 'op': 'has', 'value': 'Failed password'}],
      'aggregation': {'metrics': [{'fn': 'count', 'alias': 'count'}], 'group_by': ['host']},
      'issues': [{'code': 'unsupported',
                  'message': "line 1, column 10: 'sourcetype=linux_secure' (part of syslog's "
                             'prefix) is not supported (the plan searches the whole source '
                             '(index=os (sourcetype=syslog OR sourcetype=linux_secure)))',
                  'severity': 'error',
                  'line': 1,
                  'column': 10}]})

QUERIES["syslog_sshd_errors"] = (
    "index=os (sourcetype=syslog OR sourcetype=linux_secure) process=sshd severity IN (err, crit)\n"
    "| stats count by host process\n"
    "| sort 0 - count",
    {'source': 'syslog',
      'filters': [{'field': 'process', 'op': 'eq', 'value': 'sshd'},
                  {'field': 'severity', 'op': 'in', 'value': ['err', 'crit']}],
      'aggregation': {'metrics': [{'fn': 'count', 'alias': 'count'}],
                      'group_by': ['host', 'process']},
      'sort': [{'field': 'count', 'descending': True}]})

QUERIES["syslog_accepted_regex"] = (
    "index=os (sourcetype=syslog OR sourcetype=linux_secure)\n"
    "| where match(_raw, \"Accepted (password|publickey) for \\w+\")",
    {'source': 'syslog',
      'filters': [{'field': 'message',
                   'op': 'regex',
                   'value': 'Accepted (password|publickey) for \\w+',
                   'case_sensitive': True}]})

QUERIES["firewall_port_scan"] = (
    "index=firewall sourcetype=cefevents act=blocked dest_port IN (22, 3389) earliest=-4h\n"
    "| stats count dc(dest_ip) AS targets by src_ip\n"
    "| where targets > 20\n"
    "| sort 0 - targets",
    {'source': 'firewall_events',
      'time_range': {'start': {'amount': 4, 'unit': 'hour'}},
      'filters': [{'field': 'action', 'op': 'eq', 'value': 'blocked'},
                  {'field': 'dest_port', 'op': 'in', 'value': [22, 3389]}],
      'aggregation': {'metrics': [{'fn': 'count', 'alias': 'count'},
                                  {'fn': 'count_distinct',
                                   'field': 'dest_ip',
                                   'alias': 'targets'}],
                      'group_by': ['src_ip']},
      'having': [{'field': 'targets', 'op': 'gt', 'value': 20}],
      'sort': [{'field': 'targets', 'descending': True}]})

QUERIES["firewall_eval_after_stats"] = (
    "index=firewall sourcetype=cefevents\n"
    "| stats sum(bytes_out) AS bytes_out by src_ip dest_ip\n"
    "| eval mb=bytes_out/1024/1024",
    {'source': 'firewall_events',
     'aggregation': {'metrics': [{'fn': 'sum', 'field': 'bytes_out', 'alias': 'bytes_out'}],
                     'group_by': ['src_ip', 'dest_ip']},
     'stages': [{'computed': [{'name': 'mb',
                               'expr': {'fn': 'div',
                                        'args': [{'name': 'bytes_out'},
                                                 {'value': 1024},
                                                 {'value': 1024}]}}]}]})

QUERIES["firewall_bytes_15m"] = (
    "index=firewall sourcetype=cefevents act=allowed\n"
    "| bin _time span=15m\n"
    "| stats sum(bytes_in) AS bytes_in, sum(bytes_out) AS bytes_out by _time\n"
    "| sort 0 _time",
    {'source': 'firewall_events',
      'filters': [{'field': 'action', 'op': 'eq', 'value': 'allowed'}],
      'aggregation': {'metrics': [{'fn': 'sum', 'field': 'bytes_in', 'alias': 'bytes_in'},
                                  {'fn': 'sum', 'field': 'bytes_out', 'alias': 'bytes_out'}],
                      'time_bucket': {'amount': 15, 'unit': 'minute'}},
      'sort': [{'field': 'time'}]})

QUERIES["firewall_external_https"] = (
    "index=firewall sourcetype=cefevents NOT dest_ip=10.* NOT dest_ip=192.168.* dest_port=443\n"
    "| stats count by dest_ip\n"
    "| head 20",
    {'source': 'firewall_events',
      'filters': [{'item': {'field': 'dest_ip', 'op': 'startswith', 'value': '10.'}},
                  {'item': {'field': 'dest_ip', 'op': 'startswith', 'value': '192.168.'}},
                  {'field': 'dest_port', 'op': 'eq', 'value': 443}],
      'aggregation': {'metrics': [{'fn': 'count', 'alias': 'count'}], 'group_by': ['dest_ip']},
      'limit': 20})

QUERIES["web_5xx_trend"] = (
    "index=web sourcetype=access_combined status>=500\n"
    "| timechart span=5m count",
    {'source': 'web_requests',
      'filters': [{'field': 'status', 'op': 'ge', 'value': 500}],
      'aggregation': {'metrics': [{'fn': 'count', 'alias': 'count'}],
                      'time_bucket': {'amount': 5, 'unit': 'minute'}},
      'sort': [{'field': 'time'}]})

QUERIES["web_scanners"] = (
    "index=web sourcetype=access_combined uri_path=\"/wp-admin*\" OR uri_path=\"*.php\"\n"
    "| stats count by clientip\n"
    "| sort - count\n"
    "| head 10",
    {'source': 'web_requests',
      'filters': [{'items': [{'field': 'uri_path', 'op': 'startswith', 'value': '/wp-admin'},
                             {'field': 'uri_path', 'op': 'endswith', 'value': '.php'}]}],
      'aggregation': {'metrics': [{'fn': 'count', 'alias': 'count'}], 'group_by': ['src_ip']},
      'sort': [{'field': 'count', 'descending': True}],
      'limit': 10,
      'issues': [{'code': 'unsupported',
                  'message': 'line 3, column 3: a sort without a count is not supported (Splunk '
                             'stops a bare sort at 10,000 rows; write sort 0 for all rows)',
                  'line': 3,
                  'column': 3}]})

QUERIES["web_bytes_stats"] = (
    "index=web sourcetype=access_combined\n"
    "| stats avg(bytes) AS avg_bytes, perc95(bytes) AS p95, max(bytes) by host",
    {'source': 'web_requests',
      'aggregation': {'metrics': [{'fn': 'avg', 'field': 'bytes_out', 'alias': 'avg_bytes'},
                                  {'fn': 'percentile',
                                   'field': 'bytes_out',
                                   'percentile': 95.0,
                                   'alias': 'p95'},
                                  {'fn': 'max', 'field': 'bytes_out', 'alias': 'max(bytes)'}],
                      'group_by': ['host']}})

QUERIES["web_scanner_ips"] = (
    "index=web sourcetype=access_combined useragent=\"*sqlmap*\" OR useragent=\"*nikto*\"\n"
    "| dedup clientip\n"
    "| table clientip",
    {'source': 'web_requests',
      'filters': [{'items': [{'field': 'user_agent', 'op': 'contains', 'value': 'sqlmap'},
                             {'field': 'user_agent', 'op': 'contains', 'value': 'nikto'}]}],
      'aggregation': {'group_by': ['src_ip']}})

QUERIES["web_not_found_renamed"] = (
    "index=web sourcetype=access_combined status=404\n"
    "| stats count AS hits by uri_path\n"
    "| rename hits AS \"Not found\"\n"
    "| sort 0 - \"Not found\"",
    {'source': 'web_requests',
      'filters': [{'field': 'status', 'op': 'eq', 'value': 404}],
      'aggregation': {'metrics': [{'fn': 'count', 'alias': 'Not found'}],
                      'group_by': ['uri_path']},
      'sort': [{'field': 'Not found', 'descending': True}]})

QUERIES["dns_darknet_domains"] = (
    "index=dns sourcetype=\"stream:dns\" query=\"*.onion\" OR query=\"*.bit\"\n"
    "| stats values(query) AS domains, count by src_ip",
    {'source': 'dns_events',
      'filters': [{'items': [{'field': 'query', 'op': 'endswith', 'value': '.onion'},
                             {'field': 'query', 'op': 'endswith', 'value': '.bit'}]}],
      'aggregation': {'metrics': [{'fn': 'values', 'field': 'query', 'alias': 'domains'},
                                  {'fn': 'count', 'alias': 'count'}],
                      'group_by': ['src_ip']}})

QUERIES["dns_nxdomain_burst"] = (
    "index=dns sourcetype=\"stream:dns\" reply_code_id=3\n"
    "| stats dc(query) AS nx by src_ip\n"
    "| where nx > 100",
    {'source': 'dns_events',
      'filters': [{'field': 'result_code', 'op': 'eq', 'value': 3}],
      'aggregation': {'metrics': [{'fn': 'count_distinct', 'field': 'query', 'alias': 'nx'}],
                      'group_by': ['src_ip']},
      'having': [{'field': 'nx', 'op': 'gt', 'value': 100}]})

QUERIES["dns_long_queries"] = (
    "index=dns sourcetype=\"stream:dns\"\n"
    "| eval qlen=len(query)\n"
    "| where qlen > 60\n"
    "| stats count by src_ip",
    {'source': 'dns_events',
      'filters': [{'field': 'qlen', 'op': 'gt', 'value': 60}],
      'computed': [{'name': 'qlen', 'expr': {'fn': 'length', 'args': [{'name': 'query'}]}}],
      'aggregation': {'metrics': [{'fn': 'count', 'alias': 'count'}], 'group_by': ['src_ip']}})

QUERIES["o365_downloads"] = (
    "index=o365 sourcetype=\"o365:management:activity\" Operation=FileDownloaded OR Operation=FileSyncDownloadedFull\n"
    "| stats count by UserId\n"
    "| sort 0 - count\n"
    "| head 5",
    {'source': 'office_activity',
      'filters': [{'items': [{'field': 'operation', 'op': 'eq', 'value': 'FileDownloaded'},
                             {'field': 'operation',
                              'op': 'eq',
                              'value': 'FileSyncDownloadedFull'}]}],
      'aggregation': {'metrics': [{'fn': 'count', 'alias': 'count'}], 'group_by': ['user']},
      'sort': [{'field': 'count', 'descending': True}],
      'limit': 5})

QUERIES["o365_inbox_rules"] = (
    "index=o365 sourcetype=\"o365:management:activity\" Workload=Exchange Operation IN (\"New-InboxRule\", \"Set-InboxRule\")\n"
    "| table _time UserId ClientIP Operation",
    {'source': 'office_activity',
      'filters': [{'field': 'workload', 'op': 'eq', 'value': 'Exchange'},
                  {'field': 'operation',
                   'op': 'in',
                   'value': ['New-InboxRule', 'Set-InboxRule']}],
      'project': ['time', 'user', 'src_ip', 'operation']})

QUERIES["o365_rex_browser"] = (
    "index=o365 sourcetype=\"o365:management:activity\" Operation=UserLoggedIn\n"
    "| rex field=UserAgent \"(?<browser>Chrome|Firefox|Edge)\"\n"
    "| stats count by browser",
    {'source': 'office_activity',
     'filters': [{'field': 'operation', 'op': 'eq', 'value': 'UserLoggedIn'}],
     'computed': [{'name': 'browser',
                   'expr': {'fn': 'extract',
                            'args': [{'name': 'user_agent'},
                                     {'value': '(Chrome|Firefox|Edge)'},
                                     {'value': 1}]}}],
     'aggregation': {'metrics': [{'fn': 'count', 'alias': 'count'}], 'group_by': ['browser']}})

QUERIES["notable_open_high"] = (
    "index=notable urgency IN (high, critical) status_label!=Closed\n"
    "| stats count by rule_name urgency\n"
    "| sort 0 - count",
    {'source': 'security_alerts',
      'filters': [{'field': 'severity', 'op': 'in', 'value': ['high', 'critical']},
                  {'field': 'status', 'op': 'ne', 'value': 'Closed'}],
      'aggregation': {'metrics': [{'fn': 'count', 'alias': 'count'}],
                      'group_by': ['alert_name', 'severity']},
      'sort': [{'field': 'count', 'descending': True}]})

QUERIES["notable_credential_access"] = (
    "index=notable annotations.mitre_attack.mitre_tactic=\"*credential*\"\n"
    "| table _time rule_name dest urgency",
    {'source': 'security_alerts',
      'filters': [{'field': 'tactics', 'op': 'contains', 'value': 'credential'}],
      'project': ['time', 'alert_name', 'entity', 'severity']})

QUERIES["perfmon_cpu_hot"] = (
    "index=perfmon source=\"Perfmon:*\" object=Processor counter=\"% Processor Time\" instance=_Total\n"
    "| stats avg(Value) AS avg_cpu by host\n"
    "| where avg_cpu > 90",
    {'source': 'perf_counters',
      'filters': [{'field': 'object', 'op': 'eq', 'value': 'Processor'},
                  {'field': 'counter', 'op': 'eq', 'value': '% Processor Time'},
                  {'field': 'instance', 'op': 'eq', 'value': '_Total'}],
      'aggregation': {'metrics': [{'fn': 'avg', 'field': 'value', 'alias': 'avg_cpu'}],
                      'group_by': ['host']},
      'having': [{'field': 'avg_cpu', 'op': 'gt', 'value': 90}]})

QUERIES["perfmon_memory_narrowed"] = (
    "index=perfmon source=\"Perfmon:Memory\" counter=\"Available MBytes\"\n"
    "| timechart span=5m min(Value) AS free_mb",
    {'source': 'perf_counters',
      'filters': [{'field': 'counter', 'op': 'eq', 'value': 'Available MBytes'}],
      'aggregation': {'metrics': [{'fn': 'min', 'field': 'value', 'alias': 'free_mb'}],
                      'time_bucket': {'amount': 5, 'unit': 'minute'}},
      'sort': [{'field': 'time'}],
      'issues': [{'code': 'unsupported',
                  'message': 'line 1, column 15: \'source="Perfmon:Memory"\' (part of '
                             "perf_counters's prefix) is not supported (the plan searches the "
                             'whole source (index=perfmon source="Perfmon:*"))',
                  'severity': 'error',
                  'line': 1,
                  'column': 15}]})

QUERIES["heartbeat_silent_forwarders"] = (
    "index=_internal source=*metrics.log group=tcpin_connections\n"
    "| stats max(_time) AS last_seen by hostname\n"
    "| where last_seen < relative_time(now(), \"-1h\")",
    {'source': 'heartbeat',
     'aggregation': {'metrics': [{'fn': 'last_seen', 'alias': 'last_seen'}],
                     'group_by': ['host']},
     'issues': [{'code': 'unsupported',
                 'message': "line 3, column 21: relative_time(…, '-1h') in eval is not "
                            'supported (the IR snaps a time to the start of a day, week '
                            '(Sunday), month or year)',
                 'severity': 'error',
                 'line': 3,
                 'column': 21}]})

QUERIES["tstats_auth_failures"] = (
    "| tstats summariesonly=t count from datamodel=Authentication where Authentication.action=failure by Authentication.user, Authentication.src span=1h",
    {'source': 'authentication',
      'filters': [{'field': 'action', 'op': 'eq', 'value': 'failure'}],
      'aggregation': {'metrics': [{'fn': 'count', 'alias': 'count'}],
                      'group_by': ['user', 'src']},
      'issues': [{'code': 'unsupported',
                  'message': 'line 1, column 141: span= without _time in by is not supported '
                             '(it has no effect there)',
                  'line': 1,
                  'column': 141}]})

QUERIES["tstats_auth_hourly"] = (
    "| tstats count from datamodel=Authentication where Authentication.action=success earliest=-24h by _time Authentication.user span=1h\n"
    "| rename Authentication.* AS *",
    {'source': 'authentication',
      'time_range': {'start': {'amount': 24, 'unit': 'hour'}},
      'filters': [{'field': 'action', 'op': 'eq', 'value': 'success'}],
      'aggregation': {'metrics': [{'fn': 'count', 'alias': 'count'}],
                      'group_by': ['user'],
                      'time_bucket': {'unit': 'hour'}}})

QUERIES["tstats_index_hosts"] = (
    "| tstats count where index=wineventlog source=\"XmlWinEventLog:Security\" by host",
    {'source': 'windows_security_events',
      'aggregation': {'metrics': [{'fn': 'count', 'alias': 'count'}], 'group_by': ['host']}})

QUERIES["tstats_sysmon_first_last"] = (
    "| tstats earliest(_time) AS first_seen latest(_time) AS last_seen where index=sysmon source=\"XmlWinEventLog:Microsoft-Windows-Sysmon/Operational\" EventCode=1 by host",
    {'source': 'process_creation',
      'aggregation': {'metrics': [{'fn': 'first_seen', 'alias': 'first_seen'},
                                  {'fn': 'last_seen', 'alias': 'last_seen'}],
                      'group_by': ['host']}})

QUERIES["signin_join"] = (
    "index=azure sourcetype=\"azure:aad:signin\"\n"
    "| join user [search index=o365 sourcetype=\"o365:management:activity\" | fields UserId]\n"
    "| table user app",
    {'source': 'signin_logs',
     'stages': [{'project': ['user', 'app']}],
     'issues': [{'code': 'unsupported',
                 'message': 'line 2, column 8: the join key user is not supported (the '
                            'subsearch does not return it)',
                 'severity': 'error',
                 'line': 2,
                 'column': 8}]})

QUERIES["winsec_subsearch"] = (
    "index=wineventlog source=\"XmlWinEventLog:Security\" EventCode=4625 [| inputlookup vip_users.csv | fields user]\n"
    "| stats count by user",
    {'source': 'windows_security_events',
     'filters': [{'field': 'event_id', 'op': 'eq', 'value': 4625}],
     'aggregation': {'metrics': [{'fn': 'count', 'alias': 'count'}], 'group_by': ['user']},
     'issues': [{'code': 'unsupported',
                 'message': 'line 1, column 67: this subsearch is not supported (line 1, '
                            "column 82: the catalog declares no lookup 'vip_users.csv')",
                 'severity': 'error',
                 'line': 1,
                 'column': 67}]})

QUERIES["sysmon_macro"] = (
    "index=sysmon source=\"XmlWinEventLog:Microsoft-Windows-Sysmon/Operational\" EventCode=1 `suspicious_procs`\n"
    "| table host process_name",
    {'source': 'process_creation',
      'project': ['host', 'process'],
      'issues': [{'code': 'unsupported',
                  'message': 'line 1, column 87: the macro `suspicious_procs` is not supported '
                             '(it cannot be expanded without the Splunk server)',
                  'severity': 'error',
                  'line': 1,
                  'column': 87}]})

QUERIES["web_head_then_where"] = (
    "index=web sourcetype=access_combined\n"
    "| head 1000\n"
    "| where status >= 500\n"
    "| stats count by status",
    {'source': 'web_requests',
     'limit': 1000,
     'stages': [{'filters': [{'field': 'status', 'op': 'ge', 'value': 500}],
                 'aggregation': {'metrics': [{'fn': 'count', 'alias': 'count'}],
                                 'group_by': ['status']}}]})

QUERIES["firewall_eventstats"] = (
    "index=firewall sourcetype=cefevents\n"
    "| eventstats avg(bytes_out) AS avg_out by src_ip\n"
    "| where bytes_out > 10 * avg_out",
    {'source': 'firewall_events',
     'stages': [{'metrics': [{'fn': 'avg', 'field': 'bytes_out', 'alias': 'avg_out'}],
                 'by': ['src_ip']},
                {'filters': [{'field': '_f1', 'op': 'eq', 'value': True}],
                 'computed': [{'name': '_f1',
                               'expr': {'left': {'name': 'bytes_out'},
                                        'op': 'gt',
                                        'right': {'fn': 'mul',
                                                  'args': [{'value': 10},
                                                           {'name': 'avg_out'}]}}}],
                 'project': ['time',
                             'src_ip',
                             'dest_ip',
                             'src_port',
                             'dest_port',
                             'action',
                             'protocol',
                             'app',
                             'bytes_out',
                             'bytes_in',
                             'url',
                             'user',
                             'device',
                             'vendor',
                             'product',
                             'severity',
                             'avg_out']}]})

QUERIES["syslog_transaction"] = (
    "index=os sourcetype=syslog OR sourcetype=linux_secure\n"
    "| transaction host maxspan=5m\n"
    "| where eventcount > 5",
    {'source': 'syslog',
      'issues': [{'code': 'unsupported',
                  'message': 'line 2, column 3: the transaction command is not supported (the '
                             'IR cannot hold it)',
                  'severity': 'error',
                  'line': 2,
                  'column': 3},
                 {'code': 'unsupported',
                  'message': "line 3, column 9: 'eventcount' is not supported (not a catalog "
                             'field; probably added by a command reported above)',
                  'severity': 'error',
                  'line': 3,
                  'column': 9}]})

QUERIES["syslog_searchmatch"] = (
    "index=os (sourcetype=syslog OR sourcetype=linux_secure)\n"
    "| where searchmatch(\"sudo\") AND host=\"web01\"",
    {'source': 'syslog',
      'filters': [{'field': 'host', 'op': 'eq', 'value': 'web01', 'case_sensitive': True}],
      'issues': [{'code': 'unsupported',
                  'message': 'line 2, column 9: searchmatch() is not supported (it runs a '
                             'search expression on the raw event)',
                  'severity': 'error',
                  'line': 2,
                  'column': 9}]})

QUERIES["firewall_cidrmatch"] = (
    "index=firewall sourcetype=cefevents\n"
    "| where cidrmatch(\"fd00::/8\", src_ip) AND dest_port=445",
    {'source': 'firewall_events',
     'filters': [{'field': 'dest_port', 'op': 'eq', 'value': 445}],
     'issues': [{'code': 'unsupported',
                 'message': 'line 2, column 9: cidrmatch() is not supported (the IR has no '
                            'network-range operator; an IPv4 range in a literal is read as the '
                            'regex of its addresses)',
                 'severity': 'error',
                 'line': 2,
                 'column': 9}]})

QUERIES["web_case_classes"] = (
    "index=web sourcetype=access_combined\n"
    "| eval class=case(status>=500, \"server\", status>=400, \"client\", true(), \"ok\")\n"
    "| stats count by class",
    {'source': 'web_requests',
      'computed': [{'name': 'class',
                    'expr': {'fn': 'if',
                             'args': [{'left': {'name': 'status'},
                                       'op': 'ge',
                                       'right': {'value': 500}},
                                      {'value': 'server'},
                                      {'fn': 'if',
                                       'args': [{'left': {'name': 'status'},
                                                 'op': 'ge',
                                                 'right': {'value': 400}},
                                                {'value': 'client'},
                                                {'value': 'ok'}]}]}}],
      'aggregation': {'metrics': [{'fn': 'count', 'alias': 'count'}], 'group_by': ['class']}})

QUERIES["winsec_eval_functions"] = (
    "index=wineventlog source=\"XmlWinEventLog:Security\" EventCode=4688\n"
    "| eval parent=lower(ParentProcessName), short=substr(CommandLine, 1, 80), who=user . \"@\" . host\n"
    "| table _time who parent short",
    {'source': 'windows_security_events',
      'filters': [{'field': 'event_id', 'op': 'eq', 'value': 4688}],
      'computed': [{'name': 'parent',
                    'expr': {'fn': 'lower', 'args': [{'name': 'parent_process'}]}},
                   {'name': 'short',
                    'expr': {'fn': 'substring',
                             'args': [{'name': 'command_line'}, {'value': 0}, {'value': 80}]}},
                   {'name': 'who',
                    'expr': {'fn': 'concat',
                             'args': [{'name': 'user'}, {'value': '@'}, {'name': 'host'}]}}],
      'project': ['time', 'who', 'parent', 'short']})

QUERIES["signin_where_lower"] = (
    "index=azure sourcetype=\"azure:aad:signin\"\n"
    "| where lower(app)==\"azure portal\" AND isnotnull(riskLevelDuringSignIn) AND _time>=relative_time(now(), \"-24h\")\n"
    "| table _time user app",
    {'source': 'signin_logs',
      'time_range': {'start': {'amount': 24, 'unit': 'hour'}},
      'filters': [{'field': 'app', 'op': 'eq', 'value': 'azure portal'},
                  {'field': 'risk_level', 'op': 'exists'}],
      'project': ['time', 'user', 'app']})

QUERIES["o365_absolute_range"] = (
    "index=o365 sourcetype=\"o365:management:activity\" earliest=\"03/01/2024:00:00:00\" latest=\"03/08/2024:00:00:00\" Operation=FileDeleted\n"
    "| stats count by UserId",
    {'source': 'office_activity',
      'time_range': {'start': {'at': '2024-03-01T00:00:00'},
                     'end': {'at': '2024-03-08T00:00:00'}},
      'filters': [{'field': 'operation', 'op': 'eq', 'value': 'FileDeleted'}],
      'aggregation': {'metrics': [{'fn': 'count', 'alias': 'count'}], 'group_by': ['user']}})

QUERIES["dns_sort_limit"] = (
    "index=dns sourcetype=\"stream:dns\"\n"
    "| stats count by query\n"
    "| sort limit=10 -count",
    {'source': 'dns_events',
      'aggregation': {'metrics': [{'fn': 'count', 'alias': 'count'}], 'group_by': ['query']},
      'sort': [{'field': 'count', 'descending': True}],
      'limit': 10})

QUERIES["notable_months"] = (
    "index=notable earliest=-3mon\n"
    "| stats count by rule_name",
    {'source': 'security_alerts',
      'aggregation': {'metrics': [{'fn': 'count', 'alias': 'count'}],
                      'group_by': ['alert_name']},
      'issues': [{'code': 'unsupported',
                  'message': "line 1, column 24: the time unit 'mon' in '-3mon' is not "
                             'supported (months, quarters and years have no fixed length; use '
                             'days)',
                  'severity': 'error',
                  'line': 1,
                  'column': 24}]})

QUERIES["heartbeat_fieldformat"] = (
    "index=_internal source=*metrics.log group=tcpin_connections\n"
    "| stats max(_time) AS last by hostname\n"
    "| fieldformat last=strftime(last, \"%F %T\")",
    {'source': 'heartbeat',
      'aggregation': {'metrics': [{'fn': 'last_seen', 'alias': 'last'}], 'group_by': ['host']},
      'issues': [{'code': 'unsupported',
                  'message': 'line 3, column 15: fieldformat last=… is not supported (display '
                             'formatting)',
                  'line': 3,
                  'column': 15}]})

QUERIES["signin_iplocation"] = (
    "index=azure sourcetype=\"azure:aad:signin\"\n"
    "| iplocation src_ip\n"
    "| stats count by Country",
    {'source': 'signin_logs',
      'issues': [{'code': 'unsupported',
                  'message': 'line 2, column 3: the iplocation command is not supported (the IR '
                             'cannot hold it)',
                  'severity': 'error',
                  'line': 2,
                  'column': 3},
                 {'code': 'unsupported',
                  'message': "line 3, column 18: 'Country' is not supported (not a catalog "
                             'field; probably added by a command reported above)',
                  'severity': 'error',
                  'line': 3,
                  'column': 18}]})
