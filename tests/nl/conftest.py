"""Fixtures for the NL tests."""

from __future__ import annotations

import pytest
from planchecks import golden_catalog

from lexiquery.catalog.model import Catalog


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return golden_catalog()
