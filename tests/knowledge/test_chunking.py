"""chunk_document: structure wins over size. Documents are real Markdown / text / PDF bytes read
with read_document, plus a few hand-built block lists where the shape itself is the point."""

from __future__ import annotations

from fpdf import FPDF

from lexiquery.knowledge.readers.chunking import chunk_document, normalise_language, render_blocks
from lexiquery.knowledge.readers.documents import read_document
from lexiquery.knowledge.model import Block, BlockKind, ChunkDraft, ParsedDocument


def md(text: str, **kw: int) -> list[ChunkDraft]:
    doc = read_document("sop.md", text.encode(), max_bytes=10_000_000)
    return chunk_document(doc, **kw)


def step(i: int, width: int = 90) -> str:
    return f"{i}. Step {i}: " + ("check the sign-in records carefully " * 10)[:width]


def test_twelve_step_procedure_stays_in_one_chunk_over_target() -> None:
    steps = "\n".join(step(i, 60) for i in range(1, 13))
    text = f"# Triage\n\nSome context first.\n\n{steps}\n"
    chunks = md(text, target_chars=300)
    assert len(chunks) == 1  # the one-line remark joins the procedure rather than stand alone
    chunk = chunks[0]
    assert chunk.text.startswith("Some context first.\n\n1. Step 1:")
    assert 300 < len(chunk.text) <= 1200  # over the target, under the limit: not cut
    assert all(f"{i}. Step {i}:" in chunk.text for i in range(1, 13))
    assert chunk.kind == "steps"
    assert chunk.heading_path == ["Triage"]


def test_list_just_over_max_is_split_evenly() -> None:
    text = "# T\n\n" + "\n".join(step(i) for i in range(1, 13)) + "\n"  # ~1250 chars
    chunks = md(text, target_chars=300)  # max 1200
    assert [c.text.count("\n") + 1 for c in chunks] == [6, 6]


def test_list_over_max_is_split_between_top_level_steps_only() -> None:
    lines = []
    for i in range(1, 9):
        lines.append(step(i))
        lines.append(f"   1. sub-step {i}.1 of step {i}")
        lines.append(f"   2. sub-step {i}.2 of step {i}")
    chunks = md("# P\n\n" + "\n".join(lines) + "\n", target_chars=200, max_chars=400)
    assert len(chunks) > 1
    assert all(len(c.text) <= 400 for c in chunks)
    for c in chunks:
        first = c.text.split("\n")[0]
        assert first[0].isdigit() and not first.startswith(" ")  # starts at a top-level step
        for i in range(1, 9):  # a step and its sub-steps are never separated
            if f"{i}. Step {i}:" in c.text:
                assert f"{i}.1 sub-step" in c.text and f"{i}.2 sub-step" in c.text
    joined = "\n".join(c.text for c in chunks)
    assert joined.count("sub-step") == 16


def test_code_bigger_than_max_stays_whole_in_its_own_chunk() -> None:
    query = "\n".join(f"| where Field{i} != 'value {i}'" for i in range(200))
    text = (f"# Hunt\n\nA paragraph before.\n\nAnother one.\n\n```kusto\nSigninLogs\n{query}\n```"
            "\n\nAfter.\n")
    chunks = md(text, target_chars=200, max_chars=800)
    assert [c.text for c in chunks] == [
        "A paragraph before.\n\nAnother one.",
        f"```kusto\nSigninLogs\n{query}\n```",  # over max, whole, on its own
        "After.",  # cannot join the code chunk without passing max
    ]
    assert chunks[1].kind == "code" and chunks[1].languages == ["kql"]
    assert len(chunks[1].text) > 800


def test_heading_paths() -> None:
    text = """# Runbook

Intro.

## Triage

Triage text.

### Sign-ins

Sign-in text.

### Devices

Device text.

## Escalation

Escalation text.

# Appendix

Appendix text.
"""
    got = [(c.heading_path, c.text) for c in md(text)]
    assert got == [
        (["Runbook"], "Intro."),
        (["Runbook", "Triage"], "Triage text."),
        (["Runbook", "Triage", "Sign-ins"], "Sign-in text."),
        (["Runbook", "Triage", "Devices"], "Device text."),
        (["Runbook", "Escalation"], "Escalation text."),
        (["Appendix"], "Appendix text."),
    ]


def test_skipped_levels_pop_correctly() -> None:
    text = "# A\n\n#### Deep\n\nx.\n\n## B\n\ny.\n"
    assert [c.heading_path for c in md(text)] == [["A", "Deep"], ["A", "B"]]


def test_intro_paragraph_stays_with_list_and_code() -> None:
    long = "Background prose that goes on for a while. " * 6
    text = (f"# S\n\n{long}\n\nRun this query:\n\n```spl\nindex=auth action=failure\n```\n\n"
            f"{long}\n\nThen do the following:\n\n- disable the account\n- reset the password\n")
    chunks = md(text, target_chars=300)
    code = next(c for c in chunks if "index=auth" in c.text)
    assert code.text.startswith("Run this query:\n\n```spl\n")
    assert code.languages == ["spl"]
    bullets = next(c for c in chunks if "disable the account" in c.text)
    assert bullets.text.startswith("Then do the following:\n\n- disable the account")


def test_code_inside_a_procedure_stays_with_its_steps() -> None:
    text = """# Steps

1. Open Log Analytics.
2. Run this query:

   ```kql
   SigninLogs | where ResultType != 0
   ```

3. Read the result.

Unrelated closing paragraph that is long enough to stand on its own as prose in the chunk.
"""
    chunks = md(text, target_chars=120)
    proc = next(c for c in chunks if "1. Open" in c.text)
    assert "SigninLogs" in proc.text and "3. Read the result." in proc.text
    assert proc.kind == "steps" and proc.languages == ["kql"]


def test_paragraphs_are_packed_up_to_target() -> None:
    paras = [f"Paragraph {i} " + "word " * 30 for i in range(10)]  # ~170 chars each
    chunks = md("# P\n\n" + "\n\n".join(paras) + "\n", target_chars=400)
    assert len(chunks) >= 3
    assert all(len(c.text) <= 400 for c in chunks)
    assert all(c.text.count("Paragraph") >= 2 for c in chunks[:-1])
    assert "\n\n".join(c.text for c in chunks) == "\n\n".join(p.strip() for p in paras)


def test_tiny_trailing_piece_merges_into_previous_chunk() -> None:
    big = "Long paragraph " + "text " * 70
    chunks = md(f"# P\n\n{big}\n\n{big}\n\nOK.\n", target_chars=400)
    assert chunks[-1].text.endswith("OK.")
    assert len(chunks) == 2  # "OK." did not become a chunk of its own


def test_table_whole_up_to_max_else_split_with_header() -> None:
    rows = "\n".join(f"| {50000 + i} | meaning number {i} of the result code |" for i in range(40))
    text = f"# Codes\n\n| Code | Meaning |\n|---|---|\n{rows}\n"
    whole = md(text, target_chars=500, max_chars=5000)
    assert len(whole) == 1 and whole[0].kind == "table"
    assert whole[0].text.count("\n") == 40
    split = md(text, target_chars=300, max_chars=600)
    assert len(split) > 1
    for c in split:
        assert c.text.startswith("Code | Meaning\n") and len(c.text) <= 600
        assert c.kind == "table"
    assert sum(c.text.count("meaning number") for c in split) == 40


def test_oversized_paragraph_is_split_by_sentences() -> None:
    para = " ".join(f"Sentence number {i} is here." for i in range(200))
    chunks = md(f"{para}\n", target_chars=300, max_chars=600)
    assert len(chunks) > 1 and all(len(c.text) <= 600 for c in chunks)
    assert all(c.text.endswith(".") for c in chunks)
    assert " ".join(c.text for c in chunks) == para


def test_rendering_of_lists_and_code() -> None:
    blocks = [
        Block(kind=BlockKind.list_item, text="Collect", number="3"),
        Block(kind=BlockKind.list_item, text="Export", number="3.1", level=1),
        Block(kind=BlockKind.list_item, text="note it", level=2),
        Block(kind=BlockKind.code, text="a ``` b", lang="sql"),
        Block(kind=BlockKind.paragraph, text="Done."),
    ]
    assert render_blocks(blocks) == ("3. Collect\n   3.1 Export\n      - note it\n\n"
                                     "````sql\na ``` b\n````\n\nDone.")


def test_kinds_and_languages() -> None:
    text = """# K

Just prose here.

# C

```postgres
select 1
```

```csl
T | take 1
```

```python
print(1)
```

# M

A paragraph of prose that is about as long as the query below it, more or less.

```splunk
index=main | stats count by host, user, src_ip, action, app
```
"""
    chunks = {c.heading_path[0]: c for c in md(text)}
    assert chunks["K"].kind == "prose" and chunks["K"].languages == []
    assert chunks["C"].kind == "code" and chunks["C"].languages == ["sql", "kql"]
    assert chunks["M"].kind == "mixed" and chunks["M"].languages == ["spl"]
    assert all(c.flags == [] for c in chunks.values())
    assert [normalise_language(x) for x in ("Kusto", "T-SQL", "splunk", "bash", None)] == [
        "kql", "sql", "spl", None, None]


def test_pdf_chunks_carry_their_first_page() -> None:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for name in ("ALPHA SECTION", "BRAVO SECTION"):
        pdf.add_page()
        pdf.multi_cell(0, 6, f"{name}\n\nText of the {name.lower()}.", new_x="LMARGIN",
                       new_y="NEXT")
    doc = read_document("p.pdf", bytes(pdf.output()), max_bytes=10_000_000)
    chunks = chunk_document(doc)
    assert [(c.heading_path, c.page) for c in chunks] == [
        (["ALPHA SECTION"], 1), (["ALPHA SECTION", "BRAVO SECTION"], 2)]


def test_text_document_chunks() -> None:
    text = ("FAILED SIGN-IN RUNBOOK\n\nIntro text.\n\n1. TRIAGE\n\n"
            + "\n".join(f"Step {i}: do thing {i}" for i in range(1, 13)) + "\n\n2. ESCALATION\n\n"
            "Call the lead.\n")
    doc = read_document("r.txt", text.encode(), max_bytes=10_000_000)
    chunks = chunk_document(doc, target_chars=100)
    assert [c.heading_path for c in chunks] == [
        ["FAILED SIGN-IN RUNBOOK"], ["FAILED SIGN-IN RUNBOOK", "1. TRIAGE"],
        ["FAILED SIGN-IN RUNBOOK", "2. ESCALATION"]]
    assert chunks[1].text.count("\n") == 11 and chunks[1].kind == "steps"


def test_headings_only_document_still_has_a_chunk() -> None:
    doc = ParsedDocument(name="h.md", format="markdown", title="A", blocks=[
        Block(kind=BlockKind.heading, level=1, text="A"),
        Block(kind=BlockKind.heading, level=2, text="B")])
    assert [c.text for c in chunk_document(doc)] == ["A\nB"]


def test_deterministic() -> None:
    text = "# A\n\n" + "\n\n".join(f"Para {i} " + "x " * (i * 13 % 97) for i in range(60))
    assert md(text, target_chars=250) == md(text, target_chars=250)
