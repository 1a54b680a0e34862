"""The migration that adds per-access-list BM25 statistics fills them from what is stored."""

import asyncio

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from app.db.migrate import alembic_config, upgrade
from tests.integration.retrieval.documents import insert_document, statistics_drift

pytestmark = pytest.mark.integration
BEFORE = "c3e9a1f5b7d2"  # the revision before the statistics tables


async def test_upgrade_fills_the_statistics_of_existing_chunks(database_url: str) -> None:
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with AsyncSession(engine) as session:
            await insert_document(session, ["harbour budget", "harbour cranes"], ["everyone"])
            await insert_document(session, ["budget for the board"], ["board", "hr"])
            await insert_document(session, ["..."], ["finance"])  # a chunk without terms
            await session.commit()
        await asyncio.to_thread(command.downgrade, alembic_config(database_url), BEFORE)
        async with engine.begin() as conn:  # as stored before: a term-less chunk had no set
            await conn.execute(text("DELETE FROM access_sets WHERE access = '{finance}'"))
        await asyncio.to_thread(upgrade, database_url)
        async with AsyncSession(engine) as session:
            assert await statistics_drift(session) == 0
            sizes = await session.execute(
                text(
                    "SELECT a.access, s.chunk_count FROM access_set_stats s "
                    "JOIN access_sets a ON a.id = s.access_set ORDER BY 1"
                )
            )
            assert [(list(a), n) for a, n in sizes] == [
                (["board", "hr"], 1),
                (["everyone"], 2),
                (["finance"], 1),
            ]
    finally:
        await engine.dispose()
