"""A long-lived `Resources` (a server's, a served agent's) sees a catalog imported after it
started, without a restart; an unchanged catalog is not rebuilt."""

from __future__ import annotations

from pathlib import Path

from lexiquery.agents.resources import Resources
from lexiquery.catalog.importers import import_file
from lexiquery.catalog.store import remove_imported, save_imported
from lexiquery.config import get_settings

FIXTURES = Path(__file__).resolve().parents[1] / "catalog" / "fixtures"


def test_a_catalog_imported_later_is_seen_and_a_removed_one_goes() -> None:
    settings = get_settings()
    res = Resources(settings)
    before = res.catalog()
    assert res.catalog() is before  # nothing changed: the same object, not a rebuild
    box = res.sandbox()
    sources = import_file(FIXTURES / "my_sources.yaml")
    save_imported(sources, settings.catalog_dir)
    after = res.catalog()
    new = set(after.ids()) - set(before.ids())
    assert new and after is not before
    assert res.sandbox() is not box  # the sample data follows the catalog
    remove_imported(sorted(new)[0], settings.catalog_dir)
    assert sorted(new)[0] not in res.catalog()
    res.close()


def test_a_given_catalog_is_the_callers_and_never_reloaded() -> None:
    settings = get_settings()
    given = Resources(settings).catalog()
    res = Resources(settings, catalog=given)
    save_imported(import_file(FIXTURES / "my_sources.yaml"), settings.catalog_dir)
    assert res.catalog() is given
