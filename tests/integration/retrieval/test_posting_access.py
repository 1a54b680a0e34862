"""Postings carry a copy of their chunk's access list; the keyword leg filters on it."""

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from ingestion import access_sets, store
from retrieval.analyzer import query_terms
from retrieval.keyword import keyword_search
from tests.integration.retrieval.documents import insert_document

pytestmark = pytest.mark.integration


async def _postings_out_of_step(session: AsyncSession) -> int:
    """Postings whose copy of the access rule differs from their chunk's."""
    found = await session.execute(
        text(
            "SELECT count(*) FROM chunk_terms p JOIN chunks c ON c.id = p.chunk_id "
            "JOIN access_sets a ON a.id = p.access_set WHERE a.access <> c.access"
        )
    )
    return int(found.scalar_one())


async def test_postings_follow_an_access_change_in_the_same_transaction(
    db_session: AsyncSession,
) -> None:
    """The keyword leg scores readable postings only, so their access copy must move with the
    chunks': a grant is found on the next search, a revocation hides the chunk at once."""
    await insert_document(db_session, ["rotterdam office plans for everyone"], ["everyone"])
    doc = await insert_document(db_session, ["rotterdam reorganisation plans"], ["board"])
    await db_session.commit()
    terms = query_terms("rotterdam plans")

    async def readers(groups: list[str]) -> int:
        return len(await keyword_search(db_session, terms, groups=groups, k=10, scan_cap=1))

    assert (await readers(["board"]), await readers(["finance"])) == (1, 0)
    await store.update_document_access(db_session, doc, ["finance", "hr"])
    await db_session.commit()
    assert await _postings_out_of_step(db_session) == 0
    assert (await readers(["board"]), await readers(["finance"]), await readers(["hr"])) == (
        0,
        1,
        1,
    )
    sets = (await db_session.execute(text("SELECT access FROM access_sets"))).scalars().all()
    assert sorted(map(tuple, sets)) == [("board",), ("everyone",), ("finance", "hr")]


async def test_a_posting_access_copy_out_of_step_never_shows_an_unreadable_chunk(
    db_session: AsyncSession,
) -> None:
    """Results are re-checked against ``chunks.access``: postings that wrongly claim a chunk is
    public only cost the capped pass its candidates; a wider pass still fills ``k``."""
    for i in range(4):
        await insert_document(db_session, [f"rotterdam parking note {i}"], ["everyone"])
    secret = await insert_document(db_session, ["rotterdam parking parking parking code"], ["hr"])
    await db_session.commit()
    await db_session.execute(
        text(
            "UPDATE chunk_terms p SET access_set = (SELECT id FROM access_sets "
            "WHERE access = ARRAY['everyone']::varchar[]) "
            "FROM chunks c WHERE c.id = p.chunk_id AND c.document_id = :doc"
        ),
        {"doc": secret},
    )
    await db_session.commit()
    assert await _postings_out_of_step(db_session) > 0
    terms = query_terms("rotterdam parking")
    for cap in (1, 400):
        hits = await keyword_search(db_session, terms, groups=["everyone"], k=4, scan_cap=cap)
        rows = await db_session.execute(
            text("SELECT count(*) FROM chunks WHERE id = ANY(:ids) AND document_id = :doc"),
            {"ids": [h.chunk_id for h in hits], "doc": secret},
        )
        assert rows.scalar_one() == 0
        assert len(hits) == 4


async def _set_lists(session: AsyncSession) -> list[tuple[str, ...]]:
    rows = (await session.execute(text("SELECT access FROM access_sets"))).scalars().all()
    return sorted(map(tuple, rows))


async def _readers(session: AsyncSession, groups: list[str]) -> int:
    terms = query_terms("harbour budget")
    return len(await keyword_search(session, terms, groups=groups, k=10, scan_cap=1))


async def test_prune_drops_only_the_access_sets_no_chunk_has(db_session: AsyncSession) -> None:
    """A changed ACL leaves its old list unused: the prune deletes it, keeps the live ones, and
    a later grant of the old list registers it again."""
    await insert_document(db_session, ["harbour budget for everyone"], ["everyone"])
    doc = await insert_document(db_session, ["harbour budget for the board"], ["board"])
    await store.update_document_access(db_session, doc, ["finance"])
    await db_session.commit()
    assert await access_sets.prune_access_sets(db_session) == 1
    await db_session.commit()
    assert await _set_lists(db_session) == [("everyone",), ("finance",)]
    assert (await _readers(db_session, ["finance"]), await _readers(db_session, ["board"])) == (
        1,
        0,
    )
    await store.update_document_access(db_session, doc, ["board"])
    await db_session.commit()
    assert await _postings_out_of_step(db_session) == 0
    assert (await _readers(db_session, ["board"]), await _readers(db_session, ["finance"])) == (
        1,
        0,
    )
    assert await access_sets.prune_access_sets(db_session) == 1
    await db_session.commit()
    assert await _set_lists(db_session) == [("board",), ("everyone",)]


async def test_prune_skips_a_set_an_uncommitted_writer_names(
    engine: AsyncEngine, db_session: AsyncSession
) -> None:
    """An unused list that a writer has just taken up again (not committed yet) survives the
    prune: deleting it would leave the writer's postings naming a set that does not exist."""
    doc = await insert_document(db_session, ["harbour budget for the board"], ["board"])
    await store.update_document_access(db_session, doc, ["finance"])
    await db_session.commit()
    async with AsyncSession(engine) as writer, AsyncSession(engine) as pruner:
        await store.update_document_access(writer, doc, ["board"])
        assert (
            await access_sets.prune_access_sets(pruner) == 0
        )  # finance is still the committed ACL
        await pruner.commit()
        await writer.commit()
    assert await _postings_out_of_step(db_session) == 0
    assert await _readers(db_session, ["board"]) == 1
    assert await access_sets.prune_access_sets(db_session) == 1
    await db_session.commit()
    assert await _set_lists(db_session) == [("board",)]


async def test_a_writer_waits_for_a_running_prune_then_registers_its_set_again(
    engine: AsyncEngine, db_session: AsyncSession
) -> None:
    """A prune that got to an unused list first deletes it; a writer taking the list up waits
    for that prune to commit, then inserts the list anew and its postings name the new row."""
    doc = await insert_document(db_session, ["harbour budget for the board"], ["board"])
    await store.update_document_access(db_session, doc, ["finance"])
    await db_session.commit()
    async with AsyncSession(engine) as writer, AsyncSession(engine) as pruner:
        assert await access_sets.prune_access_sets(pruner) == 1  # board, not committed yet
        grant = asyncio.create_task(store.update_document_access(writer, doc, ["board"]))
        await asyncio.sleep(0.5)
        assert not grant.done()  # waiting for the prune's transaction
        await pruner.commit()
        await asyncio.wait_for(grant, timeout=10)
        await writer.commit()
    assert await _postings_out_of_step(db_session) == 0
    assert await _readers(db_session, ["board"]) == 1
    assert await _set_lists(db_session) == [("board",), ("finance",)]
