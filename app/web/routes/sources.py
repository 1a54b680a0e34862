"""Admin API for sources: list them with per-status counts, and sync a folder source now."""

import uuid
from typing import Any

from litestar import get, post
from litestar.params import FromPath

from app.audit import record_event
from app.web.dependencies import Caller, DbSession, Web, require_role
from ingestion.documents import SourceView, list_sources
from ingestion.folders import sync_folder


def source_json(s: SourceView) -> dict[str, Any]:
    return {
        "id": str(s.id),
        "name": s.name,
        "kind": s.kind,
        "path": s.path,
        "groups": s.groups,
        "pii_policy": s.pii_policy,
        "documents": s.documents,
        "by_status": s.by_status,
    }


@get("/api/v1/sources")
async def sources_index(db_session: DbSession, principal: Caller) -> dict[str, Any]:
    require_role(principal, "admin")
    return {"sources": [source_json(s) for s in await list_sources(db_session)]}


@post("/api/v1/sources/{source_id:uuid}/sync", status_code=200)
async def sync_source(
    source_id: FromPath[uuid.UUID], db_session: DbSession, principal: Caller, web: Web
) -> dict[str, Any]:
    """Mirror a folder source now: added and changed files are queued, deleted ones removed."""
    require_role(principal, "admin")
    report = await sync_folder(
        db_session,
        source_id=source_id,
        uploads_dir=web.settings.uploads_dir,
        max_bytes=web.settings.ingestion.max_upload_bytes,
        retry_failed=True,
    )
    body = report.as_dict()
    await record_event(
        db_session,
        actor_id=principal.user_id,
        action="source.sync",
        object_type="source",
        object_id=source_id,
        details={k: v for k, v in body.items() if k != "rejected"},
    )
    await db_session.commit()
    if web.queue is not None:
        await web.queue.enqueue_many(
            [(d.id, d.content_hash) for d in report.to_enqueue],
            bulk_threshold=web.settings.ingestion.bulk_threshold_documents,
            batch_size=web.settings.ingestion.bulk_job_documents,
        )
    return body
