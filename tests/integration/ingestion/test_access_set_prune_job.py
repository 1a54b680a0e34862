"""The worker's scheduled prune of access lists no chunk has any more."""

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.db.session import make_session_factory
from app.resources import build_pipeline_deps
from app.settings import Settings
from ingestion import store
from ingestion.worker import WorkerDeps, build_worker, prune_access_sets_job
from tests.builders import light_models
from tests.integration.retrieval.documents import insert_document

pytestmark = pytest.mark.integration


async def test_the_worker_prunes_unused_access_sets_on_its_schedule(
    db_session: AsyncSession, settings: Settings, engine: AsyncEngine, redis_url: str
) -> None:
    live = settings.model_copy(
        update={
            "redis_url": redis_url,
            "ingestion": settings.ingestion.model_copy(
                update={"access_set_prune_interval_seconds": 600}
            ),
        }
    )
    pipeline = build_pipeline_deps(live, make_session_factory(engine), light_models())
    worker = build_worker(live, pipeline, engine, burst=True)
    prune = next(job for job in worker.cron_jobs if "prune_access_sets" in job.name)
    assert prune.minute == {0, 10, 20, 30, 40, 50}

    doc = await insert_document(db_session, ["quarterly harbour figures"], ["board"])
    await store.update_document_access(db_session, doc, ["finance"])
    await db_session.commit()
    deps = WorkerDeps(pipeline=pipeline, engine=engine, settings=live)
    assert await prune_access_sets_job({"deps": deps}) == 1
    assert await prune_access_sets_job({"deps": deps}) == 0
    lists = (await db_session.execute(text("SELECT access FROM access_sets"))).scalars().all()
    assert [list(a) for a in lists] == [["finance"]]
