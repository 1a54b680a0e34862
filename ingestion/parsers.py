"""Bytes of an uploaded file to a ParsedDocument, or DocumentRejected with a readable reason.

Dispatches on the file extension to the format parsers (txt, md, html, pdf, docx).
"""

from pathlib import PurePath

from app.errors import DocumentRejected
from ingestion.markup import parse_html, parse_markdown
from ingestion.normalize import check_line_lengths, check_size, decode_text
from ingestion.parsed import ParsedDocument, Section, SectionCollector
from ingestion.pdf import parse_pdf
from ingestion.word import parse_docx

__all__ = ["SUPPORTED_EXTENSIONS", "ParsedDocument", "Section", "parse_bytes"]

_FORMATS: dict[str, str] = {
    ".txt": "txt",
    ".text": "txt",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
}
SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(_FORMATS)
"""Lower-case file extensions with their leading dot."""


def parse_bytes(data: bytes, *, filename: str, max_chars: int = 5_000_000) -> ParsedDocument:
    """Parse ``data`` as the format its ``filename`` extension names.

    Raises DocumentRejected for unsupported types, empty, binary, undecodable, damaged,
    encrypted, image-only or oversized input, and zip bombs; the message says which.
    """
    path = PurePath(filename)
    extension = path.suffix.lower()
    format_ = _FORMATS.get(extension)
    if format_ is None:
        supported = ", ".join(sorted(SUPPORTED_EXTENSIONS))
        shown = extension or "(no extension)"
        raise DocumentRejected(f"unsupported file type {shown}; supported: {supported}")
    if not data.strip():
        raise DocumentRejected("the file is empty")
    collector = SectionCollector(max_chars=max_chars)
    metadata: dict[str, str] = {}
    warnings: list[str] = []
    try:
        title = _parse(format_, data, collector, metadata, warnings, max_chars=max_chars)
    except RecursionError as exc:
        raise DocumentRejected(f"the {format_.upper()} is nested too deeply to read") from exc
    sections = collector.sections()
    if not sections:
        raise DocumentRejected("the file has no text")
    stem = path.stem or filename
    return ParsedDocument(
        title=title or stem,
        format=format_,
        sections=sections,
        metadata=metadata,
        warnings=tuple(warnings),
    )


def _parse(
    format_: str,
    data: bytes,
    collector: SectionCollector,
    metadata: dict[str, str],
    warnings: list[str],
    *,
    max_chars: int,
) -> str | None:
    """Run one format's parser; returns the title it found, if any."""
    if format_ == "pdf":
        return parse_pdf(data, collector)
    if format_ == "docx":
        return parse_docx(data, collector) or _top_heading(collector)
    if format_ == "html":
        return parse_html(data, collector, warnings)
    text = decode_text(data, warnings=warnings)
    # Cheap early refusals before any regex work; the collector checks the final text again.
    if len(text) > 2 * max_chars:
        check_size(len(text), max_chars=max_chars)
    check_line_lengths(text)
    if format_ == "md":
        metadata.update(parse_markdown(text, collector))
        return metadata.get("title") or collector.first_heading.get(1)
    collector.add(text)
    return None


def _top_heading(collector: SectionCollector) -> str | None:
    """The first heading of the highest level present, if any."""
    levels = collector.first_heading
    return levels[min(levels)] if levels else None
