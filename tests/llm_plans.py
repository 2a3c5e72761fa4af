"""Plans a scripted chat model answers with (tests/ollama_server.py's /api/chat script), shared
by the LLM-path tests: a good one for QUESTION, and one naming a field signin_logs lacks."""

QUESTION = "top 10 users with failed sign-ins in the last 24 hours"
GOOD = {"source": "signin_logs", "time_range": {"start": {"amount": 24, "unit": "hour"}},
        "filters": [{"field": "result_code", "op": "ne", "value": "0"}],
        "aggregation": {"metrics": [{"fn": "count"}], "group_by": ["user"]},
        "sort": [{"field": "event_count", "descending": True}], "limit": 10}
UNKNOWN_FIELD = {**GOOD, "filters": [{"field": "status_code", "op": "ne", "value": "0"}]}
