"""SQL for ``chunk_sentences``: one vector per quotable sentence of a chunk, with its digest.

Ingestion writes them with the chunks (``ingestion.store.insert_chunks``); the backfill
(``ingestion.sentence_backfill``) finds chunks without digested rows and replaces theirs.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from retrieval.search import vector_literal


@dataclass(frozen=True)
class SentenceRow:
    chunk_id: uuid.UUID
    position: int
    embedding: Sequence[float]
    text_hash: bytes


async def insert_sentence_rows(session: AsyncSession, rows: Sequence[SentenceRow]) -> None:
    if not rows:
        return
    await session.execute(
        text(
            """
            INSERT INTO chunk_sentences (chunk_id, position, embedding, text_hash)
            SELECT u.id, u.position, CAST(u.embedding AS vector), u.text_hash
            FROM unnest(CAST(:ids AS uuid[]), CAST(:positions AS smallint[]),
                        CAST(:embeddings AS text[]), CAST(:hashes AS bytea[]))
                 AS u(id, position, embedding, text_hash)
            """
        ),
        {
            "ids": [r.chunk_id for r in rows],
            "positions": [r.position for r in rows],
            "embeddings": [vector_literal(r.embedding) for r in rows],
            "hashes": [r.text_hash for r in rows],
        },
    )


@dataclass(frozen=True)
class ChunkText:
    id: uuid.UUID
    title: str
    heading_path: str
    text: str


async def chunks_without_sentence_digests(
    session: AsyncSession, *, after: uuid.UUID | None, limit: int
) -> list[ChunkText]:
    """Chunks (in id order, after ``after``) none of whose sentence rows carries a digest:
    stored before digests existed or while ``ingestion.sentence_vectors`` was off."""
    rows = await session.execute(
        text(
            """
            SELECT c.id, c.title, c.heading_path, c.text FROM chunks c
            WHERE (CAST(:after AS uuid) IS NULL OR c.id > CAST(:after AS uuid))
              AND NOT EXISTS (SELECT 1 FROM chunk_sentences s
                              WHERE s.chunk_id = c.id AND s.text_hash IS NOT NULL)
            ORDER BY c.id LIMIT :limit
            """
        ),
        {"after": after, "limit": limit},
    )
    return [ChunkText(*row) for row in rows]


async def replace_sentence_rows(
    session: AsyncSession, chunk_ids: Sequence[uuid.UUID], rows: Sequence[SentenceRow]
) -> set[uuid.UUID]:
    """Replace the sentence rows of those ``chunk_ids`` that still exist (locked against a
    concurrent re-index until commit) with ``rows``; returns the ids written."""
    locked = await session.execute(
        text("SELECT id FROM chunks WHERE id = ANY(:ids) FOR KEY SHARE"), {"ids": list(chunk_ids)}
    )
    alive = {row[0] for row in locked}
    await session.execute(
        text("DELETE FROM chunk_sentences WHERE chunk_id = ANY(:ids)"), {"ids": list(alive)}
    )
    await insert_sentence_rows(session, [r for r in rows if r.chunk_id in alive])
    return alive
