"""Quotable sentences of retrieved passages, and an in-process cache of their vectors.

``sentences`` splits a passage into quotable sentences (``retrieval.quotable``) once per chunk
content (LRU keyed by the chunk's content hash). ``vectors`` embeds only sentences it has not
seen, in one batch, and keeps the vectors in an LRU keyed by the sentence text hash; ``seed``
fills that LRU with vectors stored at ingestion, so a passage's first question skips the model.
"""

import threading
import uuid
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Generic, TypeVar

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from retrieval.embeddings import Embedder, Vectors
from retrieval.quotable import PreparedSentence, quotable_sentences, sentence_key
from retrieval.sentence_vectors import stored_sentence_vectors
from retrieval.types import RetrievedChunk

__all__ = ["CachedEmbedder", "PreparedSentence", "SentencePool", "warm_from_store"]
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
        self._vectors: _Lru[tuple[str, bytes], Vectors] = _Lru(vector_capacity)
        # Chunks whose stored vectors were loaded once: not asked for again (a sentence without
        # a stored vector, or evicted since, is embedded when quoted and cached like any other).
        self._loaded: _Lru[tuple[str, uuid.UUID], bool] = _Lru(chunk_capacity)

    def sentences(self, chunk: RetrievedChunk) -> list[PreparedSentence]:
        key = (chunk.content_hash, chunk.title, chunk.heading_path)
        found = self._chunks.get(key)
        if found is None:
            found = quotable_sentences(chunk.title, chunk.heading_path, chunk.text)
            self._chunks.put(key, found)
        return found

    def not_loaded(self, embedder: Embedder, chunks: Sequence[RetrievedChunk]) -> list[int]:
        """Indexes of ``chunks`` whose stored vectors this process has not loaded yet."""
        return [
            i
            for i, chunk in enumerate(chunks)
            if self._loaded.get((embedder.name, chunk.chunk_id)) is None
        ]

    def seed(
        self,
        embedder: Embedder,
        chunk_ids: Sequence[uuid.UUID],
        stored: Mapping[bytes, Vectors],
    ) -> None:
        """Cache the vectors stored at ingestion for ``chunk_ids`` by ``embedder``'s model (keyed
        by ``sentence_key``), and remember that those chunks were loaded."""
        for key, vector in stored.items():
            self._vectors.put((embedder.name, key), vector)
        for chunk_id in chunk_ids:
            self._loaded.put((embedder.name, chunk_id), True)

    def vectors(self, embedder: Embedder, texts: Sequence[str]) -> tuple[Vectors, int]:
        """``(matrix, embedded)``: vectors of ``texts`` and how many had to be embedded."""
        keys = [(embedder.name, sentence_key(t)) for t in texts]
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


async def warm_from_store(
    pool: SentencePool, session: AsyncSession, embedder: Embedder, chunks: Sequence[RetrievedChunk]
) -> int:
    """Seed ``pool`` with the vectors stored at ingestion for those ``chunks`` not loaded yet
    (one statement, none when all were); returns how many vectors were loaded."""
    missing = pool.not_loaded(embedder, chunks)
    if not missing:
        return 0
    ids = [chunks[i].chunk_id for i in missing]
    stored = await stored_sentence_vectors(session, ids)
    pool.seed(embedder, ids, stored)
    return len(stored)
