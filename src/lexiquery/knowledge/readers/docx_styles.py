"""What a Word paragraph's style and numbering say, read from styles.xml and numbering.xml.

`Styles`: each style's display name (Word's internal "heading 1" shown as "Heading 1", as Word
and python-docx show it), base style, run font and list numbering; a paragraph without a style
has the document's default paragraph style. `Numbering`: for each (numId, ilvl) the format,
start and level text, and the running counters that give each numbered paragraph the ordinal
Word displays ("%1.%2" → "2.1", lowerRoman → "iv").

Both are built from parsed trees of their (small, budget-checked) parts, or empty when the
document has none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MAX_STYLE_CHAIN = 10  # basedOn links followed (a loop in a damaged file ends here)
_UI_NAMES = {"caption": "Caption", "footer": "Footer", "header": "Header",
             **{f"heading {n}": f"Heading {n}" for n in range(1, 10)}}


def val(el: Any, tag: str) -> str | None:
    """The ``w:val`` of `el`'s child `tag` (None when either is missing)."""
    if el is None:
        return None
    child = el.find(f"{W}{tag}")
    return child.get(f"{W}val") if child is not None else None


def num_pr(ppr: Any) -> tuple[str, int | None] | None:
    """(numId, ilvl or None) of a ``w:pPr``'s numbering, None when it has none."""
    numpr = ppr.find(f"{W}numPr") if ppr is not None else None
    num_id = val(numpr, "numId")
    if num_id is None:
        return None
    ilvl = val(numpr, "ilvl")
    return _int_text(num_id), int(ilvl) if ilvl and ilvl.isdigit() else None


def run_font(rpr: Any) -> str | None:
    """The font a ``w:rPr`` names for Latin text (ascii, else hAnsi), None when it names none."""
    fonts = rpr.find(f"{W}rFonts") if rpr is not None else None
    if fonts is None:
        return None
    return fonts.get(f"{W}ascii") or fonts.get(f"{W}hAnsi")


def _int_text(s: str) -> str:
    return str(int(s)) if s.strip().isdigit() else s.strip()


@dataclass(frozen=True)
class Style:
    id: str
    name: str
    based_on: str | None
    font: str | None
    numbering: tuple[str, int | None] | None


class Styles:
    def __init__(self, root: Any | None) -> None:
        self.by_id: dict[str, Style] = {}
        self.default: str | None = None
        for el in root.iter(f"{W}style") if root is not None else ():
            sid = el.get(f"{W}styleId")
            if not sid:
                continue
            name = val(el, "name") or ""
            self.by_id[sid] = Style(sid, _UI_NAMES.get(name, name), val(el, "basedOn"),
                                    run_font(el.find(f"{W}rPr")),
                                    num_pr(el.find(f"{W}pPr")))
            if el.get(f"{W}type") == "paragraph" and el.get(f"{W}default") in ("1", "true"):
                self.default = sid

    def chain(self, style_id: str | None) -> list[Style]:
        """The paragraph's style then its bases; the default paragraph style when `style_id`
        is None or unknown."""
        style = self.by_id.get(style_id or "") or self.by_id.get(self.default or "")
        out: list[Style] = []
        while style is not None and len(out) < MAX_STYLE_CHAIN:
            out.append(style)
            style = self.by_id.get(style.based_on or "")
        return out


def _roman(n: int) -> str:
    out = ""
    for value, sym in ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
                       (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")):
        while n >= value:
            out, n = out + sym, n - value
    return out


def _letters(n: int) -> str:
    return chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1)


def _format(n: int, fmt: str) -> str:
    if fmt == "lowerLetter":
        return _letters(n)
    if fmt == "upperLetter":
        return _letters(n).upper()
    if fmt == "lowerRoman":
        return _roman(n)
    if fmt == "upperRoman":
        return _roman(n).upper()
    return str(n)


def as_int(s: str | None, default: int) -> int:
    """`s` as an integer, `default` when it is missing or not one (damaged files say anything)."""
    return int(s) if s is not None and s.strip().lstrip("-").isdigit() else default


class Numbering:
    """Word's list numbering (see the module docstring)."""

    def __init__(self, root: Any | None) -> None:
        self.levels: dict[tuple[str, int], tuple[str, int, str]] = {}
        self.style_levels: dict[tuple[str, str], int] = {}  # (numId, pStyle id) → ilvl
        self.counters: dict[str, dict[int, int]] = {}
        if root is None:
            return
        abstract: dict[str | None, Any] = {a.get(f"{W}abstractNumId"): a
                                           for a in root.iter(f"{W}abstractNum")}
        for num in root.iter(f"{W}num"):
            num_id = num.get(f"{W}numId")
            definition = abstract.get(val(num, "abstractNumId"))
            if num_id is None or definition is None:
                continue
            num_id = _int_text(num_id)
            overrides = {as_int(o.get(f"{W}ilvl"), 0): o for o in num.iter(f"{W}lvlOverride")}
            for lvl in definition.iter(f"{W}lvl"):
                ilvl = as_int(lvl.get(f"{W}ilvl"), 0)
                fmt = val(lvl, "numFmt") or "decimal"
                start = as_int(val(lvl, "start"), 1)
                text = val(lvl, "lvlText") or f"%{ilvl + 1}."
                start = as_int(val(overrides.get(ilvl), "startOverride"), start)
                self.levels[(num_id, ilvl)] = (fmt, start, text)
                style = val(lvl, "pStyle")
                if style:
                    self.style_levels[(num_id, style)] = ilvl

    def ordinal(self, num_id: str, ilvl: int) -> tuple[bool, str | None]:
        """(is a list item, ordinal or None for bullets) for the next paragraph of a list."""
        if num_id == "0":  # numId 0 switches numbering off
            return False, None
        fmt, start, text = self.levels.get((num_id, ilvl), ("decimal", 1, f"%{ilvl + 1}."))
        counts = self.counters.setdefault(num_id, {})
        counts[ilvl] = counts.get(ilvl, start - 1) + 1
        for deeper in [k for k in counts if k > ilvl]:
            del counts[deeper]  # a shallower item restarts the deeper levels
        if fmt in ("bullet", "none"):
            return True, None

        def level_value(m: re.Match[str]) -> str:
            k = int(m.group(1)) - 1
            kfmt, kstart, _ = self.levels.get((num_id, k), ("decimal", 1, ""))
            return _format(counts.get(k, kstart), kfmt)

        shown = re.sub(r"%([1-9])", level_value, text).strip().rstrip(".)").lstrip("(")
        return True, shown or _format(counts[ilvl], fmt)


__all__ = ["W", "Numbering", "Style", "Styles", "as_int", "num_pr", "run_font", "val"]
