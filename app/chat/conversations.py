"""Conversations, messages, citations and hand-off tickets as explicit SQL.

Every read takes the caller and returns nothing they do not own: a conversation of
someone else is "not found", exactly like one that does not exist.
"""

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.errors import NotFound

WITHHELD = "This answer quoted documents you can no longer access, so it is hidden."


@dataclass(frozen=True)
class CitationView:
    index: int
    document_id: uuid.UUID
    chunk_id: uuid.UUID | None
    title: str
    source: str
    snippet: str
    page: int | None


@dataclass(frozen=True)
class MessageView:
    id: uuid.UUID
    role: str
    content: str
    confidence: float | None
    created_at: datetime
    citations: list[CitationView]


async def get_or_create_conversation(
    session: AsyncSession, principal: Principal, conversation_id: uuid.UUID | None, *, title: str
) -> uuid.UUID:
    if conversation_id is not None:
        owner = (
            await session.execute(
                text("SELECT user_id FROM conversations WHERE id = :id"), {"id": conversation_id}
            )
        ).scalar_one_or_none()
        if owner != principal.user_id:
            raise NotFound("conversation not found", field="conversation_id")
        return conversation_id
    new_id = uuid.uuid4()
    await session.execute(
        text("INSERT INTO conversations (id, user_id, title) VALUES (:id, :user, :title)"),
        {"id": new_id, "user": principal.user_id, "title": title[:200]},
    )
    return new_id


async def recent_user_questions(
    session: AsyncSession, conversation_id: uuid.UUID, limit: int = 3
) -> list[str]:
    rows = await session.execute(
        text(
            "SELECT content FROM messages WHERE conversation_id = :id AND role = 'user' "
            "ORDER BY created_at DESC LIMIT :limit"
        ),
        {"id": conversation_id, "limit": limit},
    )
    return list(reversed(rows.scalars().all()))


async def add_message(
    session: AsyncSession,
    conversation_id: uuid.UUID,
    *,
    role: str,
    content: str,
    confidence: float | None = None,
    trace: dict[str, Any] | None = None,
) -> uuid.UUID:
    message_id = uuid.uuid4()
    await session.execute(
        text(
            "INSERT INTO messages (id, conversation_id, role, content, confidence, trace, created_at) "
            "VALUES (:id, :conv, :role, :content, :conf, CAST(:trace AS jsonb), clock_timestamp())"
        ),
        {
            "id": message_id,
            "conv": conversation_id,
            "role": role,
            "content": content,
            "conf": confidence,
            "trace": json.dumps(trace or {}, default=str),
        },
    )
    return message_id


async def add_citations(
    session: AsyncSession, message_id: uuid.UUID, citations: list[CitationView]
) -> None:
    for citation in citations:
        await session.execute(
            text(
                "INSERT INTO citations (message_id, index, chunk_id, document_id, snippet, page) "
                "VALUES (:msg, :idx, :chunk, :doc, :snippet, :page)"
            ),
            {
                "msg": message_id,
                "idx": citation.index,
                "chunk": citation.chunk_id,
                "doc": citation.document_id,
                "snippet": citation.snippet,
                "page": citation.page,
            },
        )


async def create_handoff(
    session: AsyncSession,
    *,
    conversation_id: uuid.UUID,
    message_id: uuid.UUID,
    question: str,
    reason: str,
) -> uuid.UUID:
    handoff_id = uuid.uuid4()
    await session.execute(
        text(
            "INSERT INTO handoffs (id, conversation_id, message_id, question, reason, status) "
            "VALUES (:id, :conv, :msg, :q, :reason, 'open')"
        ),
        {
            "id": handoff_id,
            "conv": conversation_id,
            "msg": message_id,
            "q": question,
            "reason": reason,
        },
    )
    return handoff_id


async def load_conversation(
    session: AsyncSession, principal: Principal, conversation_id: uuid.UUID
) -> list[MessageView]:
    """Messages of a conversation the caller owns; citations re-checked against current access."""
    await get_or_create_conversation(session, principal, conversation_id, title="")
    messages = (
        await session.execute(
            text(
                "SELECT id, role, content, confidence, created_at FROM messages "
                "WHERE conversation_id = :id ORDER BY created_at, id"
            ),
            {"id": conversation_id},
        )
    ).all()
    citations = (
        await session.execute(
            text(
                """
                SELECT ci.message_id, ci.index, ci.document_id, ci.chunk_id, ci.snippet, ci.page,
                       d.title, d.uri,
                       COALESCE(d.acl_override, s.groups) && CAST(:groups AS varchar[]) AS readable
                FROM citations ci
                JOIN messages m ON m.id = ci.message_id
                JOIN documents d ON d.id = ci.document_id
                JOIN sources s ON s.id = d.source_id
                WHERE m.conversation_id = :id
                ORDER BY ci.message_id, ci.index
                """
            ),
            {"id": conversation_id, "groups": principal.readable_groups},
        )
    ).all()
    by_message: dict[uuid.UUID, list[CitationView]] = {}
    withheld: set[uuid.UUID] = set()
    for row in citations:
        if not row[8]:
            withheld.add(row[0])
            continue
        by_message.setdefault(row[0], []).append(
            CitationView(
                index=row[1],
                document_id=row[2],
                chunk_id=row[3],
                snippet=row[4],
                page=row[5],
                title=row[6],
                source=row[7],
            )
        )
    # An answer that quoted a document the caller can no longer read is withheld whole:
    # its text is made of that document's sentences.
    return [
        MessageView(
            id=row[0],
            role=row[1],
            content=WITHHELD if row[0] in withheld else row[2],
            confidence=row[3],
            created_at=row[4],
            citations=[] if row[0] in withheld else by_message.get(row[0], []),
        )
        for row in messages
    ]
