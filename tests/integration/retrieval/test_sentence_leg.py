"""The sentence leg on real Postgres + pgvector: best-sentence cosine, fallback, access, cascade."""

import uuid

import numpy as np
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from ingestion import store
from ingestion.vectors import sentence_texts
from retrieval.retriever import retrieve
from retrieval.sentence_leg import sentence_scores
from retrieval.types import RetrievalConfig
from tests.integration.retrieval.documents import EMBEDDER, insert_document

pytestmark = pytest.mark.integration

LONG = (
    "Shipping is free for orders above fifty euros in every region. "
    "Gift cards never expire and can be combined with discounts. "
    "The warranty covers parts and labour for two years. "
    "Our stores open at nine on weekdays and at ten on Sundays."
)
QUERY = "warranty covers parts and labour"


async def _chunk_ids(session: AsyncSession, document_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.execute(
        text("SELECT id FROM chunks WHERE document_id = :d ORDER BY position"), {"d": document_id}
    )
    return list(rows.scalars())


async def test_a_chunk_scores_by_its_best_sentence(db_session: AsyncSession) -> None:
    doc = await insert_document(db_session, [LONG], ["everyone"])
    bare = await insert_document(db_session, [LONG], ["everyone"], sentences=False)
    await db_session.commit()
    (with_rows,) = await _chunk_ids(db_session, doc)
    (without_rows,) = await _chunk_ids(db_session, bare)
    query = EMBEDDER.embed([QUERY])[0]
    hits = await sentence_scores(
        db_session, query.tolist(), [with_rows, without_rows], groups=["everyone"]
    )
    by_id = {h.chunk_id: h.score for h in hits}
    best = max(float(v @ query) for v in EMBEDDER.embed(sentence_texts(LONG)))
    chunk = float(EMBEDDER.embed([LONG])[0] @ query)
    assert by_id[with_rows] == pytest.approx(best, abs=1e-5)
    # No sentence rows (a chunk indexed before they existed): the chunk's own vector.
    assert by_id[without_rows] == pytest.approx(chunk, abs=1e-5)
    assert best > chunk + 0.2  # the answering sentence is not diluted by the other three
    assert [h.chunk_id for h in hits] == [with_rows, without_rows]


async def test_the_sentence_leg_never_scores_an_unreadable_chunk(db_session: AsyncSession) -> None:
    secret = await insert_document(db_session, [LONG], ["hr"])
    await db_session.commit()
    ids = await _chunk_ids(db_session, secret)
    query = EMBEDDER.embed([QUERY])[0].tolist()
    assert await sentence_scores(db_session, query, ids, groups=["everyone"]) == []
    assert len(await sentence_scores(db_session, query, ids, groups=["hr", "x"])) == 1
    # Deleting the document's chunks deletes their sentence vectors with them.
    await store.delete_chunks(db_session, secret)
    await db_session.commit()
    left = await db_session.execute(text("SELECT count(*) FROM chunk_sentences"))
    assert left.scalar_one() == 0


async def test_retrieve_fuses_the_sentence_leg_by_its_weight(db_session: AsyncSession) -> None:
    """With all weight on the sentence leg, the passage with the answering sentence wins over
    a passage that matches the query words more often but never in one sentence."""
    diluted = await insert_document(db_session, [LONG], ["everyone"])
    spread = await insert_document(
        db_session,
        [
            "Warranty terms differ by country and by product family. "
            "Parts ship from the central depot within a week. "
            "Labour rates are published on the pricing page and covers change yearly."
        ],
        ["everyone"],
    )
    await db_session.commit()
    base = RetrievalConfig(k=2, fusion="zscore")
    only_sentences = RetrievalConfig(
        k=2, fusion="zscore", dense_weight=0.0, keyword_weight=0.0, sentence_weight=1.0
    )
    off = await retrieve(db_session, EMBEDDER, QUERY, groups=["everyone"], config=base)
    assert "sentence_ms" not in off.timings_ms  # weight 0: the statement is not run
    on = await retrieve(db_session, EMBEDDER, QUERY, groups=["everyone"], config=only_sentences)
    assert "sentence_ms" in on.timings_ms
    assert [c.document_id for c in on.chunks] == [diluted, spread]
    best = {
        doc: max(
            float(v @ EMBEDDER.embed([QUERY])[0]) for v in EMBEDDER.embed(sentence_texts(c.text))
        )
        for doc, c in ((c.document_id, c) for c in on.chunks)
    }
    assert best[diluted] > best[spread]
    assert np.isfinite([c.score for c in on.chunks]).all()
