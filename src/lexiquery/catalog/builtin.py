"""The built-in sources, shipped as YAML files next to this module (`builtin/*.yaml`), and the
built-in lookup tables (`lookups/*.yaml`, `catalog.lookups`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from lexiquery.catalog.lookups import builtin_lookups
from lexiquery.catalog.model import Catalog, Source

BUILTIN_DIR = Path(__file__).with_name("builtin")
# Catalog order breaks ties when a question fits several sources equally well, so the sources
# analysts ask about most come first; files not listed follow in name order.
PREFERRED_ORDER = ("signin_logs", "process_creation", "windows_security_events", "firewall_events",
                   "web_requests", "dns_events", "syslog", "azure_activity", "audit_logs",
                   "office_activity", "security_alerts", "perf_counters", "heartbeat")


@lru_cache(maxsize=1)
def _builtin_sources() -> tuple[Source, ...]:
    sources = []
    rank = {name: i for i, name in enumerate(PREFERRED_ORDER)}
    paths = sorted(BUILTIN_DIR.glob("*.yaml"), key=lambda p: (rank.get(p.stem, len(rank)), p.name))
    for path in paths:
        # The C loader (when PyYAML has it) reads the built-in sources ~10x faster: every
        # command start pays this.
        data = yaml.load(path.read_text(encoding="utf-8"),
                         Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        sources.append(Source.model_validate(data))
    return tuple(sources)


def builtin_catalog() -> Catalog:
    """A fresh catalog of the built-in sources (parsed once per process, copied per call) and
    the built-in lookup tables (`catalog.lookups`)."""
    catalog = Catalog(s.model_copy(deep=True) for s in _builtin_sources())
    for table in builtin_lookups():
        catalog.add_lookup(table)
    return catalog
