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
    doc = await prepared_document(session, texts, access, sentences=sentences)
    await store.insert_chunks(session, doc.document_id, doc.chunks, access=access)
    return doc.document_id


async def prepared_document(
    session: AsyncSession, texts: list[str], access: list[str], *, sentences: bool = True
) -> store.DocumentChunks:
    """``insert_document``'s document row, and the chunks it would store (not stored yet)."""
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
    return store.DocumentChunks(doc_id, chunks, access)


async def statistics_drift(session: AsyncSession) -> int:
    """Rows of the per-access-list BM25 statistics that differ from a count of the postings and
    chunks that exist (zero rows count as absent); 0 when they are exact."""
    found = await session.execute(
        text(
            """
            WITH counted_terms AS (
                SELECT term, access_set, count(*) AS df FROM chunk_terms GROUP BY 1, 2
            ),
            kept_terms AS (SELECT term, access_set, df FROM term_set_stats WHERE df <> 0),
            counted_sizes AS (
                SELECT a.id AS access_set, count(*) AS n, COALESCE(sum(c.term_count), 0) AS t
                FROM chunks c JOIN access_sets a ON a.key = access_key(c.access) GROUP BY a.id
            ),
            kept_sizes AS (
                SELECT access_set, chunk_count AS n, term_total AS t FROM access_set_stats
                WHERE chunk_count <> 0 OR term_total <> 0
            )
            SELECT (SELECT count(*) FROM (
                        (SELECT * FROM counted_terms EXCEPT SELECT * FROM kept_terms)
                        UNION ALL (SELECT * FROM kept_terms EXCEPT SELECT * FROM counted_terms)
                    ) AS terms)
                 + (SELECT count(*) FROM (
                        (SELECT * FROM counted_sizes EXCEPT SELECT * FROM kept_sizes)
                        UNION ALL (SELECT * FROM kept_sizes EXCEPT SELECT * FROM counted_sizes)
                    ) AS sizes)
            """
        )
    )
    return int(found.scalar_one())
