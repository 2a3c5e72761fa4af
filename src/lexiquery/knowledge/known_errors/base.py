"""The known-errors base: error and event codes analysts meet, what they mean, what to do.

    base.get("aadsts50126")               one entry, whatever way the code is written
    base.find(text)                       the codes a question or an SOP mentions (see
                                          `known_errors.find` for the rules that keep ordinary
                                          numbers — "top 10", "port 443" — from matching)

The entries (`known_errors.model`) come from the shipped YAML files and the user's own YAML or
CSV files; `known_errors.files.load_known_errors` builds a base of them.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator

from lexiquery.knowledge.known_errors.find import ErrorFinder
from lexiquery.knowledge.known_errors.model import (
    CODE_PREFIX,
    HEX_CODE,
    SYSTEMS,
    ErrorMention,
    KnownError,
    lookup_key,
)


class KnownErrorBase:
    """The entries by code. Later entries replace earlier ones with the same code, so user files
    loaded after the built-in base override it."""

    def __init__(self, errors: Iterable[KnownError]) -> None:
        self._errors: dict[str, KnownError] = {}
        for error in errors:
            self._errors.pop(error.code.casefold(), None)  # the newer one takes the later place
            self._errors[error.code.casefold()] = error
        self._index: dict[str, str] = {}
        # Aliases first, codes last: a code always wins over another entry's alias.
        for error in self._errors.values():
            for alias in error.aliases:
                self._index.setdefault(lookup_key(alias), error.code.casefold())
        for error in self._errors.values():
            self._index[lookup_key(error.code)] = error.code.casefold()
        self._finder: Any = None

    def get(self, code: str) -> KnownError | None:
        """The entry for `code` written any usual way: "aadsts50126", "50126", "error 50126",
        "0xc000006a", "C000006A", "4625", "EventID 4625", "HTTP 503", "sem0100"."""
        key = lookup_key(code)
        if not key:
            return None
        candidates = [key, CODE_PREFIX.sub("", key, count=1)]
        hexed = HEX_CODE.match(candidates[-1])
        if hexed:
            candidates.append("0x" + hexed.group(1).lower())
        if candidates[-1].isdigit():
            candidates += [f"aadsts{candidates[-1]}", str(int(candidates[-1]))]
        for candidate in candidates:
            found = self._index.get(candidate)
            if found is not None:
                return self._errors[found]
        return None

    def find(self, text: str) -> list[ErrorMention]:
        """The known codes `text` mentions, in order of appearance, each code once. Ordinary
        numbers ("last 24 hours", "port 443", "more than 500 requests") are not codes."""
        if self._finder is None:
            self._finder = ErrorFinder(self)
        return self._finder.find(text)

    def systems(self) -> list[str]:
        """The systems with at least one entry, in the order of SYSTEMS."""
        present = {e.system for e in self._errors.values()}
        return [s for s in SYSTEMS if s in present]

    def __iter__(self) -> Iterator[KnownError]:
        return iter(list(self._errors.values()))

    def __len__(self) -> int:
        return len(self._errors)

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and self.get(code) is not None
