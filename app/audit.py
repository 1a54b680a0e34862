"""The audit log: who did what to which object. Append-only rows in ``audit_events``.

Details carry ids, counts and redacted text only; the caller is responsible for
passing nothing the PII policy forbids.
"""

import json
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def record_event(
    session: AsyncSession,
    *,
    actor_id: uuid.UUID | None,
    action: str,
    object_type: str | None = None,
    object_id: str | uuid.UUID | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    await session.execute(
        text(
            "INSERT INTO audit_events (actor_id, action, object_type, object_id, details) "
            "VALUES (:actor, :action, :otype, :oid, CAST(:details AS jsonb))"
        ),
        {
            "actor": actor_id,
            "action": action,
            "otype": object_type,
            "oid": None if object_id is None else str(object_id),
            "details": _json(details or {}),
        },
    )


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)
