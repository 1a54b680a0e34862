"""Chat, conversations, feedback and search under ``/api/v1`` (JSON, or SSE for chat)."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Annotated, Any

import msgspec
import structlog
from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import ServerSentEvent

from app.auth.principal import Principal
from app.chat import feedback as feedback_use_case
from app.chat.conversations import CitationView, load_conversation
from app.chat.feedback import MAX_COMMENT_CHARS, FeedbackRating, FeedbackReason
from app.chat.service import ChatAnswer, answer_question
from app.chat.versions import active_version
from app.web.dependencies import Caller, DbSession, Web
from app.web.fields import Question, json_body
from app.web.state import WebState
from guardrails.validation import validate_question
from retrieval.retriever import retrieve

MAX_SEARCH_K = 50
log = structlog.get_logger(__name__)


class ChatRequest(msgspec.Struct, forbid_unknown_fields=True):
    message: Question
    conversation_id: uuid.UUID | None = None


class SearchRequest(msgspec.Struct, forbid_unknown_fields=True):
    query: Question
    k: Annotated[int, msgspec.Meta(ge=1, le=MAX_SEARCH_K)] = 10


class FeedbackRequest(msgspec.Struct, forbid_unknown_fields=True):
    rating: FeedbackRating
    reason: FeedbackReason | None = None
    comment: Annotated[str, msgspec.Meta(max_length=MAX_COMMENT_CHARS)] | None = None


def citation_json(c: CitationView) -> dict[str, Any]:
    body: dict[str, Any] = {
        "index": c.index,
        "document_id": str(c.document_id),
        "chunk_id": None if c.chunk_id is None else str(c.chunk_id),
        "title": c.title,
        "source": c.source,
        "snippet": c.snippet,
    }
    if c.page is not None:
        body["page"] = c.page
    return body


def answer_json(a: ChatAnswer) -> dict[str, Any]:
    return {
        "conversation_id": str(a.conversation_id),
        "message_id": str(a.message_id),
        "answer": a.answer,
        "citations": [citation_json(c) for c in a.citations],
        "confidence": a.confidence,
        "handoff": None
        if a.handoff is None
        else {"id": str(a.handoff.id), "status": a.handoff.status, "reason": a.handoff.reason},
    }


def _event(name: str, value: object) -> dict[str, str]:
    return {"event": name, "data": msgspec.json.encode(value).decode()}


async def _events(
    first: tuple[str, Any], queue: "asyncio.Queue[tuple[str, Any]]", task: "asyncio.Task[None]"
) -> AsyncIterator[dict[str, str]]:
    """token* then citations then final; ``final.replaces_stream`` if validation changed the text."""
    item = first
    try:
        while True:
            kind, value = item
            if kind == "token":
                yield _event("token", value)
            elif kind == "done":
                body = answer_json(value)
                body["replaces_stream"] = value.streamed != value.answer
                yield _event("citations", body["citations"])
                yield _event("final", body)
                return
            else:
                yield _event("error", {"detail": "the answer could not be completed; try again"})
                return
            item = await queue.get()
    finally:
        if not task.done():
            task.cancel()


async def _stream_chat(web: WebState, principal: Principal, data: ChatRequest) -> ServerSentEvent:
    """Answer in a task with its own session so tokens flow while the answer is produced.

    Errors before the first token (bad input, unknown conversation) propagate as problem
    details; later ones end the stream with an ``error`` event.
    """
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    async def on_token(token: str) -> None:
        await queue.put(("token", token))

    async def produce() -> None:
        try:
            async with web.session_factory.begin() as session:
                with web.metrics.answer_seconds.time():
                    answer = await answer_question(
                        session,
                        web.chat,
                        principal,
                        message=data.message,
                        conversation_id=data.conversation_id,
                        on_token=on_token,
                    )
            web.metrics.answers.labels(answer.trace.get("outcome", "unknown")).inc()
            await queue.put(("done", answer))
        except Exception as exc:
            log.warning("chat.stream_failed", error=type(exc).__name__)
            await queue.put(("error", exc))

    task = asyncio.create_task(produce())
    first = await queue.get()
    if first[0] == "error":
        raise first[1]
    return ServerSentEvent(_events(first, queue, task))


@post("/api/v1/chat", status_code=200)
async def chat(
    request: Request[Any, Any, Any],
    data: Annotated[ChatRequest, json_body()],
    db_session: DbSession,
    principal: Caller,
    web: Web,
) -> Response[Any]:
    if "text/event-stream" in request.headers.get("accept", ""):
        return await _stream_chat(web, principal, data)
    with web.metrics.answer_seconds.time():
        answer = await answer_question(
            db_session,
            web.chat,
            principal,
            message=data.message,
            conversation_id=data.conversation_id,
        )
    web.metrics.answers.labels(answer.trace.get("outcome", "unknown")).inc()
    await db_session.commit()
    return Response(answer_json(answer))


@get("/api/v1/conversations/{conversation_id:uuid}")
async def conversation(
    conversation_id: FromPath[uuid.UUID], db_session: DbSession, principal: Caller
) -> dict[str, Any]:
    messages = await load_conversation(db_session, principal, conversation_id)
    return {
        "id": str(conversation_id),
        "messages": [
            {
                "id": str(m.id),
                "role": m.role,
                "content": m.content,
                "confidence": m.confidence,
                "created_at": m.created_at.isoformat(),
                "citations": [citation_json(c) for c in m.citations],
            }
            for m in messages
        ],
    }


@post("/api/v1/messages/{message_id:uuid}/feedback", status_code=201)
async def feedback(
    message_id: FromPath[uuid.UUID],
    data: Annotated[FeedbackRequest, json_body()],
    db_session: DbSession,
    principal: Caller,
    web: Web,
) -> dict[str, str]:
    feedback_id = await feedback_use_case.record_feedback(
        db_session,
        principal,
        message_id=message_id,
        rating=data.rating,
        reason=data.reason,
        comment=data.comment,
        redact=web.chat.redact,
    )
    return {"id": str(feedback_id)}


@post("/api/v1/search", status_code=200)
async def search(
    data: Annotated[SearchRequest, json_body()],
    db_session: DbSession,
    principal: Caller,
    web: Web,
) -> dict[str, Any]:
    query = validate_question(
        data.query, max_chars=web.settings.chat.max_question_chars, field="query"
    )
    version = await active_version(db_session)
    config = replace(version.retrieval, k=data.k)
    result = await retrieve(
        db_session,
        web.chat.embedder,
        query,
        groups=principal.readable_groups,
        config=config,
        state=web.chat.retrieval,
    )
    results = []
    for chunk in result.chunks:
        item: dict[str, Any] = {
            "chunk_id": str(chunk.chunk_id),
            "document_id": str(chunk.document_id),
            "title": chunk.title,
            "source": chunk.source,
            "score": round(chunk.score, 6),
            "snippet": chunk.text[:400],
        }
        if chunk.page is not None:
            item["page"] = chunk.page
        results.append(item)
    return {"results": results}
