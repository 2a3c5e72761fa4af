"""The house plan: every module under src/ imports only from its own layer or below, no import
forms a circle, no language of `dialects/` imports another, and every import deferred into a
function says why (start-up time is the only good reason).

The AST of every module is walked, imports inside functions and `if TYPE_CHECKING:` blocks
included: a lower layer reaching up is wrong even where Python would let it run. Adding a
package means adding it to `LAYERS` at the height it belongs (see README, "Architecture").
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

# Bottom first. A module may import from its own layer and the layers below it, never above.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("ground", ("lexiquery.version", "lexiquery.errors", "lexiquery.limits", "lexiquery.ir_time",
                "lexiquery.ir", "lexiquery.config", "lexiquery.private_files",
                "lexiquery.user_input")),
    ("catalog", ("lexiquery.catalog",)),
    ("dialects", ("lexiquery.dialects",)),
    ("engine", ("lexiquery.engine",)),
    ("llm", ("lexiquery.llm",)),
    ("cost", ("lexiquery.cost",)),
    ("answer", ("lexiquery.answer", "lexiquery.journeys")),
    ("nl", ("lexiquery.nl",)),
    ("knowledge", ("lexiquery.knowledge",)),
    ("agents", ("lexiquery.agents",)),
    ("registry", ("lexiquery.registry",)),
    ("orchestrator", ("lexiquery.orchestrator", "lexiquery.operations")),
    ("serve", ("lexiquery.serve",)),
    ("render", ("lexiquery.render",)),
    ("cli", ("lexiquery.cli",)),
    ("api", ("lexiquery", "lexiquery.__main__")),
]
ORDER = " < ".join(name for name, _ in LAYERS)
LANGUAGES = ("lexiquery.dialects.kql", "lexiquery.dialects.spl", "lexiquery.dialects.sql")
# Where a deferred import needs no comment of its own: the module docstring gives the reason
# once (the command-line start-up: `lexiquery --help` loads nothing a command does not need).
DEFER_BY_DOCSTRING = ("lexiquery.cli", "lexiquery")
DEFER_MARK = "# deferred:"


@dataclass(frozen=True)
class Import:
    """One import statement of `module` naming the internal module `target`."""

    module: str
    target: str
    line: int
    in_function: bool


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _function_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lines.update(n.lineno for n in ast.walk(fn) if isinstance(n, (ast.Import, ast.ImportFrom)))
    return lines


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool,
             modules: dict[str, Path]) -> list[str]:
    """The internal modules an import statement loads: `from pkg import sub` names `pkg.sub`."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = node.module or ""
        if node.level:
            here = module.split(".") if is_package else module.split(".")[:-1]
            here = here[: len(here) - (node.level - 1)]
            base = ".".join(here + ([node.module] if node.module else []))
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
    out = []
    for name in names:
        while name and name not in modules and "." in name:
            name = name.rsplit(".", 1)[0]
        if name in modules:
            out.append(name)
    return out


def all_imports() -> list[Import]:
    modules = all_modules()
    found: list[Import] = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        inside = _function_lines(tree)
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in _targets(node, module, path.name == "__init__.py", modules):
                    if target != module:
                        found.append(Import(module, target, node.lineno, node.lineno in inside))
    return found


def layer_of(module: str) -> int:
    best, rank = -1, -1
    for i, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), i
    if rank < 0:
        raise AssertionError(f"{module} belongs to no layer: add its package to LAYERS in "
                             f"tests/test_layers.py (and to the README's architecture tree)")
    return rank


def upward_imports(imports: list[Import]) -> list[str]:
    errors = []
    for imp in imports:
        low, high = layer_of(imp.module), layer_of(imp.target)
        if high > low:
            where = "inside a function" if imp.in_function else "at module level"
            errors.append(f"{imp.module} (layer {LAYERS[low][0]}) imports {imp.target} (layer "
                          f"{LAYERS[high][0]}) {where}, line {imp.line}: a module imports only "
                          f"from its own layer or below ({ORDER})")
    return errors


def circles(imports: list[Import]) -> list[str]:
    graph = nx.DiGraph((i.module, i.target) for i in imports)
    errors = []
    for component in nx.strongly_connected_components(graph):
        if len(component) > 1:
            cycle = nx.find_cycle(graph.subgraph(component))
            path = " → ".join([a for a, _ in cycle] + [cycle[0][0]])
            errors.append(f"import circle: {path} ({len(component)} modules in the knot): move "
                          "what both sides need into a lower module")
    return errors


def test_every_module_has_a_layer() -> None:
    for module in all_modules():
        layer_of(module)


def test_no_module_imports_a_higher_layer() -> None:
    errors = upward_imports(all_imports())
    assert not errors, "\n".join(errors)


def test_no_import_circles() -> None:
    errors = circles(all_imports())
    assert not errors, "\n".join(errors)


def test_a_language_imports_no_other_language() -> None:
    def language(module: str) -> str | None:
        return next((lang for lang in LANGUAGES if module == lang or module.startswith(lang + ".")),
                    None)

    errors = [f"{i.module} imports {i.target}, line {i.line}: a language of dialects/ imports "
              "only itself and the shared dialect modules, so a language is one folder"
              for i in all_imports()
              if language(i.module) and language(i.target) not in (None, language(i.module))]
    assert not errors, "\n".join(errors)


def test_every_deferred_import_says_why() -> None:
    """An import inside a function hides a dependency from the reader: allowed for start-up
    time only, with the reason on the line (or the line above) after `# deferred:`."""
    errors = []
    for module, path in all_modules().items():
        if module in DEFER_BY_DOCSTRING or module.startswith("lexiquery.cli."):
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        for line in sorted(_function_lines(ast.parse("\n".join(lines)))):
            here, above = lines[line - 1], lines[line - 2] if line > 1 else ""
            if DEFER_MARK not in here and DEFER_MARK not in above:
                errors.append(f"{module}, line {line}: `{here.strip()}` is inside a function "
                              f"without a `{DEFER_MARK} <reason>` comment; import it at module "
                              "level unless start-up time needs it deferred")
    assert not errors, f"{len(errors)} deferred imports without a reason:\n" + "\n".join(errors)


def test_the_readme_tree_matches_the_code() -> None:
    """The README's architecture tree names every package and top-level module, and nothing
    that does not exist."""
    readme = (SRC.parent / "README.md").read_text(encoding="utf-8")
    tree = readme.split("## Architecture", 1)[1].split("```", 2)[1]
    listed: set[str] = set()
    parents: list[tuple[int, str]] = []
    for line in tree.splitlines()[1:]:
        indent = len(line) - len(line.lstrip())
        if indent == 0:
            continue  # the root, src/lexiquery/
        words = []
        for word in line.split():  # the names lead the line; the description follows them
            if not (word.endswith("/") or word.endswith(".py")):
                break
            words.append(word)
        if not words:
            continue  # a description carried over to the next line
        parents = [(i, name) for i, name in parents if i < indent]
        base = parents[-1][1] if parents else ""
        listed.update(base + word for word in words)
        if words[0].endswith("/"):
            parents.append((indent, base + words[0]))
    package = SRC / "lexiquery"
    actual = {p.parent.relative_to(package).as_posix() + "/" for p in package.rglob("__init__.py")
              if p.parent != package}
    actual |= {p.name for p in package.glob("*.py") if p.name != "__main__.py"}
    assert not actual - listed, f"not in the README's tree: {sorted(actual - listed)}"
    assert not listed - actual, f"in the README's tree but not in src/: {sorted(listed - actual)}"


# ---- the checker itself: it must fail on what it exists to catch ----------------------------

def test_the_checker_names_both_modules_and_the_rule() -> None:
    up = upward_imports([Import("lexiquery.nl.llm", "lexiquery.agents.validator", 95, True)])
    assert up and "lexiquery.nl.llm (layer nl) imports lexiquery.agents.validator (layer agents)" \
        in up[0] and "inside a function" in up[0] and ORDER in up[0]
    knot = circles([Import("lexiquery.cost.store", "lexiquery.cost.redis_store", 1, True),
                    Import("lexiquery.cost.redis_store", "lexiquery.cost.store", 2, False)])
    assert knot and "lexiquery.cost.store" in knot[0] and "lexiquery.cost.redis_store" in knot[0]
    assert not upward_imports([Import("lexiquery.agents.data", "lexiquery.nl.rules", 1, False)])
    with pytest.raises(AssertionError, match="belongs to no layer"):
        layer_of("lexiquery_other.thing")


def test_relative_and_package_imports_resolve() -> None:
    modules = {"lexiquery.dialects": SRC, "lexiquery.dialects.kql": SRC,
               "lexiquery.dialects.kql.ast": SRC, "lexiquery.dialects.kql.lex": SRC}
    node = ast.parse("from lexiquery.dialects.kql import ast as syn").body[0]
    assert _targets(node, "lexiquery.dialects.kql.bind", False, modules) == \
        ["lexiquery.dialects.kql.ast"]
    node = ast.parse("from . import lex").body[0]
    assert _targets(node, "lexiquery.dialects.kql.bind", False, modules) == \
        ["lexiquery.dialects.kql.lex"]
    node = ast.parse("from lexiquery.dialects import parse").body[0]
    assert _targets(node, "lexiquery.dialects.kql.bind", False, modules) == ["lexiquery.dialects"]
