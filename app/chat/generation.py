"""From retrieved passages to a draft answer: compose, score confidence, optionally ask the LLM.

The composer always runs (it is cheap, it is the fallback, and its support and coverage
feed the confidence). The LLM is asked only when the version says ``answerer = "llm"``, a client
is configured and the question is confident enough to be answered at all; any LLM failure or
an answer that fails validation falls back to the composer, and the trace says why. A validated
LLM answer then passes the ``answers`` PII policy; composer answers need not, since they only
quote the shown passages, whose values the policy allows.
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.chat.composer import Composition, compose
from app.chat.confidence import (
    ConfidenceSignals,
    answer_confidence,
    cosine_signal,
    score_margin,
)
from app.chat.grounding import validate_answer
from app.chat.llm import LlmClient
from app.chat.llm_answerer import answer_with_llm
from app.chat.sentence_pool import SentencePool
from app.chat.versions import AssistantVersion
from guardrails.policy import LlmRoundTrip, PiiGuard, PiiPolicy
from retrieval.embeddings import Embedder
from retrieval.types import RetrievalResult

SNIPPET_CHARS = 400


@dataclass
class Draft:
    """A candidate answer. ``used`` indexes the passages (citation n = used[n-1])."""

    answer: str
    used: list[int]
    snippets: list[str]
    confidence: float
    answerer: str
    trace: dict[str, Any] = field(default_factory=dict)


def _no_pii_guard() -> PiiGuard:
    return PiiGuard(PiiPolicy(), None)


@dataclass(frozen=True)
class Generators:
    embedder: Embedder
    pool: SentencePool
    llm: LlmClient | None = None
    pii: PiiGuard = field(default_factory=_no_pii_guard)


def _composer_snippets(composition: Composition, passages_text: Sequence[str]) -> list[str]:
    out = []
    for index in composition.used:
        quoted = " ".join(s.sentence for s in composition.sentences if s.chunk_index == index)
        out.append((quoted or passages_text[index])[:SNIPPET_CHARS])
    return out


async def draft_answer(
    gen: Generators,
    version: AssistantVersion,
    question: str,
    result: RetrievalResult,
    *,
    round_trip: LlmRoundTrip | None = None,
) -> Draft:
    """Compose (and maybe ask the LLM); ``confidence`` decides answer vs hand-off upstream.

    ``round_trip`` masks what is sent to the LLM (a new one from ``gen.pii`` when not given).
    """
    mark = time.perf_counter()
    passages = result.chunks
    composition = compose(question, passages, gen.embedder, version.composer, gen.pool)
    cited = [passages[i] for i in composition.used]  # the composer numbers its citations
    grounded = validate_answer(composition.answer, cited) if composition.answer else None
    signals = ConfidenceSignals(
        retrieval=min(1.0, result.confidence),
        margin=score_margin([c.score for c in passages]),
        support=composition.support,
        coverage=composition.coverage,
        semantic=cosine_signal(composition.semantic),
    )
    confidence = answer_confidence(signals, version.answer.weights)
    trace: dict[str, Any] = {
        "compose_ms": round((time.perf_counter() - mark) * 1000, 2),
        "sentences_embedded": composition.embedded,
        "signals": {k: round(v, 4) for k, v in signals.__dict__.items()},
        "support": round(composition.support, 4),
        "grounding": grounded.grounding if grounded else 0.0,
        "removed_sentences": grounded.removed if grounded else 0,
    }
    snippets = _composer_snippets(composition, [p.text for p in passages])
    kept = grounded.used if grounded else []
    draft = Draft(
        answer=grounded.answer if grounded else "",
        used=[composition.used[j] for j in kept],
        snippets=[snippets[j] for j in kept],
        confidence=confidence if grounded and grounded.ok else 0.0,
        answerer="composer",
        trace=trace,
    )
    wants_llm = version.answer.answerer == "llm" and gen.llm is not None
    if not wants_llm or confidence < version.answer.confidence_threshold or gen.llm is None:
        return draft
    mark = time.perf_counter()
    outcome = await answer_with_llm(
        gen.llm,
        version.prompts,
        question,
        passages,
        max_sentences=version.composer.max_sentences,
        round_trip=round_trip or gen.pii.llm_round_trip(),
    )
    trace["llm"] = {
        "model": gen.llm.model,
        "ms": round((time.perf_counter() - mark) * 1000, 2),
        "attempts": outcome.attempts,
        "fallback_reason": outcome.fallback_reason,
    }
    trace["tokens"] = outcome.tokens
    trace["cost_usd"] = outcome.cost_usd
    if outcome.grounded is None:
        trace["fallback"] = outcome.fallback_reason
        return draft
    trace["grounding"] = outcome.grounded.grounding
    trace["removed_sentences"] = outcome.grounded.removed
    trace["validation_warnings"] = outcome.grounded.warnings[:10]
    trace["llm"]["validated_changed_text"] = outcome.grounded.answer != outcome.raw_text.strip()
    screened = gen.pii.answer(
        outcome.grounded.answer, shown=[question, *(p.text for p in passages)]
    )
    trace["answer_pii_redacted"] = len(screened.entities)
    return Draft(
        answer=screened.text,
        used=outcome.grounded.used,
        snippets=[passages[i].text[:SNIPPET_CHARS] for i in outcome.grounded.used],
        confidence=round(confidence * (0.5 + 0.5 * outcome.grounded.grounding), 4),
        answerer="llm",
        trace=trace,
    )
