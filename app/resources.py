"""Heavy, process-wide resources, built once by a composition root and handed down.

The web app (``app.main``) and the worker (``groundwork worker``) both build their
dependencies here, so the embedder, tokenizer and guardrail engines are configured
identically on both sides of the queue.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.chat.llm import LlmClient
from app.chat.sentence_pool import SentencePool
from app.chat.service import ChatDeps
from app.errors import ConfigurationError, DocumentRejected
from app.settings import PiiMode, Settings
from guardrails.injection import InjectionDetector, normalise
from guardrails.pii import PiiRedactor, build_presidio_redactor
from guardrails.policy import (
    DOCUMENT_ENTITIES,
    QUESTION_ENTITIES,
    PiiGuard,
    PiiPolicy,
    apply_document_policy,
)
from ingestion.pipeline import PiiHook, PipelineDeps
from retrieval.embeddings import Embedder, build_embedder
from retrieval.parallel import ParallelLegs
from retrieval.postings_cache import PostingsCache
from retrieval.process_state import ProcessState
from retrieval.tokens import WordpieceTokenizer, packaged_model_dir


@dataclass(frozen=True)
class Models:
    """The loaded models; tests inject light fakes through the same type."""

    embedder: Embedder
    tokenizer: WordpieceTokenizer
    redactor: PiiRedactor | None
    detector: InjectionDetector | None


def load_models(
    settings: Settings,
    *,
    with_guardrails: bool = True,
    serving: bool = False,
    questions: bool = False,
) -> Models:
    """Load the embedder and tokenizer, plus Presidio and the injection detector (about 10 s).

    ``serving`` (the web process) embeds with ``serve_threads`` threads, else ``threads``.
    ``serving`` or ``questions`` (an evaluation that answers questions as the web process does)
    encodes retrieval questions with ``serve_runtime``.
    """
    runtime = settings.embedding.serve_runtime if serving or questions else "torch"
    model_dir = (
        Path(settings.embedding.model_path)
        if settings.embedding.model_path
        else packaged_model_dir()
    )
    embedder = build_embedder(
        name=settings.embedding.model,
        model_path=str(model_dir),
        batch_size=settings.embedding.batch_size,
        threads=settings.embedding.serve_threads if serving else settings.embedding.threads,
        precision=settings.embedding.precision,
        onnx_dir=settings.data_dir / "onnx" if runtime != "torch" else None,
        int8_queries=runtime == "onnxruntime_int8",
    )
    tokenizer = WordpieceTokenizer.from_model_dir(model_dir)
    redactor = (
        build_presidio_redactor(score_threshold=settings.pii.score_threshold)
        if with_guardrails
        else None
    )
    # The detector's embedding features reuse the app's embedder (one model per process).
    detector = InjectionDetector.load(embed=embedder.embed) if with_guardrails else None
    return Models(embedder=embedder, tokenizer=tokenizer, redactor=redactor, detector=detector)


def pii_hook(redactor: PiiRedactor | None) -> PiiHook:
    def apply(texts: Sequence[str], mode: str) -> list[str]:
        if redactor is None:
            if mode == "block":
                raise DocumentRejected(
                    "the source's PII policy is block, but no PII detector is loaded"
                )
            return list(texts)
        return apply_document_policy(redactor, texts, cast(PiiMode, mode))

    return apply


def build_pipeline_deps(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], models: Models
) -> PipelineDeps:
    detector = models.detector
    return PipelineDeps(
        session_factory=session_factory,
        embedder=models.embedder,
        tokens=models.tokenizer,
        settings=settings.ingestion,
        # Contact data and secrets go; names and places only if the deployment says so.
        pii_hook=pii_hook(
            models.redactor.scoped(document_entities(settings)) if models.redactor else None
        ),
        injection_scorer=(detector.score_many) if detector else None,
    )


def build_llm_client(
    settings: Settings, transport: httpx.AsyncBaseTransport | None = None
) -> LlmClient | None:
    """The LLM client when ``settings.llm.base_url`` is set (tests pass a mock ``transport``)."""
    if not settings.llm.base_url:
        return None
    timeout = httpx.Timeout(
        settings.llm.timeout_seconds, connect=min(5.0, settings.llm.timeout_seconds)
    )
    http = httpx.AsyncClient(timeout=timeout, transport=transport)
    return LlmClient(settings.llm, http)


def document_entities(settings: Settings) -> frozenset[str]:
    """The entity types a source's PII policy covers in documents (see ``PiiSettings``)."""
    if settings.pii.document_names_and_places:
        return QUESTION_ENTITIES
    return DOCUMENT_ENTITIES


def pii_policy(settings: Settings) -> PiiPolicy:
    """The deployment-wide PII policy from ``settings.pii``."""
    pii = settings.pii
    return PiiPolicy(
        questions=pii.questions,
        llm_context=pii.llm_context,
        answers=pii.answers,
        feedback_comments=pii.feedback_comments,
    )


def question_injection_score(
    detector: InjectionDetector, pool: SentencePool, embedder: Embedder
) -> Callable[[str], float]:
    """The detector's score of a question, its embedding features read through ``pool``.

    The question's vector then waits in the pool for retrieval (``CachedEmbedder``), which
    embeds the same text: one encoder pass per question instead of two. The detector embeds
    ``normalise``d text, which for almost every question is the question itself; when it is
    not, retrieval embeds the question as before. The vectors are the embedder's own, so the
    scores are unchanged.
    """
    if not detector.embeds:
        return detector.score

    def score(text: str) -> float:
        vectors, _ = pool.vectors(embedder, [normalise(text)])
        return detector.score_many([text], vectors=vectors)[0]

    return score


def build_chat_deps(
    settings: Settings,
    models: Models,
    *,
    llm_transport: httpx.AsyncBaseTransport | None = None,
    session_factory: async_sessionmaker[AsyncSession] | None = None,
) -> ChatDeps:
    """Chat dependencies; the LLM client (if configured) must be closed by the caller's shutdown.

    Fails closed: an external LLM with an ``llm_context`` policy other than ``keep`` needs a PII
    detector, or questions would leave unmasked.
    """
    if settings.llm.base_url and settings.pii.llm_context != "keep" and models.redactor is None:
        raise ConfigurationError(
            "an LLM endpoint is configured and PII__LLM_CONTEXT is "
            f"{settings.pii.llm_context}, but no PII detector is loaded"
        )
    detector, pool = models.detector, SentencePool()
    return ChatDeps(
        llm=build_llm_client(settings, llm_transport),
        pii=PiiGuard(pii_policy(settings), models.redactor),
        embedder=models.embedder,
        settings=settings.chat,
        injection_score=(
            question_injection_score(detector, pool, models.embedder)
            if detector
            else (lambda text: 0.0)
        ),
        injection_threshold=detector.threshold if detector else 1.0,
        pool=pool,
        retrieval=ProcessState(
            parallel=(
                ParallelLegs(session_factory, max_in_flight=settings.chat.parallel_legs_in_flight)
                if session_factory is not None and settings.chat.parallel_legs_in_flight
                else None
            ),
            postings=(
                PostingsCache(session_factory, max_postings=settings.chat.postings_cache_postings)
                if session_factory is not None and settings.chat.postings_cache_postings
                else None
            ),
        ),
    )
