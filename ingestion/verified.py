"""Verified answers: an agent's reply stored as a document of the one ``verified`` source.

The reply becomes a small markdown file (title "Verified answer", the question as its
heading, the access rule in the front matter) registered like an upload, then indexed
inline by the pipeline's own steps (PII policy, chunking, embedding, ``write_chunks``) in
the caller's transaction: dense and BM25 search find it, under its own access list, the
moment the reply commits, and a re-ingest of the stored file gives the same chunks.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import anyio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import ConfigurationError, Conflict, DocumentRejected, InvalidInput
from app.logging import get_logger
from ingestion import store
from ingestion.chunking import content_hash, embedding_text
from ingestion.pipeline import PipelineDeps, assemble_chunks, prepare_drafts, write_chunks
from ingestion.sources import IncomingFile, create_source, register_file
from ingestion.vectors import embed_chunks

VERIFIED_SOURCE = "Verified answers"
VERIFIED_TITLE = "Verified answer"
log = get_logger(__name__)


def render_markdown(question: str, answer: str, access: Sequence[str]) -> bytes:
    """The stored file. The access rule is part of the bytes, so the same reply under another
    rule is another document, never a "duplicate" that would keep the first rule."""
    heading = " ".join(question.split())
    front = f"---\ntitle: {VERIFIED_TITLE}\naccess: [{', '.join(sorted(access))}]\n---\n\n"
    return f"{front}## {heading}\n\n{answer.strip()}\n".encode()


async def verified_source_id(session: AsyncSession) -> uuid.UUID:
    """The ``verified`` source, created on first use (its documents carry their own rules)."""
    find = text("SELECT id FROM sources WHERE kind = 'verified' ORDER BY created_at, id LIMIT 1")
    found = (await session.execute(find)).scalar_one_or_none()
    if found is not None:
        return uuid.UUID(str(found))
    try:
        return await create_source(session, name=VERIFIED_SOURCE, groups=[], kind="verified")
    except Conflict:
        # Another reply created it concurrently, or an ordinary source took the name.
        found = (await session.execute(find)).scalar_one_or_none()
        if found is None:
            raise ConfigurationError(
                f"a source named '{VERIFIED_SOURCE}' exists but is not a verified source"
            ) from None
        return uuid.UUID(str(found))


@dataclass(frozen=True)
class VerifiedAnswers:
    """Bound once by the composition root to the pipeline's models and the uploads directory."""

    pipeline: PipelineDeps
    uploads_dir: Path

    async def save(
        self,
        session: AsyncSession,
        *,
        handoff_id: uuid.UUID,
        question: str,
        answer: str,
        access: Sequence[str],
    ) -> uuid.UUID:
        """Store (or replace) the verified answer of ``handoff_id``; returns its document id.

        An identical answer to the same question under the same rule is not indexed twice:
        the existing document's id is returned.
        """
        if not access:
            raise InvalidInput("a verified answer needs an access rule", field="groups")
        source_id = await verified_source_id(session)
        registered = await register_file(
            session,
            source_id=source_id,
            file=IncomingFile(
                filename=f"verified-answer-{handoff_id.hex[:12]}.md",
                data=render_markdown(question, answer, access),
                acl_override=list(access),
            ),
            uploads_dir=self.uploads_dir,
            max_bytes=self.pipeline.settings.max_upload_bytes,
        )
        if registered.outcome != "queued":
            return registered.id
        await session.execute(
            text(
                "UPDATE documents SET title = :title, acl_override = CAST(:acl AS varchar[]), "
                "flags = flags || jsonb_build_object('verified', true, 'handoff_id', "
                "CAST(:handoff AS text)) WHERE id = :id"
            ),
            {
                "id": registered.id,
                "title": VERIFIED_TITLE,
                "acl": list(access),
                "handoff": str(handoff_id),
            },
        )
        job = await store.lock_document(session, registered.id)
        if job is None:  # pragma: no cover - the row was written in this transaction
            raise Conflict("the verified answer could not be stored; try again")
        chunks = await self._chunks(job)
        if not await write_chunks(session, self.pipeline, job, chunks):
            raise Conflict("the verified answer changed while it was stored; try again")
        log.info(
            "verified.saved",
            document_id=str(registered.id),
            handoff_id=str(handoff_id),
            chunks=len(chunks),
            access=list(access),
        )
        return registered.id

    async def _chunks(self, job: store.DocumentJob) -> list[store.StoredChunk]:
        deps = self.pipeline
        try:
            drafts = await anyio.to_thread.run_sync(prepare_drafts, deps, job)
        except DocumentRejected as exc:
            raise InvalidInput(
                f"the answer cannot be saved as verified: {exc.message}", field="answer"
            ) from None
        keys = [content_hash(embedding_text(d.title, d.heading_path, d.text)) for d in drafts]
        embedded = await embed_chunks(
            deps.embedder, drafts, sentences=deps.settings.sentence_vectors
        )
        by_index = dict(enumerate(embedded))
        return await anyio.to_thread.run_sync(assemble_chunks, deps, drafts, keys, by_index)
