"""The built-in sources, shipped as YAML files next to this module (`builtin/*.yaml`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from lexiquery.catalog.model import Catalog, Source

BUILTIN_DIR = Path(__file__).with_name("builtin")


@lru_cache(maxsize=1)
def _builtin_sources() -> tuple[Source, ...]:
    sources = []
    for path in sorted(BUILTIN_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        sources.append(Source.model_validate(data))
    return tuple(sources)


def builtin_catalog() -> Catalog:
    """A fresh catalog of the built-in sources (parsed once per process, copied per call)."""
    return Catalog(s.model_copy(deep=True) for s in _builtin_sources())
