"""Stored upload files: a deleted or replaced document's bytes are erased by the worker's prune,
never a file a document still names or one whose upload has not committed yet."""

import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.db.session import make_session_factory
from app.resources import build_pipeline_deps
from app.settings import Settings
from ingestion.sources import delete_document
from ingestion.uploads import prune_unreferenced_uploads
from ingestion.worker import WorkerDeps, build_worker, prune_uploads_job
from tests.builders import light_models
from tests.integration.ingestion.conftest import new_source, register, upload

pytestmark = pytest.mark.integration


async def _file_of(session: AsyncSession, document_id: uuid.UUID) -> Path:
    found = await session.execute(
        text("SELECT file_path FROM documents WHERE id = :id"), {"id": document_id}
    )
    return Path(found.scalar_one())


def _stored(settings: Settings) -> set[str]:
    return {p.name for p in settings.uploads_dir.rglob("*") if p.is_file()}


async def test_prune_erases_only_files_no_document_names(
    db_session: AsyncSession, settings: Settings, engine: AsyncEngine, redis_url: str
) -> None:
    source = await new_source(db_session)
    kept = await upload(db_session, settings, source, "kept.md", b"# Kept\n\nStays readable.\n")
    gone = await upload(db_session, settings, source, "gone.md", b"# Gone\n\nSSN 078-05-1120.\n")
    replaced = await upload(db_session, settings, source, "policy.md", b"# Policy\n\nOld text.\n")
    kept_file, gone_file = await _file_of(db_session, kept), await _file_of(db_session, gone)
    old_policy = await _file_of(db_session, replaced)
    await upload(db_session, settings, source, "policy.md", b"# Policy\n\nNew text.\n")
    new_policy = await _file_of(db_session, replaced)
    await delete_document(db_session, gone)
    await db_session.commit()
    crashed = kept_file.with_name("deadbeef.md.part")  # a write that never finished
    crashed.write_bytes(b"half")
    assert old_policy != new_policy and old_policy.exists() and gone_file.exists()

    live = settings.model_copy(update={"redis_url": redis_url})
    deps = build_pipeline_deps(live, make_session_factory(engine), light_models())
    worker_deps = WorkerDeps(pipeline=deps, engine=engine, settings=live)
    assert await prune_uploads_job({"deps": worker_deps}) == 3
    assert _stored(settings) == {kept_file.name, new_policy.name}
    assert kept_file.read_bytes() == b"# Kept\n\nStays readable.\n"
    assert await prune_uploads_job({"deps": worker_deps}) == 0

    # Deleting the last document of a source leaves no folder behind.
    for document_id in (kept, replaced):
        await delete_document(db_session, document_id)
    await db_session.commit()
    assert await prune_uploads_job({"deps": worker_deps}) == 2
    assert list(settings.uploads_dir.iterdir()) == []

    worker = build_worker(live, deps, engine, burst=True)
    prune = next(job for job in worker.cron_jobs if "prune_uploads" in job.name)
    assert prune.minute == {0, 10, 20, 30, 40, 50}  # the default, every 600 s


async def test_a_file_whose_upload_has_not_committed_is_never_pruned(
    db_session: AsyncSession, settings: Settings, engine: AsyncEngine
) -> None:
    source = await new_source(db_session)
    async with AsyncSession(engine) as writer:
        pending = await register(writer, settings, source, "pending.md", b"# Pending\n\nOpen.\n")
        assert len(_stored(settings)) == 1  # written, its row not yet visible to anyone else
        # While the upload's transaction is open a prune skips its round (without waiting,
        # which would queue every later upload behind it) and touches nothing.
        async with AsyncSession(engine) as pruner:
            assert await prune_unreferenced_uploads(pruner, settings.uploads_dir) is None
        assert len(_stored(settings)) == 1
        await writer.commit()
    async with AsyncSession(engine) as pruner:
        assert await prune_unreferenced_uploads(pruner, settings.uploads_dir) == 0
        await pruner.commit()
    assert (await _file_of(db_session, pending.id)).exists()

    # An upload that rolls back leaves a file nobody names: the next prune erases it.
    async with AsyncSession(engine) as writer:
        await register(writer, settings, source, "abandoned.md", b"# Abandoned\n\nRolled back.\n")
        await writer.rollback()
    assert len(_stored(settings)) == 2
    async with AsyncSession(engine) as pruner:
        assert await prune_unreferenced_uploads(pruner, settings.uploads_dir) == 1
        await pruner.commit()
    assert len(_stored(settings)) == 1


async def test_files_are_matched_by_place_so_a_moved_data_dir_loses_nothing(
    db_session: AsyncSession, settings: Settings
) -> None:
    source = await new_source(db_session)
    document_id = await upload(db_session, settings, source, "a.md", b"# A\n\nText.\n")
    stored = await _file_of(db_session, document_id)
    # The row names the file under an older absolute data directory.
    await db_session.execute(
        text("UPDATE documents SET file_path = :p WHERE id = :id"),
        {"p": str(Path("/old/data/uploads") / stored.parent.name / stored.name), "id": document_id},
    )
    await db_session.commit()
    assert await prune_unreferenced_uploads(db_session, settings.uploads_dir) == 0
    await db_session.commit()
    assert stored.exists()
