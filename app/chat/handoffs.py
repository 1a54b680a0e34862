"""Hand-off transitions: agents claim, reply to and close questions the assistant handed off.

States: ``open -> claimed -> answered -> closed`` (claiming is optional; a hand-off can be
closed from any state). A reply is appended to the asker's conversation as an ``agent``
message; with ``save_as_verified`` it is also stored as a verified answer that retrieval
finds next time, under the rule of ``app.chat.verified_access``. Every function needs the
agent role (admins have it) and leaves the transaction to the caller. Listing the queue is
``app.chat.handoff_queue``.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import record_event
from app.auth.principal import Principal
from app.chat import conversations
from app.chat.handoff_queue import require_agent
from app.chat.verified_access import load_bounds, resolve_access
from app.errors import Conflict, InvalidInput, NotFound
from guardrails.validation import validate_question

MAX_ANSWER_CHARS = 8000


class VerifiedAnswerWriter(Protocol):
    """Stores a reply as a retrievable verified answer; returns its document id."""

    async def save(
        self,
        session: AsyncSession,
        *,
        handoff_id: uuid.UUID,
        question: str,
        answer: str,
        access: Sequence[str],
    ) -> uuid.UUID: ...


@dataclass(frozen=True)
class HandoffState:
    id: uuid.UUID
    status: str
    assignee_id: uuid.UUID | None


@dataclass(frozen=True)
class ReplyOutcome:
    handoff: HandoffState
    conversation_id: uuid.UUID
    message_id: uuid.UUID
    verified_document_id: uuid.UUID | None = None
    verified_access: list[str] | None = None


@dataclass(frozen=True)
class _Locked:
    id: uuid.UUID
    conversation_id: uuid.UUID
    message_id: uuid.UUID
    question: str
    status: str
    assignee_id: uuid.UUID | None
    asker_id: uuid.UUID


async def _lock(session: AsyncSession, handoff_id: uuid.UUID) -> _Locked:
    row = (
        await session.execute(
            text(
                "SELECT h.id, h.conversation_id, h.message_id, h.question, h.status, "
                "h.assignee_id, c.user_id FROM handoffs h "
                "JOIN conversations c ON c.id = h.conversation_id "
                "WHERE h.id = :id FOR UPDATE OF h"
            ),
            {"id": handoff_id},
        )
    ).first()
    if row is None:
        raise NotFound("hand-off not found")
    return _Locked(*row)


async def _set_state(
    session: AsyncSession, handoff_id: uuid.UUID, status: str, assignee_id: uuid.UUID | None
) -> HandoffState:
    await session.execute(
        text(
            "UPDATE handoffs SET status = :status, assignee_id = :assignee, updated_at = now() "
            "WHERE id = :id"
        ),
        {"id": handoff_id, "status": status, "assignee": assignee_id},
    )
    return HandoffState(id=handoff_id, status=status, assignee_id=assignee_id)


def _check_not_taken(handoff: _Locked, principal: Principal) -> None:
    """Another agent's claim stands; an admin may take over."""
    taken = handoff.assignee_id is not None and handoff.assignee_id != principal.user_id
    if taken and not principal.has_role("admin"):
        raise Conflict("another agent has claimed this hand-off")


async def claim_handoff(
    session: AsyncSession, principal: Principal, handoff_id: uuid.UUID
) -> HandoffState:
    """Assign an open hand-off to the caller; claiming one's own claim again is a no-op."""
    require_agent(principal)
    handoff = await _lock(session, handoff_id)
    if handoff.status == "claimed" and handoff.assignee_id == principal.user_id:
        return HandoffState(handoff.id, handoff.status, handoff.assignee_id)
    if handoff.status != "open":
        raise Conflict(f"the hand-off is {handoff.status}; only open hand-offs can be claimed")
    state = await _set_state(session, handoff.id, "claimed", principal.user_id)
    await _audit(session, principal, "handoff.claim", handoff, {})
    return state


async def reply_to_handoff(
    session: AsyncSession,
    principal: Principal,
    handoff_id: uuid.UUID,
    *,
    answer: object,
    save_as_verified: bool = False,
    groups: Sequence[str] | None = None,
    verified: VerifiedAnswerWriter | None = None,
) -> ReplyOutcome:
    """Append the agent's answer to the asker's conversation and mark the hand-off answered.

    ``groups`` (only with ``save_as_verified``) narrows who may retrieve the verified answer;
    without it the default rule applies. Replying again to an answered hand-off adds another
    message (and replaces its verified answer); a closed one takes no replies.
    """
    require_agent(principal)
    text_ = validate_question(answer, max_chars=MAX_ANSWER_CHARS, field="answer")
    if groups is not None and not save_as_verified:
        raise InvalidInput("groups apply only with save_as_verified", field="groups")
    if save_as_verified and verified is None:
        raise InvalidInput("verified answers are not enabled here", field="save_as_verified")
    handoff = await _lock(session, handoff_id)
    if handoff.status == "closed":
        raise Conflict("the hand-off is closed; it takes no more replies")
    _check_not_taken(handoff, principal)
    access: list[str] | None = None
    if save_as_verified:
        bounds = await load_bounds(
            session, message_id=handoff.message_id, asker_id=handoff.asker_id
        )
        access = await resolve_access(session, bounds, groups)
    message_id = await conversations.add_message(
        session,
        handoff.conversation_id,
        role="agent",
        content=text_,
        trace={"handoff_id": str(handoff.id), "agent_id": str(principal.user_id)},
    )
    document_id: uuid.UUID | None = None
    if verified is not None and access is not None:
        document_id = await verified.save(
            session, handoff_id=handoff.id, question=handoff.question, answer=text_, access=access
        )
    state = await _set_state(
        session, handoff.id, "answered", handoff.assignee_id or principal.user_id
    )
    details = {
        "conversation_id": str(handoff.conversation_id),
        "message_id": str(message_id),
        "answer_chars": len(text_),
        "verified_document_id": None if document_id is None else str(document_id),
        "verified_access": access,
    }
    await _audit(session, principal, "handoff.reply", handoff, details)
    return ReplyOutcome(
        handoff=state,
        conversation_id=handoff.conversation_id,
        message_id=message_id,
        verified_document_id=document_id,
        verified_access=access,
    )


async def close_handoff(
    session: AsyncSession, principal: Principal, handoff_id: uuid.UUID
) -> HandoffState:
    """Close a hand-off (answered, or not worth an answer); closing twice is a conflict."""
    require_agent(principal)
    handoff = await _lock(session, handoff_id)
    if handoff.status == "closed":
        raise Conflict("the hand-off is already closed")
    _check_not_taken(handoff, principal)
    state = await _set_state(
        session, handoff.id, "closed", handoff.assignee_id or principal.user_id
    )
    await _audit(session, principal, "handoff.close", handoff, {"was": handoff.status})
    return state


async def _audit(
    session: AsyncSession,
    principal: Principal,
    action: str,
    handoff: _Locked,
    details: dict[str, Any],
) -> None:
    await record_event(
        session,
        actor_id=principal.user_id,
        action=action,
        object_type="handoff",
        object_id=handoff.id,
        details={"conversation_id": str(handoff.conversation_id), **details},
    )
