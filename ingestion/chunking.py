"""Token-bounded chunks of a parsed document, each fitting the embedder's window.

Invariant: ``counter.count(embedding_text(c.title, c.heading_path, c.text)) <= min(max_tokens,
window)`` for every chunk ``c``; chunks never cross a section (so never a PDF page).
"""

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ingestion.normalize import normalize_text
from ingestion.parsed import ParsedDocument, Section
from retrieval.sentences import split_sentences

SPECIAL_TOKENS = 2
"""[CLS] and [SEP]: included in every ``count``."""
_MIN_LIMIT = 16
_PARAGRAPH_BREAK = re.compile(r"\n{2,}")


class TokenCounter(Protocol):
    def count(self, text: str) -> int:
        """Tokens of ``text`` as the embedder sees them, special tokens included."""
        ...


@runtime_checkable
class BatchTokenCounter(Protocol):
    """A counter that can also count many texts in one call (the fast path)."""

    def count(self, text: str) -> int: ...

    def count_batch(self, texts: Sequence[str]) -> list[int]: ...


@dataclass(frozen=True)
class ChunkDraft:
    position: int
    """0-based order in the document."""
    text: str
    """The chunk body, shown as the snippet."""
    title: str
    """The document title (shortened with "…" only if it would not fit the window)."""
    heading_path: str
    """``" > ".join(section.heading_path)``, shortened like the title if needed."""
    page: int | None
    token_count: int
    """Tokens of ``embedding_text(title, heading_path, text)``, special tokens included."""


@dataclass(frozen=True)
class _Unit:
    text: str
    separator: str
    """Joins this unit to the one before it in the same chunk."""
    tokens: int
    """Wordpieces without the special tokens."""


def embedding_text(title: str, heading_path: str, text: str) -> str:
    """The exact text that gets embedded: a "title — headings" line, then the body."""
    head = " — ".join(part for part in (title, heading_path) if part)
    return f"{head}\n{text}" if head else text


def content_hash(text: str) -> str:
    """sha256 hex of the normalised text; whitespace differences do not change it."""
    canonical = " ".join(normalize_text(text).split())
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def count_many(counter: TokenCounter, texts: Sequence[str]) -> list[int]:
    """Counts for many texts, batched when the counter supports it."""
    if isinstance(counter, BatchTokenCounter):
        return counter.count_batch(texts)
    return [counter.count(text) for text in texts]


def chunk_document(
    doc: ParsedDocument,
    counter: TokenCounter,
    *,
    max_tokens: int = 200,
    overlap_tokens: int = 32,
    window: int = 256,
) -> list[ChunkDraft]:
    """Split every section into sentence-aligned chunks that fit ``min(max_tokens, window)``.

    Consecutive chunks of one section share up to ``overlap_tokens`` of trailing sentences.
    """
    limit = min(max_tokens, window)
    if limit < _MIN_LIMIT:
        raise ValueError(f"chunks need at least {_MIN_LIMIT} tokens, got {limit}")
    if overlap_tokens < 0:
        raise ValueError("overlap_tokens must not be negative")
    planned = _plan(doc, counter, limit, overlap_tokens)
    texts = [_join(group) for _, _, _, group in planned]
    embedded = [embedding_text(t, h, x) for (_, t, h, _), x in zip(planned, texts, strict=True)]
    counts = count_many(counter, embedded)
    drafts: list[ChunkDraft] = []
    for (section, title, heading, group), text, tokens in zip(planned, texts, counts, strict=True):
        # over the limit only when the summed estimate was off (a non-additive counter)
        fits = tokens <= limit
        pieces = [(text, tokens)] if fits else _refit(group, title, heading, counter, limit)
        for piece, piece_tokens in pieces:
            drafts.append(
                ChunkDraft(
                    position=len(drafts),
                    text=piece,
                    title=title,
                    heading_path=heading,
                    page=section.page,
                    token_count=piece_tokens,
                )
            )
    return drafts


def _plan(
    doc: ParsedDocument, counter: TokenCounter, limit: int, overlap_tokens: int
) -> list[tuple[Section, str, str, list[_Unit]]]:
    """Per planned chunk: its section, (shortened) title and heading path, and its units."""
    planned: list[tuple[Section, str, str, list[_Unit]]] = []
    prefixes = _fit_prefixes(doc, counter, limit)
    section_units = _section_units(doc.sections, counter)
    for section, (title, heading, prefix_tokens), units in zip(
        doc.sections, prefixes, section_units, strict=True
    ):
        budget = limit - SPECIAL_TOKENS - prefix_tokens
        overlap = min(overlap_tokens, budget // 2)
        for group in _pack(_split_large(units, budget, counter), budget, overlap):
            planned.append((section, title, heading, group))
    return planned


def _fit_prefixes(
    doc: ParsedDocument, counter: TokenCounter, limit: int
) -> list[tuple[str, str, int]]:
    """Per section: (title, heading path, prefix tokens), shortened to a quarter of the limit."""
    headings = [" > ".join(section.heading_path) for section in doc.sections]
    unique = sorted(set(headings))
    counts = count_many(counter, [embedding_text(doc.title, h, "") for h in unique])
    fitted: dict[str, tuple[str, str, int]] = {}
    allowed = limit // 4
    for heading, count in zip(unique, counts, strict=True):
        tokens = count - SPECIAL_TOKENS
        if tokens <= allowed:
            fitted[heading] = (doc.title, heading, tokens)
        else:
            fitted[heading] = _shorten_prefix(doc.title, heading, counter, allowed)
    return [fitted[heading] for heading in headings]


def _shorten_prefix(
    title: str, heading: str, counter: TokenCounter, allowed: int
) -> tuple[str, str, int]:
    def cost(t: str, h: str) -> int:
        return counter.count(embedding_text(t, h, "")) - SPECIAL_TOKENS

    title_cap = allowed // 2 if heading else allowed
    title = _shorten(title, lambda t: cost(t, "") <= title_cap)
    heading = _shorten(heading, lambda h: cost(title, h) <= allowed)
    tokens = cost(title, heading)
    if tokens > allowed:  # a counter that is not additive: give up the prefix entirely
        return "", "", max(cost("", ""), 0)
    return title, heading, tokens


def _shorten(text: str, fits: Callable[[str], bool]) -> str:
    """The longest ``text[:n] + "…"`` that fits (binary search), or ``text`` if it fits."""
    if fits(text):
        return text
    low, high = 0, len(text) - 1
    while low < high:
        middle = (low + high + 1) // 2
        if fits(text[:middle].rstrip() + "…"):
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + "…" if low else ""


def _section_units(sections: Sequence[Section], counter: TokenCounter) -> list[list[_Unit]]:
    """Sentences (within lines, within paragraphs) of every section, counted in one batch."""
    raw: list[list[tuple[str, str]]] = []
    for section in sections:
        units: list[tuple[str, str]] = []
        for paragraph in _PARAGRAPH_BREAK.split(section.text):
            separator = "\n\n"
            for line in paragraph.split("\n"):
                for sentence in split_sentences(line):
                    units.append((sentence, separator))
                    separator = " "
                separator = "\n" if separator == " " else separator
        raw.append(units)
    unique = list({text for units in raw for text, _ in units})
    tokens = dict(zip(unique, count_many(counter, unique), strict=True))
    return [[_Unit(t, sep, tokens[t] - SPECIAL_TOKENS) for t, sep in units] for units in raw]


def _split_large(units: list[_Unit], budget: int, counter: TokenCounter) -> list[_Unit]:
    """Replace units over ``budget`` by word-packed pieces (characters for giant words)."""
    if all(unit.tokens <= budget for unit in units):
        return units
    out: list[_Unit] = []
    for unit in units:
        if unit.tokens <= budget:
            out.append(unit)
            continue
        words = unit.text.split()
        unique = list(set(words))
        sizes = dict(zip(unique, count_many(counter, unique), strict=True))
        pieces: list[_Unit] = []
        for word in words:
            word_tokens = sizes[word] - SPECIAL_TOKENS
            if word_tokens <= budget:
                pieces.append(_Unit(word, " ", word_tokens))
                continue
            for part in _split_chars(word, lambda s: counter.count(s) - SPECIAL_TOKENS <= budget):
                pieces.append(_Unit(part, " ", counter.count(part) - SPECIAL_TOKENS))
        for group in _pack(pieces, budget, 0):
            joined = " ".join(piece.text for piece in group)
            out.append(_Unit(joined, unit.separator, sum(piece.tokens for piece in group)))
    return out


def _split_chars(text: str, fits: Callable[[str], bool]) -> list[str]:
    """Cut ``text`` into the longest prefixes that fit (galloping, then binary search).

    Every piece has at least one character, so the loop always ends.
    """
    pieces: list[str] = []
    start = 0
    while start < len(text):
        size = 1
        while start + size < len(text) and fits(text[start : start + size * 2]):
            size *= 2
        low, high = size, min(size * 2, len(text) - start)
        while low < high:
            middle = (low + high + 1) // 2
            if fits(text[start : start + middle]):
                low = middle
            else:
                high = middle - 1
        pieces.append(text[start : start + low])
        start += low
    return pieces


def _pack(units: list[_Unit], budget: int, overlap: int) -> list[list[_Unit]]:
    """Greedy packing; each new group starts with the previous group's last units (overlap)."""
    groups: list[list[_Unit]] = []
    current: list[_Unit] = []
    used = 0
    for unit in units:
        if current and used + unit.tokens > budget:
            groups.append(current)
            current = _tail(current, min(overlap, budget - unit.tokens))
            used = sum(carried.tokens for carried in current)
        current.append(unit)
        used += unit.tokens
    if current:
        groups.append(current)
    return groups


def _tail(group: list[_Unit], room: int) -> list[_Unit]:
    """The last units of ``group`` within ``room`` tokens, never the whole group."""
    taken: list[_Unit] = []
    used = 0
    for unit in reversed(group[1:]):
        if used + unit.tokens > room:
            break
        taken.append(unit)
        used += unit.tokens
    return taken[::-1]


def _join(group: Sequence[_Unit]) -> str:
    return "".join(unit.separator + unit.text if i else unit.text for i, unit in enumerate(group))


def _refit(
    group: list[_Unit], title: str, heading: str, counter: TokenCounter, limit: int
) -> list[tuple[str, int]]:
    """Exact re-split for a chunk whose summed estimate was wrong: halve, recount, repeat."""
    text = _join(group)
    tokens = counter.count(embedding_text(title, heading, text))
    if tokens <= limit:
        return [(text, tokens)]
    if len(group) > 1:
        middle = len(group) // 2
        first = _refit(group[:middle], title, heading, counter, limit)
        return first + _refit(group[middle:], title, heading, counter, limit)

    def fits(piece: str) -> bool:
        return counter.count(embedding_text(title, heading, piece)) <= limit

    pieces: list[tuple[str, int]] = []
    for piece in _split_chars(text, fits):
        if stripped := piece.strip():
            pieces.append((stripped, counter.count(embedding_text(title, heading, stripped))))
    return pieces
