"""Re-enqueue documents left ``queued`` or ``processing`` by a crash or a Redis restart.

Enqueueing is idempotent (job id = document + content hash), so sweeping a document
whose job is still alive changes nothing.
"""

import uuid
from collections.abc import Awaitable, Callable, Collection

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

Enqueue = Callable[[uuid.UUID, str], Awaitable[bool]]


async def sweep_stuck_documents(
    session_factory: async_sessionmaker[AsyncSession],
    enqueue: Enqueue,
    *,
    older_than_seconds: int,
    max_attempts: int,
    pending: Collection[uuid.UUID] = (),
) -> int:
    """Re-enqueue stuck documents; fail those that exhausted their attempts. Returns re-enqueued.

    ``pending``: documents of bulk jobs still queued or running; they wait their turn in their
    batch (often longer than ``older_than_seconds``) and are not swept."""
    async with session_factory.begin() as session:
        await session.execute(
            text(
                """
                UPDATE documents SET status = 'failed',
                       error = 'ingestion kept failing after ' || attempts || ' attempts; re-sync to retry'
                WHERE status IN ('queued', 'processing') AND attempts >= :max_attempts
                  AND updated_at < now() - make_interval(secs => :age)
                  AND NOT id = ANY(CAST(:pending AS uuid[]))
                """
            ),
            {"max_attempts": max_attempts, "age": older_than_seconds, "pending": list(pending)},
        )
        rows = (
            await session.execute(
                text(
                    """
                    SELECT id, content_hash FROM documents
                    WHERE status IN ('queued', 'processing')
                      AND updated_at < now() - make_interval(secs => :age)
                      AND NOT id = ANY(CAST(:pending AS uuid[]))
                    ORDER BY updated_at LIMIT 1000
                    """
                ),
                {"age": older_than_seconds, "pending": list(pending)},
            )
        ).all()
    count = 0
    for document_id, content_hash in rows:
        if await enqueue(document_id, content_hash):
            count += 1
    return count


async def unfinished_versions(
    session_factory: async_sessionmaker[AsyncSession], document_ids: list[uuid.UUID]
) -> list[tuple[uuid.UUID, str]]:
    """(id, content hash) of those documents still ``queued`` or ``processing``."""
    async with session_factory() as session:
        rows = await session.execute(
            text(
                "SELECT id, content_hash FROM documents WHERE id = ANY(:ids) "
                "AND status IN ('queued', 'processing') ORDER BY id"
            ),
            {"ids": document_ids},
        )
        return [(uuid.UUID(str(doc)), str(digest)) for doc, digest in rows]
