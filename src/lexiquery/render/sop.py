"""Terminal output of `lexiquery sop …` and `lexiquery errors …` (rich).

House style as in `render.py`: tables fold long cells instead of cutting them (ids and names are
copied), queries are printed unboxed with syntax colour and never wrapped by us. SOP text is data:
it is printed through `Text` objects, never as rich markup, so a runbook line such as
"[bold]…" or "[link=…]" prints as written.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Sequence

from rich.console import Console
from rich.padding import Padding
from rich.text import Text

from lexiquery.knowledge.model import Chunk, DocumentInfo, Procedure, SearchResult
from lexiquery.render.answer import _syntax, _table
from lexiquery.render.console import terminal

HEADING_SEP = " › "
EXCERPT_CHARS = 320
CODE_LINES = 12
HIGHLIGHT = "bold yellow"

# Words too common to be worth highlighting in an excerpt.
_STOPWORDS = frozenset(
    "a an and are as at be by do for from has have how i in is it its of on or our so that the "
    "their them then there this to was we what when where which who why will with you your".split())
_WORD = re.compile(r"\w[\w-]*", re.UNICODE)
# A fenced block inside chunk text: ```lang\n…\n``` (the chunker keeps fences of code blocks).
_FENCE = re.compile(r"^(```|~~~)[ \t]*([\w+-]*)[^\n]*\n(.*?)^\1[ \t]*$", re.M | re.S)
_LANG_PLATFORM = {"kql": "kql", "kusto": "kql", "spl": "spl", "splunk": "spl", "sql": "sql",
                  "postgres": "sql", "postgresql": "sql", "tsql": "sql", "mysql": "sql"}


def query_words(query: str) -> list[str]:
    """The words of a query worth highlighting, longest first (so "sign-ins" wins over "sign")."""
    words = {w.lower() for w in _WORD.findall(query) if len(w) > 1 and w.lower() not in _STOPWORDS}
    return sorted(words, key=lambda w: (-len(w), w))


def highlighted(text: str, words: Sequence[str], style: str = "") -> Text:
    t = Text(text, style=style)
    if words:
        t.highlight_regex(r"(?i)\b(" + "|".join(re.escape(w) for w in words) + r")\w*", HIGHLIGHT)
    return t


def excerpt(text: str, words: Sequence[str], width: int = EXCERPT_CHARS) -> str:
    """About `width` characters of prose around the first query word, cut at word boundaries;
    "…" marks what was left out. Whitespace runs are folded so excerpts stay compact."""
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    pos = 0
    if words:
        m = re.search(r"(?i)\b(" + "|".join(re.escape(w) for w in words) + ")", flat)
        pos = m.start() if m else 0
    start = max(0, pos - width // 4)
    if start:
        space = flat.find(" ", start)
        start = space + 1 if 0 <= space < pos else start
    end = min(len(flat), start + width)
    if end < len(flat):
        space = flat.rfind(" ", start, end)
        end = space if space > start else end
    return ("…" if start else "") + flat[start:end] + ("…" if end < len(flat) else "")


def _segments(chunk: Chunk) -> list[tuple[str | None, str]]:
    """(language or None for prose, text) in order. Fenced blocks are code; a chunk of kind
    "code" without fences is code as a whole, in its one language when it has exactly one."""
    out: list[tuple[str | None, str]] = []
    pos = 0
    for m in _FENCE.finditer(chunk.text):
        if chunk.text[pos:m.start()].strip():
            out.append((None, chunk.text[pos:m.start()]))
        out.append(((m.group(2) or "").lower() or "", m.group(3).rstrip("\n")))
        pos = m.end()
    if out:
        if chunk.text[pos:].strip():
            out.append((None, chunk.text[pos:]))
        return out
    if chunk.kind == "code":
        lang = chunk.languages[0] if len(chunk.languages) == 1 else ""
        return [(lang, chunk.text.rstrip("\n"))]
    return [(None, chunk.text)]


def print_code(con: Console, lang: str, text: str, *, max_lines: int | None = None,
               indent: str = "    ") -> None:
    """Code with syntax colour when its language is a query language we know, plain otherwise."""
    lines = text.splitlines()
    shown = lines if max_lines is None else lines[:max_lines]
    body = "\n".join(indent + line for line in shown)
    platform = _LANG_PLATFORM.get(lang or "")
    if platform:
        dialect = lang if platform == "sql" and lang in {"tsql", "mysql", "postgres"} else \
            "postgres" if platform == "sql" else platform
        con.print(_syntax(platform, dialect, body).highlight(body), soft_wrap=True, end="")
    else:
        con.print(Text(body, style="cyan"), soft_wrap=True)
    if len(shown) < len(lines):
        con.print(Text(f"{indent}… {len(lines) - len(shown)} more line(s)", style="dim"))


def mode_line(mode: str, note: str | None) -> Text:
    if mode == "hybrid":
        return Text("search mode: hybrid (BM25 + embeddings, fused by rank)"
                    + (f" — {note}" if note else ""), style="dim")
    return Text("search mode: bm25 only" + (f" — {note}" if note else ""), style="yellow")


def _below_title(path: Sequence[str], doc: DocumentInfo) -> list[str]:
    """The heading path without the document's own title heading: the label already names it
    ("SOP-017 › 3. Detection", not "SOP-017 › SOP-017: Brute force… › 3. Detection")."""
    if path and (path[0].strip().lower() == doc.title.strip().lower()
                 or (doc.label != doc.title and doc.label.lower() in path[0].lower())):
        return list(path[1:])
    return list(path)


def print_search(result: SearchResult, *, console: Console | None = None) -> None:
    con = console or terminal()
    con.print(mode_line(result.mode, result.note))
    words = query_words(result.query)
    for rank, hit in enumerate(result.hits, 1):
        c, d = hit.chunk, hit.document
        head = Text.assemble((f"{rank:>2}. ", "bold"), (d.label, "bold cyan"))
        path = _below_title(c.heading_path, d)
        if path:
            head.append(HEADING_SEP + HEADING_SEP.join(path))
        meta = f"  chunk {c.index} · score {hit.score:.4g}"
        if c.page is not None:
            meta += f" · page {c.page}"
        ranks = [f"{name} #{r}" for name, r in (("bm25", hit.lexical_rank),
                                                ("dense", hit.dense_rank)) if r is not None]
        if result.mode == "hybrid" and ranks:
            meta += " (" + ", ".join(ranks) + ")"
        head.append(meta, style="dim")
        con.print(head, soft_wrap=True)
        if "injection" in c.flags:
            con.print(Text("    ⚠ contains lines that read like instructions to a model; they "
                           "are data and are never obeyed", style="yellow"))
        for lang, text in _segments(c):
            if lang is None:  # wrapped lines keep the indent
                con.print(Padding(highlighted(excerpt(text, words), words), (0, 0, 0, 4),
                                  expand=False))
            else:
                print_code(con, lang, text, max_lines=CODE_LINES)
        con.print()
    if not result.hits:
        con.print(Text("no matching passages", style="yellow"))


def print_documents(docs: Iterable[DocumentInfo], *, console: Console | None = None) -> None:
    con = console or terminal()
    docs = list(docs)
    if not docs:
        con.print("No documents stored yet. Add some with: lexiquery sop add ./runbooks",
                  highlight=False)
        return
    # Compact so the columns fit a narrow terminal: no box, label and title in one column (the
    # title under the label, left out when it is the label), the date only (`--json` has the
    # time). Ids stay whole (users type them); the small columns are never crushed.
    table = _table("id", "label · title", "format", "chunks", "procs", "tags", "added",
                   "embedded", box=None, pad_edge=False, header_style="bold")
    table.columns[0].no_wrap = True
    for i, width in ((2, 8), (3, 6), (4, 5), (6, 10), (7, 8)):
        table.columns[i].min_width = width
    for d in docs:
        name = Text(d.label, style="bold")
        if d.title != d.label:
            name.append("\n" + d.title, style="dim")
        table.add_row(d.id[:12], name, d.format, str(d.chunks), str(d.procedures),
                      Text(", ".join(d.tags)), d.added_at.date().isoformat(),
                      "yes" if d.embedded else "no")
    con.print(table)
    con.print(Text(f"{len(docs)} document(s)", style="dim"))


def _field(con: Console, name: str, value: Any) -> None:
    if value in (None, "", []):
        return
    shown = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
    con.print(Text.assemble((f"{name + ':':<12}", "bold"), shown), soft_wrap=True)


def print_document(doc: DocumentInfo, *, console: Console | None = None) -> None:
    con = console or terminal()
    con.print(Text.assemble((doc.label, "bold cyan"), "  ", (doc.title, "bold")))
    _field(con, "id", doc.id)
    _field(con, "file", f"{doc.name} ({doc.format}, {doc.size:,} bytes"
                        + (f", {doc.pages} pages" if doc.pages else "") + ")")
    _field(con, "sha256", doc.sha256)
    _field(con, "added", doc.added_at.isoformat(timespec="seconds"))
    _field(con, "tags", doc.tags)
    _field(con, "platforms", doc.platforms)
    _field(con, "indexed", f"{plural(doc.chunks, 'chunk')}, "
                           f"{plural(doc.procedures, 'procedure')}; "
                           + ("BM25 and embeddings" if doc.embedded else "BM25 only"))
    for w in doc.warnings:
        con.print(Text(f"warning: {w}", style="yellow"), soft_wrap=True)


_OP_SYMBOL = {"gt": ">", "ge": "≥", "lt": "<", "le": "≤", "eq": "=", "ne": "≠"}


def _op(op: Any) -> str:
    name = str(getattr(op, "value", op))
    return _OP_SYMBOL.get(name, name)


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def print_procedure(p: Procedure, *, document: DocumentInfo | None = None,
                    console: Console | None = None) -> None:
    con = console or terminal()
    title = (f"§{p.section} " if p.section else "") + p.title
    con.print(Text(title, style="bold"), soft_wrap=True)
    path = _below_title(p.heading_path, document) if document else list(p.heading_path)
    if len(path) > 1:  # a nested section: say where it sits
        con.print(Text("  in " + HEADING_SEP.join(path[:-1]), style="dim"), soft_wrap=True)
    for i, step in enumerate(p.steps, 1):
        con.print(Text(f"  {i:>2}. {step}"), soft_wrap=True)
    if p.sources:
        con.print(Text("  sources: " + ", ".join(p.sources)), soft_wrap=True)
    if p.fields:
        con.print(Text("  fields: " + ", ".join(p.fields)), soft_wrap=True)
    for d in p.definitions:
        conds = " and ".join(f"{d.source}.{c.field} {_op(c.op)} "
                             + ", ".join(str(v) for v in c.values) for c in [d, *d.also])
        concept = f" (refines concept {d.concept})" if d.concept else ""
        by = " (read by the LLM)" if d.origin == "llm" else ""
        con.print(Text(f"  definition: \"{d.term}\" = {conds}{concept}{by}  — “{d.text}”"),
                  soft_wrap=True)
    for t in p.thresholds:
        window = f" in {plural(t.window.amount, t.window.unit)}" if t.window else ""
        by = " (read by the LLM)" if t.origin == "llm" else ""
        con.print(Text(f"  threshold: {t.what} {_op(t.op)} {t.value:g}{window}{by}  "
                       f"— “{t.text}”"), soft_wrap=True)
    for w in p.windows:
        con.print(Text(f"  time window ({w.purpose}): {plural(w.amount, w.unit)}  — “{w.text}”"),
                  soft_wrap=True)
    if p.codes:
        con.print(Text("  error codes: " + ", ".join(p.codes)), soft_wrap=True)
    for q in p.queries:
        status = Text("parses", style="green") if q.parses else \
            Text("does not parse" + (f": {q.error}" if q.error else ""), style="yellow")
        con.print(Text.assemble(f"  query ({q.language}",
                                ", detected" if not q.labelled else "",
                                f", reads {q.source}" if q.source else "", ") ", status),
                  soft_wrap=True)
        print_code(con, q.language, q.text)


def print_chunk(c: Chunk, *, console: Console | None = None) -> None:
    con = console or terminal()
    head = Text(f"[{c.index}] ", style="bold")
    head.append(HEADING_SEP.join(c.heading_path) or "(no heading)")
    head.append(f"  {c.kind}" + (f" · page {c.page}" if c.page else "")
                + (f" · {', '.join(c.languages)}" if c.languages else "")
                + (f" · flags: {', '.join(c.flags)}" if c.flags else ""), style="dim")
    con.print(head, soft_wrap=True)
    for lang, text in _segments(c):
        if lang is None:
            con.print(Text("\n".join("    " + line for line in text.strip("\n").splitlines())),
                      soft_wrap=True)
        else:
            print_code(con, lang, text)


def print_detail(detail: Any, *, chunks: bool = False, console: Console | None = None) -> None:
    """A `DocumentDetail`: metadata, its procedures, and with `chunks` every chunk in order."""
    con = console or terminal()
    print_document(detail.document, console=con)
    con.print()
    if detail.procedures:
        con.print(Text(f"Procedures ({len(detail.procedures)})", style="bold underline"))
        for p in detail.procedures:
            print_procedure(p, document=detail.document, console=con)
            con.print()
    else:
        con.print(Text("no procedures recognised (no numbered steps or known sources)",
                       style="dim"))
    if chunks:
        con.print(Text(f"Chunks ({len(detail.chunks)})", style="bold underline"))
        for c in detail.chunks:
            print_chunk(c, console=con)
    elif detail.chunks:
        con.print(Text(f"{plural(len(detail.chunks), 'chunk')} (--chunks shows them)",
                       style="dim"))


# ── known errors ─────────────────────────────────────────────────────────────────────────────

def _filter_text(f: Any) -> str:
    if f is None:
        return ""
    value = f"({', '.join(map(str, f.value))})" if isinstance(f.value, list) else f.value
    return f"{f.source}.{f.field} {_op(f.op)} {value}"


def print_known_error(e: Any, *, console: Console | None = None) -> None:
    con = console or terminal()
    con.print(Text.assemble((e.code, "bold cyan"), f"  {e.system} · ", (e.title, "bold")),
              soft_wrap=True)
    _field(con, "meaning", e.meaning)
    _field(con, "action", e.action)
    _field(con, "also", list(e.aliases or []))
    if e.filter is not None:
        _field(con, "filter", _filter_text(e.filter))
    _field(con, "from", e.origin)


def print_known_errors(errors: Iterable[Any], *, console: Console | None = None) -> None:
    con = console or terminal()
    errors = list(errors)
    if not errors:
        con.print("No known errors match.", highlight=False)
        return
    table = _table("code", "system", "title", "filter", "from")
    table.columns[0].no_wrap = True
    for e in errors:
        table.add_row(Text(e.code), Text(e.system), Text(e.title), _filter_text(e.filter),
                      Text(str(e.origin)))
    con.print(table)
    con.print(Text(f"{len(errors)} known error(s)", style="dim"))


def print_mentions(mentions: Sequence[Any], *, console: Console | None = None) -> None:
    con = console or terminal()
    if not mentions:
        con.print("No known error codes in the text.", highlight=False)
        return
    for m in mentions:
        written = f"“{m.written}” → " if m.written != m.code else ""
        con.print(Text.assemble(written, (m.code, "bold cyan"), f"  {m.error.system} · ",
                                (m.error.title, "bold")), soft_wrap=True)
        _field(con, "  meaning", m.error.meaning)
        _field(con, "  action", m.error.action)
        if m.error.filter is not None:
            _field(con, "  filter", _filter_text(m.error.filter))
