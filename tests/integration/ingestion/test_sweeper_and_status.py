"""Status, progress heartbeat and the sweeper that rescues documents a crashed job left behind."""

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.settings import Settings
from ingestion import store
from ingestion.pipeline import IngestOutcome, PipelineDeps, begin_job, ingest_document
from ingestion.sweeper import sweep_stuck_documents
from tests.integration.ingestion.conftest import new_source, status_of, upload

pytestmark = pytest.mark.integration


async def _age(session: AsyncSession, document_id: uuid.UUID, seconds: int) -> None:
    await session.execute(
        text("UPDATE documents SET updated_at = now() - make_interval(secs => :s) WHERE id = :d"),
        {"s": seconds, "d": document_id},
    )
    await session.commit()


async def test_progress_is_a_heartbeat(db_session: AsyncSession, settings: Settings) -> None:
    source_id = await new_source(db_session)
    doc_id = await upload(db_session, settings, source_id, "a.txt", b"alpha text\n")
    await _age(db_session, doc_id, 3600)
    await store.set_progress(db_session, doc_id, 3, 10)
    await db_session.commit()
    row = await db_session.execute(
        text(
            "SELECT chunks_done, chunks_total, now() - updated_at < interval '5 s' FROM documents WHERE id = :d"
        ),
        {"d": doc_id},
    )
    assert tuple(row.one()) == (3, 10, True)


async def test_crashed_job_is_picked_up_after_stuck_after_seconds(
    db_session: AsyncSession, settings: Settings, deps: PipelineDeps
) -> None:
    source_id = await new_source(db_session)
    crashed = await upload(db_session, settings, source_id, "a.txt", b"alpha text\n")
    alive = await upload(db_session, settings, source_id, "b.txt", b"bravo text\n")
    for doc in (crashed, alive):
        job = await begin_job(deps, doc)  # processing ... then the worker dies (kill -9)
        assert not isinstance(job, IngestOutcome)
    stuck_after = settings.ingestion.stuck_after_seconds
    await _age(db_session, crashed, stuck_after + 5)
    await _age(db_session, alive, stuck_after - 30)  # heartbeat recent: still running
    enqueued: list[tuple[uuid.UUID, str]] = []

    async def enqueue(document_id: uuid.UUID, content_hash: str) -> bool:
        enqueued.append((document_id, content_hash))
        return True

    count = await sweep_stuck_documents(
        deps.session_factory, enqueue, older_than_seconds=stuck_after, max_attempts=5
    )
    assert count == 1
    assert [d for d, _ in enqueued] == [crashed]
    assert (await ingest_document(deps, crashed)).status == "ready"
    assert (await status_of(db_session, crashed))[0] == "ready"


async def test_document_that_keeps_crashing_fails_with_a_reason(
    db_session: AsyncSession, settings: Settings, deps: PipelineDeps
) -> None:
    source_id = await new_source(db_session)
    doc = await upload(db_session, settings, source_id, "a.txt", b"alpha text\n")
    for _ in range(3):
        await begin_job(deps, doc)
    await _age(db_session, doc, 10_000)

    async def enqueue(document_id: uuid.UUID, content_hash: str) -> bool:
        raise AssertionError("must not be re-enqueued")

    await sweep_stuck_documents(
        deps.session_factory, enqueue, older_than_seconds=60, max_attempts=3
    )
    status, error = await status_of(db_session, doc)
    assert status == "failed"
    assert error is not None
    assert "after 3 attempts" in error
