"""``groundwork index sentence-vectors``: chunks indexed without (digested) sentence vectors get
them in place, exactly as ingestion would have stored them, and a second run has nothing to do."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.settings import Settings
from ingestion.pipeline import PipelineDeps, ingest_document
from ingestion.sentence_backfill import backfill_sentence_vectors
from ingestion.vectors import sentence_texts
from retrieval.quotable import sentence_key
from tests.integration.ingestion.conftest import new_source, upload

MANUAL = b"""# Field manual

## Setup

Mount the sensor at least two metres above the ground before the first reading.
Connect the battery pack and wait for the green light to blink three times.

## Care

Clean the lens with a dry cloth once a week during the dusty season.
Replace the seal every spring, because cracked seals let moisture reach the board.
"""

DIGESTS = text(
    "SELECT c.document_id, c.position, c.title, c.heading_path, c.text, "
    "array_remove(array_agg(s.text_hash ORDER BY s.position), NULL), count(s.chunk_id) "
    "FROM chunks c LEFT JOIN chunk_sentences s ON s.chunk_id = c.id GROUP BY c.id"
)


async def test_backfill_stores_what_ingestion_would_have(
    db_session: AsyncSession, settings: Settings, deps: PipelineDeps
) -> None:
    off = PipelineDeps(
        **{
            **deps.__dict__,
            "settings": deps.settings.model_copy(update={"sentence_vectors": False}),
        }
    )
    source_id = await new_source(db_session)
    first = await upload(db_session, settings, source_id, "a.md", MANUAL)
    second = await upload(
        db_session, settings, source_id, "b.md", MANUAL.replace(b"sensor", b"probe")
    )
    await ingest_document(off, first)
    await ingest_document(deps, second)  # stored with digests: left alone
    # Rows from before digests existed: present, but no composer may use them.
    await db_session.execute(
        text(
            "UPDATE chunk_sentences SET text_hash = NULL WHERE chunk_id IN "
            "(SELECT id FROM chunks WHERE document_id = :d AND position = 0)"
        ),
        {"d": second},
    )
    await db_session.commit()

    report = await backfill_sentence_vectors(deps.session_factory, deps.embedder, batch=1)

    rows = list(await db_session.execute(DIGESTS))
    needed = 0
    needed_chunks = 0
    for document_id, position, title, heading, body, digests, count in rows:
        keys = [sentence_key(t) for t in sentence_texts(body, title, heading)]
        assert [bytes(d) for d in digests] == keys
        assert count == len(keys)  # the digest-less rows were replaced, not added to
        if document_id == first or position == 0:
            needed += len(keys)
            needed_chunks += bool(keys)
    assert needed > 0
    assert (report.chunks, report.sentences) == (needed_chunks, needed)
    again = await backfill_sentence_vectors(deps.session_factory, deps.embedder, batch=64)
    assert (again.chunks, again.sentences) == (0, 0)
