"""Bulk SQL for large loads: chunks staged with COPY, then moved into ``chunks`` in one statement.

Same contract as ``store.insert_chunks`` (postings and statistics change in the caller's
transaction); used when a write reaches ``bulk_threshold_chunks``.
"""

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import HNSW_INDEX_SQL
from ingestion.store import DocumentChunks, _insert_postings
from retrieval.analyzer import term_frequencies

_INDEX_BUILD_TIMEOUT_SECONDS = 3600
_STAGE_COLUMNS = (
    "id",
    "document_id",
    "position",
    "page",
    "title",
    "heading_path",
    "text",
    "content_hash",
    "token_count",
    "term_count",
    "access",
    "embedding",
    "injection_score",
)


async def copy_chunks(session: AsyncSession, documents: Sequence[DocumentChunks]) -> int:
    """Insert the chunks of several documents (whose old chunks are already deleted) through a
    COPY into a transaction-local staging table; returns the number of chunks written."""
    ids: list[uuid.UUID] = []
    freqs: list[dict[str, int]] = []
    records: list[tuple[Any, ...]] = []
    for doc in documents:
        access = list(doc.access)
        for c in doc.chunks:
            chunk_id = uuid.uuid4()
            freq = term_frequencies(f"{c.title} {c.heading_path} {c.text}")
            ids.append(chunk_id)
            freqs.append(freq)
            records.append(
                (
                    chunk_id,
                    doc.document_id,
                    c.position,
                    c.page,
                    c.title,
                    c.heading_path,
                    c.text,
                    c.content_hash,
                    c.token_count,
                    sum(freq.values()),
                    access,
                    [float(x) for x in c.embedding],
                    c.injection_score,
                )
            )
    if not records:
        return 0
    await session.execute(
        text(
            """
            CREATE TEMP TABLE IF NOT EXISTS staged_chunks (
                id uuid, document_id uuid, position int, page int, title text,
                heading_path text, text text, content_hash varchar(64), token_count int,
                term_count int, access varchar[], embedding real[], injection_score float8
            ) ON COMMIT DROP
            """
        )
    )
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection  # asyncpg, inside the session's transaction
    await driver.copy_records_to_table("staged_chunks", records=records, columns=_STAGE_COLUMNS)
    await session.execute(
        text(
            """
            INSERT INTO chunks (id, document_id, position, page, title, heading_path, text,
                                content_hash, token_count, term_count, access, embedding,
                                injection_score)
            SELECT id, document_id, position, page, title, heading_path, text, content_hash,
                   token_count, term_count, access, CAST(embedding AS vector), injection_score
            FROM staged_chunks
            """
        )
    )
    await session.execute(text("TRUNCATE staged_chunks"))
    sentences = [
        (chunk_id, position, [float(x) for x in vector], key)
        for chunk_id, c in zip(ids, (c for doc in documents for c in doc.chunks), strict=True)
        for position, (vector, key) in enumerate(
            zip(c.sentence_embeddings, c.sentence_keys, strict=True)
        )
    ]
    if sentences:
        await session.execute(
            text(
                """
                CREATE TEMP TABLE IF NOT EXISTS staged_sentences (
                    chunk_id uuid, position smallint, embedding real[], text_hash bytea
                ) ON COMMIT DROP
                """
            )
        )
        await driver.copy_records_to_table(
            "staged_sentences",
            records=sentences,
            columns=("chunk_id", "position", "embedding", "text_hash"),
        )
        await session.execute(
            text(
                "INSERT INTO chunk_sentences (chunk_id, position, embedding, text_hash) "
                "SELECT chunk_id, position, CAST(embedding AS vector), text_hash "
                "FROM staged_sentences"
            )
        )
        await session.execute(text("TRUNCATE staged_sentences"))
    await _insert_postings(session, ids, freqs, [sum(f.values()) for f in freqs])
    return len(records)


async def vector_index_exists(session: AsyncSession) -> bool:
    found = await session.execute(
        text("SELECT 1 FROM pg_indexes WHERE indexname = 'ix_chunks_embedding_hnsw'")
    )
    return found.first() is not None


async def drop_vector_index(session: AsyncSession) -> None:
    """For a load that is large next to the stored chunks (see ``bulk.ingest_large_load``):
    building HNSW once afterwards is cheaper than growing it row by row. Vector search stays
    correct (exact) meanwhile."""
    await session.execute(text("DROP INDEX IF EXISTS ix_chunks_embedding_hnsw"))


async def create_vector_index(session: AsyncSession) -> None:
    """Recreate the HNSW index exactly as the migration defines it."""
    await session.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection  # asyncpg: a build may outlast the 60 s command timeout
    await driver.execute(HNSW_INDEX_SQL, timeout=_INDEX_BUILD_TIMEOUT_SECONDS)
