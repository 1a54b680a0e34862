"""Concurrent query embeddings share forward passes; a lone query is not delayed or changed."""

import asyncio
import threading
import time
from collections.abc import Sequence

import numpy as np
import pytest

from retrieval.embeddings import CoalescingEmbedder, Vectors, embed_query


class SlowEmbedder:
    """Deterministic vectors; each call takes 20 ms and records its batch size."""

    name = "slow"
    dimension = 4

    def __init__(self, fail_on: str | None = None) -> None:
        self.calls: list[int] = []
        self._fail_on = fail_on
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> Vectors:
        with self._lock:
            self.calls.append(len(texts))
        time.sleep(0.02)
        if self._fail_on in texts:
            raise RuntimeError("model failed")
        return np.array([[len(t), t.count("a"), 1.0, 0.0] for t in texts], dtype=np.float32)


async def test_concurrent_queries_coalesce_and_each_gets_its_own_vector() -> None:
    inner = SlowEmbedder()
    embedder = CoalescingEmbedder(inner)
    texts = [f"query {'a' * i}" for i in range(8)]
    vectors = await asyncio.gather(*(embed_query(embedder, t) for t in texts))
    for text, vector in zip(texts, vectors, strict=True):
        assert vector.tolist() == [len(text), text.count("a"), 1.0, 0.0]
    assert sum(inner.calls) == 8
    assert len(inner.calls) <= 2  # the first alone, the other seven together
    assert embedder.batches == len(inner.calls)


async def test_a_lone_query_runs_at_once_and_batches_are_capped() -> None:
    inner = SlowEmbedder()
    embedder = CoalescingEmbedder(inner, max_batch=3)
    assert (await embed_query(embedder, "one")).tolist() == [3, 0, 1.0, 0.0]
    assert inner.calls == [1]
    await asyncio.gather(*(embed_query(embedder, f"q{i}") for i in range(7)))
    assert max(inner.calls) <= 3


async def test_a_failing_batch_fails_its_callers_and_the_next_batch_still_runs() -> None:
    inner = SlowEmbedder(fail_on="bad")
    embedder = CoalescingEmbedder(inner)
    first = asyncio.ensure_future(embed_query(embedder, "first"))
    await asyncio.sleep(0.005)  # "first" is encoding; the next two form one batch
    results = await asyncio.gather(
        embed_query(embedder, "bad"), embed_query(embedder, "good"), return_exceptions=True
    )
    assert (await first).tolist() == [5, 0, 1.0, 0.0]
    assert all(isinstance(r, RuntimeError) for r in results)
    assert (await embed_query(embedder, "after")).tolist() == [5, 1, 1.0, 0.0]


def test_sync_embed_passes_through() -> None:
    inner = SlowEmbedder()
    embedder = CoalescingEmbedder(inner)
    assert embedder.embed(["ab", "a"]).shape == (2, 4)
    assert (embedder.name, embedder.dimension) == ("slow", 4)
    with pytest.raises(RuntimeError):
        CoalescingEmbedder(SlowEmbedder(fail_on="x")).embed(["x"])


class QuestionEmbedder(SlowEmbedder):
    """Encodes retrieval questions apart from other texts (as the int8 question encoder does)."""

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return -self.embed(texts)


async def test_questions_go_through_the_inner_question_encoder() -> None:
    inner = QuestionEmbedder()
    embedder = CoalescingEmbedder(inner)
    vectors = await asyncio.gather(*(embed_query(embedder, t) for t in ("a", "ab")))
    assert [v.tolist() for v in vectors] == [[-1, -1, -1.0, 0.0], [-2, -1, -1.0, 0.0]]
    assert embedder.embed(["a"]).tolist() == [[1, 1, 1.0, 0.0]]  # other texts as before
    assert (await embed_query(inner, "a")).tolist() == [-1, -1, -1.0, 0.0]  # uncoalesced too
