"""Tokenizer: a question → tokens that know what kind of value they look like.

Recognising values first (IPs, e-mail addresses, URLs, file names, hashes, quoted strings,
numbers with units) keeps "10.1.2.3" or "powershell.exe" from being split into words, and gives
the engine a value kind to map onto a field by entity (an IP goes to an ip field).

Token kinds: word, number, ip, cidr, email, url, domain, file, hash, path, quoted, date, ord, sym,
hex (a code such as 0xC000006A: a value, never a word or a host name) and literal (a bare symbol
an analyst matches on, such as the "$" of "accounts ending with $").
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from lexiquery.nl.lexicon import stem

FILE_EXTS = frozenset(
    """exe dll sys bat cmd ps1 psm1 psd1 vbs vbe js jse wsf hta scr msi msp lnk jar py
    rb php asp aspx jsp zip rar 7z gz tgz tar iso img doc docx docm xls xlsx xlsm ppt pptx
    pdf rtf txt csv log xml json yaml yml ini cfg conf dat bin tmp eml msg html htm""".split())

_PATTERNS: list[tuple[str, str]] = [
    ("quoted", r'"([^"\n]{1,200})"|“([^”\n]{1,200})”|‘([^’\n]{1,200})’'
               r"|(?<![\w'])'([^'\n]{1,200})'(?![\w'])|`([^`\n]{1,200})`"),
    ("url", r"\b(?:https?|ftp)://[^\s,;\"'<>()]+"),
    ("email", r"(?<![\w.%+-])[\w.%+-]+(?:'[\w.%+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"),
    ("date", r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?Z?)?\b"),
    ("ipv6", r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?:/\d{1,3})?(?![\w:])"),
    ("ipv4", r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?:/\d{1,2})?(?![\w.])"),
    ("hash", r"\b(?:[0-9A-Fa-f]{64}|[0-9A-Fa-f]{40}|[0-9A-Fa-f]{32})\b"),
    ("winpath", r"\b[A-Za-z]:\\[^\s,;\"']+"),
    ("path", r"(?<![\w/.])/[\w.%~+-]+(?:/[\w.%~+-]*)*"),
    ("hex", r"\b0[xX][0-9A-Fa-f]{1,16}\b"),
    ("dotted", r"\b[\w-]+(?:\.[\w-]+)+\b"),
    ("dotext", r"(?<![\w.])\.[A-Za-z][\w-]{0,15}\b"),
    ("ord", r"\b\d+(?:st|nd|rd|th)\b"),
    ("number", r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
               r"(?:\s?(?:ms|kb|mb|gb|tb|k|%|s|sec|secs|m|min|mins|h|hr|hrs|d|w|wk)\b)?"),
    ("dashword", r"(?<!\S)-[^\W\d_][\w-]*"),  # "ending in -adm": a suffix to match
    ("word", r"[^\W\d_][\w'’-]*"),
    ("sym", r"!=|<>|>=|<=|==|=>|=<|=~|[=<>~,;:+&()|]"),
    ("literal", r"(?<!\S)[$#*^]{1,3}(?=[\s,;.)]|$)"),
]
_TOKEN_RE = re.compile("|".join(f"(?P<{n}>{p})" for n, p in _PATTERNS), re.IGNORECASE)
_NUM_UNIT = re.compile(r"(-?[\d,]+(?:\.\d+)?)\s?([a-z%]*)$")
_BYTE_UNITS = {"kb": 1024, "mb": 1024**2, "gb": 1024**3, "tb": 1024**4, "k": 1000}


@dataclass
class Token:
    """One token. `subwords` are the stems that take part in phrase matching (words split on
    hyphens and underscores); values have none, so a value always breaks a phrase."""

    kind: str
    text: str
    start: int
    end: int
    value: object = None
    unit: str = ""
    subwords: tuple[str, ...] = ()
    used: bool = False

    @property
    def low(self) -> str:
        return self.text.lower()

    @property
    def is_value(self) -> bool:
        return self.kind not in {"word", "sym", "ord"}


def _number(text: str) -> tuple[int | float, str] | None:
    m = _NUM_UNIT.match(text.lower().replace(" ", ""))
    if not m:
        return None
    raw, unit = m.group(1).replace(",", ""), m.group(2)
    try:
        num: int | float = float(raw) if "." in raw else int(raw)
    except ValueError:
        return None
    if unit in _BYTE_UNITS:
        num, unit = num * _BYTE_UNITS[unit], "bytes"
        num = int(num) if float(num).is_integer() else num
    return num, unit


def _classify_dotted(text: str) -> tuple[str, object]:
    parts = text.split(".")
    last = parts[-1].lower()
    if all(p.isdigit() for p in parts):
        return ("number", float(text)) if len(parts) == 2 else ("word", text)
    if last in FILE_EXTS and len(parts) >= 2:
        return "file", text
    if last.isalpha() and 2 <= len(last) <= 24 and all(parts):
        return "domain", text.lower()
    return "word", text


def _subwords(text: str) -> tuple[str, ...]:
    text = re.sub(r"['’]s$", "", text)
    return tuple(stem(p) for p in re.split(r"[-_'’]+", text) if p)


def tokenize(question: str) -> list[Token]:
    """Split a question into typed tokens. Never raises; unknown characters are skipped."""
    out: list[Token] = []
    for m in _TOKEN_RE.finditer(question):
        kind = m.lastgroup or "word"
        text = m.group(0)
        s, e = m.start(), m.end()
        value: object = text
        unit = ""
        if kind == "quoted":
            value = text[1:-1].strip()
        elif kind in {"ipv4", "ipv6"}:
            kind, value = _ip(text)
        elif kind == "winpath":
            kind = "file"
        elif kind in {"dotext", "dashword"}:  # ".ru", ".exe", "-adm": a suffix, kept whole
            kind = "word"
        elif kind == "dotted":
            kind, value = _classify_dotted(text)
            if kind == "word" and not re.fullmatch(r"[\w'’-]+", text):
                # "e.g" and other dotted odds: keep the pieces as plain words
                for w in re.finditer(r"[^\W\d_][\w'’-]*|\d+", text):
                    wt = w.group(0)
                    out.append(Token("word", wt, s + w.start(), s + w.start() + len(wt),
                                     wt, subwords=_subwords(wt)))
                continue
        elif kind == "number":
            parsed = _number(text)
            if parsed is None:
                kind = "word"
            else:
                value, unit = parsed
        elif kind == "ord":
            value = int(re.match(r"\d+", text).group(0))  # type: ignore[union-attr]
        elif kind == "hash" and text.isdigit():
            kind, value = "number", int(text)
        tok = Token(kind, text, s, e, value, unit)
        if kind == "word" and not text.startswith("."):
            tok.subwords = _subwords(text)
        elif kind == "sym":
            tok.subwords = (text,)
        out.append(tok)
    return out


def _ip(text: str) -> tuple[str, object]:
    try:
        if "/" in text:
            return "cidr", str(ipaddress.ip_network(text, strict=False))
        return "ip", str(ipaddress.ip_address(text))
    except ValueError:  # "1.2.3.400", a clock time such as 10:00:00, ...
        return "word", text
