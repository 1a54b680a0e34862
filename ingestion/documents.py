"""Read views of documents: status and progress, and the permission-checked text.

A document the caller may not read is reported exactly like a missing one.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.errors import NotFound

_READABLE = "COALESCE(d.acl_override, s.groups) && CAST(:groups AS varchar[])"


@dataclass(frozen=True)
class DocumentView:
    id: uuid.UUID
    source_id: uuid.UUID
    source_name: str
    source: str
    title: str
    status: str
    error: str | None
    chunks_done: int
    chunks_total: int
    access: list[str]
    size_bytes: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Passage:
    chunk_id: uuid.UUID
    position: int
    page: int | None
    heading_path: str
    text: str


_SELECT = f"""
    SELECT d.id, d.source_id, s.name, d.uri, COALESCE(
               (SELECT c.title FROM chunks c WHERE c.document_id = d.id AND c.position = 0),
               d.title),
           d.status, d.error, d.chunks_done, d.chunks_total,
           COALESCE(d.acl_override, s.groups), d.size_bytes, d.created_at, d.updated_at,
           {_READABLE} AS readable
    FROM documents d JOIN sources s ON s.id = d.source_id
"""


def _view(row: tuple[object, ...]) -> DocumentView:
    return DocumentView(*row[:13])  # type: ignore[arg-type]


async def get_document(
    session: AsyncSession, principal: Principal, document_id: uuid.UUID
) -> DocumentView:
    """Status for readers of the document and for admins; ``NotFound`` for everyone else."""
    row = (
        await session.execute(
            text(_SELECT + " WHERE d.id = :id"),
            {"id": document_id, "groups": principal.readable_groups},
        )
    ).first()
    if row is None or not (row[13] or principal.has_role("admin")):
        raise NotFound("document not found")
    return _view(tuple(row))


async def list_documents(session: AsyncSession, *, limit: int = 500) -> list[DocumentView]:
    """All documents, newest first: an admin view."""
    rows = await session.execute(
        text(_SELECT + " ORDER BY d.created_at DESC LIMIT :limit"), {"limit": limit, "groups": []}
    )
    return [_view(tuple(row)) for row in rows]


async def document_passages(
    session: AsyncSession, principal: Principal, document_id: uuid.UUID
) -> tuple[DocumentView, list[Passage]]:
    """The indexed (policy-redacted) text of a document the caller can read."""
    view = await get_document(session, principal, document_id)
    rows = await session.execute(
        text(
            "SELECT id, position, page, heading_path, text FROM chunks "
            "WHERE document_id = :id AND access && CAST(:groups AS varchar[]) ORDER BY position"
        ),
        {"id": document_id, "groups": principal.readable_groups},
    )
    passages = [Passage(*row) for row in rows]
    if not passages and not principal.has_role("admin"):
        raise NotFound("document not found")
    return view, passages


async def failure_reason(session: AsyncSession, document_id: uuid.UUID) -> str:
    value = (
        await session.execute(
            text("SELECT error FROM documents WHERE id = :id"), {"id": document_id}
        )
    ).scalar_one_or_none()
    return str(value or "")


@dataclass(frozen=True)
class SourceView:
    id: uuid.UUID
    name: str
    kind: str
    path: str | None
    groups: list[str]
    pii_policy: str
    documents: int
    by_status: dict[str, int]


async def list_sources(session: AsyncSession) -> list[SourceView]:
    """Every source with its document count per status: an admin view."""
    rows = await session.execute(
        text(
            """
            SELECT s.id, s.name, s.kind, s.path, s.groups, s.pii_policy,
                   COALESCE(c.total, 0), COALESCE(c.by_status, '{}'::jsonb)
            FROM sources s
            LEFT JOIN LATERAL (
                SELECT CAST(sum(n) AS int) AS total, jsonb_object_agg(status, n) AS by_status
                FROM (SELECT status, count(*) AS n FROM documents
                      WHERE source_id = s.id GROUP BY status) per_status
            ) c ON true
            WHERE s.kind <> 'verified'
            ORDER BY s.name
            """
        )
    )
    return [SourceView(*row) for row in rows]
