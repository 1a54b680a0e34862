"""The chat use case: ``answer_question`` from a validated question to a persisted answer.

guard input -> resolve the follow-up against the conversation -> retrieve under the
caller's ACL -> compose -> decide confidence / hand-off -> persist message, citations,
trace and an audit event. Handlers (HTTP, SSE, CLI, evals) all call this one function.
Personal data follows ``deps.pii`` (one ``PiiPolicy``) at every step; only the final, validated
answer is ever streamed.
"""

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import record_event
from app.auth.principal import Principal
from app.chat import conversations
from app.chat.conversations import CitationView
from app.chat.followups import retrieval_query
from app.chat.generation import Draft, Generators, draft_answer
from app.chat.llm import LlmClient
from app.chat.llm_answerer import condense_question
from app.chat.sentence_pool import CachedEmbedder, SentencePool, warm_from_store
from app.chat.versions import AssistantVersion, active_version
from app.settings import ChatSettings
from guardrails.policy import LlmRoundTrip, PiiGuard, PiiPolicy
from guardrails.validation import validate_question
from retrieval.embeddings import Embedder
from retrieval.process_state import ProcessState
from retrieval.retriever import retrieve
from retrieval.types import RetrievalResult

log = structlog.get_logger(__name__)
TokenSink = Callable[[str], Awaitable[None]]

IDK_ANSWER = (
    "I don't know the answer to that yet: I could not find it in the documents you can access. "
    "I have passed your question to a person, and their reply will appear in this conversation."
)
# The outcome of a question refused as a suspected prompt injection (in its trace and audit).
REFUSED_INJECTION = "refused_injection"
REFUSAL_ANSWER = (
    "I can't help with that request. I answer questions from the knowledge base, and I don't "
    "follow instructions to change how I work."
)


def _no_pii_guard() -> PiiGuard:
    return PiiGuard(PiiPolicy(), None)


def _no_injection(text: str) -> float:
    return 0.0


@dataclass(frozen=True)
class ChatDeps:
    """Everything the use case needs, built once by the composition root.

    ``llm`` is None without a configured endpoint; ``pool`` caches sentence vectors per process;
    ``pii`` applies the deployment's PII policy (pass-through without a detector);
    ``retrieval`` is what the process keeps between retrievals (readable-set counts, a second
    connection, a copy of recent postings).
    """

    embedder: Embedder
    settings: ChatSettings
    pii: PiiGuard = field(default_factory=_no_pii_guard)
    injection_score: Callable[[str], float] = _no_injection
    injection_threshold: float = 0.5
    llm: LlmClient | None = None
    pool: SentencePool = field(default_factory=SentencePool)
    retrieval: ProcessState = field(default_factory=ProcessState)

    @property
    def redact(self) -> Callable[[str], str]:
        """Feedback comments as they may be stored (the feedback handler's ``redact``)."""
        return self.pii.feedback_comment


@dataclass(frozen=True)
class HandoffView:
    id: uuid.UUID
    status: str
    reason: str


@dataclass(frozen=True)
class ChatAnswer:
    conversation_id: uuid.UUID
    message_id: uuid.UUID
    answer: str
    citations: list[CitationView]
    confidence: float
    handoff: HandoffView | None
    trace: dict[str, Any] = field(default_factory=dict)
    streamed: str = ""  # the text sent as tokens: always the final ``answer``


class _Stream:
    """Streams the final answer word by word to the caller's sink and remembers what was sent."""

    def __init__(self, sink: TokenSink | None) -> None:
        self.sink = sink
        self.sent: list[str] = []
        self.first_token_ms: float | None = None
        self.started = time.perf_counter()

    async def __call__(self, token: str) -> None:
        if self.first_token_ms is None:
            self.first_token_ms = round((time.perf_counter() - self.started) * 1000, 2)
        self.sent.append(token)
        if self.sink is not None:
            await self.sink(token)

    async def words(self, text: str) -> None:
        words = text.split(" ")
        for i, word in enumerate(words):
            await self(word + (" " if i < len(words) - 1 else ""))


async def _resolve_query(
    deps: ChatDeps,
    version: AssistantVersion,
    question: str,
    history: list[str],
    round_trip: LlmRoundTrip,
) -> tuple[str, str | None]:
    """The retrieval query and how it was resolved (``None``, ``carry_over`` or ``llm``)."""
    carried = retrieval_query(question, history)
    if carried == question:
        return question, None
    if deps.llm is not None and version.answer.answerer == "llm":
        condensed = await condense_question(
            deps.llm, version.prompts, question, history, round_trip=round_trip
        )
        if condensed:
            return condensed, "llm"
    return carried, "carry_over"


def _retrieval_trace(result: RetrievalResult) -> dict[str, Any]:
    return {
        "chunks": [
            {
                "chunk_id": str(c.chunk_id),
                "score": round(c.score, 5),
                "dense": c.dense_score,
                "keyword": c.keyword_score,
            }
            for c in result.chunks
        ],
        "confidence": round(result.confidence, 4),
        "timings_ms": {k: round(v, 2) for k, v in result.timings_ms.items()},
    }


def _citations(result: RetrievalResult, draft: Draft) -> list[CitationView]:
    out = []
    for number, (index, snippet) in enumerate(zip(draft.used, draft.snippets, strict=True), 1):
        passage = result.chunks[index]
        out.append(
            CitationView(
                index=number,
                document_id=passage.document_id,
                chunk_id=passage.chunk_id,
                title=passage.title,
                source=passage.source,
                snippet=snippet,
                page=passage.page,
            )
        )
    return out


async def answer_question(
    session: AsyncSession,
    deps: ChatDeps,
    principal: Principal,
    *,
    message: object,
    conversation_id: uuid.UUID | None = None,
    on_token: TokenSink | None = None,
) -> ChatAnswer:
    """Answer ``message`` for ``principal``; raises ``InvalidInput`` or ``NotFound`` (conversation).

    Tokens go to ``on_token`` once the answer is final: validated, screened by the PII policy and
    past the hand-off decision, so what was streamed always equals ``ChatAnswer.answer`` (an LLM
    reply is never shown while it could still be rejected). Nothing is committed here: the
    caller owns the transaction.
    """
    stream = _Stream(on_token)
    started = stream.started
    question = validate_question(message, max_chars=deps.settings.max_question_chars)
    stored_question = deps.pii.question(question)
    conv_id = await conversations.get_or_create_conversation(
        session, principal, conversation_id, title=stored_question[:80]
    )
    history = await conversations.recent_user_questions(session, conv_id)
    await conversations.add_message(session, conv_id, role="user", content=stored_question)
    version = await active_version(session)
    trace: dict[str, Any] = {
        "version": version.number,
        "answerer": "composer",
        "threshold": version.answer.confidence_threshold,
        "stages_ms": {"prepare": round((time.perf_counter() - started) * 1000, 2)},
    }
    finish = _Finisher(session, principal, conv_id, started, trace, stored_question, stream)

    # In a worker thread: the detector's classifier and embedding are CPU work.
    injection = await anyio.to_thread.run_sync(deps.injection_score, question)
    trace["injection_score"] = round(injection, 4)
    if injection >= deps.injection_threshold:
        return await finish(REFUSAL_ANSWER, [], 1.0, None, REFUSED_INJECTION)

    mark = time.perf_counter()
    # One round trip per question: condensation and answering share the LLM placeholders.
    round_trip = deps.pii.llm_round_trip()
    query, resolved = await _resolve_query(deps, version, question, history, round_trip)
    trace["query_rewritten"] = resolved
    result = await retrieve(
        session,
        CachedEmbedder(deps.pool, deps.embedder),
        query,
        groups=principal.readable_groups,
        config=version.retrieval,
        state=deps.retrieval,
    )
    trace["retrieval"] = _retrieval_trace(result)
    trace["stages_ms"]["retrieve"] = round((time.perf_counter() - mark) * 1000, 2)
    mark = time.perf_counter()
    trace["stored_sentence_vectors"] = await warm_from_store(
        deps.pool, session, deps.embedder, result.chunks
    )
    gen = Generators(deps.embedder, deps.pool, deps.llm, deps.pii)
    draft = await draft_answer(gen, version, query, result, round_trip=round_trip)
    trace["stages_ms"]["generate"] = round((time.perf_counter() - mark) * 1000, 2)
    trace.update(draft.trace)
    trace["answerer"] = draft.answerer
    citations = _citations(result, draft)

    if not draft.answer or draft.confidence < version.answer.confidence_threshold:
        reason = "no_passages" if not result.chunks else "low_confidence"
        # What the assistant would have said, for the agent who takes over (and for calibration).
        trace["draft"] = {
            "answer": draft.answer,
            "citations": [[c.source, c.page] for c in citations],
        }
        return await finish(IDK_ANSWER, [], draft.confidence, reason, "handed_off")
    return await finish(draft.answer, citations, draft.confidence, None, "answered")


@dataclass
class _Finisher:
    """Streams the final answer, then persists one outcome and its audit event."""

    session: AsyncSession
    principal: Principal
    conv_id: uuid.UUID
    started: float
    trace: dict[str, Any]
    question: str
    stream: _Stream

    async def __call__(
        self,
        answer: str,
        citations: list[CitationView],
        confidence: float,
        handoff_reason: str | None,
        outcome: str,
    ) -> ChatAnswer:
        trace = self.trace
        await self.stream.words(answer)
        streamed = "".join(self.stream.sent)
        trace["outcome"] = outcome
        trace["confidence"] = confidence
        trace["cited_chunk_ids"] = [str(c.chunk_id) for c in citations]
        trace["first_token_ms"] = self.stream.first_token_ms
        trace.setdefault("tokens", {"prompt": 0, "completion": 0})
        trace.setdefault("cost_usd", 0.0)
        trace["latency_ms"] = round((time.perf_counter() - self.started) * 1000, 2)
        session = self.session
        message_id = await conversations.add_message(
            session,
            self.conv_id,
            role="assistant",
            content=answer,
            confidence=confidence,
            trace=trace,
        )
        await conversations.add_citations(session, message_id, citations)
        handoff = None
        if handoff_reason is not None:
            handoff_id = await conversations.create_handoff(
                session,
                conversation_id=self.conv_id,
                message_id=message_id,
                question=self.question,
                reason=handoff_reason,
            )
            handoff = HandoffView(id=handoff_id, status="open", reason=handoff_reason)
        await record_event(
            session,
            actor_id=self.principal.user_id,
            action="chat.answer",
            object_type="message",
            object_id=message_id,
            details={
                "conversation_id": str(self.conv_id),
                "question": self.question,
                "outcome": outcome,
                "shown_chunk_ids": [
                    c["chunk_id"] for c in trace.get("retrieval", {}).get("chunks", [])
                ],
                "cited_chunk_ids": trace["cited_chunk_ids"],
                "confidence": confidence,
            },
        )
        log.info(
            "chat.answered",
            outcome=outcome,
            answerer=trace.get("answerer"),
            confidence=confidence,
            latency_ms=trace["latency_ms"],
            fallback=trace.get("fallback"),
        )
        return ChatAnswer(
            conversation_id=self.conv_id,
            message_id=message_id,
            answer=answer,
            citations=citations,
            confidence=confidence,
            handoff=handoff,
            trace=trace,
            streamed=streamed,
        )
