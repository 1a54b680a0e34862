"""Store sentence vectors for chunks indexed without them (``groundwork index sentence-vectors``).

Chunks indexed while ``ingestion.sentence_vectors`` was off, or before sentence rows carried
their digest, answer correctly but make the composer embed their sentences on the request path.
A document whose file has not changed is never re-ingested, so this fills them in place: each
batch of chunks (in id order, resumable) is split into quotable sentences, embedded, and written
in one short transaction that locks the chunks against a concurrent re-index. A chunk with no
quotable sentence gets no rows and is passed over.
"""

import uuid
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ingestion import sentence_rows
from ingestion.vectors import sentence_texts
from retrieval.embeddings import Embedder, embed_async
from retrieval.quotable import sentence_key

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class BackfillReport:
    chunks: int  # chunks given sentence vectors
    sentences: int  # vectors written


async def backfill_sentence_vectors(
    session_factory: async_sessionmaker[AsyncSession], embedder: Embedder, *, batch: int = 64
) -> BackfillReport:
    if batch < 1:
        raise ValueError("batch must be at least 1")
    after: uuid.UUID | None = None
    chunks = sentences = 0
    while True:
        async with session_factory() as session:
            todo = await sentence_rows.chunks_without_sentence_digests(
                session, after=after, limit=batch
            )
        if not todo:
            break
        after = todo[-1].id
        texts = {c.id: sentence_texts(c.text, c.title, c.heading_path) for c in todo}
        flat = [t for c in todo for t in texts[c.id]]
        if not flat:
            continue
        vectors = iter(await embed_async(embedder, flat))
        rows = [
            sentence_rows.SentenceRow(c.id, position, next(vectors).tolist(), sentence_key(t))
            for c in todo
            for position, t in enumerate(texts[c.id])
        ]
        async with session_factory.begin() as session:
            written = await sentence_rows.replace_sentence_rows(
                session, [c.id for c in todo if texts[c.id]], rows
            )
        chunks += len(written)
        sentences += sum(r.chunk_id in written for r in rows)
        log.info("ingestion.sentence_backfill", chunks=chunks, sentences=sentences)
    return BackfillReport(chunks, sentences)
