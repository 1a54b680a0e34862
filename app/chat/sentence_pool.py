"""Quotable sentences of retrieved passages, and an in-process cache of their vectors.

``prepare`` splits a passage into sentences once per chunk content (LRU keyed by the chunk's
content hash), separating headings that PDF or markdown parsing glued to the first sentence
("Annual leave Full-time employees receive ...", also after a section number: "4. Annual leave"),
dropping running page headers and footers ("Handbook - page 2 of 4"), and reference marks such
as "[3]" or "[citation needed]" (square brackets inside a quote would be read as ``[n]``
citations, which broke validation of every sentence carrying one). ``SentenceVectors`` embeds
only sentences it has not seen, in one batch, and keeps the vectors in an LRU keyed by the
sentence text hash.
"""

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from retrieval.analyzer import analyze
from retrieval.embeddings import Embedder, Vectors
from retrieval.sentences import split_passage
from retrieval.types import RetrievedChunk

MIN_WORDS = 4
MAX_SENTENCE_CHARS = 600
# A line this short, without closing punctuation, followed by a capitalised line is a heading.
HEADING_MAX_WORDS = 10
_HEADING_END = re.compile(r"[.!?:;,)\]\"']$")
# A section number before a heading ("4. Annual leave", "2.3 Approval").
_SECTION_NUMBER = re.compile(r"^(?:\d{1,2}(?:\.\d{1,2})*\.?|[IVX]{1,4}\.)\s+(?=\S)")
# A running page header or footer ("Marrowfield Systems Handbook - page 2 of 4"): never quoted.
_PAGE_MARK = re.compile(r"\bpage\s+\d+\s*(?:of|/)\s*\d+\s*$", re.IGNORECASE)
PAGE_MARK_MAX_WORDS = 16
# Reference and editorial marks ("[3]", "[c]", "[note 1]", "[citation needed]"): not part of the
# sentence, and square brackets in a quote would read as ``[n]`` citations, so they are dropped.
_FOOTNOTE = re.compile(
    r"\[(?:\d{1,3}|[a-z]{1,2}|(?:note|n) ?\d{1,3}|[a-z ]{0,30}\bneeded|[a-z ]{0,30}\?"
    r"|vague|update|dubious|not in citation given|sic)\]",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class PreparedSentence:
    """A sentence as quoted (``text``), its analyzer terms, and its position in the passage."""

    text: str
    terms: frozenset[str]
    position: int
    context_terms: frozenset[str]  # terms of the headings above it (scored, never quoted)


def _heading_prefixes(chunk: RetrievedChunk) -> list[str]:
    parts = [p.strip() for p in chunk.heading_path.split(">") if p.strip()]
    candidates = [chunk.title.strip(), *parts, *reversed(parts)]
    return sorted({c for c in candidates if c}, key=len, reverse=True)


def strip_heading(sentence: str, prefixes: Sequence[str]) -> tuple[str, str]:
    """``(heading, rest)`` when ``sentence`` starts with one of ``prefixes`` glued to a sentence.

    Only a prefix followed by a capitalised word (or a digit) is stripped, so a sentence that
    merely begins with the same words as a heading keeps them.
    """
    for prefix in prefixes:
        if len(sentence) > len(prefix) + 1 and sentence[: len(prefix)].lower() == prefix.lower():
            rest = sentence[len(prefix) :].lstrip(" :—-–")
            if rest[:1].isupper() or rest[:1].isdigit():
                return prefix, rest
    return "", sentence


def _lines_with_headings(text: str) -> list[tuple[str, str]]:
    """Split text into ``(heading, body)`` blocks at heading-like lines.

    A heading may carry a section number ("4. Annual leave"), which is dropped; a numbered line
    next to another numbered line is a list item, not a heading. Running page headers and
    footers are dropped.
    """
    blocks: list[tuple[str, str]] = []
    heading, body = "", list[str]()
    lines = text.splitlines()
    for i, line in enumerate(lines):
        stripped = line.strip()
        if _PAGE_MARK.search(stripped) and len(stripped.split()) <= PAGE_MARK_MAX_WORDS:
            continue
        following = lines[i + 1].strip() if i + 1 < len(lines) else ""
        previous = lines[i - 1].strip() if i > 0 else ""
        numbered = _SECTION_NUMBER.match(stripped)
        title = stripped[numbered.end() :] if numbered else stripped.lstrip("#").strip()
        words = title.split()
        looks_like_heading = (
            0 < len(words) <= HEADING_MAX_WORDS
            and not _HEADING_END.search(stripped)
            and title[:1].isupper()
            and (following[:1].isupper() or following.startswith(("-", "*", "•")))
            and not (
                numbered and (_SECTION_NUMBER.match(following) or _SECTION_NUMBER.match(previous))
            )
        )
        if looks_like_heading:
            if body:
                blocks.append((heading, "\n".join(body)))
                body = []
            heading = title
        else:
            body.append(line)
    if body:
        blocks.append((heading, "\n".join(body)))
    return blocks


def _prepare(chunk: RetrievedChunk) -> list[PreparedSentence]:
    prefixes = _heading_prefixes(chunk)
    base_context = frozenset(analyze(f"{chunk.title} {chunk.heading_path}"))
    out: list[PreparedSentence] = []
    for heading, body in _lines_with_headings(chunk.text):
        context = base_context | frozenset(analyze(heading))
        for raw in split_passage(_FOOTNOTE.sub("", body)):
            glued, sentence = strip_heading(raw, prefixes)
            if len(sentence.split()) < MIN_WORDS or len(sentence) > MAX_SENTENCE_CHARS:
                continue
            if "[" in sentence or "]" in sentence:
                continue  # other bracketed text cannot be quoted unambiguously before ``[n]``
            out.append(
                PreparedSentence(
                    text=sentence,
                    terms=frozenset(analyze(sentence)),
                    position=len(out),
                    context_terms=context | frozenset(analyze(glued)),
                )
            )
    return out


K = TypeVar("K")
V = TypeVar("V")


class _Lru(Generic[K, V]):
    """A small thread-safe LRU map (embedding runs in worker threads)."""

    def __init__(self, capacity: int) -> None:
        self._items: OrderedDict[K, V] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


class SentencePool:
    """Per-process caches of prepared sentences (by chunk) and sentence vectors (by text).

    Contract: ``vectors`` returns one L2-normalised row per text, in order, and calls the
    embedder at most once (with only the texts not cached).
    """

    def __init__(self, *, chunk_capacity: int = 4096, vector_capacity: int = 20_000) -> None:
        self._chunks: _Lru[tuple[str, str, str], list[PreparedSentence]] = _Lru(chunk_capacity)
        self._vectors: _Lru[str, Vectors] = _Lru(vector_capacity)

    def sentences(self, chunk: RetrievedChunk) -> list[PreparedSentence]:
        key = (chunk.content_hash, chunk.title, chunk.heading_path)
        found = self._chunks.get(key)
        if found is None:
            found = _prepare(chunk)
            self._chunks.put(key, found)
        return found

    def vectors(self, embedder: Embedder, texts: Sequence[str]) -> tuple[Vectors, int]:
        """``(matrix, embedded)``: vectors of ``texts`` and how many had to be embedded."""
        keys = [
            f"{embedder.name}:{hashlib.blake2b(t.encode(), digest_size=16).hexdigest()}"
            for t in texts
        ]
        rows: list[Vectors | None] = [self._vectors.get(k) for k in keys]
        missing = [i for i, row in enumerate(rows) if row is None]
        if missing:
            fresh = embedder.embed([texts[i] for i in missing])
            for i, vector in zip(missing, fresh, strict=True):
                rows[i] = vector
                self._vectors.put(keys[i], vector)
        if not rows:
            return np.zeros((0, embedder.dimension), dtype=np.float32), 0
        return np.vstack([r for r in rows if r is not None]).astype(np.float32), len(missing)


class CachedEmbedder:
    """An ``Embedder`` view over a pool's vector cache, so retrieval's query vector is reused
    when the composer scores sentences against the same text."""

    def __init__(self, pool: SentencePool, inner: Embedder) -> None:
        self._pool = pool
        self._inner = inner

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def dimension(self) -> int:
        return self._inner.dimension

    def embed(self, texts: Sequence[str]) -> Vectors:
        return self._pool.vectors(self._inner, texts)[0]
