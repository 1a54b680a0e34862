"""Sentence vectors stored at ingestion serve the composer: a passage's first question embeds
none of its sentences, a vector serves only the sentence whose digest it carries, and answers
are the same as with sentences embedded on the request path."""

import numpy as np
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.chat.service import answer_question
from app.resources import build_chat_deps
from app.settings import Settings
from retrieval.quotable import quotable_sentences, sentence_key
from retrieval.sentence_vectors import stored_sentence_vectors
from tests.builders import light_models
from tests.integration.chat.conftest import activate_version, ingest, make_principal

HANDBOOK = """# Travel policy

## Booking

Employees book every business trip through the travel desk at least ten days ahead.
Economy class is the rule for flights shorter than six hours.
Hotel rooms may cost up to 140 euros a night in most cities.

## Expenses

Receipts for every expense must be uploaded within thirty days of the trip.
Meals are reimbursed up to 45 euros a day without a receipt for each item.
"""
QUESTION = "How many days ahead must a business trip be booked?"


async def test_a_first_question_reads_stored_vectors_instead_of_embedding(
    settings: Settings, engine: AsyncEngine, db_session: AsyncSession
) -> None:
    assert settings.ingestion.sentence_vectors  # on by default
    models = light_models()
    await ingest(settings, engine, models, db_session, {"travel.md": HANDBOOK})
    await activate_version(db_session, answerer="composer", threshold=0.0)
    principal = await make_principal(db_session)

    # What was stored is what the model gives for each quotable sentence (to the 7 significant
    # digits the text form written at ingestion keeps), under that sentence's digest.
    rows = await db_session.execute(
        text("SELECT id, title, heading_path, text FROM chunks ORDER BY position")
    )
    chunks = list(rows)
    stored = await stored_sentence_vectors(db_session, [c.id for c in chunks])
    sentences = [
        s.text for c in chunks for s in quotable_sentences(c.title, c.heading_path, c.text)
    ]
    assert sentences and set(stored) == {sentence_key(s) for s in sentences}
    expected = models.embedder.embed(sentences)
    for sentence, vector in zip(sentences, expected, strict=True):
        assert np.allclose(stored[sentence_key(sentence)], vector, rtol=1e-6, atol=1e-7)

    warm = build_chat_deps(settings, models)
    first = await answer_question(db_session, warm, principal, message=QUESTION)
    assert first.trace["stored_sentence_vectors"] > 0
    assert first.trace["sentences_embedded"] == 0
    assert "ten days ahead" in first.answer and first.citations
    # Asked again, every vector is cached in the process: no statement, nothing embedded.
    again = await answer_question(db_session, warm, principal, message=QUESTION)
    assert again.trace["stored_sentence_vectors"] == 0
    assert again.trace["sentences_embedded"] == 0
    assert again.answer == first.answer

    # A digest that names no sentence is never used: the composer embeds, and answers the same.
    await db_session.execute(text("UPDATE chunk_sentences SET text_hash = '\\x00'::bytea"))
    await db_session.commit()
    cold = build_chat_deps(settings, models)
    unmatched = await answer_question(db_session, cold, principal, message=QUESTION)
    assert unmatched.trace["sentences_embedded"] > 0
    assert unmatched.answer == first.answer
