"""Bulk ingestion of many registered documents: parsing overlaps embedding, embedding is
batched across documents, and writes go through COPY once a batch reaches the bulk threshold.

Each document is still replaced atomically and the same idempotency rules hold. The
worker's bulk job (folder syncs above ``bulk_threshold_documents``) runs
``ingest_large_load``: this plus index maintenance (HNSW built once after a large load).
"""

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.errors import DocumentRejected
from app.logging import get_logger
from ingestion import store
from ingestion.bulk_store import (
    copy_chunks,
    create_vector_index,
    drop_vector_index,
    vector_index_exists,
)
from ingestion.chunking import ChunkDraft, content_hash, embedding_text
from ingestion.pipeline import (
    IngestOutcome,
    PipelineDeps,
    assemble_chunks,
    begin_job,
    fail_job,
    prepare_document,
)
from ingestion.timings import StageTimings
from ingestion.vectors import embed_chunks, reusable

log = get_logger(__name__)

# Advisory lock on the HNSW index: bulk loads hold it shared for their whole run; whoever
# rebuilds the index holds it exclusively, so it is rebuilt only when no load is running.
_INDEX_LOCK = 0x67726E64_68E5  # "grnd" + "hnsw"
# When no document is indexed yet: about 4 bytes per token of text.
_DEFAULT_BYTES_PER_TOKEN = 4


@dataclass(frozen=True)
class _Prepared:
    job: store.DocumentJob
    drafts: list[ChunkDraft]


async def ingest_many(
    deps: PipelineDeps,
    document_ids: Sequence[uuid.UUID],
    *,
    embed_batch: int = 256,
    timings: StageTimings | None = None,
) -> list[IngestOutcome]:
    """Ingest documents in order; returns one outcome per document."""
    clock = timings or StageTimings()
    prepared: asyncio.Queue[_Prepared | None] = asyncio.Queue(maxsize=64)
    outcomes: list[IngestOutcome] = []
    warnings: dict[uuid.UUID, tuple[str, ...]] = {}

    async def produce() -> None:
        try:
            for document_id in document_ids:
                job = await begin_job(deps, document_id)
                if isinstance(job, IngestOutcome):
                    outcomes.append(job)
                    continue
                try:
                    document = await anyio.to_thread.run_sync(prepare_document, deps, job, clock)
                except DocumentRejected as exc:
                    outcomes.append(await fail_job(deps, job, exc.message))
                    continue
                if document.warnings:
                    warnings[job.id] = document.warnings
                await prepared.put(_Prepared(job, document.drafts))
        finally:
            await prepared.put(None)

    producer = asyncio.create_task(produce())
    to_embed: list[_Prepared] = []
    to_write: list[tuple[store.DocumentJob, list[store.StoredChunk]]] = []
    try:
        while (item := await prepared.get()) is not None:
            to_embed.append(item)
            if sum(len(p.drafts) for p in to_embed) >= embed_batch:
                to_write.extend(await _embed(deps, to_embed, clock))
                to_embed = []
            if sum(len(chunks) for _, chunks in to_write) >= deps.settings.bulk_threshold_chunks:
                outcomes.extend(await _write(deps, to_write, clock, warnings))
                to_write = []
        to_write.extend(await _embed(deps, to_embed, clock))
        outcomes.extend(await _write(deps, to_write, clock, warnings))
    finally:
        producer.cancel()
    await asyncio.gather(producer, return_exceptions=True)
    return outcomes


async def _embed(
    deps: PipelineDeps, batch: Sequence[_Prepared], clock: StageTimings
) -> list[tuple[store.DocumentJob, list[store.StoredChunk]]]:
    if not batch:
        return []
    texts = [embedding_text(d.title, d.heading_path, d.text) for item in batch for d in item.drafts]
    keys = [content_hash(t) for t in texts]
    sentences = deps.settings.sentence_vectors
    with clock.stage("embed"):
        async with deps.session_factory() as session:
            stored = await store.existing_embeddings(session, keys, sentences=sentences)
        drafts = [d for item in batch for d in item.drafts]
        known = reusable(stored, keys, drafts, sentences=sentences)
        todo = sorted({key: i for i, key in enumerate(keys) if key not in known}.values())
        embedded = await embed_chunks(deps.embedder, [drafts[i] for i in todo], sentences=sentences)
        known.update((keys[i], vectors) for i, vectors in zip(todo, embedded, strict=True))
    results: list[tuple[store.DocumentJob, list[store.StoredChunk]]] = []
    offset = 0
    for item in batch:
        own = keys[offset : offset + len(item.drafts)]
        offset += len(item.drafts)
        vectors = {i: known[key] for i, key in enumerate(own)}
        with clock.stage("injection"):
            chunks = await anyio.to_thread.run_sync(
                assemble_chunks, deps, item.drafts, own, vectors
            )
        results.append((item.job, chunks))
    async with deps.session_factory.begin() as session:  # progress doubles as the heartbeat
        for job, chunks in results:
            await store.set_progress(session, job.id, len(chunks), len(chunks))
    return results


async def _write(
    deps: PipelineDeps,
    batch: Sequence[tuple[store.DocumentJob, list[store.StoredChunk]]],
    clock: StageTimings,
    warnings: dict[uuid.UUID, tuple[str, ...]],
) -> list[IngestOutcome]:
    """One transaction for the batch: every document in it flips to its new chunks together."""
    if not batch:
        return []
    outcomes: list[IngestOutcome] = []
    with clock.stage("store"):
        async with deps.session_factory.begin() as session:
            staged: list[store.DocumentChunks] = []
            replaced: list[uuid.UUID] = []
            for job, chunks in sorted(batch, key=lambda pair: str(pair[0].id)):  # lock order
                current = await store.lock_document(session, job.id)
                if current is None or current.content_hash != job.content_hash:
                    outcomes.append(IngestOutcome(job.id, "superseded", 0, skipped=True))
                    continue
                if current.indexed_hash is not None:
                    replaced.append(job.id)
                staged.append(store.DocumentChunks(job.id, chunks, current.access))
            # The batch's statistics change in one pass each way (one lock order per table).
            await store.delete_documents_chunks(session, replaced)
            total = sum(len(d.chunks) for d in staged)
            if total >= deps.settings.bulk_threshold_chunks:
                await copy_chunks(session, staged)
            else:
                await store.insert_documents_chunks(session, staged)
            written = {d.document_id for d in staged}
            ready = [(job, len(chunks)) for job, chunks in batch if job.id in written]
            await store.mark_ready_many(
                session,
                [job.id for job, _ in ready],
                [count for _, count in ready],
                [job.content_hash for job, _ in ready],
            )
            await store.set_warnings(
                session, [(job.id, warnings.get(job.id, ())) for job, _ in ready]
            )
            outcomes.extend(IngestOutcome(job.id, "ready", count) for job, count in ready)
    log.info("ingestion.bulk_written", documents=len(staged), chunks=total)
    return outcomes


async def ingest_large_load(
    deps: PipelineDeps,
    document_ids: Sequence[uuid.UUID],
    *,
    reindex_ratio: float,
    timings: StageTimings | None = None,
) -> list[IngestOutcome]:
    """``ingest_many`` for a large load, with index maintenance that does not crawl.

    If the load is expected to add at least ``reindex_ratio`` times the chunks already stored,
    the HNSW index is dropped for the load and built once afterwards (vector search stays
    correct meanwhile, by exact scan). A crash mid-load leaves the index missing only until
    the next sweep: ``restore_vector_index`` rebuilds it once no load holds the lock.
    """
    deferred = False
    try:
        async with _load_lock(deps.session_factory):
            deferred = await _defer_vector_index(deps, document_ids, reindex_ratio)
            return await ingest_many(deps, document_ids, timings=timings)
    finally:
        if deferred:  # outside the shared lock: the last load to finish rebuilds the index
            try:
                await restore_vector_index(deps.session_factory)
            except (DBAPIError, OSError) as exc:  # the sweeper rebuilds it later
                log.warning("ingestion.vector_index_not_rebuilt", error=type(exc).__name__)


async def restore_vector_index(session_factory: async_sessionmaker[AsyncSession]) -> bool:
    """Build the HNSW index if it is missing and no bulk load is running; True if built."""
    async with session_factory() as session:
        conn = await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        got = (
            await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _INDEX_LOCK})
        ).scalar_one()
        if not got:
            return False
        try:
            if await vector_index_exists(session):
                return False
            async with session_factory.begin() as build:
                await create_vector_index(build)
            log.info("ingestion.vector_index_rebuilt")
            return True
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _INDEX_LOCK})


@asynccontextmanager
async def _load_lock(session_factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[None]:
    async with session_factory() as session:
        # Autocommit: the lock is held by the connection, with no transaction left open.
        conn = await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        await conn.execute(text("SELECT pg_advisory_lock_shared(:k)"), {"k": _INDEX_LOCK})
        try:
            yield
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock_shared(:k)"), {"k": _INDEX_LOCK})


async def _defer_vector_index(
    deps: PipelineDeps, document_ids: Sequence[uuid.UUID], ratio: float
) -> bool:
    """Drop the HNSW index if the load is large next to what is stored; True if dropped."""
    async with deps.session_factory() as session:
        row = (
            await session.execute(
                text(
                    """
                    SELECT (SELECT chunk_count FROM corpus_stats WHERE id = 1),
                           (SELECT COALESCE(sum(size_bytes), 0) FROM documents
                            WHERE id = ANY(:ids) AND status IN ('queued', 'processing')),
                           (SELECT COALESCE(sum(chunks_total), 0) FROM documents
                            WHERE status = 'ready'),
                           (SELECT COALESCE(sum(size_bytes), 0) FROM documents
                            WHERE status = 'ready')
                    """
                ),
                {"ids": list(document_ids)},
            )
        ).one()
        if not await vector_index_exists(session):
            return False
    stored, incoming_bytes, ready_chunks, ready_bytes = (int(v or 0) for v in row)
    default_per_chunk = deps.settings.chunk_tokens * _DEFAULT_BYTES_PER_TOKEN
    bytes_per_chunk = ready_bytes / ready_chunks if ready_chunks else default_per_chunk
    expected = incoming_bytes / max(bytes_per_chunk, 1.0)
    if incoming_bytes == 0 or expected < ratio * stored:
        return False
    try:
        async with deps.session_factory.begin() as session:
            # Never queue behind long searches for long: skipping the drop only costs speed.
            await session.execute(text("SET LOCAL lock_timeout = '5s'"))
            await drop_vector_index(session)
    except DBAPIError as exc:
        log.warning("ingestion.bulk_index_kept", error=type(exc).__name__)
        return False
    log.info("ingestion.bulk_index_dropped", expected_chunks=round(expected), stored=stored)
    return True
