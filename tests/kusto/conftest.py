"""The official Kusto parser for the session, provided as `tests/cost/conftest.py` provides
redis-server: `node`/`npm` from PATH, installed with apt-get when missing and we run as root;
the parser (`@kusto/language-service-next`, pinned) installed with npm once into a folder that
outlives the run (`kusto_check.parser_dir()`: `.venv/kusto-parser`, or
$LEXIQUERY_KUSTO_PARSER_DIR); one node process serves every test and is stopped at the end.

Unlike redis (an optional backend whose absence skips its tests), a missing parser FAILS the
tests with what to install: KQL validity is what issue 16 is measured on, and a suite that
passes because the check could not run would say nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dialects.cases import TEST_SOURCE

from .kusto_check import (
    VERSION,
    KustoParser,
    ParserError,
    find_or_install_node,
    how_to_install,
    install_parser,
    installed_version,
    parser_dir,
    workspace_schema,
)


@pytest.fixture(scope="session")
def kusto_parser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KustoParser]:
    """One running official parser over the workspace schema (see kusto_check)."""
    directory = parser_dir()
    need_npm = installed_version(directory) != VERSION
    node, npm, why = find_or_install_node(need_npm)
    if node is None:
        pytest.fail(f"no node to run the official Kusto parser ({why}): "
                    f"{how_to_install(directory)}", pytrace=False)
    if need_npm:
        if npm is None:
            pytest.fail(f"no npm to install the official Kusto parser ({why}): "
                        f"{how_to_install(directory)}", pytrace=False)
        why = install_parser(npm, directory)
        if why:
            pytest.fail(f"could not install the official Kusto parser into {directory} "
                        f"({why}): {how_to_install(directory)}", pytrace=False)
    schema = workspace_schema([TEST_SOURCE])
    try:
        parser = KustoParser(node, directory, schema, tmp_path_factory.mktemp("kusto"))
    except ParserError as e:
        pytest.fail(f"the official Kusto parser in {directory} does not run: {e}", pytrace=False)
    with parser:
        yield parser
