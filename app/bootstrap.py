"""Start-up tasks of the local CLI: demo data on first start, the banner, ``ingest`` and the
sentence-vector backfill.

The demo's files go through the real queue to the worker; ``groundwork ingest`` runs the
same pipeline inline, so a single command shows each file's outcome.
"""

import asyncio
import uuid
from pathlib import Path

from app.auth.accounts import ensure_groups_exist
from app.chat.versions import ensure_default_version
from app.db.session import make_engine, make_session_factory
from app.demo import DemoUser, create_demo_identities, is_empty, register_demo_documents
from app.errors import NotFound
from app.resources import build_pipeline_deps, load_models
from app.settings import Settings
from ingestion.bulk import ingest_many
from ingestion.documents import failure_reason
from ingestion.folders import SyncReport, sync_folder
from ingestion.pipeline import IngestOutcome
from ingestion.queue import connect_queue
from ingestion.sentence_backfill import BackfillReport
from ingestion.sentence_backfill import backfill_sentence_vectors as backfill
from ingestion.sources import create_source, register_document, source_id_by_name


async def first_start(settings: Settings) -> list[DemoUser]:
    """On an empty database: demo groups, users and documents (queued). Else nothing."""
    engine = make_engine(settings.database_url or "", pool_size=1)
    try:
        async with make_session_factory(engine).begin() as session:
            await ensure_default_version(session)
            if not await is_empty(session):
                return []
            users = await create_demo_identities(session)
            registered = await register_demo_documents(
                session,
                uploads_dir=settings.uploads_dir,
                max_bytes=settings.ingestion.max_upload_bytes,
            )
    finally:
        await engine.dispose()
    if settings.redis_url:
        queue = await connect_queue(settings.redis_url)
        try:
            for document in registered:
                if document.outcome == "queued":
                    await queue.enqueue_ingest(document.id, document.content_hash)
        finally:
            await queue.close()
    return users


def banner(settings: Settings, users: list[DemoUser], *, seconds: float) -> str:
    url = f"http://{settings.web.host}:{settings.web.port}"
    lines = ["", f"Groundwork is ready at {url}  (started in {seconds:.1f} s)"]
    if users:
        lines.append("Demo users (passwords are shown only this once; keep them):")
        for user in users:
            groups = ", ".join(user.groups) or "no restricted groups"
            lines.append(f"  {user.username:8} {user.password}   {user.role}, {groups}")
        lines.append(
            "The demo knowledge base is being ingested by the worker; answers improve as it lands."
        )
    else:
        lines.append(
            "Sign in with your users (create one: groundwork users create NAME --password ...)."
        )
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)


def _files(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(
                    p for p in path.rglob("*") if p.is_file() and not p.name.endswith(".acl.json")
                )
            )
        else:
            found.append(path)
    return found


async def ingest_paths(
    settings: Settings, paths: list[Path], *, source: str, groups: list[str]
) -> list[tuple[str, str, str]]:
    """Register and ingest files inline; returns (file, status, detail) per file."""
    models = await asyncio.to_thread(load_models, settings)
    engine = make_engine(settings.database_url or "", pool_size=2)
    factory = make_session_factory(engine)
    results: list[tuple[str, str, str]] = []
    try:
        async with factory.begin() as session:
            await ensure_default_version(session)
            source_id = await source_id_by_name(session, source)
            if source_id is None:
                access = await ensure_groups_exist(session, groups or ["everyone"])
                source_id = await create_source(
                    session, name=source, groups=access, pii_policy=settings.pii.default_policy
                )
        deps = build_pipeline_deps(settings, factory, models)
        queued: dict[uuid.UUID, str] = {}
        for path in _files(paths):
            async with factory.begin() as session:
                registered = await register_document(
                    session,
                    source_id=source_id,
                    filename=path.name,
                    data=path.read_bytes(),
                    uploads_dir=settings.uploads_dir,
                    max_bytes=settings.ingestion.max_upload_bytes,
                )
            if registered.outcome == "queued":
                queued[registered.id] = path.name
            else:
                results.append((path.name, registered.outcome, ""))
        # Many files at once take the bulk path: embedding and writes batched across files.
        for outcome in await ingest_many(deps, list(queued)):
            detail = f"{outcome.chunks} chunks"
            if outcome.status == "failed":
                async with factory() as session:
                    detail = await failure_reason(session, outcome.document_id)
            results.append((queued[outcome.document_id], outcome.status, detail))
    finally:
        await engine.dispose()
    return results


async def create_folder_source(
    settings: Settings, *, name: str, path: str, groups: list[str], pii_policy: str
) -> str:
    engine = make_engine(settings.database_url or "", pool_size=1)
    try:
        async with make_session_factory(engine).begin() as session:
            await ensure_default_version(session)
            access = await ensure_groups_exist(session, groups or ["everyone"])
            source_id = await create_source(
                session,
                name=name,
                groups=access,
                kind="folder",
                path=path,
                pii_policy=pii_policy,
                allowed_roots=settings.ingestion.folder_roots,
            )
    finally:
        await engine.dispose()
    return str(source_id)


async def sync_source(settings: Settings, name: str) -> tuple[SyncReport, list[IngestOutcome]]:
    """Sync a folder source; with REDIS_URL the worker ingests, else this process does (bulk)."""
    engine = make_engine(settings.database_url or "", pool_size=2)
    factory = make_session_factory(engine)
    outcomes: list[IngestOutcome] = []
    try:
        async with factory.begin() as session:
            source_id = await source_id_by_name(session, name)
            if source_id is None:
                raise NotFound(f"no source named {name}")
            report = await sync_folder(
                session,
                source_id=source_id,
                uploads_dir=settings.uploads_dir,
                max_bytes=settings.ingestion.max_upload_bytes,
                retry_failed=True,
            )
        if settings.redis_url:
            queue = await connect_queue(settings.redis_url)
            try:
                await queue.enqueue_many(
                    [(d.id, d.content_hash) for d in report.to_enqueue],
                    bulk_threshold=settings.ingestion.bulk_threshold_documents,
                    batch_size=settings.ingestion.bulk_job_documents,
                )
            finally:
                await queue.close()
        elif report.to_enqueue:
            models = await asyncio.to_thread(load_models, settings)
            deps = build_pipeline_deps(settings, factory, models)
            outcomes = await ingest_many(deps, [d.id for d in report.to_enqueue])
    finally:
        await engine.dispose()
    return report, outcomes


async def backfill_sentence_vectors(settings: Settings, *, batch: int) -> BackfillReport:
    """Store sentence vectors for every chunk indexed without them (see
    ``ingestion.sentence_backfill``); the embedder only, no guardrail models."""
    models = await asyncio.to_thread(load_models, settings, with_guardrails=False)
    engine = make_engine(settings.database_url or "", pool_size=2)
    try:
        return await backfill(make_session_factory(engine), models.embedder, batch=batch)
    finally:
        await engine.dispose()
