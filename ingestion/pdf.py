"""PDF to one section per page with pypdf, so every chunk keeps an exact page for citations."""

import io
import re

from pypdf import PasswordType, PdfReader

from app.errors import DocumentRejected
from ingestion.normalize import normalize_text, unwrap_pdf_lines
from ingestion.parsed import SectionCollector

_JUNK_TITLES = frozenset({"untitled", "title", "document", "microsoft word", "slide 1"})
_PRODUCER_PREFIX = re.compile(r"^(?:Microsoft (?:Word|PowerPoint) - |Word - )", re.IGNORECASE)
_MAX_TITLE_CHARS = 200
_MAX_FIRST_LINE_CHARS = 100


def parse_pdf(data: bytes, collector: SectionCollector) -> str | None:
    """Fill ``collector`` with one section per non-empty page; returns a title if one is found.

    Raises DocumentRejected for damaged, encrypted (non-empty user password) and image-only PDFs.
    """
    reader = _open(data)
    try:
        page_count = len(reader.pages)
    except Exception as exc:  # pypdf raises many types on broken page trees
        raise DocumentRejected(f"the PDF is damaged: {_describe(exc)}") from exc
    if page_count == 0:
        raise DocumentRejected("the PDF is damaged: it has no pages")
    first_text = ""
    for number in range(1, page_count + 1):
        try:
            raw = reader.pages[number - 1].extract_text()
        except Exception as exc:
            message = f"the PDF is damaged: page {number} cannot be read ({_describe(exc)})"
            raise DocumentRejected(message) from exc
        text = normalize_text(unwrap_pdf_lines(normalize_text(raw)))
        if text:
            first_text = first_text or text
            collector.add_page(text, number)
    if not first_text:
        raise DocumentRejected("the PDF has no extractable text (scanned images?)")
    return _metadata_title(reader) or _first_line(first_text)


def _open(data: bytes) -> PdfReader:
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
    except Exception as exc:
        raise DocumentRejected(f"the PDF is damaged: {_describe(exc)}") from exc
    if reader.is_encrypted:
        try:
            decrypted = reader.decrypt("") != PasswordType.NOT_DECRYPTED
        except Exception:  # unsupported algorithm or broken encryption dictionary
            decrypted = False
        if not decrypted:
            raise DocumentRejected("the PDF is encrypted")
    return reader


def _metadata_title(reader: PdfReader) -> str | None:
    try:
        metadata = reader.metadata
        raw = metadata.title if metadata is not None else None
    except Exception:  # a broken info dictionary is not worth rejecting the file for
        return None
    if not isinstance(raw, str):
        return None
    title = " ".join(_PRODUCER_PREFIX.sub("", normalize_text(raw)).split())
    if not title or title.lower() in _JUNK_TITLES:
        return None
    return title[:_MAX_TITLE_CHARS]


def _first_line(text: str) -> str | None:
    """The first line, cut at a word boundary (after unwrapping it may be a whole paragraph)."""
    line = text.split("\n", 1)[0].strip()
    if len(line) > _MAX_FIRST_LINE_CHARS:
        line = line[:_MAX_FIRST_LINE_CHARS].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"
    return line or None


def _describe(exc: Exception) -> str:
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return (detail or type(exc).__name__)[:200]
