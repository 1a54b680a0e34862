"""The agent's hand-off queue under ``/api/v1/handoffs``: list, claim, reply, close (JSON)."""

import uuid
from typing import Annotated, Any

import msgspec
from litestar import get, post
from litestar.params import FromPath, KwargDefinition, Parameter

from app.chat import handoffs as use_case
from app.chat.handoff_queue import MAX_LIST, HandoffItem, PassageView, list_handoffs
from app.chat.handoffs import MAX_ANSWER_CHARS, HandoffState
from app.db.models import HandoffStatus
from app.web.dependencies import Caller, DbSession, Web
from app.web.fields import TEXT_DESCRIPTION, TEXT_PATTERN, Name, json_body

Answer = Annotated[
    str,
    KwargDefinition(
        min_length=1,
        max_length=MAX_ANSWER_CHARS,
        pattern=TEXT_PATTERN,
        description=f"{TEXT_DESCRIPTION} At most {MAX_ANSWER_CHARS:,} characters.",
    ),
]
# ``groups`` narrows who may retrieve the verified answer, so it comes only with
# ``save_as_verified: true`` (``app.chat.handoffs.reply_to_handoff``).
_GROUPS_NEED_SAVE = {
    "if": {"properties": {"groups": {"type": "array"}}, "required": ["groups"]},
    "then": {"properties": {"save_as_verified": {"const": True}}, "required": ["save_as_verified"]},
}


class ReplyRequest(msgspec.Struct, forbid_unknown_fields=True):
    answer: Answer
    save_as_verified: bool = False
    groups: Annotated[list[Name], msgspec.Meta(min_length=1)] | None = None


def _passage_json(p: PassageView) -> dict[str, Any]:
    body: dict[str, Any] = {
        "chunk_id": str(p.chunk_id),
        "document_id": str(p.document_id),
        "title": p.title,
        "source": p.source,
        "score": p.score,
        "snippet": p.snippet,
    }
    if p.page is not None:
        body["page"] = p.page
    return body


def _item_json(h: HandoffItem) -> dict[str, Any]:
    return {
        "id": str(h.id),
        "conversation_id": str(h.conversation_id),
        "message_id": str(h.message_id),
        "question": h.question,
        "history": h.history,
        "reason": h.reason,
        "status": h.status,
        "assignee": h.assignee,
        "created_at": h.created_at.isoformat(),
        "updated_at": h.updated_at.isoformat(),
        "passages": [_passage_json(p) for p in h.passages],
    }


def _state_json(s: HandoffState) -> dict[str, Any]:
    return {
        "id": str(s.id),
        "status": s.status,
        "assignee_id": None if s.assignee_id is None else str(s.assignee_id),
    }


@get("/api/v1/handoffs")
async def list_queue(
    db_session: DbSession,
    principal: Caller,
    status: Annotated[HandoffStatus, Parameter()] = "open",
    limit: Annotated[int, Parameter(ge=1, le=MAX_LIST)] = 50,
) -> dict[str, Any]:
    items = await list_handoffs(db_session, principal, status=status, limit=limit)
    return {"handoffs": [_item_json(h) for h in items]}


@post("/api/v1/handoffs/{handoff_id:uuid}/claim", status_code=200)
async def claim(
    handoff_id: FromPath[uuid.UUID], db_session: DbSession, principal: Caller
) -> dict[str, Any]:
    return _state_json(await use_case.claim_handoff(db_session, principal, handoff_id))


@post("/api/v1/handoffs/{handoff_id:uuid}/reply", status_code=200)
async def reply(
    handoff_id: FromPath[uuid.UUID],
    data: Annotated[ReplyRequest, json_body(**_GROUPS_NEED_SAVE)],
    db_session: DbSession,
    principal: Caller,
    web: Web,
) -> dict[str, Any]:
    outcome = await use_case.reply_to_handoff(
        db_session,
        principal,
        handoff_id,
        answer=data.answer,
        save_as_verified=data.save_as_verified,
        groups=data.groups,
        verified=web.verified,
    )
    verified = None
    if outcome.verified_document_id is not None:
        verified = {
            "document_id": str(outcome.verified_document_id),
            "groups": outcome.verified_access,
        }
    return {
        **_state_json(outcome.handoff),
        "conversation_id": str(outcome.conversation_id),
        "message_id": str(outcome.message_id),
        "verified": verified,
    }


@post("/api/v1/handoffs/{handoff_id:uuid}/close", status_code=200)
async def close(
    handoff_id: FromPath[uuid.UUID], db_session: DbSession, principal: Caller
) -> dict[str, Any]:
    return _state_json(await use_case.close_handoff(db_session, principal, handoff_id))
