import io
import random
import time
import zipfile
from pathlib import Path

import docx
import pytest
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from pypdf import PdfReader, PdfWriter

from app.errors import DocumentRejected
from ingestion.normalize import normalize_text, unwrap_pdf_lines
from ingestion.parsers import SUPPORTED_EXTENSIONS, parse_bytes

# --- fixture builders -------------------------------------------------------------------------


def make_pdf(pages: list[list[str]], *, title: str | None = None) -> bytes:
    """One PDF page per entry; each string is written as its own line."""
    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    if title:
        pdf.set_title(title)
    for lines in pages:
        pdf.add_page()
        for line in lines:
            pdf.cell(text=line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


def encrypt(data: bytes, *, user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_docx(tmp_path: Path, *, title: str | None = None) -> bytes:
    document = docx.Document()
    if title:
        document.core_properties.title = title
    document.add_heading("Leave", level=1)
    document.add_paragraph("Everyone gets 25 days of annual leave.")
    document.add_heading("Parental leave", level=2)
    document.add_paragraph("Parents get 16 weeks.")
    table = document.add_table(rows=2, cols=2)
    for row, (left, right) in zip(table.rows, [("Role", "Weeks"), ("Parent", "16")], strict=True):
        row.cells[0].text = left
        row.cells[1].text = right
    document.add_heading("Expenses", level=1)
    document.add_paragraph("Submit receipts within 30 days.")
    path = tmp_path / "handbook.docx"
    document.save(str(path))
    return path.read_bytes()


def reason(data: bytes, filename: str, **kwargs: int) -> str:
    with pytest.raises(DocumentRejected) as caught:
        parse_bytes(data, filename=filename, **kwargs)
    return caught.value.message


# --- plain text and encodings -----------------------------------------------------------------


def test_txt_is_one_section_titled_by_the_file_stem() -> None:
    doc = parse_bytes(b"Hello  world.\r\n\r\n\r\n\r\nSecond\tparagraph.", filename="notes.txt")
    assert doc.format == "txt"
    assert doc.title == "notes"
    assert [s.text for s in doc.sections] == ["Hello world.\n\nSecond\tparagraph."]
    assert doc.sections[0].page is None
    assert doc.sections[0].heading_path == ()


def test_latin1_text_is_detected_and_decoded() -> None:
    text = "Café résumé naïve façade. Les employés ont droit à des congés payés chaque année."
    doc = parse_bytes(text.encode("latin-1"), filename="conges.txt")
    assert doc.sections[0].text == text


def test_utf16_with_bom_is_decoded() -> None:
    doc = parse_bytes("Ünïcode text in UTF-16.".encode("utf-16"), filename="a.txt")
    assert doc.sections[0].text == "Ünïcode text in UTF-16."


def test_normalisation_applies_nfkc_and_drops_control_characters() -> None:
    assert (
        normalize_text("ﬁle\u00a0one\x07\x00  two\u200b\n\n\n\nthree   ") == "file one two\n\nthree"
    )


def test_unsupported_extension_is_rejected_with_the_supported_list() -> None:
    message = reason(b"data", "archive.xyz")
    assert message.startswith("unsupported file type .xyz; supported: ")
    assert all(ext in message for ext in SUPPORTED_EXTENSIONS)


@pytest.mark.parametrize("filename", ["empty.txt", "empty.md", "empty.pdf", "empty.docx"])
@pytest.mark.parametrize("data", [b"", b"  \n\t\n"])
def test_empty_file_is_rejected(data: bytes, filename: str) -> None:
    assert reason(data, filename) == "the file is empty"


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (bytes(range(256)) * 40, "notes.txt"),
        (b"\x89PNG\r\n\x1a\n" + b"IHDR" * 100, "readme.md"),
        (b"%PDF-1.7 pretending to be text", "x.txt"),
    ],
)
def test_binary_content_named_as_text_is_rejected(data: bytes, filename: str) -> None:
    assert reason(data, filename) == "the file looks binary, not text"


def test_undecodable_bytes_are_rejected() -> None:
    rng = random.Random(7)
    garbage = bytes(rng.randrange(0x80, 0x100) for _ in range(4000))
    assert reason(garbage, "notes.txt") == "the text encoding could not be detected"


_FRENCH = "Les employés ont droit à des congés payés chaque année. Résumé: naïve façade.\n"


@pytest.mark.parametrize(
    "stray",
    [b"\xff", b"\xe9", b"\xc3"],  # an impossible byte, a Latin-1 é, a cut-off sequence
    ids=["ff", "latin1-e9", "truncated"],
)
def test_one_stray_byte_in_utf8_is_replaced_with_a_warning_not_mojibake(stray: bytes) -> None:
    data = _FRENCH.encode() * 5 + b"caf" + stray + b" noir.\n" + _FRENCH.encode()
    doc = parse_bytes(data, filename="conges.txt")
    text = doc.sections[0].text
    # Every valid character survives as written: no code-page guess garbles the file.
    assert text.count("employés") == 6 and "Ã" not in text
    assert "caf\ufffd noir." in text
    at = len(_FRENCH.encode()) * 5 + 3
    assert doc.warnings == (
        f"1 invalid UTF-8 byte sequence replaced with U+FFFD (first at line 6, byte {at})",
    )


def test_a_single_utf8_character_next_to_a_stray_byte_is_kept() -> None:
    doc = parse_bytes("Le café ".encode() + b"est caf\xe9.\n", filename="a.txt")
    assert doc.sections[0].text == "Le café est caf\ufffd."  # not "cafÃ©"
    assert len(doc.warnings) == 1


def test_html_with_a_stray_byte_carries_the_warning_too() -> None:
    page = "<html><body><h1>Congés</h1><p>Les congés sont payés.</p>".encode()
    doc = parse_bytes(page + b"<p>caf\xe9</p></body></html>", filename="page.html")
    assert "Les congés sont payés." in doc.sections[0].text
    assert len(doc.warnings) == 1 and doc.warnings[0].startswith("1 invalid UTF-8 byte")


def test_clean_utf8_and_legacy_encodings_carry_no_warning() -> None:
    assert parse_bytes(_FRENCH.encode(), filename="a.txt").warnings == ()
    latin1 = parse_bytes(_FRENCH.encode("latin-1"), filename="a.txt")
    assert latin1.sections[0].text == _FRENCH.strip() and latin1.warnings == ()


def test_utf8_with_many_invalid_bytes_is_rejected_with_where() -> None:
    data = _FRENCH.encode() * 3 + b"bad \xff\xfe bytes \xff here \xff and \xff\n"
    at = len(_FRENCH.encode()) * 3 + 4
    assert reason(data, "notes.txt") == (
        f"the file is UTF-8 but has 5 invalid byte sequences (first at line 4, byte {at}); "
        "re-save it as UTF-8"
    )


def test_a_five_megabyte_line_is_rejected() -> None:
    assert reason(b"word " * 1_000_000, "dump.txt") == "a line is longer than 100,000 characters"


def test_long_text_with_sentences_is_accepted() -> None:
    doc = parse_bytes(b"A short sentence. " * 20_000, filename="long.txt")
    assert len(doc.sections[0].text) > 300_000


def test_text_over_max_chars_is_rejected() -> None:
    message = reason(b"Hello world. " * 1000, "big.txt", max_chars=1000)
    assert message == "the extracted text is longer than 1,000 characters"


# --- markdown ---------------------------------------------------------------------------------

MARKDOWN = b"""---
Title: "Employee Handbook"
groups: [hr, finance]
owners:
  - alice
  - bob
---
# Leave

Intro with a [link](https://example.com), **bold**, _italics_ and `code`.

## Parental leave

Parents get 16 weeks.

| a | b |
|---|---|
| 1 | 2 |

```python
print("kept")
```

Expenses
========

Submit receipts.
"""


def test_markdown_front_matter_becomes_lower_case_metadata() -> None:
    doc = parse_bytes(MARKDOWN, filename="handbook.md")
    assert doc.title == "Employee Handbook"
    assert doc.metadata == {
        "title": "Employee Handbook",
        "groups": "hr, finance",
        "owners": "alice, bob",
    }


def test_markdown_sections_follow_headings_and_lose_syntax_noise() -> None:
    doc = parse_bytes(MARKDOWN, filename="handbook.md")
    assert [s.heading_path for s in doc.sections] == [
        ("Leave",),
        ("Leave", "Parental leave"),
        ("Expenses",),
    ]
    assert doc.sections[0].text == "Intro with a link, bold, italics and code."
    assert "| 1 | 2 |" in doc.sections[1].text
    assert "|---|" not in doc.sections[1].text
    assert 'print("kept")' in doc.sections[1].text
    assert "```" not in doc.sections[1].text
    assert doc.sections[2].text == "Submit receipts."


def test_markdown_title_falls_back_to_the_first_h1_then_the_stem() -> None:
    assert parse_bytes(b"Text\n\n# Real title\n\nBody.", filename="x.md").title == "Real title"
    assert parse_bytes(b"## Only h2\n\nBody.", filename="faq.md").title == "faq"


def test_markdown_headings_inside_code_fences_are_text() -> None:
    doc = parse_bytes(b"# A\n\n```\n# not a heading\n```\n", filename="x.md")
    assert doc.sections[0].heading_path == ("A",)
    assert doc.sections[0].text == "# not a heading"


# --- HTML -------------------------------------------------------------------------------------

HTML = """<!doctype html><html><head><meta charset="windows-1252"><title>Handbook – HR</title>
<style>p {color: red}</style><script>alert("x")</script></head>
<body><nav>Home | About</nav>
<h1>Leave</h1><p>Everyone gets <b>25 days</b>.<br>Ask HR.</p>
<h2>Parental leave</h2><ul><li>16 weeks</li><li>paid</li></ul>
<table><tr><th>Role</th><th>Weeks</th></tr><tr><td>Parent</td><td>16</td></tr></table>
<footer>© Company</footer></body></html>"""


def test_html_drops_chrome_and_splits_by_headings() -> None:
    doc = parse_bytes(HTML.encode("cp1252"), filename="page.html")
    assert doc.format == "html"
    assert doc.title == "Handbook – HR"
    assert [s.heading_path for s in doc.sections] == [("Leave",), ("Leave", "Parental leave")]
    assert doc.sections[0].text == "Everyone gets 25 days.\nAsk HR."
    assert "16 weeks\n\npaid" in doc.sections[1].text
    assert "Role | Weeks" in doc.sections[1].text
    joined = " ".join(s.text for s in doc.sections)
    for chrome in ("alert", "color", "Home", "Company"):
        assert chrome not in joined


def test_html_title_falls_back_to_h1() -> None:
    doc = parse_bytes(b"<h1>Benefits</h1><p>Dental.</p>", filename="b.htm")
    assert doc.title == "Benefits"


def test_html_without_text_is_rejected() -> None:
    assert reason(b"<html><script>x()</script></html>", "a.html") == "the file has no text"


# --- PDF --------------------------------------------------------------------------------------


def test_pdf_has_one_section_per_page_with_1_based_pages() -> None:
    data = make_pdf([["First page text."], [], ["Third page text."]], title="Handbook")
    doc = parse_bytes(data, filename="handbook.pdf")
    assert doc.format == "pdf"
    assert doc.title == "Handbook"
    assert [(s.page, s.text) for s in doc.sections] == [
        (1, "First page text."),
        (3, "Third page text."),
    ]


def test_pdf_title_falls_back_to_the_first_line() -> None:
    doc = parse_bytes(make_pdf([["Travel policy", "Book early."]]), filename="t.pdf")
    assert doc.title == "Travel policy"


def test_pdf_hyphenation_and_hard_wraps_are_undone() -> None:
    lines = ["This policy explains how infor-", "mation about leave is stored and", "used."]
    doc = parse_bytes(make_pdf([lines]), filename="p.pdf")
    assert (
        doc.sections[0].text
        == "This policy explains how information about leave is stored and used."
    )


def test_unwrap_keeps_list_items_and_sentence_ends() -> None:
    text = "Rules:\n- one item\n- two items\nA sentence ends here.\nNext sentence."
    assert unwrap_pdf_lines(text) == text


def test_truncated_pdf_is_rejected_as_damaged() -> None:
    data = make_pdf([["Some text."] * 20] * 3)
    assert reason(data[: len(data) // 2], "cut.pdf").startswith("the PDF is damaged: ")


def test_non_pdf_bytes_named_pdf_are_rejected_as_damaged() -> None:
    assert reason(b"just some text", "fake.pdf").startswith("the PDF is damaged: ")


def test_encrypted_pdf_is_rejected() -> None:
    data = encrypt(make_pdf([["Secret text."]]), user_password="s3cret")
    assert reason(data, "secret.pdf") == "the PDF is encrypted"


def test_pdf_encrypted_with_an_empty_user_password_is_read() -> None:
    data = encrypt(make_pdf([["Readable text."]]), user_password="")
    assert parse_bytes(data, filename="open.pdf").sections[0].text == "Readable text."


def test_image_only_pdf_is_rejected() -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(10, 10, 80, 120, style="F")
    message = reason(bytes(pdf.output()), "scan.pdf")
    assert message == "the PDF has no extractable text (scanned images?)"


def test_pdf_over_max_chars_is_rejected() -> None:
    data = make_pdf([["A line of text on a page."] * 30] * 3)
    message = reason(data, "long.pdf", max_chars=1000)
    assert message == "the extracted text is longer than 1,000 characters"


# --- DOCX -------------------------------------------------------------------------------------


def test_docx_groups_paragraphs_under_headings_and_keeps_tables(tmp_path: Path) -> None:
    doc = parse_bytes(make_docx(tmp_path, title="Staff handbook"), filename="h.docx")
    assert doc.format == "docx"
    assert doc.title == "Staff handbook"
    assert [s.heading_path for s in doc.sections] == [
        ("Leave",),
        ("Leave", "Parental leave"),
        ("Expenses",),
    ]
    assert doc.sections[1].text == "Parents get 16 weeks.\n\nRole | Weeks\nParent | 16"


def test_docx_title_falls_back_to_the_first_heading(tmp_path: Path) -> None:
    assert parse_bytes(make_docx(tmp_path), filename="h.docx").title == "Leave"


def test_docx_that_is_not_a_zip_is_rejected() -> None:
    message = reason(b"PK\x03\x04 this is not really a zip archive", "broken.docx")
    assert message.startswith("the DOCX is damaged: not a valid ZIP archive")


def test_zip_without_a_document_part_is_rejected() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hi")
    assert (
        reason(buffer.getvalue(), "x.docx") == "the DOCX is damaged: word/document.xml is missing"
    )


def test_docx_with_corrupt_xml_is_rejected(tmp_path: Path) -> None:
    source = zipfile.ZipFile(io.BytesIO(make_docx(tmp_path)))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for entry in source.infolist():
            data = source.read(entry)
            archive.writestr(
                entry, b"<w:document><broken" if entry.filename.endswith("document.xml") else data
            )
    assert reason(buffer.getvalue(), "x.docx").startswith("the DOCX is damaged: ")


def _bomb(size: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as entry:
            block = b"\0" * (1 << 20)
            for _ in range(size >> 20):
                entry.write(block)
    return buffer.getvalue()


def test_docx_zip_bomb_by_total_size_is_rejected() -> None:
    message = reason(_bomb(201 << 20), "bomb.docx")
    assert message == "the DOCX expands to more than 200 MB (zip bomb?)"


def test_docx_zip_bomb_by_compression_ratio_is_rejected() -> None:
    message = reason(_bomb(8 << 20), "bomb.docx")
    assert message == "the DOCX expands to more than 100 times its compressed size (zip bomb?)"


# --- robustness -------------------------------------------------------------------------------


def test_markdown_inline_cleanup_keeps_snake_case_and_code() -> None:
    doc = parse_bytes(b"Call `__init__` in snake_case_name, 5 * 3 = 15.", filename="x.md")
    assert doc.sections[0].text == "Call __init__ in snake_case_name, 5 * 3 = 15."


def test_pathological_markdown_lines_stay_fast() -> None:
    started = time.perf_counter()
    parse_bytes(b"[x. **a. <a (b. " * 50_000, filename="x.md")
    assert time.perf_counter() - started < 5


def test_deeply_nested_html_is_read_without_recursion() -> None:
    depth = 20_000
    html = b"<div>" * depth + b"<h2>Deep</h2><p>Deep text.</p>" + b"</div>" * depth
    started = time.perf_counter()
    doc = parse_bytes(html, filename="deep.html")
    assert time.perf_counter() - started < 5
    assert [(s.heading_path, s.text) for s in doc.sections] == [(("Deep",), "Deep text.")]
