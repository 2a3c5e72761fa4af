"""The user's own text — questions, context, pasted queries — checked once at every edge.

Every surface (CLI, Python API, HTTP, MCP) and every agent that a remote peer can call reads a
question through `clean_question`, so an empty, binary or oversized question is the same clear
`InputError` wherever it arrives, never work for the engine.
"""

from __future__ import annotations

import unicodedata

from lexiquery.errors import InputError


def user_text(value: object, what: str, max_chars: int, *, empty_hint: str | None = None,
              long_hint: str) -> str:
    """`value` as stripped text, or `InputError`: undecodable bytes, not text, empty, or longer
    than `max_chars`. `what` names it in the messages ("question", "query")."""
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError as e:
            raise InputError(f"the {what} is not UTF-8 text (binary data?)") from e
    if not isinstance(value, str):
        raise InputError(f"the {what} must be text, not {type(value).__name__}")
    text = value.strip().lstrip("\ufeff")
    if not text:
        raise InputError(f"the {what} is empty", hint=empty_hint)
    if len(text) > max_chars:
        raise InputError(f"the {what} is {len(text):,} characters long; the limit is "
                         f"{max_chars:,}", hint=long_hint)
    return text


def clean_question(question: object, max_chars: int) -> str:
    """The question with surrounding white space removed, or `InputError` saying what is wrong.

    Refuses empty text, text over `max_chars`, and binary data (NUL or other control characters,
    undecodable bytes, or text with no letters at all)."""
    q = user_text(question, "question", max_chars,
                  empty_hint='ask e.g. "failed sign-ins in the last 24 hours"',
                  long_hint="ask one thing at a time, or raise LEXIQUERY_MAX_QUESTION_CHARS")
    controls = sum(1 for ch in q if unicodedata.category(ch) in {"Cc", "Cs", "Co", "Cn"}
                   and ch not in "\t\n\r")
    if controls or "\ufffd" in q:  # NUL and other control characters are category Cc
        raise InputError("the question contains binary or control characters",
                         hint="paste plain text")
    if not any(ch.isalpha() for ch in q):
        raise InputError("the question has no words in it",
                         hint='ask e.g. "failed sign-ins in the last 24 hours"')
    return " ".join(q.split())
