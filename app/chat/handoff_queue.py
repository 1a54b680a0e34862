"""The agent's view of the hand-off queue: hand-offs by status, with what the asker was shown.

Passages come from the handed-off answer's trace and are loaded under the *agent's* groups:
an agent never sees a passage they could not read themselves.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.db.models import HANDOFF_STATUSES
from app.errors import InvalidInput, PermissionDenied
from retrieval.search import load_chunks

MAX_LIST = 200
SNIPPET_CHARS = 400


def require_agent(principal: Principal) -> None:
    if not principal.has_role("agent"):
        raise PermissionDenied("this needs the agent role")


@dataclass(frozen=True)
class PassageView:
    chunk_id: uuid.UUID
    document_id: uuid.UUID
    title: str
    source: str
    page: int | None
    score: float | None
    snippet: str


@dataclass(frozen=True)
class HandoffItem:
    id: uuid.UUID
    conversation_id: uuid.UUID
    message_id: uuid.UUID
    question: str
    reason: str
    status: str
    assignee: str | None
    created_at: datetime
    updated_at: datetime
    history: list[str]
    """Earlier questions of the conversation, oldest first."""
    passages: list[PassageView]
    """What retrieval found for the question, limited to passages the agent may read."""


# ``history``: the conversation's user messages up to the handed-off answer, newest first,
# minus the newest (the question itself); ``<=`` also holds if both share one timestamp.
_LIST = text(
    """
    SELECT h.id, h.conversation_id, h.message_id, h.question, h.reason, h.status,
           u.username, h.created_at, h.updated_at,
           ARRAY(SELECT q.content FROM messages q
                 WHERE q.conversation_id = h.conversation_id AND q.role = 'user'
                   AND q.created_at <= m.created_at
                 ORDER BY q.created_at DESC OFFSET 1) AS history,
           m.trace -> 'retrieval' -> 'chunks' AS chunks
    FROM handoffs h
    JOIN messages m ON m.id = h.message_id
    LEFT JOIN users u ON u.id = h.assignee_id
    WHERE h.status = :status
    ORDER BY h.created_at, h.id
    LIMIT :limit
    """
)


async def list_handoffs(
    session: AsyncSession, principal: Principal, *, status: str = "open", limit: int = 50
) -> list[HandoffItem]:
    """Hand-offs in ``status``, oldest first, each with the passages the agent may read."""
    require_agent(principal)
    if status not in HANDOFF_STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(HANDOFF_STATUSES)}", field="status")
    if not 1 <= limit <= MAX_LIST:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIST}", field="limit")
    rows = (await session.execute(_LIST, {"status": status, "limit": limit})).all()
    traced = {row[0]: _traced_chunks(row[10]) for row in rows}
    wanted = [chunk_id for chunks in traced.values() for chunk_id in chunks]
    # Access is checked inside the SQL: passages the agent may not read never load.
    readable = await load_chunks(session, wanted, groups=principal.readable_groups)
    return [
        HandoffItem(
            id=row[0],
            conversation_id=row[1],
            message_id=row[2],
            question=row[3],
            reason=row[4],
            status=row[5],
            assignee=row[6],
            created_at=row[7],
            updated_at=row[8],
            history=list(reversed(row[9])),
            passages=[
                _passage(readable[chunk_id], score)
                for chunk_id, score in traced[row[0]].items()
                if chunk_id in readable
            ],
        )
        for row in rows
    ]


def _traced_chunks(value: Any) -> dict[uuid.UUID, float | None]:
    out: dict[uuid.UUID, float | None] = {}
    for item in value or []:
        if isinstance(item, dict) and item.get("chunk_id"):
            score = item.get("score")
            out[uuid.UUID(str(item["chunk_id"]))] = None if score is None else float(score)
    return out


def _passage(chunk: dict[str, Any], score: float | None) -> PassageView:
    return PassageView(
        chunk_id=chunk["id"],
        document_id=chunk["document_id"],
        title=str(chunk["title"]),
        source=str(chunk["uri"]),
        page=chunk["page"],
        score=score,
        snippet=str(chunk["text"])[:SNIPPET_CHARS],
    )
