"""LIKE patterns read back: their parts (literal characters and wildcards) and the note a
dialect's default backslash escape deserves (a part of the SQL reader, `sql.parse_where`)."""

from __future__ import annotations

import re


def like_parts(pattern: str, escape: str | None, brackets: bool) -> list[str] | None:
    """A LIKE pattern as "=c" for each literal character and "%" / "_" for the wildcards."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if escape and ch == escape and i + 1 < len(pattern):
            out.append("=" + pattern[i + 1])
            i += 2
        elif ch in "%_":
            out.append(ch)
            i += 1
        elif brackets and ch == "[":
            m = re.match(r"\[(.)\]", pattern[i:])
            if not m:
                return None
            out.append("=" + m.group(1))
            i += 3
        else:
            out.append("=" + ch)
            i += 1
    return out


def default_escape_note(pattern: str, dialect: str) -> str | None:
    """`'%NT AUTHORITY\\SYSTEM%'` with no ESCAPE clause: the backslash is LIKE's escape in
    this dialect, so `\\S` is a plain `S` — read so (exactly as the database runs it), with a
    note, since a Windows path was most likely meant."""
    odd = re.findall(r"(?<!\\)(?:\\\\)*\\([^%_\\])", pattern)
    if not odd:
        return None
    meant = re.sub(r"\\(.)", r"\1", pattern)
    return (f"in LIKE '{pattern}', {dialect} takes the backslash as LIKE's escape character "
            f"(there is no ESCAPE clause), so '\\{odd[0]}' matches a plain '{odd[0]}': the "
            f"pattern is read as '{meant}'. For a backslash, write it twice ('\\\\') or add "
            f"ESCAPE ''.")
