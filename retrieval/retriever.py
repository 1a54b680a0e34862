"""Hybrid retrieval: embed the query, run both legs under the caller's ACL, fuse, collapse.

This is the single entry point the chat use case and the search API call.
"""

import asyncio
import time
from collections.abc import Awaitable, Sequence
from contextlib import nullcontext

from sqlalchemy.ext.asyncio import AsyncSession

from retrieval.analyzer import query_terms
from retrieval.dedupe import collapse_near_duplicates
from retrieval.embeddings import Embedder, embed_query
from retrieval.fusion import FusedHit, fuse, retrieval_confidence
from retrieval.keyword import Bm25, keyword_scores, keyword_search
from retrieval.process_state import ProcessState
from retrieval.search import (
    count_readable,
    dense_scores,
    load_chunks,
    retrieved_chunk,
    vector_search,
)
from retrieval.sentence_leg import sentence_scores
from retrieval.types import Hit, RetrievalConfig, RetrievalResult, RetrievedChunk


async def search_legs(
    session: AsyncSession,
    vector: Awaitable[Sequence[float]],
    query: str,
    *,
    groups: Sequence[str],
    config: RetrievalConfig,
    state: ProcessState | None = None,
    dense_session: AsyncSession | None = None,
) -> tuple[list[Hit], list[Hit], dict[str, float]]:
    """Both legs under the caller's groups: ``(dense, keyword, timings_ms)``.

    ``vector`` is awaited only when the dense leg needs it, so the caller's query embedding
    (a worker thread) runs while the readable count and the keyword leg run in Postgres.
    ``state`` (the serving process's) spares the readable count, which only picks the path,
    and may score the keyword leg from its copy of the postings. ``dense_session`` (a second
    connection) runs the dense leg at the same time as the keyword leg instead of after it; it
    must see the same committed data as ``session``.
    """
    timings: dict[str, float] = {}
    started = time.perf_counter()
    limit, share = config.exact_below + 1, config.broad_share
    if state is None:
        readable = await count_readable(session, groups=groups, limit=limit, share=share)
    else:
        readable = await state.readable.count(session, groups=groups, limit=limit, share=share)
    few = readable.few(config)
    timings["count_ms"] = (time.perf_counter() - started) * 1000

    async def keyword_leg() -> list[Hit]:
        mark = time.perf_counter()
        hits = await keyword_search(
            session,
            query_terms(query),
            groups=groups,
            k=config.keyword_candidates,
            bm25=Bm25.of(config),
            scan_cap=config.keyword_scan_cap,
            few_readable=few,
            every_set=readable.every_set,
            postings=state.postings if state else None,
        )
        timings["keyword_ms"] = (time.perf_counter() - mark) * 1000
        return hits

    async def dense_leg() -> list[Hit]:
        mark = time.perf_counter()
        query_vector = await vector
        timings["embed_wait_ms"] = (time.perf_counter() - mark) * 1000
        mark = time.perf_counter()
        hits = await vector_search(
            dense_session or session,
            query_vector,
            groups=groups,
            k=readable.dense_candidates(config),
            ef_search=readable.ef_search(config),
            exact=few,
        )
        timings["dense_ms"] = (time.perf_counter() - mark) * 1000
        return hits

    if dense_session is None:
        keyword = await keyword_leg()
        dense = await dense_leg()
    else:
        async with asyncio.TaskGroup() as legs:  # one failing leg cancels the other
            dense_task = legs.create_task(dense_leg())
            keyword_task = legs.create_task(keyword_leg())
        dense, keyword = dense_task.result(), keyword_task.result()
    return dense, keyword, timings


async def complete_legs(
    session: AsyncSession,
    query_vector: Sequence[float],
    query: str,
    dense: Sequence[Hit],
    keyword: Sequence[Hit],
    *,
    groups: Sequence[str],
    config: RetrievalConfig,
) -> tuple[list[Hit], list[Hit]]:
    """Both legs over the union of their candidates, best first: a candidate that one leg did
    not return gets that leg's exact score (cosine, or BM25 with 0 for no query term) instead
    of the leg's floor, so fusion compares real evidence on both sides."""
    in_dense = {hit.chunk_id for hit in dense}
    in_keyword = {hit.chunk_id for hit in keyword}
    dense_extra = await dense_scores(
        session,
        query_vector,
        [hit.chunk_id for hit in keyword if hit.chunk_id not in in_dense],
        groups=groups,
    )
    keyword_extra = await keyword_scores(
        session,
        query_terms(query),
        [hit.chunk_id for hit in dense if hit.chunk_id not in in_keyword],
        groups=groups,
        bm25=Bm25.of(config),
    )
    return _best_first([*dense, *dense_extra]), _best_first([*keyword, *keyword_extra])


def _best_first(hits: Sequence[Hit]) -> list[Hit]:
    return sorted(hits, key=lambda hit: (-hit.score, str(hit.chunk_id)))


async def given(vector: Sequence[float]) -> Sequence[float]:
    """An already computed query vector, as ``search_legs`` takes it."""
    return vector


def fuse_legs(
    dense: Sequence[Hit],
    keyword: Sequence[Hit],
    config: RetrievalConfig,
    sentence: Sequence[Hit] = (),
) -> list[FusedHit]:
    return fuse(
        dense,
        keyword,
        method=config.fusion,
        dense_weight=config.dense_weight,
        keyword_weight=config.keyword_weight,
        rrf_k=config.rrf_k,
        sentence=sentence,
        sentence_weight=config.sentence_weight,
    )


async def sentence_leg(
    session: AsyncSession,
    query_vector: Sequence[float],
    dense: Sequence[Hit],
    keyword: Sequence[Hit],
    *,
    groups: Sequence[str],
) -> list[Hit]:
    """The sentence leg over both legs' candidates, best first."""
    candidates = list(dict.fromkeys(hit.chunk_id for hit in [*dense, *keyword]))
    return await sentence_scores(session, query_vector, candidates, groups=groups)


async def retrieve(
    session: AsyncSession,
    embedder: Embedder,
    query: str,
    *,
    groups: Sequence[str],
    config: RetrievalConfig,
    state: ProcessState | None = None,
) -> RetrievalResult:
    """The top ``config.k`` readable chunks for ``query``, best first, with a confidence.

    Chunks with the same content hash, or near-duplicate texts, collapse to the best-ranked one.
    ``state`` (the serving process's) may lend a second connection so both legs run at once;
    without one they run one after the other on ``session``.
    """
    started = time.perf_counter()
    timings: dict[str, float] = {}

    async def embed() -> Sequence[float]:
        vector = await embed_query(embedder, query)
        timings["embed_ms"] = (time.perf_counter() - started) * 1000
        return list(vector.tolist())

    embedding = asyncio.ensure_future(embed())
    try:
        parallel = state.parallel if state else None
        async with parallel.lend() if parallel else nullcontext() as second:
            dense, keyword, leg_timings = await search_legs(
                session,
                embedding,
                query,
                groups=groups,
                config=config,
                state=state,
                dense_session=second,
            )
    finally:
        if not embedding.done():
            embedding.cancel()
    timings.update(leg_timings)
    timings["legs_ms"] = (time.perf_counter() - started) * 1000
    fused_dense, fused_keyword = dense, keyword
    if config.complete_scores:
        mark = time.perf_counter()
        fused_dense, fused_keyword = await complete_legs(
            session, await embedding, query, dense, keyword, groups=groups, config=config
        )
        timings["complete_ms"] = (time.perf_counter() - mark) * 1000
    sentence: list[Hit] = []
    if config.sentence_weight > 0:
        mark = time.perf_counter()
        sentence = await sentence_leg(session, await embedding, dense, keyword, groups=groups)
        timings["sentence_ms"] = (time.perf_counter() - mark) * 1000
    fused = fuse_legs(fused_dense, fused_keyword, config, sentence)
    mark = time.perf_counter()
    rows = await load_chunks(
        session, [hit.chunk_id for hit in fused[: config.k * 3]], groups=groups
    )
    timings["load_ms"] = (time.perf_counter() - mark) * 1000
    candidates = [
        _to_chunk(hit, rows[hit.chunk_id]) for hit in fused[: config.k * 3] if hit.chunk_id in rows
    ]
    chunks = collapse_near_duplicates(
        candidates,
        text_of=lambda c: c.text,
        hash_of=lambda c: c.content_hash,
        threshold=config.near_duplicate_jaccard,
        limit=config.k,
    )
    agreement = bool(dense and keyword and dense[0].chunk_id == keyword[0].chunk_id)
    confidence = retrieval_confidence(
        dense[0].score if dense else None,
        agreement=agreement,
        midpoint=config.confidence_midpoint,
        slope=config.confidence_slope,
        agreement_bonus=config.confidence_agreement_bonus,
    )
    timings["total_ms"] = (time.perf_counter() - started) * 1000
    return RetrievalResult(chunks=chunks, confidence=confidence, timings_ms=timings)


def _to_chunk(hit: FusedHit, row: dict[str, object]) -> RetrievedChunk:
    return retrieved_chunk(
        hit.chunk_id,
        row,
        score=hit.score,
        dense_score=hit.dense_score,
        keyword_score=hit.keyword_score,
    )
