"""Splunk search macros as the catalog declares them: one macro (`SplMacro`), and the table
the SPL reader expands from (`MacroTable`: declared names, and name patterns such as ESCU's
``*_filter`` hooks). Kept below `catalog.model` so the built-in pack (`catalog.escu_macros`)
and the model can both use them."""

from __future__ import annotations

import fnmatch
from typing import Iterator, Mapping

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["MacroTable", "SplMacro"]


class SplMacro(BaseModel):
    """A Splunk search macro's definition, as in macros.conf: `definition` is pasted in place of
    the call, with each `$arg$` replaced by the value given for it."""

    model_config = ConfigDict(extra="forbid")

    definition: str
    args: list[str] = Field(default_factory=list)
    # Told to the reader whenever the macro is expanded: a default a site may have edited.
    note: str = ""

    @model_validator(mode="before")
    @classmethod
    def _bare_definition(cls, data: object) -> object:
        return {"definition": data} if isinstance(data, str) else data


class MacroTable(Mapping[str, SplMacro]):
    """Declared macros by key (`name` / `name(N)`), plus name patterns (fnmatch, for macros
    called without arguments) that stand for every macro of that form no one declared.
    Iterating gives the declared keys only."""

    def __init__(self, declared: Mapping[str, SplMacro],
                 patterns: Mapping[str, SplMacro] = ()) -> None:  # type: ignore[assignment]
        self._declared = dict(declared)
        self._patterns = dict(patterns)

    def __getitem__(self, key: str) -> SplMacro:
        hit = self._declared.get(key)
        if hit is not None:
            return hit
        if "(" not in key:
            for pattern, macro in self._patterns.items():
                if fnmatch.fnmatchcase(key, pattern):
                    return macro
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._declared)

    def __len__(self) -> int:
        return len(self._declared)

    def declares(self, key: str) -> bool:
        """Whether `key` is declared by name (not only matched by a pattern)."""
        return key in self._declared

    @property
    def patterns(self) -> dict[str, SplMacro]:
        return dict(self._patterns)

    def over(self, declared: Mapping[str, SplMacro]) -> "MacroTable":
        """This table with `declared` laid over it (a declared name wins over a pattern)."""
        return MacroTable({**self._declared, **declared}, self._patterns)
