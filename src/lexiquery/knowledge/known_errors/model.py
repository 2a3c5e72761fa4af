"""A known error: its code in one canonical spelling per system, what it means, what to do, and
the filter that finds it (`SuggestedFilter`); a mention of one in a text (`ErrorMention`).

Codes are stored in one canonical spelling per system so that a user's entry replaces the
built-in one however it is written: Entra ``AADSTS50126``, Windows event ``4625``, NTSTATUS
``0xC000006A``, HTTP ``503``; Splunk, Kusto and custom codes as written (looked up without regard
to case). Each system's usual spellings ("50126", "error 50126", "EventID 4625", "HTTP 503") are
added to the aliases automatically.

A suggested filter must name a source and field of the catalog with a value of the field's type:
a filter that names nothing real would give an analyst an empty result and a false "all clear".
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lexiquery.ir import LIST_OPERATORS, UNARY_OPERATORS, Condition, Operator, Scalar

SYSTEMS = ("entra", "windows", "ntstatus", "http", "splunk", "kusto", "custom")


class SuggestedFilter(BaseModel):
    """`field op value` on catalog source `source`: how to find the error in the logs."""

    model_config = ConfigDict(extra="forbid")

    source: str
    field: str
    op: Operator = Operator.eq
    value: Scalar | list[Scalar]

    @model_validator(mode="after")
    def _value_fits_operator(self) -> "SuggestedFilter":
        if self.op in UNARY_OPERATORS:
            raise ValueError(f"operator {self.op.value!r} takes no value; a known error's filter "
                             "compares the field with the code")
        if self.op in LIST_OPERATORS:
            if not isinstance(self.value, list) or not self.value:
                raise ValueError(f"operator {self.op.value!r} needs a non-empty list of values")
        elif isinstance(self.value, list):
            raise ValueError(f"operator {self.op.value!r} needs a single value, not a list")
        return self

    def condition(self) -> Condition:
        """The filter as an IR condition on `source` (case-insensitive like every IR string)."""
        return Condition(field=self.field, op=self.op, value=self.value)


class KnownError(BaseModel):
    """One known error. `origin` is "builtin", the path of the user file it came from, or
    "inferred" for a code `find` recognised by its form but the base does not describe."""

    model_config = ConfigDict(extra="forbid")

    code: str
    system: str
    title: str
    meaning: str
    action: str = ""
    aliases: list[str] = Field(default_factory=list)
    filter: SuggestedFilter | None = None
    origin: str = "builtin"

    @field_validator("system")
    @classmethod
    def _known_system(cls, v: str) -> str:
        v = v.strip().lower()
        if v not in SYSTEMS:
            raise ValueError(f"system {v!r} is not one of {', '.join(SYSTEMS)} "
                             "(use 'custom' for your own applications)")
        return v

    @field_validator("meaning", "title")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        v = " ".join(v.split())
        if not v:
            raise ValueError("must not be empty")
        return v

    @model_validator(mode="after")
    def _canonical(self) -> "KnownError":
        self.code = canonical_code(self.code, self.system)
        spellings = [a.strip() for a in self.aliases if a and a.strip()]
        spellings += standard_spellings(self.code, self.system)
        seen: set[str] = {self.code.casefold()}
        aliases: list[str] = []
        for alias in spellings:
            if alias.casefold() not in seen:
                seen.add(alias.casefold())
                aliases.append(alias)
        self.aliases = aliases
        return self


# --------------------------------------------------------------------------- code spellings

CODE_PREFIX = re.compile(r"^(?:aadsts|error\s*code|error|err|code|result\s*code|result|"
                     r"event\s*id|eventid|eventcode|event\s*code|event|windows\s*event|"
                     r"http\s*status|http|status\s*code|status|sub\s*status|substatus)"
                     r"[\s:#=-]*", re.I)
HEX_CODE = re.compile(r"^(?:0x)?([0-9a-f]{8})$", re.I)


def canonical_code(code: str, system: str) -> str:
    """The one spelling `code` is stored under for `system`; ValueError when it cannot be one."""
    raw = " ".join(str(code).split())
    if not raw:
        raise ValueError("code must not be empty")
    bare = CODE_PREFIX.sub("", raw, count=1) if system in ("entra", "windows", "http") else raw
    if system == "entra":
        if not bare.isdigit():
            raise ValueError(f"an Entra code is AADSTS followed by digits, not {raw!r}")
        return f"AADSTS{bare}"
    if system == "windows":
        if not bare.isdigit():
            raise ValueError(f"a Windows event ID is a number, not {raw!r}")
        return str(int(bare))
    if system == "http":
        if not (bare.isdigit() and len(bare) == 3 and 100 <= int(bare) <= 599):
            raise ValueError(f"an HTTP status is a number from 100 to 599, not {raw!r}")
        return bare
    if system == "ntstatus":
        m = HEX_CODE.match(raw)
        if not m:
            raise ValueError(f"an NTSTATUS code is 0x and 8 hex digits (0xC000006A), not {raw!r}")
        return "0x" + m.group(1).upper()
    return raw


def standard_spellings(code: str, system: str) -> list[str]:
    """How people usually write a canonical `code` of `system` (besides the code itself)."""
    if system == "entra":
        digits = code[len("AADSTS"):]
        return [digits, f"error {digits}"]
    if system == "windows":
        return [f"EventID {code}", f"Event ID {code}", f"event {code}"]
    if system == "http":
        return [f"HTTP {code}", f"status {code}"]
    return []


def lookup_key(text: str) -> str:
    return " ".join(str(text).split()).casefold()


class ErrorMention(BaseModel):
    """A code found in text: `written` is the text at `start`:`end` (as it appears)."""

    code: str
    written: str
    start: int
    end: int
    error: KnownError
