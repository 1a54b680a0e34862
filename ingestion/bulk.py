"""Bulk ingestion of many registered documents: parsing overlaps embedding, embedding is
batched across documents, and writes go through COPY once a batch reaches the bulk threshold.

Each document is still replaced atomically and the same idempotency rules hold.
"""

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import anyio

from app.errors import DocumentRejected
from app.logging import get_logger
from ingestion import store
from ingestion.bulk_store import DocumentChunks, copy_chunks
from ingestion.chunking import ChunkDraft, content_hash, embedding_text
from ingestion.pipeline import (
    IngestOutcome,
    PipelineDeps,
    assemble_chunks,
    begin_job,
    fail_job,
    prepare_drafts,
)
from ingestion.timings import StageTimings
from retrieval.embeddings import embed_async

log = get_logger(__name__)


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

    async def produce() -> None:
        try:
            for document_id in document_ids:
                job = await begin_job(deps, document_id)
                if isinstance(job, IngestOutcome):
                    outcomes.append(job)
                    continue
                try:
                    drafts = await anyio.to_thread.run_sync(prepare_drafts, deps, job, clock)
                except DocumentRejected as exc:
                    outcomes.append(await fail_job(deps, job, exc.message))
                    continue
                await prepared.put(_Prepared(job, drafts))
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
                outcomes.extend(await _write(deps, to_write, clock))
                to_write = []
        to_write.extend(await _embed(deps, to_embed, clock))
        outcomes.extend(await _write(deps, to_write, clock))
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
    with clock.stage("embed"):
        async with deps.session_factory() as session:
            known = await store.existing_embeddings(session, keys)
        todo = sorted({key: i for i, key in enumerate(keys) if key not in known}.values())
        embedded = await embed_async(deps.embedder, [texts[i] for i in todo])
        for i, vector in zip(todo, embedded, strict=True):
            known[keys[i]] = vector.tolist()
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
) -> list[IngestOutcome]:
    """One transaction for the batch: every document in it flips to its new chunks together."""
    if not batch:
        return []
    outcomes: list[IngestOutcome] = []
    with clock.stage("store"):
        async with deps.session_factory.begin() as session:
            staged: list[DocumentChunks] = []
            for job, chunks in sorted(batch, key=lambda pair: str(pair[0].id)):  # lock order
                current = await store.lock_document(session, job.id)
                if current is None or current.content_hash != job.content_hash:
                    outcomes.append(IngestOutcome(job.id, "superseded", 0, skipped=True))
                    continue
                if current.indexed_hash is not None:
                    await store.delete_chunks(session, job.id)
                staged.append(DocumentChunks(job.id, chunks, current.access))
            total = sum(len(d.chunks) for d in staged)
            if total >= deps.settings.bulk_threshold_chunks:
                await copy_chunks(session, staged)
            else:
                for doc in staged:
                    await store.insert_chunks(
                        session, doc.document_id, doc.chunks, access=doc.access
                    )
            written = {d.document_id for d in staged}
            ready = [(job, len(chunks)) for job, chunks in batch if job.id in written]
            await store.mark_ready_many(
                session,
                [job.id for job, _ in ready],
                [count for _, count in ready],
                [job.content_hash for job, _ in ready],
            )
            outcomes.extend(IngestOutcome(job.id, "ready", count) for job, count in ready)
    log.info("ingestion.bulk_written", documents=len(staged), chunks=total)
    return outcomes
