"""Stored upload files: written before their document row commits, removed once no row names them.

A file lives at ``uploads_dir/<source id>/<sha256><suffix>``, named by its bytes, so documents of
one source with the same bytes share it. The worker re-reads it to ingest, retry or re-index.
Deleting a document, or replacing its bytes, leaves a file no row names: it may hold personal
data the chunks had redacted, so ``prune_unreferenced_uploads`` (a scheduled worker job) erases
it. The two sides meet on one advisory lock: a writer share-locks it before writing a file and
holds it until its transaction ends (``hold_for_write``); the prune takes it exclusively, so it
sees every committed row and no write is in flight. A file it finds unnamed is garbage: its
document is gone or has new bytes, or the transaction that wrote it rolled back. The prune
only tries the lock: waiting for it behind a long folder sync would queue every new upload
behind the prune, so a busy round is skipped and the next one tries again.
"""

from collections.abc import Iterable
from pathlib import Path

import anyio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# An arbitrary key for pg_advisory_xact_lock; no other lock of this application uses it.
_UPLOADS_LOCK = 0x67726E64_75706C64  # "grnd" "upld"
_PARTIAL = ".part"


def store_file(directory: Path, digest: str, suffix: str, data: bytes) -> Path:
    """Write ``data`` as ``directory/<digest><suffix>`` (kept if already there); the caller
    holds ``hold_for_write`` in the transaction that will name it."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{digest}{suffix}"
    if not path.exists():
        partial = path.with_name(path.name + _PARTIAL)
        partial.write_bytes(data)
        # atomic: a crash never leaves a half-written file under the final name
        partial.replace(path)
    return path


async def hold_for_write(session: AsyncSession) -> None:
    """Share the uploads lock until this transaction ends: a prune cannot run meanwhile, so the
    file this transaction writes is not taken for garbage before its row commits."""
    await session.execute(text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": _UPLOADS_LOCK})


async def prune_unreferenced_uploads(session: AsyncSession, uploads_dir: Path) -> int | None:
    """Erase the stored files no document names (and partial writes left by a crash); returns
    how many files went, or None when an upload was in flight and nothing was looked at.
    Commit soon after: uploads wait for the lock this holds.

    Files are matched by their place under the uploads root (source folder and file name), not
    by the whole stored path, so a deployment that moved its data directory loses nothing.
    """
    locked = await session.execute(
        text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _UPLOADS_LOCK}
    )
    if not locked.scalar_one():
        return None
    named = (await session.execute(text("SELECT file_path FROM documents"))).scalars().all()
    return await anyio.to_thread.run_sync(_remove_unnamed, uploads_dir, _places(named))


def _places(paths: Iterable[str]) -> set[tuple[str, str]]:
    return {(Path(path).parent.name, Path(path).name) for path in paths}


def _remove_unnamed(uploads_dir: Path, named: set[tuple[str, str]]) -> int:
    if not uploads_dir.is_dir():
        return 0
    removed = 0
    for folder in uploads_dir.iterdir():
        if not folder.is_dir() or folder.is_symlink():
            continue
        for file in folder.iterdir():
            if file.is_file() and (folder.name, file.name) not in named:
                file.unlink(missing_ok=True)
                removed += 1
        if not any(folder.iterdir()):
            folder.rmdir()
    return removed
