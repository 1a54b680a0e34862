"""DOCX to sections: paragraphs grouped under Heading styles, tables as text rows.

The ZIP container is inspected before python-docx opens it, so a zip bomb is refused unread.
"""

import io
import re
import zipfile

import docx
from docx.table import Table
from docx.text.paragraph import Paragraph

from app.errors import DocumentRejected
from ingestion.parsed import SectionCollector

MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100
MAX_ENTRIES = 10_000
_RATIO_CHECK_MIN_BYTES = 1024 * 1024  # tiny XML parts may compress very well without harm
_HEADING_STYLE = re.compile(r"^heading\s*([1-9])$", re.IGNORECASE)


def check_docx_container(data: bytes) -> None:
    """Refuse anything that is not a sane DOCX ZIP: not a ZIP, too many parts, a zip bomb.

    Uses the sizes the archive declares; CPython's zipfile never inflates an entry past its
    declared size, so a lying header cannot make python-docx read more than was checked.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            names = {entry.filename for entry in entries}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise DocumentRejected(f"the DOCX is damaged: not a valid ZIP archive ({exc})") from exc
    if len(entries) > MAX_ENTRIES:
        raise DocumentRejected(f"the DOCX has more than {MAX_ENTRIES:,} parts (zip bomb?)")
    total = sum(entry.file_size for entry in entries)
    if total > MAX_UNCOMPRESSED_BYTES:
        limit_mb = MAX_UNCOMPRESSED_BYTES // (1024 * 1024)
        raise DocumentRejected(f"the DOCX expands to more than {limit_mb} MB (zip bomb?)")
    for entry in entries:
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size >= _RATIO_CHECK_MIN_BYTES and ratio > MAX_COMPRESSION_RATIO:
            raise DocumentRejected(
                f"the DOCX expands to more than {MAX_COMPRESSION_RATIO} times its compressed "
                "size (zip bomb?)"
            )
    if "word/document.xml" not in names:
        raise DocumentRejected("the DOCX is damaged: word/document.xml is missing")


def parse_docx(data: bytes, collector: SectionCollector) -> str | None:
    """Fill ``collector`` from DOCX bytes; returns the core-properties or first heading title."""
    check_docx_container(data)
    try:
        document = docx.Document(io.BytesIO(data))
        title = _core_title(document)
        blocks = list(document.iter_inner_content())
        style_title = _fill(blocks, collector)
    except DocumentRejected:
        raise
    except Exception as exc:  # python-docx and lxml raise many types on broken parts
        detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise DocumentRejected(f"the DOCX is damaged: {detail}") from exc
    return title or style_title


def _core_title(document: "docx.document.Document") -> str | None:
    title = " ".join((document.core_properties.title or "").split())
    return title or None


def _fill(blocks: list[Paragraph | Table], collector: SectionCollector) -> str | None:
    """Returns the text of the first Title-styled paragraph, if any."""
    style_title: str | None = None
    for block in blocks:
        if isinstance(block, Table):
            collector.add(_table_text(block))
            continue
        text = block.text
        style = _style_name(block)
        if style.lower() == "title" and text.strip():
            style_title = style_title or " ".join(text.split())
            continue
        match = _HEADING_STYLE.match(style)
        if match and text.strip():
            collector.heading(int(match.group(1)), text)
        else:
            collector.add(text + "\n\n")
    return style_title


def _style_name(paragraph: Paragraph) -> str:
    try:
        style = paragraph.style
    except (KeyError, ValueError):  # a style id that the styles part does not define
        return ""
    return (style.name or "") if style is not None else ""


def _table_text(table: Table) -> str:
    rows: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        seen: set[int] = set()
        for cell in row.cells:
            # merged cells repeat the same underlying element (no public identity); print once
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            text = " ".join(cell.text.split())
            if text:
                cells.append(text)
        if cells:
            rows.append(" | ".join(cells))
    return "\n".join(rows) + "\n\n" if rows else ""
