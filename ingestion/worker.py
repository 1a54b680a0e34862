"""The ingestion worker: arq settings, start-up of heavy resources, and thin job adapters.

Jobs are plain functions over ``WorkerDeps`` (typed), built once at start-up; arq's
``ctx`` dict is touched only here. Jobs may run more than once; the pipeline is
idempotent. Transient failures retry with exponential backoff; after the last try the
document is ``failed`` with the reason (a bulk job hands its documents to their own jobs).
Folder syncs above ``bulk_threshold_documents`` are queued as bulk jobs.
"""

import uuid
from dataclasses import dataclass
from typing import Any

from arq import Retry
from arq.cron import cron
from arq.worker import Worker, func
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.errors import GroundworkError
from app.logging import get_logger
from app.settings import Settings
from ingestion.access_sets import prune_access_sets
from ingestion.bulk import ingest_large_load, restore_vector_index
from ingestion.folders import folder_source_ids, sync_folder
from ingestion.pipeline import PipelineDeps, give_up, ingest_document
from ingestion.queue import (
    JOB_INGEST_BULK,
    JOB_INGEST_DOCUMENT,
    QUEUE_NAME,
    connect_queue,
    redis_settings,
)
from ingestion.sweeper import sweep_stuck_documents, unfinished_versions
from ingestion.uploads import prune_unreferenced_uploads

_TRANSIENT = (OperationalError, DBAPIError, OSError, ConnectionError)

log = get_logger(__name__)


@dataclass
class WorkerDeps:
    pipeline: PipelineDeps
    engine: AsyncEngine
    settings: Settings


def _deps(ctx: dict[str, Any]) -> WorkerDeps:
    deps: WorkerDeps = ctx["deps"]
    return deps


async def ingest_document_job(ctx: dict[str, Any], document_id: str) -> str:
    try:
        parsed = uuid.UUID(str(document_id))
    except ValueError:
        log.error("ingestion.bad_payload", payload_type=type(document_id).__name__)
        return "rejected: document id is not a UUID"
    deps = _deps(ctx)
    try:
        outcome = await ingest_document(deps.pipeline, parsed)
    except _TRANSIENT as exc:
        attempt = int(ctx.get("job_try", 1))
        tries = deps.settings.ingestion.job_tries
        if attempt >= tries:
            # The last try: the document ends failed with a reason, not stuck in processing.
            reason = (
                f"ingestion kept failing after {attempt} attempts ({_describe(exc)}); "
                "re-sync to retry"
            )
            log.error("ingestion.gave_up", document_id=str(parsed), attempts=attempt)
            return (await give_up(deps.pipeline, parsed, reason)).status
        log.warning(
            "ingestion.retry", document_id=str(parsed), attempt=attempt, error=type(exc).__name__
        )
        raise Retry(defer=retry_delay(attempt)) from exc
    return outcome.status


def retry_delay(attempt: int) -> int:
    """Seconds before try ``attempt + 1``: exponential, capped at a minute."""
    return int(min(2**attempt, 60))


def _describe(exc: BaseException) -> str:
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {detail[0][:200]}" if detail else type(exc).__name__


async def ingest_bulk_job(ctx: dict[str, Any], document_ids: list[str]) -> str:
    """Ingest a batch through the bulk path (COPY, cross-document embedding, deferred HNSW).
    Per-document status and idempotency are the same as one job per document; after the last
    try, the documents not yet done fall back to their own jobs (own retries, own reasons)."""
    try:
        ids = [uuid.UUID(str(value)) for value in document_ids]
    except (TypeError, ValueError):
        log.error("ingestion.bad_payload", payload_type=type(document_ids).__name__)
        return "rejected: document ids are not UUIDs"
    deps = _deps(ctx)
    try:
        outcomes = await ingest_large_load(
            deps.pipeline, ids, reindex_ratio=deps.settings.ingestion.bulk_reindex_ratio
        )
    except _TRANSIENT as exc:
        attempt = int(ctx.get("job_try", 1))
        if attempt < deps.settings.ingestion.job_tries:
            log.warning("ingestion.bulk_retry", attempt=attempt, error=type(exc).__name__)
            raise Retry(defer=retry_delay(attempt)) from exc
        versions = await unfinished_versions(deps.pipeline.session_factory, ids)
        queue = await connect_queue(_redis_url(deps.settings))
        try:
            for document_id, content_hash in versions:
                await queue.enqueue_ingest(document_id, content_hash)
        finally:
            await queue.close()
        log.error("ingestion.bulk_fell_back", documents=len(versions), attempts=attempt)
        return f"fell back to {len(versions)} single-document jobs"
    ready = sum(1 for outcome in outcomes if outcome.status == "ready")
    failed = sum(1 for outcome in outcomes if outcome.status == "failed")
    return f"{ready} ready, {failed} failed of {len(ids)}"


async def sweep_job(ctx: dict[str, Any]) -> int:
    deps = _deps(ctx)
    # A bulk load killed after dropping the HNSW index: rebuild it once no load is running.
    await restore_vector_index(deps.pipeline.session_factory)
    queue = await connect_queue(_redis_url(deps.settings))
    try:
        return await sweep_stuck_documents(
            deps.pipeline.session_factory,
            queue.enqueue_ingest,
            older_than_seconds=deps.settings.ingestion.stuck_after_seconds,
            max_attempts=deps.settings.ingestion.job_tries,
            pending=await queue.pending_bulk_documents(),
        )
    finally:
        await queue.close()


async def prune_access_sets_job(ctx: dict[str, Any]) -> int:
    """Scheduled: drop the access lists no chunk has any more; returns how many."""
    deps = _deps(ctx)
    async with deps.pipeline.session_factory.begin() as session:
        pruned = await prune_access_sets(session)
    if pruned:
        log.info("ingestion.access_sets_pruned", count=pruned)
    return pruned


async def prune_uploads_job(ctx: dict[str, Any]) -> int:
    """Scheduled: erase stored upload files no document names any more; returns how many
    (0 when an upload was in flight: the next run tries again)."""
    deps = _deps(ctx)
    async with deps.pipeline.session_factory.begin() as session:
        pruned = await prune_unreferenced_uploads(session, deps.settings.uploads_dir)
    if pruned is None:
        log.info("ingestion.uploads_prune_skipped", reason="upload in flight")
    elif pruned:
        log.info("ingestion.uploads_pruned", count=pruned)
    return pruned or 0


async def sync_folders_job(ctx: dict[str, Any]) -> int:
    """Scheduled sync of every folder source; returns the number of documents enqueued.
    A source with ``bulk_threshold_documents`` or more to ingest goes as bulk jobs."""
    deps = _deps(ctx)
    factory = deps.pipeline.session_factory
    async with factory() as session:
        source_ids = await folder_source_ids(session)
    queue = await connect_queue(_redis_url(deps.settings))
    enqueued = 0
    try:
        for source_id in source_ids:
            try:
                async with factory.begin() as session:
                    report = await sync_folder(
                        session,
                        source_id=source_id,
                        uploads_dir=deps.settings.uploads_dir,
                        max_bytes=deps.settings.ingestion.max_upload_bytes,
                    )
            except GroundworkError as exc:
                log.warning(
                    "ingestion.folder_sync_failed", source_id=str(source_id), reason=exc.message
                )
                continue
            enqueued += await queue.enqueue_many(
                [(document.id, document.content_hash) for document in report.to_enqueue],
                bulk_threshold=deps.settings.ingestion.bulk_threshold_documents,
                batch_size=deps.settings.ingestion.bulk_job_documents,
            )
    finally:
        await queue.close()
    return enqueued


def _every(seconds: int) -> dict[str, set[int]]:
    """cron fields that fire about every ``seconds`` (minute granularity above a minute)."""
    if seconds < 60:
        return {"second": set(range(0, 60, max(seconds, 5)))}
    step = max(1, min(seconds // 60, 60))
    return {"minute": set(range(0, 60, step)), "second": {0}}


def _redis_url(settings: Settings) -> str:
    if settings.redis_url is None:
        raise RuntimeError("the worker needs REDIS_URL (groundwork run sets it for embedded Redis)")
    return settings.redis_url


def build_worker(
    settings: Settings, pipeline: PipelineDeps, engine: AsyncEngine, *, burst: bool = False
) -> Worker:
    """An arq worker over ready-made dependencies (used by tests and by ``run_worker``)."""
    deps = WorkerDeps(pipeline=pipeline, engine=engine, settings=settings)

    async def on_startup(ctx: dict[str, Any]) -> None:
        ctx["deps"] = deps

    return Worker(
        functions=[
            func(
                ingest_document_job,
                name=JOB_INGEST_DOCUMENT,
                max_tries=settings.ingestion.job_tries,
            ),
            func(
                ingest_bulk_job,
                name=JOB_INGEST_BULK,
                max_tries=settings.ingestion.job_tries,
            ),
        ],
        cron_jobs=[
            cron(
                sweep_job,
                **_every(settings.ingestion.sweep_interval_seconds),  # type: ignore[arg-type]
                run_at_startup=True,
                unique=True,
            ),
            cron(
                sync_folders_job,
                **_every(settings.ingestion.folder_sync_interval_seconds),  # type: ignore[arg-type]
                unique=True,
            ),
            cron(
                prune_access_sets_job,
                **_every(settings.ingestion.access_set_prune_interval_seconds),  # type: ignore[arg-type]
                unique=True,
            ),
            cron(
                prune_uploads_job,
                **_every(settings.ingestion.upload_prune_interval_seconds),  # type: ignore[arg-type]
                unique=True,
            ),
        ],
        queue_name=QUEUE_NAME,
        redis_settings=redis_settings(_redis_url(settings)),
        on_startup=on_startup,
        burst=burst,
        handle_signals=False,
        keep_result=0,
        job_timeout=settings.ingestion.job_timeout_seconds,
        max_jobs=2,
        poll_delay=0.2,
    )
