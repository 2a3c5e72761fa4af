"""Golden KQL queries: realistic Sentinel hunting queries over the built-in catalog, each with
the plan it must read as (compared exactly, `model_dump`), unsupported constructs included with
the position of their issue. The expected plans are written out by hand-checked value, not
computed: a change in the parser that changes any of them must be looked at."""

from __future__ import annotations

from typing import Any

# name → (KQL text, expected plan as JSON data; omitted keys take the model's defaults)
QUERIES: dict[str, tuple[str, dict[str, Any]]] = {
    "failed_signins_let_threshold": (
        r"""// Brute force: many failed sign-ins for one account
let lookback = 1d;
let threshold = 5;
SigninLogs
| where TimeGenerated > ago(lookback)
| where ResultType != "0"   // anything but success
| summarize FailedCount = count(), IPs = dcount(IPAddress) by UserPrincipalName
| where FailedCount > threshold
| sort by FailedCount""",
        {'source': 'signin_logs',
         'time_range': {'start': {'amount': 1, 'unit': 'day'}},
         'filters': [{'field': 'result_code', 'op': 'ne', 'value': '0'}],
         'aggregation': {'metrics': [{'fn': 'count', 'alias': 'FailedCount'},
                                     {'fn': 'count_distinct', 'field': 'src_ip', 'alias': 'IPs'}],
                         'group_by': ['user']},
         'having': [{'field': 'FailedCount', 'op': 'gt', 'value': 5}],
         'sort': [{'field': 'FailedCount', 'descending': True}]}),
    "rdp_logon_failures_top": (
        r"""SecurityEvent
| where TimeGenerated >= ago(24h)
| where EventID == 4625 and LogonType in (3, 10)
| summarize count() by TargetUserName, IpAddress
| top 20 by count_""",
        {'source': 'windows_security_events',
         'time_range': {'start': {'amount': 24, 'unit': 'hour'}},
         'filters': [{'field': 'event_id', 'op': 'eq', 'value': 4625},
                     {'field': 'logon_type', 'op': 'in', 'value': [3, 10]}],
         'aggregation': {'metrics': [{'fn': 'count', 'alias': 'count_'}],
                         'group_by': ['user', 'src_ip']},
         'sort': [{'field': 'count_', 'descending': True}],
         'limit': 20}),
    "lolbins_dynamic_list": (
        r"""let suspicious = dynamic(["mimikatz.exe", "procdump.exe", "psexec.exe"]);
DeviceProcessEvents
| where TimeGenerated between (ago(7d) .. now())
| where FileName in~ (suspicious)
| project TimeGenerated, DeviceName, AccountName, ProcessCommandLine""",
        {'source': 'process_creation',
         'time_range': {'start': {'amount': 7, 'unit': 'day'}},
         'filters': [{'field': 'process',
                      'op': 'in',
                      'value': ['mimikatz.exe', 'procdump.exe', 'psexec.exe']}],
         'project': ['time', 'host', 'user', 'command_line']}),
    "role_changes_make_set": (
        r"""AuditLogs
| where TimeGenerated >= ago(14d)
| where OperationName has_any ("Add member to role", "Add eligible member to role")
| summarize Initiators = make_set(tostring(InitiatedBy.user.userPrincipalName)), count() by OperationName""",
        {'source': 'audit_logs',
         'time_range': {'start': {'amount': 14, 'unit': 'day'}},
         'filters': [{'kind': 'or',
                      'items': [{'field': 'operation', 'op': 'has', 'value': 'Add member to role'},
                                {'field': 'operation',
                                 'op': 'has',
                                 'value': 'Add eligible member to role'}]}],
         'aggregation': {'metrics': [{'fn': 'values', 'field': 'initiator', 'alias': 'Initiators'},
                                     {'fn': 'count', 'alias': 'count_'}],
                         'group_by': ['operation']}}),
    "iis_5xx_hourly_render": (
        r"""W3CIISLog
| where TimeGenerated >= ago(1d)
| where toint(scStatus) >= 500
| summarize Errors = count() by bin(TimeGenerated, 1h), sSiteName
| render timechart""",
        {'source': 'web_requests',
         'time_range': {'start': {'amount': 1, 'unit': 'day'}},
         'filters': [{'field': 'status', 'op': 'ge', 'value': 500}],
         'aggregation': {'metrics': [{'fn': 'count', 'alias': 'Errors'}],
                         'group_by': ['site'],
                         'time_bucket': {'unit': 'hour'}},
         'issues': [{'code': 'unsupported',
                     'message': 'line 5, column 3: the render operator is not supported (it only '
                                'changes how the results are drawn)',
                     'line': 5,
                     'column': 3}]}),
    "encoded_powershell": (
        r"""DeviceProcessEvents
| where TimeGenerated > ago(3d)
| where FileName =~ "powershell.exe"
| where ProcessCommandLine has_any ("-enc", "-EncodedCommand", "FromBase64String")
| project TimeGenerated, DeviceName, AccountName, ProcessCommandLine, InitiatingProcessFileName
| sort by TimeGenerated desc""",
        {'source': 'process_creation',
         'time_range': {'start': {'amount': 3, 'unit': 'day'}},
         'filters': [{'field': 'process', 'op': 'eq', 'value': 'powershell.exe'},
                     {'kind': 'or',
                      'items': [{'field': 'command_line', 'op': 'has', 'value': '-enc'},
                                {'field': 'command_line', 'op': 'has', 'value': '-EncodedCommand'},
                                {'field': 'command_line',
                                 'op': 'has',
                                 'value': 'FromBase64String'}]}],
         'project': ['time', 'host', 'user', 'command_line', 'parent_process'],
         'sort': [{'field': 'time', 'descending': True}]}),
    "mfa_interrupted_case_sensitive": (
        r"""SigninLogs
| where ResultType == "50074"
| where AppDisplayName == "Azure Portal" and IsInteractive == true
| summarize Attempts = count(), LastSeen = max(TimeGenerated) by UserPrincipalName, Location
| order by LastSeen asc""",
        {'source': 'signin_logs',
         'filters': [{'field': 'result_code', 'op': 'eq', 'value': '50074'},
                     {'field': 'app', 'op': 'eq', 'value': 'Azure Portal', 'case_sensitive': True},
                     {'field': 'is_interactive', 'op': 'eq', 'value': True}],
         'aggregation': {'metrics': [{'fn': 'count', 'alias': 'Attempts'},
                                     {'fn': 'last_seen', 'alias': 'LastSeen'}],
                         'group_by': ['user', 'location']},
         'sort': [{'field': 'LastSeen'}]}),
    "dns_rare_domains_distinct": (
        r"""DnsEvents
| where TimeGenerated >= ago(12h)
| where Name endswith ".xyz" or Name endswith ".top"
| distinct Name, ClientIP""",
        {'source': 'dns_events',
         'time_range': {'start': {'amount': 12, 'unit': 'hour'}},
         'filters': [{'kind': 'or',
                      'items': [{'field': 'query', 'op': 'endswith', 'value': '.xyz'},
                                {'field': 'query', 'op': 'endswith', 'value': '.top'}]}],
         'aggregation': {'group_by': ['query', 'src_ip']}}),
    "syslog_sudo_failures": (
        r"""Syslog
| where TimeGenerated >= startofday(now())
| where Facility in ("auth", "authpriv")
| where SyslogMessage contains "authentication failure" and ProcessName == "sudo"
| summarize Failures = count() by Computer, HostIP
| where Failures >= 3""",
        {'source': 'syslog',
         'time_range': {'start': {'amount': 0, 'unit': 'day', 'snap': 'day'}},
         'filters': [{'field': 'facility',
                      'op': 'in',
                      'value': ['auth', 'authpriv'],
                      'case_sensitive': True},
                     {'field': 'message', 'op': 'contains', 'value': 'authentication failure'},
                     {'field': 'process', 'op': 'eq', 'value': 'sudo', 'case_sensitive': True}],
         'aggregation': {'metrics': [{'fn': 'count', 'alias': 'Failures'}],
                         'group_by': ['host', 'host_ip']},
         'having': [{'field': 'Failures', 'op': 'ge', 'value': 3}]}),
    "firewall_denied_ports": (
        r"""CommonSecurityLog
| where TimeGenerated >= ago(6h)
| where DeviceAction in~ ("deny", "drop", "block")
| where DestinationPort !in (80, 443)
| summarize Connections = count(), Ports = dcount(DestinationPort), Bytes = sum(SentBytes) by SourceIP
| top 10 by Ports desc""",
        {'source': 'firewall_events',
         'time_range': {'start': {'amount': 6, 'unit': 'hour'}},
         'filters': [{'field': 'action', 'op': 'in', 'value': ['deny', 'drop', 'block']},
                     {'field': 'dest_port', 'op': 'not_in', 'value': [80, 443]}],
         'aggregation': {'metrics': [{'fn': 'count', 'alias': 'Connections'},
                                     {'fn': 'count_distinct',
                                      'field': 'dest_port',
                                      'alias': 'Ports'},
                                     {'fn': 'sum', 'field': 'bytes_out', 'alias': 'Bytes'}],
                         'group_by': ['src_ip']},
         'sort': [{'field': 'Ports', 'descending': True}],
         'limit': 10}),
    "office_mass_download": (
        r"""OfficeActivity
| where TimeGenerated >= ago(1d)
| where Operation == "FileDownloaded"
| summarize Files = dcount(SourceFileName), Downloads = count() by UserId, ClientIP
| where Files > 100 or Downloads > 500
| sort by Files desc, Downloads desc""",
        {'source': 'office_activity',
         'time_range': {'start': {'amount': 1, 'unit': 'day'}},
         'filters': [{'field': 'operation',
                      'op': 'eq',
                      'value': 'FileDownloaded',
                      'case_sensitive': True}],
         'aggregation': {'metrics': [{'fn': 'count_distinct',
                                      'field': 'file_name',
                                      'alias': 'Files'},
                                     {'fn': 'count', 'alias': 'Downloads'}],
                         'group_by': ['user', 'src_ip']},
         'having': [{'kind': 'or',
                     'items': [{'field': 'Files', 'op': 'gt', 'value': 100},
                               {'field': 'Downloads', 'op': 'gt', 'value': 500}]}],
         'sort': [{'field': 'Files', 'descending': True},
                  {'field': 'Downloads', 'descending': True}]}),
    "heartbeat_silent_agents": (
        r"""Heartbeat
| summarize LastHeartbeat = max(TimeGenerated) by Computer, OSType
| where LastHeartbeat < datetime(2024-06-01)""",
        {'source': 'heartbeat',
         'aggregation': {'metrics': [{'fn': 'last_seen', 'alias': 'LastHeartbeat'}],
                         'group_by': ['host', 'os_type']},
         'having': [{'field': 'LastHeartbeat', 'op': 'lt', 'value': '2024-06-01T00:00:00Z'}]}),
    "perf_cpu_percentiles": (
        r"""Perf
| where TimeGenerated >= ago(1h)
| where ObjectName == "Processor" and CounterName == "% Processor Time"
| summarize percentiles(CounterValue, 50, 95), avg(CounterValue) by Computer
| where percentile_CounterValue_95 > 90""",
        {'source': 'perf_counters',
         'time_range': {'start': {'amount': 1, 'unit': 'hour'}},
         'filters': [{'field': 'object', 'op': 'eq', 'value': 'Processor', 'case_sensitive': True},
                     {'field': 'counter',
                      'op': 'eq',
                      'value': '% Processor Time',
                      'case_sensitive': True}],
         'aggregation': {'metrics': [{'fn': 'percentile',
                                      'field': 'value',
                                      'percentile': 50.0,
                                      'alias': 'percentile_CounterValue_50'},
                                     {'fn': 'percentile',
                                      'field': 'value',
                                      'percentile': 95.0,
                                      'alias': 'percentile_CounterValue_95'},
                                     {'fn': 'avg', 'field': 'value', 'alias': 'avg_CounterValue'}],
                         'group_by': ['host']},
         'having': [{'field': 'percentile_CounterValue_95', 'op': 'gt', 'value': 90}]}),
    "security_alert_severity_count": (
        r"""SecurityAlert
| where TimeGenerated >= ago(30d)
| where AlertSeverity in ("High", "Medium")
| summarize Alerts = count(), Products = make_list(ProductName) by AlertName
| top 15 by Alerts""",
        {'source': 'security_alerts',
         'time_range': {'start': {'amount': 30, 'unit': 'day'}},
         'filters': [{'field': 'severity',
                      'op': 'in',
                      'value': ['High', 'Medium'],
                      'case_sensitive': True}],
         'aggregation': {'metrics': [{'fn': 'count', 'alias': 'Alerts'},
                                     {'fn': 'list', 'field': 'product', 'alias': 'Products'}],
                         'group_by': ['alert_name']},
         'sort': [{'field': 'Alerts', 'descending': True}],
         'limit': 15}),
    "azure_activity_deletes": (
        r"""AzureActivity
| where TimeGenerated >= ago(2d)
| where OperationNameValue endswith "/delete" and ActivityStatusValue =~ "Success"
| project TimeGenerated, Caller, CallerIpAddress, OperationNameValue, ResourceGroup
| take 100""",
        {'source': 'azure_activity',
         'time_range': {'start': {'amount': 2, 'unit': 'day'}},
         'filters': [{'field': 'operation', 'op': 'endswith', 'value': '/delete'},
                     {'field': 'result', 'op': 'eq', 'value': 'Success'}],
         'project': ['time', 'user', 'src_ip', 'operation', 'resource_group'],
         'limit': 100}),
    "multiline_comments_everywhere": (
        r"""// Hunting query: service accounts signing in interactively
// author: soc
SigninLogs // the table
| where TimeGenerated >= ago(7d) // last week
// only interactive ones
| where IsInteractive == true
| where UserPrincipalName startswith "svc_"   // naming convention
| project TimeGenerated, UserPrincipalName, IPAddress, AppDisplayName""",
        {'source': 'signin_logs',
         'time_range': {'start': {'amount': 7, 'unit': 'day'}},
         'filters': [{'field': 'is_interactive', 'op': 'eq', 'value': True},
                     {'field': 'user', 'op': 'startswith', 'value': 'svc_'}],
         'project': ['time', 'user', 'src_ip', 'app']}),
    "verbatim_regex_case_insensitive": (
        r"""DeviceProcessEvents
| where FolderPath matches regex @"(?i)\\users\\public\\[a-z0-9]+\.exe$"
| project TimeGenerated, DeviceName, FolderPath""",
        {'source': 'process_creation',
         'filters': [{'field': 'process_path',
                      'op': 'regex',
                      'value': '\\\\users\\\\public\\\\[a-z0-9]+\\.exe$'}],
         'project': ['time', 'host', 'process_path']}),
    "regex_case_sensitive_single_quotes": (
        r"""SecurityEvent
| where CommandLine matches regex 'Invoke-[A-Z][a-z]+'
| where EventID == 4688""",
        {'source': 'windows_security_events',
         'filters': [{'field': 'command_line',
                      'op': 'regex',
                      'value': 'Invoke-[A-Z][a-z]+',
                      'case_sensitive': True},
                     {'field': 'event_id', 'op': 'eq', 'value': 4688}]}),
    "escapes_in_strings": (
        'SecurityEvent\n| where CommandLine contains "C:\\\\Windows\\\\Temp\\\\" and CommandLine !contains \'say \\\'hi\\\'\'\n| where NewProcessName endswith @"\\cmd.exe"',
        {'source': 'windows_security_events',
         'filters': [{'field': 'command_line', 'op': 'contains', 'value': 'C:\\Windows\\Temp\\'},
                     {'field': 'command_line', 'op': 'not_contains', 'value': "say 'hi'"},
                     {'field': 'process', 'op': 'endswith', 'value': '\\cmd.exe'}]}),
    "not_and_negated_ops": (
        'SigninLogs\n| where not(UserPrincipalName endswith "@contoso.com")\n| where AppDisplayName !startswith "Microsoft"\n| where UserAgent !has "bot" and Location != "US"',
        {'source': 'signin_logs',
         'filters': [{'kind': 'not',
                      'item': {'field': 'user', 'op': 'endswith', 'value': '@contoso.com'}},
                     {'kind': 'not',
                      'item': {'field': 'app', 'op': 'startswith', 'value': 'Microsoft'}},
                     {'kind': 'not', 'item': {'field': 'user_agent', 'op': 'has', 'value': 'bot'}},
                     {'field': 'location', 'op': 'ne', 'value': 'US', 'case_sensitive': True}]}),
    "has_all_and_has_cs": (
        'SecurityEvent\n| where CommandLine has_all ("net", "user", "/add")\n| where CommandLine has_cs "ADMIN"\n| where CommandLine !contains_cs "Test"',
        {'source': 'windows_security_events',
         'filters': [{'field': 'command_line', 'op': 'has', 'value': 'net'},
                     {'field': 'command_line', 'op': 'has', 'value': 'user'},
                     {'field': 'command_line', 'op': 'has', 'value': '/add'},
                     {'field': 'command_line',
                      'op': 'has',
                      'value': 'ADMIN',
                      'case_sensitive': True},
                     {'field': 'command_line',
                      'op': 'not_contains',
                      'value': 'Test',
                      'case_sensitive': True}]}),
    "between_numbers_and_not_between": (
        r"""CommonSecurityLog
| where DestinationPort between (1024 .. 49151)
| where SourcePort !between (0 .. 1023)""",
        {'source': 'firewall_events',
         'filters': [{'field': 'dest_port', 'op': 'ge', 'value': 1024},
                     {'field': 'dest_port', 'op': 'le', 'value': 49151},
                     {'kind': 'not',
                      'item': {'kind': 'and',
                               'items': [{'field': 'src_port', 'op': 'ge', 'value': 0},
                                         {'field': 'src_port', 'op': 'le', 'value': 1023}]}}]}),
    "isempty_isnotempty": (
        r"""SigninLogs
| where isnotempty(UserAgent) and isempty(Location)
| project UserPrincipalName, UserAgent""",
        {'source': 'signin_logs',
         'filters': [{'field': 'user_agent', 'op': 'exists'},
                     {'field': 'location', 'op': 'not_exists'}],
         'project': ['user', 'user_agent']}),
    "absolute_range_datetime": (
        r"""SigninLogs
| where TimeGenerated >= datetime(2024-03-01) and TimeGenerated < datetime(2024-03-08 12:30:00)
| where ResultType == "0"
| count""",
        {'source': 'signin_logs',
         'time_range': {'start': {'at': '2024-03-01T00:00:00Z'},
                        'end': {'at': '2024-03-08T12:30:00Z'}},
         'filters': [{'field': 'result_code', 'op': 'eq', 'value': '0'}],
         'aggregation': {'metrics': [{'fn': 'count', 'alias': 'Count'}]}}),
    "yesterday_startofday": (
        r"""SecurityEvent
| where TimeGenerated >= startofday(ago(1d)) and TimeGenerated < startofday(now())
| where EventID == 4720
| project TimeGenerated, Computer, TargetUserName, SubjectUserName""",
        {'source': 'windows_security_events',
         'time_range': {'start': {'amount': 1, 'unit': 'day', 'snap': 'day'},
                        'end': {'amount': 0, 'unit': 'day', 'snap': 'day'}},
         'filters': [{'field': 'event_id', 'op': 'eq', 'value': 4720}],
         'project': ['time', 'host', 'user', 'subject_user']}),
    "extend_functions": (
        r"""SecurityEvent
| where EventID == 4688
| extend Process = tolower(NewProcessName), CmdLen = strlen(CommandLine)
| extend Label = strcat(Computer, "\\", TargetUserName), Short = substring(CommandLine, 0, 50)
| where CmdLen > 1000
| project TimeGenerated, Computer, Process, CmdLen, Label, Short""",
        {'source': 'windows_security_events',
         'filters': [{'field': 'event_id', 'op': 'eq', 'value': 4688},
                     {'field': 'CmdLen', 'op': 'gt', 'value': 1000}],
         'computed': [{'name': 'Process',
                       'expr': {'kind': 'call',
                                'fn': 'lower',
                                'args': [{'kind': 'field', 'name': 'process'}]}},
                      {'name': 'CmdLen',
                       'expr': {'kind': 'call',
                                'fn': 'length',
                                'args': [{'kind': 'field', 'name': 'command_line'}]}},
                      {'name': 'Label',
                       'expr': {'kind': 'call',
                                'fn': 'concat',
                                'args': [{'kind': 'field', 'name': 'host'},
                                         {'kind': 'literal', 'value': '\\'},
                                         {'kind': 'field', 'name': 'user'}]}},
                      {'name': 'Short',
                       'expr': {'kind': 'call',
                                'fn': 'substring',
                                'args': [{'kind': 'field', 'name': 'command_line'},
                                         {'kind': 'literal', 'value': 0},
                                         {'kind': 'literal', 'value': 50}]}}],
         'project': ['time', 'host', 'Process', 'CmdLen', 'Label', 'Short']}),
    "extend_iff_coalesce_arith": (
        r"""CommonSecurityLog
| extend TotalBytes = SentBytes + ReceivedBytes, MB = toreal(SentBytes) / 1048576
| extend Direction = iff(SentBytes > ReceivedBytes, "out", "in"), Who = coalesce(SourceUserName, "unknown")
| summarize Total = sum(TotalBytes), AvgMB = avg(MB) by Direction, Who""",
        {'source': 'firewall_events',
         'computed': [{'name': 'TotalBytes',
                       'expr': {'kind': 'call',
                                'fn': 'add',
                                'args': [{'kind': 'field', 'name': 'bytes_out'},
                                         {'kind': 'field', 'name': 'bytes_in'}]}},
                      {'name': 'MB',
                       'expr': {'kind': 'call',
                                'fn': 'div',
                                'args': [{'kind': 'call',
                                          'fn': 'to_real',
                                          'args': [{'kind': 'field', 'name': 'bytes_out'}]},
                                         {'kind': 'literal', 'value': 1048576}]}},
                      {'name': 'Direction',
                       'expr': {'kind': 'call',
                                'fn': 'if',
                                'args': [{'kind': 'compare',
                                          'left': {'kind': 'field', 'name': 'bytes_out'},
                                          'op': 'gt',
                                          'right': {'kind': 'field', 'name': 'bytes_in'}},
                                         {'kind': 'literal', 'value': 'out'},
                                         {'kind': 'literal', 'value': 'in'}]}},
                      {'name': 'Who',
                       'expr': {'kind': 'call',
                                'fn': 'coalesce',
                                'args': [{'kind': 'field', 'name': 'user'},
                                         {'kind': 'literal', 'value': 'unknown'}]}}],
         'aggregation': {'metrics': [{'fn': 'sum', 'field': 'TotalBytes', 'alias': 'Total'},
                                     {'fn': 'avg', 'field': 'MB', 'alias': 'AvgMB'}],
                         'group_by': ['Direction', 'Who']}}),
    "integer_division": (
        r"""CommonSecurityLog
| extend KB = SentBytes / 1024, Rem = SentBytes % 1024
| project SourceIP, KB, Rem""",
        {'source': 'firewall_events',
         'computed': [{'name': 'KB',
                       'expr': {'kind': 'call',
                                'fn': 'to_int',
                                'args': [{'kind': 'call',
                                          'fn': 'div',
                                          'args': [{'kind': 'field', 'name': 'bytes_out'},
                                                   {'kind': 'literal', 'value': 1024}]}]}},
                      {'name': 'Rem',
                       'expr': {'kind': 'call',
                                'fn': 'mod',
                                'args': [{'kind': 'field', 'name': 'bytes_out'},
                                         {'kind': 'literal', 'value': 1024}]}}],
         'project': ['src_ip', 'KB', 'Rem']}),
    "project_rename_and_away": (
        r"""Heartbeat
| where TimeGenerated >= ago(1h)
| project-rename Host = Computer
| project-away Category, ComputerEnvironment, Version""",
        {'source': 'heartbeat',
         'time_range': {'start': {'amount': 1, 'unit': 'hour'}},
         'computed': [{'name': 'Host', 'expr': {'kind': 'field', 'name': 'host'}}],
         'project': ['time', 'Host', 'host_ip', 'os_type', 'os_name', 'resource_group',
                     'subscription']}),
    "project_alias_expression": (
        'DnsEvents\n| project TimeGenerated, Domain = tolower(Name), ClientIP\n| where Domain endswith ".ru"',
        {'source': 'dns_events',
         'filters': [{'field': 'Domain', 'op': 'endswith', 'value': '.ru'}],
         'computed': [{'name': 'Domain',
                       'expr': {'kind': 'call',
                                'fn': 'lower',
                                'args': [{'kind': 'field', 'name': 'query'}]}}],
         'project': ['time', 'Domain', 'src_ip']}),
    "summarize_by_alias_bin_and_time": (
        r"""SigninLogs
| where TimeGenerated >= ago(30d)
| summarize Users = dcount(UserPrincipalName), FirstSeen = min(TimeGenerated), LastSeen = max(TimeGenerated) by bin(TimeGenerated, 1d)
| sort by TimeGenerated asc""",
        {'source': 'signin_logs',
         'time_range': {'start': {'amount': 30, 'unit': 'day'}},
         'aggregation': {'metrics': [{'fn': 'count_distinct', 'field': 'user', 'alias': 'Users'},
                                     {'fn': 'first_seen', 'alias': 'FirstSeen'},
                                     {'fn': 'last_seen', 'alias': 'LastSeen'}],
                         'time_bucket': {'unit': 'day'}},
         'sort': [{'field': 'time'}]}),
    "unaliased_default_names": (
        r"""Perf
| where CounterName == "Available MBytes"
| summarize avg(CounterValue), min(CounterValue), max(CounterValue), percentile(CounterValue, 99.5) by Computer
| where avg_CounterValue < 500
| top 5 by min_CounterValue asc""",
        {'source': 'perf_counters',
         'filters': [{'field': 'counter',
                      'op': 'eq',
                      'value': 'Available MBytes',
                      'case_sensitive': True}],
         'aggregation': {'metrics': [{'fn': 'avg', 'field': 'value', 'alias': 'avg_CounterValue'},
                                     {'fn': 'min', 'field': 'value', 'alias': 'min_CounterValue'},
                                     {'fn': 'max', 'field': 'value', 'alias': 'max_CounterValue'},
                                     {'fn': 'percentile',
                                      'field': 'value',
                                      'percentile': 99.5,
                                      'alias': 'percentile_CounterValue_99_5'}],
                         'group_by': ['host']},
         'having': [{'field': 'avg_CounterValue', 'op': 'lt', 'value': 500}],
         'sort': [{'field': 'min_CounterValue'}],
         'limit': 5}),
    "countif_isnotempty_and_project_after_summarize": (
        r"""SigninLogs
| summarize WithAgent = countif(isnotempty(UserAgent)), count() by AppDisplayName
| project AppDisplayName, Total = count_, WithAgent
| sort by Total desc""",
        {'source': 'signin_logs',
         'aggregation': {'metrics': [{'fn': 'count', 'field': 'user_agent', 'alias': 'WithAgent'},
                                     {'fn': 'count', 'alias': 'Total'}],
                         'group_by': ['app']},
         'project': ['app', 'Total', 'WithAgent'],
         'sort': [{'field': 'Total', 'descending': True}]}),
    "distinct_then_sort_take": (
        r"""AuditLogs
| where Category == "UserManagement"
| distinct OperationName
| sort by OperationName asc
| take 50""",
        {'source': 'audit_logs',
         'filters': [{'field': 'category',
                      'op': 'eq',
                      'value': 'UserManagement',
                      'case_sensitive': True}],
         'aggregation': {'group_by': ['operation']},
         'sort': [{'field': 'operation'}],
         'limit': 50}),
    "dynamic_path_filter_group": (
        r"""AuditLogs
| where tostring(InitiatedBy.user.userPrincipalName) =~ "admin@contoso.com"
| summarize count() by initiator = tostring(InitiatedBy.user.userPrincipalName), OperationName""",
        {'source': 'audit_logs',
         'filters': [{'field': 'initiator', 'op': 'eq', 'value': 'admin@contoso.com'}],
         'aggregation': {'metrics': [{'fn': 'count', 'alias': 'count_'}],
                         'group_by': ['initiator', 'operation']}}),
    "let_datetime_and_ago_values": (
        r"""let start = datetime(2024-05-01T00:00:00Z);
let finish = datetime(2024-05-02T00:00:00Z);
let admins = dynamic(["admin", "administrator", "root"]);
SecurityEvent
| where TimeGenerated >= start and TimeGenerated < finish
| where TargetUserName in~ (admins)
| summarize count() by Computer""",
        {'source': 'windows_security_events',
         'time_range': {'start': {'at': '2024-05-01T00:00:00Z'},
                        'end': {'at': '2024-05-02T00:00:00Z'}},
         'filters': [{'field': 'user', 'op': 'in', 'value': ['admin', 'administrator', 'root']}],
         'aggregation': {'metrics': [{'fn': 'count', 'alias': 'count_'}], 'group_by': ['host']}}),
    "let_string_and_number": (
        r"""let app = "Microsoft Teams";
let maxrows = 25;
SigninLogs
| where AppDisplayName =~ app
| take maxrows""",
        {'source': 'signin_logs',
         'filters': [{'field': 'app', 'op': 'eq', 'value': 'Microsoft Teams'}],
         'limit': 25}),
    "limit_and_sort_then_limit": (
        r"""SecurityAlert
| sort by TimeGenerated desc
| limit 10
| project TimeGenerated, AlertName, AlertSeverity, CompromisedEntity""",
        {'source': 'security_alerts',
         'project': ['time', 'alert_name', 'severity', 'entity'],
         'sort': [{'field': 'time', 'descending': True}],
         'limit': 10}),
    "unsupported_join": (
        r"""SigninLogs
| where ResultType == "50126"
| join kind=rightouter (AuditLogs | where OperationName == "Reset password") on $left.UserPrincipalName == $right.TargetResources
| project TimeGenerated, UserPrincipalName""",
        {'source': 'signin_logs',
         'filters': [{'field': 'result_code', 'op': 'eq', 'value': '50126'}],
         'project': ['time', 'user'],
         'issues': [{'code': 'unsupported',
                     'message': 'line 3, column 3: join kind=rightouter is not supported (the IR '
                                'joins inner, leftouter, leftsemi and leftanti)',
                     'severity': 'error',
                     'line': 3,
                     'column': 3}]}),
    "unsupported_mv_expand_parse": (
        r"""SecurityAlert
| mv-apply Entity = ExtendedProperties on (take 1)
| parse kind=regex Description with "user " User " from"
| project AlertName""",
        {'source': 'security_alerts',
         'project': ['alert_name'],
         'issues': [{'code': 'unsupported',
                     'message': 'line 2, column 3: the mv-apply operator is not supported (the '
                                'IR has no array expansion)',
                     'severity': 'error',
                     'line': 2,
                     'column': 3},
                    {'code': 'unsupported',
                     'message': 'line 3, column 3: parse kind=regex is not supported (the simple '
                                'form parse x with * "text" Name "text" * is read)',
                     'severity': 'error',
                     'line': 3,
                     'column': 3}]}),
    "unsupported_arg_max": (
        r"""Heartbeat
| summarize arg_max(TimeGenerated, *), count() by Computer""",
        {'source': 'heartbeat',
         'issues': [{'code': 'unsupported',
                     'message': 'line 2, column 13: arg_max() with other aggregates or named '
                                'outputs is not supported (write summarize arg_max(Column, *) by '
                                'keys on its own)',
                     'severity': 'error',
                     'line': 2,
                     'column': 13}]}),
    "unsupported_countif_predicate": (
        r"""SigninLogs
| summarize Failures = countif(ResultType != "0" and ResultType != "50126"), Total = count() by UserPrincipalName""",
        {'source': 'signin_logs',
         'aggregation': {'metrics': [{'fn': 'count', 'alias': 'Total'}], 'group_by': ['user']},
         'issues': [{'code': 'unsupported',
                     'message': 'line 2, column 32: this condition inside iff() is not supported '
                                "(the IR's iff takes one comparison (==, !=, <, >, contains, "
                                'startswith, has…))',
                     'severity': 'error',
                     'line': 2,
                     'column': 32}]}),
    "unsupported_take_then_where": (
        r"""SigninLogs
| where ResultType == "50126"
| join (SigninLogs | where ResultType == "0" | project UserPrincipalName, SuccessIP = IPAddress) on UserPrincipalName""",
        {'source': 'signin_logs',
         'filters': [{'field': 'result_code', 'op': 'eq', 'value': '50126'}],
         'issues': [{'code': 'unsupported',
                     'message': "line 3, column 3: a join of KQL's default kind (innerunique) is "
                                'not supported (it keeps one left row per key; write kind=inner '
                                '(or kind=leftsemi, leftouter, leftanti))',
                     'severity': 'error',
                     'line': 3,
                     'column': 3}]}),
    "unsupported_second_summarize": (
        r"""SigninLogs
| summarize c = count() by UserPrincipalName, Location
| summarize Locations = make_set(Location, 10) by UserPrincipalName""",
        {'source': 'signin_logs',
         'aggregation': {'metrics': [{'fn': 'count', 'alias': 'c'}],
                         'group_by': ['user', 'location']},
         'stages': [{'kind': 'step',
                     'aggregation': {'metrics': [{'fn': 'values',
                                                  'field': 'location',
                                                  'alias': 'Locations'}],
                                     'group_by': ['user']}}],
         'issues': [{'code': 'unsupported',
                     'message': 'line 3, column 44: the size cap of make_set(…, 10) is not '
                                'supported (the translation lists every value of each group; '
                                'KQL keeps at most 10, chosen arbitrarily, so only a group with '
                                'more values differs)',
                     'severity': 'warning',
                     'line': 3,
                     'column': 44}]}),
    "unsupported_extract_in_extend": (
        r"""Syslog
| where ProcessName == "sshd"
| extend Port = extract(@"port (\d+)", 1, SyslogMessage, typeof(int))""",
        {'source': 'syslog',
         'filters': [{'field': 'process', 'op': 'eq', 'value': 'sshd', 'case_sensitive': True}],
         'issues': [{'code': 'unsupported',
                     'message': 'line 3, column 58: extract() with a type is not supported '
                                '(convert the text afterwards)',
                     'severity': 'error',
                     'line': 3,
                     'column': 58}]}),
    "unsupported_where_removed_by_project": (
        'DnsEvents\n| project TimeGenerated, Name\n| where ClientIP == "10.0.0.5"',
        {'source': 'dns_events',
         'project': ['time', 'query'],
         'issues': [{'code': 'unsupported',
                     'message': "line 3, column 9: a use of 'ClientIP' is not supported (the "
                                'project at line 2, column 3 removed it; move this stage before '
                                'the project)',
                     'severity': 'error',
                     'line': 3,
                     'column': 9}]}),
    "unsupported_union_first_table": (
        r"""union SecurityEvent, Syslog
| where TimeGenerated >= ago(1h)
| count""",
        {'source': 'windows_security_events',
         'time_range': {'start': {'amount': 1, 'unit': 'hour'}},
         'aggregation': {'metrics': [{'fn': 'count', 'alias': 'Count'}]},
         'issues': [{'code': 'unsupported',
                     'message': 'line 1, column 1: union is not supported (the IR reads one table)',
                     'severity': 'error',
                     'line': 1,
                     'column': 1}]}),
    "unsupported_ago_in_having": (
        r"""DeviceProcessEvents
| summarize LastRun = max(TimeGenerated) by DeviceName
| where LastRun < ago(7d)""",
        {'source': 'process_creation',
         'aggregation': {'metrics': [{'fn': 'last_seen', 'alias': 'LastRun'}],
                         'group_by': ['host']},
         'issues': [{'code': 'unsupported',
                     'message': 'line 3, column 19: ago() as a value is not supported (only the '
                                "time column's range can be relative to now (TimeGenerated >= "
                                'ago(1d)), before summarize)',
                     'severity': 'error',
                     'line': 3,
                     'column': 19}]}),
    "unsupported_expression_compare": (
        r"""DeviceProcessEvents
| where FileName == "cmd.exe"
| where countof(ProcessCommandLine, "^") > 10""",
        {'source': 'process_creation',
         'filters': [{'field': 'process',
                      'op': 'eq',
                      'value': 'cmd.exe',
                      'case_sensitive': True}],
         'issues': [{'code': 'unsupported',
                     'message': 'line 3, column 9: the function countof() is not supported (the '
                                'IR has no count of occurrences)',
                     'severity': 'error',
                     'line': 3,
                     'column': 9}]}),
    "timespans_and_now_minus": (
        r"""Syslog
| where TimeGenerated >= now() - 90m
| summarize count() by bin(TimeGenerated, 30s)""",
        {'source': 'syslog',
         'time_range': {'start': {'amount': 90, 'unit': 'minute'}},
         'aggregation': {'metrics': [{'fn': 'count', 'alias': 'count_'}],
                         'time_bucket': {'amount': 30, 'unit': 'second'}}}),
    "extend_after_summarize_unsupported": (
        r"""Perf
| summarize AvgValue = avg(CounterValue) by Computer
| extend Tags = bag_keys(Computer)""",
        {'source': 'perf_counters',
         'aggregation': {'metrics': [{'fn': 'avg', 'field': 'value', 'alias': 'AvgValue'}],
                         'group_by': ['host']},
         'issues': [{'code': 'unsupported',
                     'message': 'line 3, column 17: the function bag_keys() is not supported '
                                "(the IR has no list of a property bag's keys)",
                     'severity': 'error',
                     'line': 3,
                     'column': 17}]}),
    "string_forms_concat_and_obfuscated": (
        'SecurityEvent\n| where TargetUserName == h"jdoe"\n| where Activity has "4624" "-"',
        {'source': 'windows_security_events',
         'filters': [{'field': 'user', 'op': 'eq', 'value': 'jdoe', 'case_sensitive': True},
                     {'field': 'activity', 'op': 'has', 'value': '4624-'}]}),
    "mirror_literal_left": (
        r"""SecurityEvent
| where 4624 == EventID and 2 < LogonType""",
        {'source': 'windows_security_events',
         'filters': [{'field': 'event_id', 'op': 'eq', 'value': 4624},
                     {'field': 'logon_type', 'op': 'gt', 'value': 2}]}),
}

# What the text at each issue's line/column starts with, in issue order: the construct itself.
ISSUE_AT: dict[str, list[str]] = {
    "iis_5xx_hourly_render": ["render"],
    "unsupported_join": ["join"],
    "unsupported_mv_expand_parse": ["mv-apply", "parse"],
    "unsupported_arg_max": ["arg_max("],
    "unsupported_countif_predicate": ["ResultType !="],
    "unsupported_take_then_where": ["join"],
    "unsupported_second_summarize": ["10"],
    "unsupported_extract_in_extend": ["typeof("],
    "unsupported_where_removed_by_project": ["ClientIP"],
    "unsupported_union_first_table": ["union"],
    "unsupported_ago_in_having": ["ago("],
    "unsupported_expression_compare": ["countof("],
    "extend_after_summarize_unsupported": ["bag_keys("],
}
