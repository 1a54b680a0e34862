"""Sources and their documents: create, register uploads, change access, delete.

A registered file is stored content-addressed under the uploads directory and its
``documents`` row is written in the same transaction that the caller commits; the
ingestion job is enqueued after the commit (a sweeper covers a lost enqueue).
"""

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from ingestion.store import delete_documents_chunks, update_document_access
from ingestion.uploads import hold_for_write, store_file

MAX_SOURCE_NAME_CHARS = 128
MAX_FILENAME_CHARS = 255


@dataclass(frozen=True)
class RegisteredDocument:
    id: uuid.UUID
    content_hash: str
    outcome: str  # "queued" (new or changed), "unchanged", "duplicate"
    duplicate_of: uuid.UUID | None = None


def clean_filename(filename: str) -> str:
    name = PurePath(filename.replace("\\", "/")).name.strip()
    if not name or name in {".", ".."}:
        raise InvalidInput("the file needs a name", field="file")
    if len(name) > MAX_FILENAME_CHARS:
        raise InvalidInput(
            f"file names are limited to {MAX_FILENAME_CHARS} characters", field="file"
        )
    if any(ord(ch) < 32 for ch in name):
        raise InvalidInput("the file name contains control characters", field="file")
    return name


async def create_source(
    session: AsyncSession,
    *,
    name: str,
    groups: list[str],
    kind: str = "upload",
    path: str | None = None,
    pii_policy: str = "redact",
    allowed_roots: Sequence[Path] = (),
) -> uuid.UUID:
    """Create a source; a ``folder`` source needs an existing directory (under
    ``allowed_roots`` when any are configured)."""
    if not name.strip() or len(name) > MAX_SOURCE_NAME_CHARS:
        raise InvalidInput(
            f"source name must be 1-{MAX_SOURCE_NAME_CHARS} characters", field="name"
        )
    if pii_policy not in {"redact", "keep", "block"}:
        raise InvalidInput("pii_policy must be redact, keep or block", field="pii_policy")
    if kind not in {"upload", "folder", "verified"}:
        raise InvalidInput("kind must be upload or folder", field="kind")
    if kind == "folder":
        path = str(_folder_path(path, allowed_roots))
    source_id = uuid.uuid4()
    try:
        async with session.begin_nested():
            await session.execute(
                text(
                    "INSERT INTO sources (id, name, kind, path, groups, pii_policy) "
                    "VALUES (:id, :name, :kind, :path, CAST(:groups AS varchar[]), :pii)"
                ),
                {
                    "id": source_id,
                    "name": name.strip(),
                    "kind": kind,
                    "path": path,
                    "groups": groups,
                    "pii": pii_policy,
                },
            )
    except IntegrityError:
        raise Conflict(f"a source named '{name.strip()}' already exists", field="name") from None
    return source_id


def _folder_path(path: str | None, allowed_roots: Sequence[Path]) -> Path:
    if not path or not Path(path).is_absolute():
        raise InvalidInput("a folder source needs an absolute server path", field="path")
    folder = Path(path).resolve()
    if not folder.is_dir():
        raise InvalidInput(f"no readable folder at {path}", field="path")
    roots = [Path(root).resolve() for root in allowed_roots]
    if roots and not any(folder.is_relative_to(root) for root in roots):
        raise InvalidInput("the folder is outside the configured folder roots", field="path")
    return folder


async def source_id_by_name(session: AsyncSession, name: str) -> uuid.UUID | None:
    value = (
        await session.execute(text("SELECT id FROM sources WHERE name = :n"), {"n": name})
    ).scalar_one_or_none()
    return None if value is None else uuid.UUID(str(value))


@dataclass(frozen=True)
class IncomingFile:
    """A file to register: ``uri`` (default: the cleaned name) identifies it in its source;
    folder sources pass the relative path."""

    filename: str
    data: bytes
    uri: str | None = None
    acl_override: list[str] | None = None
    # Same bytes as a failed document: queue it again (an admin's explicit re-upload or sync).
    retry_failed: bool = False
    # True for folder files: ``acl_override`` is the file's own rule (sidecar or front matter),
    # recorded as such; otherwise an override comes from the admin who uploaded the file.
    acl_from_file: bool = False


async def register_document(
    session: AsyncSession,
    *,
    source_id: uuid.UUID,
    filename: str,
    data: bytes,
    uploads_dir: Path,
    max_bytes: int,
    acl_override: list[str] | None = None,
) -> RegisteredDocument:
    """Store an uploaded file for ingestion (see ``register_file``); re-uploading the bytes of
    a failed document retries it."""
    return await register_file(
        session,
        source_id=source_id,
        file=IncomingFile(
            filename=filename, data=data, acl_override=acl_override, retry_failed=True
        ),
        uploads_dir=uploads_dir,
        max_bytes=max_bytes,
    )


async def register_file(
    session: AsyncSession,
    *,
    source_id: uuid.UUID,
    file: IncomingFile,
    uploads_dir: Path,
    max_bytes: int,
) -> RegisteredDocument:
    """Store a file for ingestion. Same uri + same bytes is a no-op; same bytes under
    another uri in the same source is reported as a duplicate and not indexed twice."""
    data, acl_override = file.data, file.acl_override
    name = clean_filename(file.filename)
    uri = file.uri or name
    if len(data) > max_bytes:
        raise PayloadTooLarge(
            f"the file is {len(data):,} bytes; the upload limit is {max_bytes:,} bytes",
            field="file",
        )
    suffix = PurePath(name).suffix.lower()
    # An unsupported type is still stored: the worker fails it with a clear reason, and the
    # admin sees it listed rather than silently dropped.
    exists = await session.execute(text("SELECT 1 FROM sources WHERE id = :id"), {"id": source_id})
    if exists.first() is None:
        raise NotFound("no such source")
    digest = hashlib.sha256(data).hexdigest()
    current = (
        await session.execute(
            text(
                "SELECT id, content_hash, status FROM documents "
                "WHERE source_id = :s AND uri = :u FOR UPDATE"
            ),
            {"s": source_id, "u": uri},
        )
    ).first()
    if current is not None and current[1] == digest:
        if not (file.retry_failed and current[2] == "failed"):
            return RegisteredDocument(id=current[0], content_hash=digest, outcome="unchanged")
        await session.execute(
            text(
                "UPDATE documents SET status = 'queued', error = NULL, chunks_done = 0, "
                "attempts = 0, updated_at = now() WHERE id = :id"
            ),
            {"id": current[0]},
        )
        return RegisteredDocument(id=current[0], content_hash=digest, outcome="queued")
    twin = (
        await session.execute(
            text(
                "SELECT id FROM documents WHERE source_id = :s AND content_hash = :h AND uri <> :u "
                "LIMIT 1"
            ),
            {"s": source_id, "h": digest, "u": uri},
        )
    ).scalar_one_or_none()
    if twin is not None and current is None:
        return RegisteredDocument(
            id=twin, content_hash=digest, outcome="duplicate", duplicate_of=twin
        )
    await hold_for_write(session)
    path = store_file(uploads_dir / str(source_id), digest, suffix, data)
    if current is not None:
        await session.execute(
            text(
                "UPDATE documents SET content_hash = :h, file_path = :p, size_bytes = :n, "
                "status = 'queued', error = NULL, chunks_done = 0, attempts = 0, updated_at = now() "
                "WHERE id = :id"
            ),
            {"h": digest, "p": str(path), "n": len(data), "id": current[0]},
        )
        return RegisteredDocument(id=current[0], content_hash=digest, outcome="queued")
    document_id = uuid.uuid4()
    await session.execute(
        text(
            "INSERT INTO documents (id, source_id, uri, title, file_path, size_bytes, content_hash, "
            "acl_override, acl_origin, file_acl, status, chunks_done, chunks_total, attempts, "
            "flags) VALUES (:id, :s, :u, :title, :p, :n, :h, CAST(:acl AS varchar[]), :origin, "
            "CAST(:file_acl AS varchar[]), 'queued', 0, 0, 0, '{}')"
        ),
        {
            "id": document_id,
            "s": source_id,
            "u": uri,
            "title": PurePath(name).stem,
            "p": str(path),
            "n": len(data),
            "h": digest,
            "acl": acl_override,
            "origin": _origin(acl_override, from_file=file.acl_from_file),
            "file_acl": acl_override if file.acl_from_file else None,
        },
    )
    return RegisteredDocument(id=document_id, content_hash=digest, outcome="queued")


def _origin(groups: list[str] | None, *, from_file: bool) -> str:
    if groups is None:
        return "source"
    return "file" if from_file else "admin"


async def set_document_acl(
    session: AsyncSession,
    document_id: uuid.UUID,
    groups: list[str] | None,
    *,
    from_file: bool = False,
) -> list[str]:
    """Override (or with ``None`` reset to the source default) who may read a document.

    An admin's call (the default) is recorded as such, and a folder sync keeps it until the
    file's own rule changes; ``from_file`` is the folder sync applying the file's rule."""
    row = (
        await session.execute(
            text(
                "UPDATE documents d SET acl_override = CAST(:acl AS varchar[]), "
                "acl_origin = :origin FROM sources s "
                "WHERE d.id = :id AND s.id = d.source_id "
                "RETURNING COALESCE(d.acl_override, s.groups)"
            ),
            {"id": document_id, "acl": groups, "origin": _origin(groups, from_file=from_file)},
        )
    ).first()
    if row is None:
        raise NotFound("no such document")
    access = list(row[0])
    await update_document_access(session, document_id, access)
    return access


async def delete_document(session: AsyncSession, document_id: uuid.UUID) -> None:
    """Delete a document; its chunks are unretrievable the moment the caller commits."""
    found = await session.execute(
        text("SELECT id FROM documents WHERE id = :id FOR UPDATE"), {"id": document_id}
    )
    if found.first() is None:
        raise NotFound("no such document")
    await delete_documents(session, [document_id])


async def delete_documents(session: AsyncSession, document_ids: Sequence[uuid.UUID]) -> None:
    """Delete documents the caller has locked (a folder sync's vanished files): their chunks
    leave the statistics in one pass, so the batch locks statistics rows in one order."""
    if not document_ids:
        return
    await delete_documents_chunks(session, document_ids)
    await session.execute(
        text("DELETE FROM documents WHERE id = ANY(CAST(:ids AS uuid[]))"),
        {"ids": list(document_ids)},
    )
