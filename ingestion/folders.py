"""Folder sources: a server-side directory mirrored into its source, on demand or on a schedule.

A sync deletes documents whose files are gone, registers added and changed files, and
applies per-file access rules (``<file>.acl.json`` or markdown front matter ``groups:``)
when they change: an admin's override (``PUT /documents/{id}/acl``) survives re-syncs until
the file's own rule is added or edited.
"""

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.accounts import ensure_groups_exist
from app.errors import DocumentRejected, GroundworkError, InvalidInput, NotFound
from app.logging import get_logger
from ingestion.markup import split_front_matter
from ingestion.normalize import decode_text
from ingestion.sources import (
    IncomingFile,
    RegisteredDocument,
    delete_documents,
    register_file,
    set_document_acl,
)

log = get_logger(__name__)

ACL_SUFFIX = ".acl.json"
_MARKDOWN = {".md", ".markdown"}


@dataclass
class SyncReport:
    source_id: uuid.UUID
    added: list[RegisteredDocument] = field(default_factory=list)
    changed: list[RegisteredDocument] = field(default_factory=list)
    unchanged: int = 0
    duplicates: int = 0
    deleted: int = 0
    acl_changed: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)

    @property
    def to_enqueue(self) -> list[RegisteredDocument]:
        return [*self.added, *self.changed]

    def as_dict(self) -> dict[str, object]:
        return {
            "source_id": str(self.source_id),
            "added": len(self.added),
            "changed": len(self.changed),
            "unchanged": self.unchanged,
            "duplicates": self.duplicates,
            "deleted": self.deleted,
            "acl_changed": self.acl_changed,
            "rejected": [{"file": name, "reason": reason} for name, reason in self.rejected],
        }


@dataclass(frozen=True)
class _Incoming:
    uri: str
    path: Path
    retry_failed: bool


@dataclass(frozen=True)
class _Known:
    id: uuid.UUID
    acl_override: list[str] | None
    acl_origin: str
    file_acl: list[str] | None


async def folder_source_ids(session: AsyncSession) -> list[uuid.UUID]:
    rows = await session.execute(text("SELECT id FROM sources WHERE kind = 'folder' ORDER BY name"))
    return [uuid.UUID(str(value)) for value in rows.scalars()]


async def sync_folder(
    session: AsyncSession,
    *,
    source_id: uuid.UUID,
    uploads_dir: Path,
    max_bytes: int,
    retry_failed: bool = False,
) -> SyncReport:
    """Mirror the folder into the source within the caller's transaction (the caller commits,
    then enqueues ``report.to_enqueue``). A missing folder changes nothing: an unmounted share
    must not delete a source's documents. ``retry_failed`` (an admin's explicit sync) queues
    failed documents again even if their files did not change; the schedule does not."""
    row = (
        await session.execute(
            text("SELECT kind, path FROM sources WHERE id = :id FOR UPDATE"), {"id": source_id}
        )
    ).first()
    if row is None:
        raise NotFound("no such source")
    if row[0] != "folder" or not row[1]:
        raise InvalidInput("only folder sources can be synced; upload files to this source")
    root = Path(row[1])
    found = await anyio.to_thread.run_sync(_walk, root)
    if found is None:
        raise InvalidInput(f"the folder {root} is not available; nothing was changed")
    files = {path.relative_to(root).as_posix(): path for path in found}
    known = await _known_documents(session, source_id)
    report = SyncReport(source_id=source_id)
    vanished = [doc.id for uri, doc in known.items() if uri not in files]
    await delete_documents(session, vanished)  # locked by _known_documents
    report.deleted += len(vanished)
    for uri, path in files.items():
        try:
            incoming = _Incoming(uri, path, retry_failed)
            await _sync_file(session, report, known.get(uri), incoming, uploads_dir, max_bytes)
        except GroundworkError as exc:
            report.rejected.append((uri, exc.message))
    log.info(
        "ingestion.folder_synced",
        source_id=str(source_id),
        added=len(report.added),
        changed=len(report.changed),
        deleted=report.deleted,
        rejected=len(report.rejected),
    )
    return report


async def _sync_file(
    session: AsyncSession,
    report: SyncReport,
    known: _Known | None,
    incoming: "_Incoming",
    uploads_dir: Path,
    max_bytes: int,
) -> None:
    data, groups = await anyio.to_thread.run_sync(_read, incoming.path, max_bytes)
    if groups is not None:
        groups = await ensure_groups_exist(session, groups)
    async with session.begin_nested():  # one bad file never undoes the others
        registered = await register_file(
            session,
            source_id=report.source_id,
            file=IncomingFile(
                filename=incoming.path.name,
                data=data,
                uri=incoming.uri,
                acl_override=groups,
                retry_failed=incoming.retry_failed,
                acl_from_file=True,
            ),
            uploads_dir=uploads_dir,
            max_bytes=max_bytes,
        )
    if registered.outcome == "duplicate":
        report.duplicates += 1
        return
    if known is None:
        report.added.append(registered)
        return
    if registered.outcome == "queued":
        report.changed.append(registered)
    else:
        report.unchanged += 1
    if await _apply_file_acl(session, known, groups):
        report.acl_changed += 1


async def _apply_file_acl(session: AsyncSession, known: _Known, groups: list[str] | None) -> bool:
    """Apply the file's access rule if it changed since the last sync; True if access changed.

    An unchanged rule leaves the document's access alone, so an admin's override
    (``PUT /documents/{id}/acl``) survives re-syncs. A new or edited sidecar/front matter wins
    over it; a removed one reverts only a rule that came from the file, not an admin's."""
    if known.file_acl == groups:
        return False
    await session.execute(
        text("UPDATE documents SET file_acl = CAST(:acl AS varchar[]) WHERE id = :id"),
        {"id": known.id, "acl": groups},
    )
    if groups is None and known.acl_origin == "admin":
        return False
    await set_document_acl(session, known.id, groups, from_file=True)
    return groups != known.acl_override


def _read(path: Path, max_bytes: int) -> tuple[bytes, list[str] | None]:
    try:
        if path.stat().st_size > max_bytes:
            raise InvalidInput(f"the file is larger than the limit of {max_bytes:,} bytes")
        data = path.read_bytes()
        return data, file_groups(path, data)
    except OSError as exc:
        raise InvalidInput(f"the file cannot be read ({exc.strerror})") from exc


def file_groups(path: Path, data: bytes) -> list[str] | None:
    """The file's own access groups: its sidecar, else markdown front matter, else None."""
    sidecar = path.with_name(path.name + ACL_SUFFIX)
    if sidecar.is_file():
        try:
            body = json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidInput(f"{sidecar.name} is not valid JSON") from exc
        groups = body.get("groups") if isinstance(body, dict) else None
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            raise InvalidInput(f'{sidecar.name} must be {{"groups": ["name", ...]}}')
        return groups
    if path.suffix.lower() in _MARKDOWN:
        try:
            # Decoded exactly as the parser will (tolerant of a stray byte), so the front
            # matter read here is the one of the text that gets indexed.
            metadata, _ = split_front_matter(decode_text(data))
        except DocumentRejected:
            return None  # the worker fails the document with the decoding reason
        value = metadata.get("groups")
        if value is not None:
            return [g.strip() for g in value.split(",") if g.strip()]
    return None


def _walk(root: Path) -> list[Path] | None:
    """Regular files under ``root``, sorted (None if it is not a folder); hidden files, sidecars
    and partial writes skipped. Symlinks are not followed: a link cannot pull outside files in."""
    if not root.is_dir():
        return None
    found: list[Path] = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_symlink() or not path.is_file():
            continue
        if path.name.endswith((ACL_SUFFIX, ".part", "~")):
            continue
        found.append(path)
    return found


async def _known_documents(session: AsyncSession, source_id: uuid.UUID) -> dict[str, _Known]:
    rows = await session.execute(
        text(
            "SELECT uri, id, acl_override, acl_origin, file_acl FROM documents "
            "WHERE source_id = :s FOR UPDATE"
        ),
        {"s": source_id},
    )
    return {
        uri: _Known(
            id=doc_id,
            acl_override=None if acl is None else list(acl),
            acl_origin=origin,
            file_acl=None if file_acl is None else list(file_acl),
        )
        for uri, doc_id, acl, origin, file_acl in rows
    }
