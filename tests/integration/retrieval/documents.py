"""Documents inserted straight through ``ingestion.store`` for the retrieval tests."""

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from ingestion import store
from ingestion.chunking import content_hash
from ingestion.vectors import sentence_texts
from retrieval.quotable import sentence_key
from tests.fakes import HashingEmbedder

EMBEDDER = HashingEmbedder()


async def insert_document(
    session: AsyncSession, texts: list[str], access: list[str], *, sentences: bool = True
) -> uuid.UUID:
    """A ready document of one chunk per text, readable by ``access`` (source created once);
    with ``sentences``, each chunk also gets its sentence vectors, as ingestion stores them."""
    source_id = (await session.execute(text("SELECT id FROM sources LIMIT 1"))).scalar()
    if source_id is None:
        source_id = uuid.uuid4()
        await session.execute(
            text(
                "INSERT INTO sources (id, name, kind, groups, pii_policy) "
                "VALUES (:id, 'kb', 'upload', ARRAY['everyone'], 'keep')"
            ),
            {"id": source_id},
        )
    doc_id = uuid.uuid4()
    await session.execute(
        text(
            "INSERT INTO documents (id, source_id, uri, title, file_path, size_bytes, content_hash, "
            "status, chunks_done, chunks_total, attempts, flags) VALUES "
            "(:id, :src, :uri, 'T', '', 0, 'h', 'ready', 0, 0, 0, '{}')"
        ),
        {"id": doc_id, "src": source_id, "uri": f"{doc_id}.md"},
    )
    vectors = EMBEDDER.embed(texts)
    chunks = [
        store.StoredChunk(
            position=i,
            text=t,
            title="T",
            heading_path="",
            page=None,
            content_hash=content_hash(t),
            token_count=10,
            embedding=vectors[i].tolist(),
            sentence_embeddings=(
                EMBEDDER.embed(sentence_texts(t)).tolist()
                if sentences and sentence_texts(t)
                else []
            ),
            sentence_keys=[sentence_key(s) for s in sentence_texts(t)] if sentences else [],
        )
        for i, t in enumerate(texts)
    ]
    await store.insert_chunks(session, doc_id, chunks, access=access)
    return doc_id
