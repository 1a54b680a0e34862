"""The ingestion use case: one document from its stored file to searchable chunks.

parse -> apply the source's PII policy -> chunk by tokens -> embed (reusing vectors of
unchanged chunks) -> replace the document's chunks in one transaction. Safe to run more
than once for the same document: a document whose stored chunks already match its
content is left alone, and a replace is atomic.
"""

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import anyio
import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.errors import DocumentRejected
from app.logging import get_logger
from app.settings import IngestionSettings
from ingestion import store
from ingestion.bulk_store import copy_chunks
from ingestion.chunking import (
    ChunkDraft,
    TokenCounter,
    chunk_document,
    content_hash,
    embedding_text,
)
from ingestion.parsers import parse_bytes
from ingestion.timings import StageTimings
from ingestion.vectors import ChunkVectors, embed_chunks, reusable
from retrieval.embeddings import Embedder

log = get_logger(__name__)

# (texts, policy mode) -> texts after the policy; raises DocumentRejected for "block".
PiiHook = Callable[[Sequence[str], str], list[str]]
# (texts, their embeddings) -> injection likelihood 0..1 per text.
InjectionScorer = Callable[[Sequence[str], Any], list[float]]


def keep_everything(texts: Sequence[str], mode: str) -> list[str]:
    """The policy hook used when no redactor is configured: the text passes unchanged."""
    return list(texts)


@dataclass(frozen=True)
class PipelineDeps:
    session_factory: async_sessionmaker[AsyncSession]
    embedder: Embedder
    tokens: TokenCounter
    settings: IngestionSettings
    pii_hook: PiiHook = keep_everything
    injection_scorer: InjectionScorer | None = None


@dataclass(frozen=True)
class IngestOutcome:
    document_id: uuid.UUID
    status: str
    chunks: int
    skipped: bool = False


async def ingest_document(deps: PipelineDeps, document_id: uuid.UUID) -> IngestOutcome:
    """Bring one document to ``ready`` (or ``failed`` with a reason). Idempotent."""
    job = await begin_job(deps, document_id)
    if isinstance(job, IngestOutcome):
        return job
    started = time.perf_counter()
    try:
        prepared = await anyio.to_thread.run_sync(prepare_document, deps, job)
        chunks = await _embed(deps, job, prepared.drafts)
    except DocumentRejected as exc:
        return await fail_job(deps, job, exc.message)

    async with deps.session_factory.begin() as session:
        if not await write_chunks(session, deps, job, chunks):
            return IngestOutcome(document_id, "superseded", 0, skipped=True)
        await store.set_warnings(session, [(document_id, prepared.warnings)])
    log.info(
        "ingestion.ready",
        document_id=str(document_id),
        chunks=len(chunks),
        ms=round((time.perf_counter() - started) * 1000),
    )
    return IngestOutcome(document_id, "ready", len(chunks))


async def begin_job(
    deps: PipelineDeps, document_id: uuid.UUID
) -> store.DocumentJob | IngestOutcome:
    """Lock the document and mark it ``processing``; an outcome instead if there is nothing to do."""
    async with deps.session_factory.begin() as session:
        job = await store.lock_document(session, document_id)
        if job is None:
            log.info("ingestion.document_gone", document_id=str(document_id))
            return IngestOutcome(document_id, "deleted", 0, skipped=True)
        if job.status == "ready" and job.indexed_hash == job.content_hash:
            return IngestOutcome(document_id, "ready", 0, skipped=True)
        await store.set_status(
            session, document_id, "processing", chunks_done=0, bump_attempts=True
        )
    return job


async def fail_job(deps: PipelineDeps, job: store.DocumentJob, reason: str) -> IngestOutcome:
    """Mark the document failed, unless a newer version replaced it meanwhile. Its previous
    chunks (if any) are removed with it: a failed document is never half old, half new."""
    async with deps.session_factory.begin() as session:
        current = await store.lock_document(session, job.id)
        if current is None or current.content_hash != job.content_hash:
            return IngestOutcome(job.id, "superseded", 0, skipped=True)
        if current.indexed_hash is not None:
            await store.delete_chunks(session, job.id)
            await store.clear_indexed(session, job.id)
        await store.set_status(session, job.id, "failed", error=reason, chunks_done=0)
    log.info("ingestion.failed", document_id=str(job.id), reason=reason)
    return IngestOutcome(job.id, "failed", 0)


async def give_up(deps: PipelineDeps, document_id: uuid.UUID, reason: str) -> IngestOutcome:
    """After the last try of a job that kept failing: the document ends ``failed`` with
    ``reason`` (and without chunks) unless it is ready or gone by now."""
    async with deps.session_factory.begin() as session:
        job = await store.lock_document(session, document_id)
        if job is None:
            return IngestOutcome(document_id, "deleted", 0, skipped=True)
        if job.status == "ready" and job.indexed_hash == job.content_hash:
            return IngestOutcome(document_id, "ready", 0, skipped=True)
    return await fail_job(deps, job, reason)


async def write_chunks(
    session: AsyncSession,
    deps: PipelineDeps,
    job: store.DocumentJob,
    chunks: Sequence[store.StoredChunk],
) -> bool:
    """Replace the document's chunks and mark it ready, in the caller's transaction.

    False (nothing written) if the document was deleted or changed while the job worked:
    the newer version's job owns it now. Large documents go through COPY.
    """
    current = await store.lock_document(session, job.id)
    if current is None or current.content_hash != job.content_hash:
        return False
    await store.delete_chunks(session, job.id)
    if len(chunks) >= deps.settings.bulk_threshold_chunks:
        await copy_chunks(session, [store.DocumentChunks(job.id, chunks, current.access)])
    else:
        await store.insert_chunks(session, job.id, chunks, access=current.access)
    await store.set_status(
        session, job.id, "ready", chunks_done=len(chunks), chunks_total=len(chunks)
    )
    await store.mark_indexed(session, job.id, job.content_hash)
    return True


@dataclass(frozen=True)
class PreparedDocument:
    drafts: list[ChunkDraft]
    warnings: tuple[str, ...] = ()
    """What the parser repaired (e.g. invalid UTF-8 bytes): shown with the ready status."""


def prepare_drafts(
    deps: PipelineDeps, job: store.DocumentJob, timings: StageTimings | None = None
) -> list[ChunkDraft]:
    """Read, parse, apply the PII policy, chunk. CPU-bound: call it in a worker thread.
    Raises DocumentRejected with the reason the admin will see."""
    return prepare_document(deps, job, timings).drafts


def prepare_document(
    deps: PipelineDeps, job: store.DocumentJob, timings: StageTimings | None = None
) -> PreparedDocument:
    """``prepare_drafts`` with the parser's warnings."""
    clock = timings or StageTimings()
    with clock.stage("parse"):
        try:
            data = Path(job.file_path).read_bytes()
        except OSError as exc:
            raise DocumentRejected(f"the stored file cannot be read ({exc.strerror})") from exc
        parsed = parse_bytes(data, filename=job.uri, max_chars=deps.settings.max_extracted_chars)
    with clock.stage("pii"):
        texts = deps.pii_hook([section.text for section in parsed.sections], job.pii_policy)
    sections = tuple(
        replace(section, text=redacted)
        for section, redacted in zip(parsed.sections, texts, strict=True)
    )
    with clock.stage("chunk"):
        drafts = chunk_document(
            replace(parsed, sections=sections),
            deps.tokens,
            max_tokens=deps.settings.chunk_tokens,
            overlap_tokens=deps.settings.chunk_overlap_tokens,
        )
    if not drafts:
        raise DocumentRejected("the document has no text to index")
    return PreparedDocument(drafts, parsed.warnings)


async def _embed(
    deps: PipelineDeps, job: store.DocumentJob, drafts: Sequence[ChunkDraft]
) -> list[store.StoredChunk]:
    texts = [embedding_text(d.title, d.heading_path, d.text) for d in drafts]
    # A chunk's hash covers exactly the embedded text (title and heading included), so stored
    # vectors are reused only for identical input to the model.
    keys = [content_hash(t) for t in texts]
    sentences = deps.settings.sentence_vectors
    async with deps.session_factory() as session:
        stored = await store.existing_embeddings(session, keys, sentences=sentences)
    known = reusable(stored, keys, drafts, sentences=sentences)
    todo = [i for i, key in enumerate(keys) if key not in known]
    vectors: dict[int, ChunkVectors] = {i: known[key] for i, key in enumerate(keys) if key in known}
    batch = 64
    for start in range(0, len(todo), batch):
        indices = todo[start : start + batch]
        embedded = await embed_chunks(
            deps.embedder, [drafts[i] for i in indices], sentences=sentences
        )
        vectors.update(zip(indices, embedded, strict=True))
        async with deps.session_factory.begin() as session:
            await store.set_progress(session, job.id, len(vectors), len(drafts))
    return await anyio.to_thread.run_sync(assemble_chunks, deps, drafts, keys, vectors)


def assemble_chunks(
    deps: PipelineDeps,
    drafts: Sequence[ChunkDraft],
    keys: Sequence[str],
    vectors: dict[int, ChunkVectors],
) -> list[store.StoredChunk]:
    """Chunks ready to store: injection scores added, repeated passages dropped."""
    # The chunk vectors (of title + heading + text) stand in for the detector's own
    # embedding pass: scoring then costs a TF-IDF model, not a second transformer run.
    scores = (
        deps.injection_scorer(
            [d.text for d in drafts], np.asarray([vectors[i].chunk for i in range(len(drafts))])
        )
        if deps.injection_scorer
        else [0.0] * len(drafts)
    )
    seen: set[str] = set()
    chunks: list[store.StoredChunk] = []
    for i, draft in enumerate(drafts):
        if keys[i] in seen:  # the same passage twice in one document: keep the first
            continue
        seen.add(keys[i])
        chunks.append(
            store.StoredChunk(
                position=len(chunks),
                text=draft.text,
                title=draft.title,
                heading_path=draft.heading_path,
                page=draft.page,
                content_hash=keys[i],
                token_count=draft.token_count,
                embedding=vectors[i].chunk,
                injection_score=scores[i],
                sentence_embeddings=vectors[i].sentences,
                sentence_keys=vectors[i].sentence_keys,
            )
        )
    return chunks
