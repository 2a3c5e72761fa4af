"""Bindings of CIM datasets on other platforms (`reference/cim_bindings.yaml`): a CIM source
that another platform holds field for field gains a binding there when the shelf builds it
(`catalog.shelf`), so SPL `| tstats … from datamodel=…` translates. Only the fields whose
meaning and values agree are bound (the file says which were left out, and why); the others stay
SPL-only, and a query naming one gets a precise `not_bound`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from lexiquery.catalog.model import KqlBinding, SqlBinding

__all__ = ["cim_bindings"]

FACTS = Path(__file__).with_name("reference") / "cim_bindings.yaml"


@lru_cache(maxsize=1)
def cim_bindings() -> dict[str, dict[str, KqlBinding | SqlBinding]]:
    """CIM source id → platform name → its binding there."""
    if not FACTS.is_file():
        return {}
    data = yaml.load(FACTS.read_text(encoding="utf-8"),
                     Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    kinds = {"kql": KqlBinding, "sql": SqlBinding}
    return {sid: {p: kinds[p].model_validate(b) for p, b in per.items()}
            for sid, per in data.items()}
