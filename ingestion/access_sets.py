"""Access sets: each distinct chunk access list once, named by the postings that carry it.

``ingestion.store`` registers a chunk's list in the transaction that writes its postings (or
changes its access); the worker prunes the lists no chunk has any more. The two meet only on
the set rows: writers share-lock theirs until they commit, the prune skips locked rows, so a
set in use is never deleted and a writer that meets a running prune inserts its list again.
"""

import uuid
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def prune_access_sets(session: AsyncSession) -> int:
    """Delete the access sets no chunk has any more (their documents were deleted, or their
    access changed); returns how many. Commit soon after: writers naming a set it deletes wait.

    Never deletes a set a writer is about to name: writers share-lock their sets until they
    commit (``register_access_sets``), and sets locked by a writer are skipped. A set this
    locks first and deletes is simply inserted again by the writer that wanted it.
    """
    candidates = await session.execute(
        text(
            """
            SELECT id FROM access_sets s
            WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.access = s.access)
            ORDER BY id FOR UPDATE SKIP LOCKED
            """
        )
    )
    ids = [int(row[0]) for row in candidates]
    if not ids:
        return 0
    # A fresh snapshot: chunks committed since the first look keep their set.
    deleted = await session.execute(
        text(
            """
            DELETE FROM access_sets s WHERE s.id = ANY(:ids)
              AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.access = s.access)
            RETURNING s.id
            """
        ),
        {"ids": ids},
    )
    gone = [int(row[0]) for row in deleted]
    if gone:  # their statistics are all zero by now (no chunk has the list)
        for table in ("term_set_stats", "access_set_stats"):
            await session.execute(
                text(f"DELETE FROM {table} WHERE access_set = ANY(:ids)"), {"ids": gone}
            )
    return len(gone)


async def register_access_sets(session: AsyncSession, chunk_ids: Sequence[uuid.UUID]) -> None:
    """Give every access list of these chunks an ``access_sets`` row, and share-lock those rows
    until the caller commits, so ``prune_access_sets`` cannot delete a set that postings of this
    transaction name. Only ``ingestion.store`` calls it, in the transaction that writes the
    postings or the chunks' access.

    Inserted and locked in key order, so concurrent writers cannot deadlock; share locks do not
    block each other. A set deleted by a prune between the insert and the lock is inserted again.
    """
    if not chunk_ids:
        return
    params = {"ids": list(chunk_ids)}
    for _ in range(_REGISTER_ATTEMPTS):
        await session.execute(_INSERT_ACCESS_SETS, params)
        wanted, locked = (await session.execute(_LOCK_ACCESS_SETS, params)).one()
        if locked == wanted:
            return
    raise RuntimeError("access sets kept disappearing while being registered")


_REGISTER_ATTEMPTS = 5
_WANTED_SETS = """
    SELECT DISTINCT access FROM chunks WHERE id = ANY(:ids)
"""
_INSERT_ACCESS_SETS = text(
    f"""
    INSERT INTO access_sets (access)
    SELECT access FROM ({_WANTED_SETS}) AS d ORDER BY access_key(access)
    ON CONFLICT (key) DO NOTHING
    """
)
_LOCK_ACCESS_SETS = text(
    f"""
    WITH wanted AS (SELECT access_key(access) AS key FROM ({_WANTED_SETS}) AS d),
    locked AS (
        SELECT a.id FROM access_sets a WHERE a.key IN (SELECT key FROM wanted)
        ORDER BY a.key FOR SHARE OF a
    )
    SELECT (SELECT count(*) FROM wanted), (SELECT count(*) FROM locked)
    """
)
