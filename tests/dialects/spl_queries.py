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
