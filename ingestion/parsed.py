"""The parsed shape of a document, and the collector every format parser fills in order."""

from dataclasses import dataclass, field

from ingestion.normalize import check_line_lengths, check_size, normalize_text


@dataclass(frozen=True)
class Section:
    """One block of a document: the paragraphs under one heading, or one PDF page."""

    text: str
    """Normalised text; never empty."""
    page: int | None
    """1-based page for paged formats (PDF), None otherwise."""
    heading_path: tuple[str, ...]
    """Headings enclosing the block, outermost first, e.g. ("Leave", "Parental leave")."""


@dataclass(frozen=True)
class ParsedDocument:
    """A document reduced to a title, ordered sections and simple string metadata."""

    title: str
    format: str
    """One of "txt", "md", "html", "pdf", "docx"."""
    sections: tuple[Section, ...]
    """At least one section; documents without text are rejected instead."""
    metadata: dict[str, str] = field(default_factory=dict)
    """Lower-case keys, e.g. a markdown front matter's ``groups``."""
    warnings: tuple[str, ...] = ()
    """What was repaired on the way in (e.g. invalid UTF-8 bytes replaced), for the status."""


class SectionCollector:
    """Accumulates text under a heading stack and emits normalised, size-checked sections."""

    def __init__(self, *, max_chars: int) -> None:
        self._max_chars = max_chars
        self._chars = 0
        self._stack: list[tuple[int, str]] = []
        self._parts: list[str] = []
        self._sections: list[Section] = []
        self.first_heading: dict[int, str] = {}
        """The first heading seen at each level, for title fallbacks."""

    @property
    def heading_path(self) -> tuple[str, ...]:
        return tuple(text for _, text in self._stack)

    def heading(self, level: int, text: str) -> None:
        """Close the current block and open one under ``text`` at ``level`` (1 = top)."""
        heading = " ".join(normalize_text(text).split())
        if not heading:
            return
        self.flush()
        self.first_heading.setdefault(level, heading)
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, heading))

    def add(self, text: str) -> None:
        """Append text to the current block; callers pass their own line breaks."""
        if text:
            self._parts.append(text)

    def flush(self) -> None:
        """Emit the current block as a section when it holds any text."""
        if self._parts:
            self._emit(normalize_text("".join(self._parts)), page=None)
            self._parts = []

    def add_page(self, text: str, page: int) -> None:
        """Emit one already-normalised page as its own section."""
        self.flush()
        self._emit(text, page=page)

    def sections(self) -> tuple[Section, ...]:
        self.flush()
        return tuple(self._sections)

    def _emit(self, text: str, *, page: int | None) -> None:
        if not text:
            return
        self._chars += len(text)
        check_size(self._chars, max_chars=self._max_chars)
        check_line_lengths(text)
        self._sections.append(Section(text=text, page=page, heading_path=self.heading_path))
