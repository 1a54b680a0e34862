"""A chunk's vector stays inside its row (MAIN storage), never in the TOAST table: a cosine
computed from the heap (the exact path, the filtered HNSW scan's re-check) then reads no
out-of-line value. Rows stored before the migration are rewritten by it."""

import asyncio
import random
import string

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from app.db.migrate import alembic_config, upgrade
from tests.integration.retrieval.documents import insert_document

pytestmark = pytest.mark.integration
BEFORE = "e7a2c4b9d1f6"  # the revision before vectors were kept inline

# Out-of-line vectors, counted by PostgreSQL itself (pg_column_toast_chunk_id: PostgreSQL 17+).
_TOASTED = text("SELECT count(*) FROM chunks WHERE pg_column_toast_chunk_id(embedding) IS NOT NULL")


def _incompressible(chars: int, seed: int) -> str:
    """Text that pglz cannot shrink and that is smaller than the vector: with the vector it
    passes the ~2 kB TOAST threshold, and as the largest value the vector is moved out first."""
    rng = random.Random(seed)
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(chars))


async def _toasted(engine: AsyncEngine) -> int:
    async with AsyncSession(engine) as session:
        return int((await session.execute(_TOASTED)).scalar_one())


async def test_vectors_of_long_rows_stay_inline(database_url: str) -> None:
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with AsyncSession(engine) as session:
            await insert_document(session, [_incompressible(1000, 1)], ["everyone"])
            await session.commit()
        assert await _toasted(engine) == 0
    finally:
        await engine.dispose()


async def test_upgrade_moves_stored_vectors_back_into_their_rows(database_url: str) -> None:
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        await asyncio.to_thread(command.downgrade, alembic_config(database_url), BEFORE)
        async with AsyncSession(engine) as session:
            texts = [_incompressible(1000, seed) for seed in range(3)]
            await insert_document(session, texts, ["everyone"])
            await session.commit()
            before = (
                await session.execute(text("SELECT id, embedding::text FROM chunks ORDER BY id"))
            ).all()
        assert await _toasted(engine) == 3  # as pgvector's EXTERNAL storage left them
        await asyncio.to_thread(upgrade, database_url)
        assert await _toasted(engine) == 0
        async with AsyncSession(engine) as session:
            after = (
                await session.execute(text("SELECT id, embedding::text FROM chunks ORDER BY id"))
            ).all()
        assert after == before  # the same vectors, bit for bit
    finally:
        await engine.dispose()
