"""BM25 counts only what the caller may read: idf, N and avgdl come from the readable chunks, so
no score, kept term or confidence moves when unreadable documents come, change or go."""

from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.settings import Settings
from ingestion import access_sets, store
from retrieval.analyzer import query_terms
from retrieval.keyword import Bm25, keyword_scores, keyword_search
from tests.builders import make_app, make_user
from tests.integration.retrieval.documents import insert_document, statistics_drift

pytestmark = pytest.mark.integration
QUESTION = "rotterdam merger plans"
PUBLIC = [
    "Merger plans for the Rotterdam office are discussed every spring.",
    "The Rotterdam canteen menu changes weekly.",
    "Merger notes are kept in the archive.",
    "Holiday plans for the staff outing.",
    "Parking rules for visitors.",
]
HIDDEN = [
    "Merger with Acme: the Rotterdam merger timetable.",
    "Merger costs, merger lawyers and the merger vote.",
    "Rotterdam site plans after the merger.",
]


async def _scores(session: AsyncSession, groups: list[str]) -> dict[str, Any]:
    """Every keyword path's results for ``groups``: capped, widened, small-set and by id."""
    terms = query_terms(QUESTION)
    out: dict[str, Any] = {}
    for cap in (1, 400):
        for few in (False, True):
            hits = await keyword_search(
                session, terms, groups=groups, k=10, scan_cap=cap, few_readable=few
            )
            out[f"cap={cap} few={few}"] = [(h.chunk_id, round(h.score, 12)) for h in hits]
    ids = [chunk for chunk, _ in out["cap=400 few=False"]]
    scored = await keyword_scores(session, terms, ids, groups=groups, bm25=Bm25())
    out["by id"] = sorted((h.chunk_id, round(h.score, 12)) for h in scored)
    return out


async def test_unreadable_chunks_never_change_a_keyword_score(db_session: AsyncSession) -> None:
    await insert_document(db_session, PUBLIC, ["everyone"])
    await db_session.commit()
    alone = await _scores(db_session, ["everyone"])
    assert alone["cap=400 few=False"], "the public merger note is found"

    hidden = await insert_document(db_session, HIDDEN, ["board"])
    await db_session.commit()
    assert await statistics_drift(db_session) == 0
    assert await _scores(db_session, ["everyone"]) == alone
    # The board counts its own chunks: the same public chunk scores differently for it (the
    # old corpus-wide statistics gave both readers the board's figures).
    board = await _scores(db_session, ["everyone", "board"])
    public_ids = {chunk for chunk, _ in alone["cap=400 few=False"]}
    board_public = {c: s for c, s in board["cap=400 few=False"] if c in public_ids}
    assert board_public and board_public != dict(alone["cap=400 few=False"])

    # A grant makes the chunks count for everyone, a revocation takes them out again, at once.
    await store.update_document_access(db_session, hidden, ["everyone"])
    await db_session.commit()
    assert await statistics_drift(db_session) == 0
    assert await _scores(db_session, ["everyone"]) == board
    await store.update_document_access(db_session, hidden, ["board", "hr"])
    await db_session.commit()
    assert await statistics_drift(db_session) == 0
    assert await _scores(db_session, ["everyone"]) == alone
    assert await _scores(db_session, ["hr"]) != await _scores(db_session, ["finance"])

    await store.delete_chunks(db_session, hidden)
    await db_session.commit()
    assert await statistics_drift(db_session) == 0
    assert await _scores(db_session, ["everyone", "board", "hr"]) == alone
    # The lists no chunk has any more go with their statistics.
    assert await access_sets.prune_access_sets(db_session) == 2
    await db_session.commit()
    left = await db_session.execute(
        text(
            "SELECT (SELECT count(*) FROM term_set_stats WHERE access_set NOT IN "
            "(SELECT id FROM access_sets)) + (SELECT count(*) FROM access_set_stats "
            "WHERE access_set NOT IN (SELECT id FROM access_sets))"
        )
    )
    assert left.scalar_one() == 0


async def test_search_api_answers_the_same_whatever_the_reader_cannot_see(
    settings: Settings, db_session: AsyncSession
) -> None:
    """Through ``/api/v1/search``: scores and retrieval confidence are identical with and
    without a document the caller may not read (small corpus: the dense leg is exact)."""
    user = await make_user(db_session, "alex")
    await insert_document(db_session, PUBLIC, ["everyone"])
    await db_session.commit()
    async with AsyncTestClient(app=make_app(settings)) as client:

        async def search() -> Any:
            response = await client.post(
                "/api/v1/search", json={"query": QUESTION, "k": 5}, headers=user.headers
            )
            assert response.status_code == 200, response.text
            return response.json()

        before = await search()
        assert before["results"]
        await insert_document(db_session, HIDDEN * 4, ["board"])
        await db_session.commit()
        assert await search() == before
