"""Concurrent writers keep the per-access-list BM25 statistics exact and never deadlock:
uploads into shared and restricted lists, batches of several documents (as bulk ingestion
writes them), ACL changes and deletions at once, on overlapping words."""

import asyncio
import os
import random
import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from ingestion import store
from tests.integration.retrieval.documents import (
    insert_document,
    prepared_document,
    statistics_drift,
)

pytestmark = pytest.mark.integration
ROUNDS = int(os.getenv("GROUNDWORK_TEST_STAT_ROUNDS", "40"))
WORDS = ("harbour", "budget", "crane", "ferry", "tariff", "berth", "cargo", "pilot")
LISTS = (["everyone"], ["board"], ["board", "hr"], ["finance"])


def _texts(rng: random.Random) -> list[str]:
    return [" ".join(rng.choices(WORDS, k=rng.randint(2, 6))) for _ in range(rng.randint(1, 3))]


async def test_concurrent_uploads_acl_changes_and_deletes_keep_statistics_exact(
    engine: AsyncEngine,
) -> None:
    rng = random.Random(20261207)
    async with AsyncSession(engine) as session:
        docs = [await insert_document(session, _texts(rng), rng.choice(LISTS)) for _ in range(6)]
        await session.commit()

    async def upload(texts: list[str], access: list[str]) -> uuid.UUID:
        async with AsyncSession(engine) as session:
            doc = await insert_document(session, texts, access)
            await session.commit()
            return doc

    async def batch(documents: list[tuple[list[str], list[str]]]) -> list[uuid.UUID]:
        """Several documents, then all their statistics in one pass, as bulk ingestion does."""
        async with AsyncSession(engine) as session:
            staged = [await prepared_document(session, t, a) for t, a in documents]
            await store.insert_documents_chunks(session, staged)
            await session.commit()
            return [doc.document_id for doc in staged]

    async def delete_many(doomed: list[uuid.UUID]) -> None:
        async with AsyncSession(engine) as session, session.begin():
            await store.delete_documents_chunks(session, doomed)

    async def change(doc: uuid.UUID, access: list[str]) -> None:
        async with AsyncSession(engine) as session, session.begin():
            await store.update_document_access(session, doc, access)

    async def delete(doc: uuid.UUID) -> None:
        async with AsyncSession(engine) as session, session.begin():
            await store.delete_chunks(session, doc)

    for _ in range(ROUNDS):
        moved, gone, *doomed = rng.sample(docs, 4)
        for doc in (gone, *doomed):
            docs.remove(doc)
        added = await asyncio.gather(
            upload(_texts(rng), rng.choice(LISTS)),
            batch([(_texts(rng), rng.choice(LISTS)) for _ in range(3)]),
            batch([(_texts(rng), rng.choice(LISTS)) for _ in range(3)]),
            change(moved, rng.choice(LISTS)),
            delete(gone),
            delete_many(doomed),
        )
        docs.append(added[0])
        docs.extend(added[1] + added[2])
    async with AsyncSession(engine) as session:
        assert await statistics_drift(session) == 0
