"""The one place the CLI gets its rich consoles and tables: text is text.

Almost everything LexiQuery prints came from a user or from data — questions, queries, result
cells, file names, runbook titles, agent cards, error messages. Rich would read such a string as
markup ("[/x]" raises MarkupError, "[link=file:///…]" makes a link) and as emoji codes (":x:"
becomes ❌). So:

- `terminal()` makes every console of the CLI with markup, emoji codes and the repr highlighter
  off: a plain `str` prints exactly as written. Style comes only from `Text` objects and
  `style=` arguments, never from brackets inside a string.
- `TextTable` is a `Table` whose string headers and cells are `Text`: a cell prints as written
  whichever console renders it (a caller may pass its own, markup-enabled console).
- `progress_description()` is the text column for a `Progress` whose descriptions name files.

Only rich is imported here, so `lexiquery --help` stays fast.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console, RenderableType
from rich.progress import TextColumn
from rich.table import Column, Table
from rich.text import Text


def terminal(*, stderr: bool = False, soft_wrap: bool = False) -> Console:
    """A console for the CLI: no markup, no emoji codes, no highlighting of data.

    `stderr` for messages that must not mix with a command's output (errors, notes, progress);
    `soft_wrap` prints long lines whole (paths, names, queries) for the terminal to wrap."""
    return Console(stderr=stderr, soft_wrap=soft_wrap, markup=False, emoji=False,
                   highlight=False)


def as_text(value: RenderableType | None) -> RenderableType | None:
    """A `str` as literal `Text`; any other renderable (already `Text`, a table…) unchanged."""
    return Text(value) if isinstance(value, str) else value


class TextTable(Table):
    """A rich `Table` for data: string headers and cells are literal text, never markup.

    Headers come from data too (the columns of a user's CSV), so they are `Text` as well, and
    so are a string title and caption (in rich's own title and caption styles); a header given
    as a `Column` keeps its own header."""

    def __init__(self, *headers: Column | str, **kwargs: Any) -> None:
        for part in ("title", "caption"):
            if isinstance(kwargs.get(part), str):
                kwargs[part] = Text(kwargs[part],
                                    style=kwargs.get(f"{part}_style") or f"table.{part}")
        super().__init__(*(h if isinstance(h, Column) else Column(header=Text(h))
                           for h in headers), **kwargs)

    def add_row(self, *renderables: RenderableType | None, style: Any = None,
                end_section: bool = False) -> None:
        super().add_row(*(as_text(r) for r in renderables), style=style,
                        end_section=end_section)


def progress_description() -> TextColumn:
    """The description column of a `Progress` bar, as plain text (a file name may hold
    brackets or an emoji code)."""
    return TextColumn("{task.description}", markup=False)


__all__ = ["TextTable", "as_text", "progress_description", "terminal"]
