"""The arq jobs with a real ctx: scheduled folder sync, retries with backoff, the bulk path.

Real Postgres (per-test database) and real Redis; a burst worker runs what the jobs queued.
"""

import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import anyio.from_thread
import pytest
from arq import Retry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.db.session import make_session_factory
from app.resources import build_pipeline_deps
from app.settings import Settings
from ingestion.bulk import _load_lock, ingest_large_load, ingest_many, restore_vector_index
from ingestion.bulk_store import drop_vector_index, vector_index_exists
from ingestion.pipeline import PipelineDeps, ingest_document
from ingestion.queue import (
    JOB_INGEST_BULK,
    JOB_INGEST_DOCUMENT,
    QUEUE_NAME,
    IngestionQueue,
    connect_queue,
    ingest_job_id,
)
from ingestion.sources import create_source
from ingestion.worker import (
    WorkerDeps,
    build_worker,
    ingest_bulk_job,
    ingest_document_job,
    retry_delay,
    sweep_job,
    sync_folders_job,
)
from tests.builders import light_models, run_worker_until_idle
from tests.integration.ingestion.conftest import chunk_texts, new_source, status_of, upload, write

pytestmark = pytest.mark.integration


def _with(settings: Settings, redis_url: str, **ingestion: Any) -> Settings:
    return settings.model_copy(
        update={
            "redis_url": redis_url,
            "ingestion": settings.ingestion.model_copy(update=ingestion),
        }
    )


@pytest.fixture
async def queue(redis_url: str) -> AsyncIterator[IngestionQueue]:
    """The ingestion queue on the shared test Redis, emptied for this test."""
    connected = await connect_queue(redis_url)
    await connected.redis.flushdb()
    yield connected
    await connected.redis.flushdb()
    await connected.close()


def _ctx(settings: Settings, engine: AsyncEngine, pipeline: PipelineDeps | None = None) -> dict:  # type: ignore[type-arg]
    pipeline = pipeline or build_pipeline_deps(
        settings, make_session_factory(engine), light_models()
    )
    return {"deps": WorkerDeps(pipeline=pipeline, engine=engine, settings=settings), "job_try": 1}


async def _queued(queue: IngestionQueue) -> list[tuple[str, tuple[Any, ...]]]:
    jobs = await queue.redis.queued_jobs(queue_name=QUEUE_NAME)
    return sorted((job.function, tuple(job.args)) for job in jobs)


async def _folder_source(session: AsyncSession, folder: Path, name: str = "share") -> uuid.UUID:
    source_id = await create_source(
        session, name=name, groups=["everyone"], kind="folder", path=str(folder)
    )
    await session.commit()
    return source_id


async def _doc_ids(session: AsyncSession, source_id: uuid.UUID) -> dict[str, uuid.UUID]:
    rows = await session.execute(
        text("SELECT uri, id FROM documents WHERE source_id = :s"), {"s": source_id}
    )
    return {str(uri): uuid.UUID(str(doc_id)) for uri, doc_id in rows}


async def _hash(session: AsyncSession, document_id: uuid.UUID) -> str:
    value = await session.execute(
        text("SELECT content_hash FROM documents WHERE id = :d"), {"d": document_id}
    )
    return str(value.scalar_one())


# --- the scheduled folder sync ----------------------------------------------------------------


async def test_scheduled_sync_job_picks_up_added_changed_and_deleted_files(
    db_session: AsyncSession,
    settings: Settings,
    engine: AsyncEngine,
    redis_url: str,
    queue: IngestionQueue,
    tmp_path: Path,
) -> None:
    live = _with(settings, redis_url)
    folder = tmp_path / "share"
    write(folder, "a.md", "# Alpha\n\nThe alpha budget is 10 units.\n")
    write(folder, "sub/b.txt", "Bravo notes about the bravo project.\n")
    source_id = await _folder_source(db_session, folder)
    ctx = _ctx(live, engine)

    assert await sync_folders_job(ctx) == 2
    docs = await _doc_ids(db_session, source_id)
    assert set(docs) == {"a.md", "sub/b.txt"}
    assert await _queued(queue) == sorted(
        (JOB_INGEST_DOCUMENT, (str(doc),)) for doc in docs.values()
    )
    await run_worker_until_idle(live, engine, light_models())
    assert await _queued(queue) == []
    for doc in docs.values():
        assert await status_of(db_session, doc) == ("ready", None)
    assert await sync_folders_job(ctx) == 0  # nothing changed: nothing queued

    write(folder, "a.md", "# Alpha\n\nThe alpha budget is 12 units.\n")
    (folder / "sub" / "b.txt").unlink()
    write(folder, "c.html", "<h1>Charlie</h1><p>Charlie text about the charlie plan.</p>")
    assert await sync_folders_job(ctx) == 2
    after = await _doc_ids(db_session, source_id)
    assert set(after) == {"a.md", "c.html"}
    assert after["a.md"] == docs["a.md"]  # changed in place, not a new document
    # The deleted file's chunks are gone as soon as the job's sync committed.
    gone = await db_session.execute(
        text("SELECT count(*) FROM chunks WHERE document_id = :d"), {"d": docs["sub/b.txt"]}
    )
    assert gone.scalar_one() == 0
    # The changed file is queued under its new version's job id.
    new_hash = await _hash(db_session, docs["a.md"])
    assert await queue.redis.exists(f"arq:job:{ingest_job_id(docs['a.md'], new_hash)}")
    await run_worker_until_idle(live, engine, light_models())
    alpha = await chunk_texts(db_session, docs["a.md"])
    assert any("12 units" in t for t in alpha)
    assert not any("10 units" in t for t in alpha)
    assert await status_of(db_session, after["c.html"]) == ("ready", None)
    assert any("charlie plan" in t for t in await chunk_texts(db_session, after["c.html"]))


# --- retries with backoff, then failed with a reason ------------------------------------------


class _UnreachableEmbedder:
    """An embedding backend that is down: every call fails as a transient error would."""

    name = "all-MiniLM-L6-v2"
    dimension = 384

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, texts: Sequence[str]) -> Any:
        self.calls += 1
        raise ConnectionError("embedding service unreachable")


def _failing(deps: PipelineDeps) -> PipelineDeps:
    return PipelineDeps(**{**deps.__dict__, "embedder": _UnreachableEmbedder()})


async def test_failing_ingest_job_backs_off_then_fails_with_a_reason(
    db_session: AsyncSession,
    settings: Settings,
    engine: AsyncEngine,
    redis_url: str,
    deps: PipelineDeps,
) -> None:
    live = _with(settings, redis_url, job_tries=5)
    source_id = await new_source(db_session)
    doc = await upload(db_session, settings, source_id, "a.txt", b"Alpha text to embed.\n")
    pipeline = _failing(deps)
    ctx = _ctx(live, engine, pipeline)
    defers: list[int] = []
    for attempt in range(1, 5):
        ctx["job_try"] = attempt
        with pytest.raises(Retry) as retried:
            await ingest_document_job(ctx, str(doc))
        defers.append(int(retried.value.defer_score or 0))
        status, error = await status_of(db_session, doc)
        assert (status, error) == ("processing", None)  # not failed before the last try
    assert defers == [retry_delay(n) * 1000 for n in range(1, 5)]
    assert defers == sorted(defers) and len(set(defers)) == len(defers)  # growing backoff

    ctx["job_try"] = 5
    assert await ingest_document_job(ctx, str(doc)) == "failed"
    status, error = await status_of(db_session, doc)
    assert status == "failed"
    assert error is not None
    assert "after 5 attempts" in error and "embedding service unreachable" in error
    assert pipeline.embedder.calls == 5  # type: ignore[attr-defined]
    assert await chunk_texts(db_session, doc) == []


async def test_real_worker_retries_then_leaves_the_document_failed_not_stuck(
    db_session: AsyncSession,
    settings: Settings,
    engine: AsyncEngine,
    redis_url: str,
    queue: IngestionQueue,
    deps: PipelineDeps,
) -> None:
    live = _with(settings, redis_url, job_tries=2)
    source_id = await new_source(db_session)
    doc = await upload(db_session, settings, source_id, "a.txt", b"Alpha text to embed.\n")
    assert await queue.enqueue_ingest(doc, await _hash(db_session, doc))
    pipeline = _failing(deps)
    worker = build_worker(live, pipeline, engine, burst=True)
    try:
        await worker.async_run()  # try 1 -> Retry(defer 2 s) -> try 2 -> failed
    finally:
        await worker.close()
    assert pipeline.embedder.calls == 2  # type: ignore[attr-defined]
    status, error = await status_of(db_session, doc)
    assert status == "failed"
    assert error is not None and "after 2 attempts" in error
    assert await _queued(queue) == []


# --- the bulk path, chosen automatically above the threshold ----------------------------------


def _corpus(folder: Path) -> None:
    for i in range(9):
        write(
            folder,
            f"doc{i}.md",
            f"# Document {i}\n\n## Part A\n\n"
            + f"Topic {i} sentence about item {i}. " * (10 + 8 * i),
        )
    write(folder, "broken.pdf", b"%PDF-1.7 truncated")


async def _stored(session: AsyncSession, source_id: uuid.UUID) -> list[tuple[Any, ...]]:
    rows = await session.execute(
        text(
            "SELECT d.uri, d.status, d.error, d.chunks_total, c.position, c.title, "
            "c.heading_path, c.text, c.page, c.access, c.content_hash, c.token_count "
            "FROM documents d LEFT JOIN chunks c ON c.document_id = d.id "
            "WHERE d.source_id = :s ORDER BY d.uri, c.position"
        ),
        {"s": source_id},
    )
    return [tuple(r) for r in rows]


async def test_sync_above_threshold_goes_through_bulk_jobs_with_the_same_chunks(
    db_session: AsyncSession,
    settings: Settings,
    engine: AsyncEngine,
    redis_url: str,
    queue: IngestionQueue,
    tmp_path: Path,
) -> None:
    # The normal path: below the threshold, one job per document.
    normal_settings = _with(settings, redis_url, bulk_threshold_documents=100)
    _corpus(tmp_path / "normal")
    normal = await _folder_source(db_session, tmp_path / "normal", "normal")
    assert await sync_folders_job(_ctx(normal_settings, engine)) == 10
    queued = await _queued(queue)
    assert {name for name, _ in queued} == {JOB_INGEST_DOCUMENT} and len(queued) == 10
    await run_worker_until_idle(normal_settings, engine, light_models())

    # The same files in a second source, above the threshold: bulk jobs of at most 4.
    bulk_settings = _with(
        settings,
        redis_url,
        bulk_threshold_documents=5,
        bulk_job_documents=4,
        bulk_threshold_chunks=1,  # and their writes through COPY
    )
    _corpus(tmp_path / "bulk")
    bulk = await _folder_source(db_session, tmp_path / "bulk", "bulk")
    assert await sync_folders_job(_ctx(bulk_settings, engine)) == 10
    queued = await _queued(queue)
    assert [name for name, _ in queued] == [JOB_INGEST_BULK] * 3
    ids = await _doc_ids(db_session, bulk)
    assert sorted(str(d) for _, (batch,) in queued for d in batch) == sorted(
        str(d) for d in ids.values()
    )
    assert sorted(len(batch) for _, (batch,) in queued) == [2, 4, 4]
    # Re-running the schedule while the bulk jobs wait queues nothing twice.
    assert await sync_folders_job(_ctx(bulk_settings, engine)) == 0
    await run_worker_until_idle(bulk_settings, engine, light_models())

    expected = [row[1:] for row in await _stored(db_session, normal)]
    got = [row[1:] for row in await _stored(db_session, bulk)]
    assert got == expected
    statuses = {row[0]: row[1] for row in await _stored(db_session, bulk)}
    assert statuses.pop("broken.pdf") == "failed"
    assert set(statuses.values()) == {"ready"}
    assert await vector_index_exists(db_session)
    stats = await db_session.execute(
        text(
            "SELECT (SELECT count(*) FROM chunks) = (SELECT chunk_count FROM corpus_stats),"
            " (SELECT count(*) FROM chunk_terms) = (SELECT sum(df) FROM term_stats)"
        )
    )
    assert tuple(stats.one()) == (True, True)


async def test_large_load_builds_the_vector_index_once_after_loading(
    db_session: AsyncSession, settings: Settings, deps: PipelineDeps
) -> None:
    source_id = await new_source(db_session)
    first = [
        await upload(db_session, settings, source_id, f"a{i}.txt", f"Alpha {i} text.\n".encode())
        for i in range(3)
    ]
    index_during_load: list[bool] = []

    async def index_exists() -> bool:
        async with deps.session_factory() as session:
            return await vector_index_exists(session)

    def watch(texts: Sequence[str], mode: str) -> list[str]:  # runs in the parsing thread
        index_during_load.append(anyio.from_thread.run(index_exists))
        return list(texts)

    watched = PipelineDeps(**{**deps.__dict__, "pii_hook": watch})
    # Into an empty table: the index is dropped for the load and rebuilt after it.
    outcomes = await ingest_large_load(watched, first, reindex_ratio=0.5)
    assert [o.status for o in outcomes] == ["ready"] * 3
    assert index_during_load == [False] * 3
    assert await vector_index_exists(db_session)

    # A small load next to what is stored keeps the index (ratio: at least 100x the stored).
    index_during_load.clear()
    more = await upload(db_session, settings, source_id, "b.txt", b"Bravo text.\n")
    assert [o.status for o in await ingest_large_load(watched, [more], reindex_ratio=100)] == [
        "ready"
    ]
    assert index_during_load == [True]


async def test_missing_vector_index_is_rebuilt_only_when_no_load_runs(
    db_session: AsyncSession, deps: PipelineDeps
) -> None:
    await drop_vector_index(db_session)  # as a bulk load killed mid-run leaves it
    await db_session.commit()
    async with _load_lock(deps.session_factory):  # a load is running
        assert not await restore_vector_index(deps.session_factory)
        assert not await vector_index_exists(db_session)
    assert await restore_vector_index(deps.session_factory)
    assert await vector_index_exists(db_session)
    assert not await restore_vector_index(deps.session_factory)  # present: nothing to do


# --- repaired input: ready, with the warning in the status ------------------------------------


@pytest.mark.parametrize("path", ["single", "bulk"])
async def test_stray_invalid_byte_is_ready_with_a_warning_in_the_status(
    db_session: AsyncSession, settings: Settings, deps: PipelineDeps, path: str
) -> None:
    source_id = await new_source(db_session)
    body = "Les congés sont payés.\n".encode() * 4
    doc = await upload(db_session, settings, source_id, "c.txt", body + b"caf\xe9 noir.\n")
    clean = await upload(db_session, settings, source_id, "d.txt", "Un été.\n".encode())
    if path == "single":
        for document_id in (doc, clean):
            assert (await ingest_document(deps, document_id)).status == "ready"
    else:
        outcomes = await ingest_many(deps, [doc, clean])
        assert [o.status for o in outcomes] == ["ready", "ready"]
    status, error = await status_of(db_session, doc)
    assert status == "ready"
    assert error == (
        "ready with a warning: 1 invalid UTF-8 byte sequence replaced with U+FFFD "
        f"(first at line 5, byte {len(body) + 3})"
    )
    assert await status_of(db_session, clean) == ("ready", None)
    texts = await chunk_texts(db_session, doc)
    assert any("congés sont payés" in t and "caf\ufffd noir" in t for t in texts)

    # Fixing the file clears the warning with the new version.
    fixed = await upload(db_session, settings, source_id, "c.txt", body + "café noir.\n".encode())
    assert fixed == doc
    assert (await ingest_document(deps, doc)).status == "ready"
    assert await status_of(db_session, doc) == ("ready", None)


async def test_sweeper_leaves_documents_waiting_in_a_queued_bulk_job_alone(
    db_session: AsyncSession,
    settings: Settings,
    engine: AsyncEngine,
    redis_url: str,
    queue: IngestionQueue,
) -> None:
    live = _with(settings, redis_url)
    source_id = await new_source(db_session)
    waiting = [
        await upload(db_session, settings, source_id, f"w{i}.txt", f"Waiting {i}.\n".encode())
        for i in range(2)
    ]
    lost = await upload(db_session, settings, source_id, "lost.txt", b"Lost job.\n")
    await queue.enqueue_bulk([(doc, await _hash(db_session, doc)) for doc in waiting])
    await db_session.execute(  # all older than stuck_after_seconds, as behind a long queue
        text("UPDATE documents SET updated_at = now() - interval '1 day'")
    )
    await db_session.commit()
    assert await queue.pending_bulk_documents() == set(waiting)

    assert await sweep_job(_ctx(live, engine)) == 1  # only the document no job holds
    queued = await _queued(queue)
    assert (JOB_INGEST_DOCUMENT, (str(lost),)) in queued
    assert [name for name, _ in queued].count(JOB_INGEST_DOCUMENT) == 1

    await queue.redis.flushdb()  # Redis lost everything: now the sweeper takes them all
    assert await sweep_job(_ctx(live, engine)) == 3


async def test_failing_bulk_job_backs_off_then_hands_documents_to_their_own_jobs(
    db_session: AsyncSession,
    settings: Settings,
    engine: AsyncEngine,
    redis_url: str,
    queue: IngestionQueue,
    deps: PipelineDeps,
) -> None:
    live = _with(settings, redis_url, job_tries=3)
    source_id = await new_source(db_session)
    docs = [
        await upload(db_session, settings, source_id, f"b{i}.txt", f"Bravo {i} text.\n".encode())
        for i in range(3)
    ]
    ctx = _ctx(live, engine, _failing(deps))
    defers = []
    for attempt in (1, 2):
        ctx["job_try"] = attempt
        with pytest.raises(Retry) as retried:
            await ingest_bulk_job(ctx, [str(d) for d in docs])
        defers.append(retried.value.defer_score)
    assert defers == [2000, 4000]
    ctx["job_try"] = 3
    assert (
        await ingest_bulk_job(ctx, [str(d) for d in docs]) == "fell back to 3 single-document jobs"
    )
    assert await _queued(queue) == sorted((JOB_INGEST_DOCUMENT, (str(d),)) for d in docs)
    # Their own jobs (with a working embedder now) bring them to ready.
    await run_worker_until_idle(live, engine, light_models())
    for doc in docs:
        assert await status_of(db_session, doc) == ("ready", None)
