"""The LLM answerer: numbered, neutralised sources in a versioned prompt, a streamed reply,
then citation validation. Also the follow-up condensation prompt.

Prompt templates are files in ``app/chat/prompts``; their text is copied into an assistant
version when it is created, so a stored answer names the exact prompt that produced it.
Passages are always wrapped by ``guardrails.injection.neutralise_passage``: retrieved text is
data, never instructions. Every text that leaves for the LLM (question, history, passages) goes
through the question's ``LlmRoundTrip`` first (the ``llm_context`` PII policy), and the reply is
restored through it. The reply is read whole and validated before any of it reaches the user.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from app.chat.grounding import Grounded, validate_answer
from app.chat.llm import LlmClient, LlmError
from guardrails.injection import neutralise_passage
from guardrails.policy import LlmRoundTrip
from retrieval.types import RetrievedChunk

PROMPTS_DIR = Path(__file__).parent / "prompts"
PROMPT_NAMES = ("answer_system", "answer_user", "condense")
# Plain-text prompts for an API, never rendered as HTML: escaping would corrupt them.
_ENV = jinja2.Environment(
    autoescape=False,  # noqa: S701 undefined=jinja2.StrictUndefined, keep_trailing_newline=False
)
IDK_REPLY = "i don't know"


def default_prompts() -> dict[str, str]:
    """The prompt template texts shipped with this release (copied into new versions)."""
    return {name: (PROMPTS_DIR / f"{name}.jinja2").read_text() for name in PROMPT_NAMES}


def render(template: str, **values: Any) -> str:
    return _ENV.from_string(template).render(**values).strip()


@dataclass
class LlmOutcome:
    """What the LLM produced: a validated answer, or ``fallback_reason`` for the composer."""

    grounded: Grounded | None
    raw_text: str = ""
    fallback_reason: str | None = None
    tokens: dict[str, int] = field(default_factory=lambda: {"prompt": 0, "completion": 0})
    cost_usd: float = 0.0
    attempts: int = 0


def build_messages(
    prompts: dict[str, str],
    question: str,
    passages: Sequence[RetrievedChunk],
    *,
    max_sentences: int,
    round_trip: LlmRoundTrip,
) -> list[dict[str, str]]:
    """System + user messages, masked for the LLM; source ``n`` is ``passages[n-1]``."""
    sources = [
        {
            "number": number,
            "title": round_trip.mask(p.title),
            "page": p.page,
            "text": neutralise_passage(round_trip.mask(p.text)),
        }
        for number, p in enumerate(passages, start=1)
    ]
    system = render(
        prompts["answer_system"], organisation="the organisation", max_sentences=max_sentences
    )
    user = render(prompts["answer_user"], sources=sources, question=round_trip.mask(question))
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


async def _discard(token: str) -> None:
    # The endpoint is still read as a stream (the first-token timeout catches a stalled one), but
    # nothing reaches the user before the whole reply has been validated.
    return None


async def answer_with_llm(
    client: LlmClient,
    prompts: dict[str, str],
    question: str,
    passages: Sequence[RetrievedChunk],
    *,
    max_sentences: int,
    round_trip: LlmRoundTrip,
) -> LlmOutcome:
    """Ask the LLM and validate its citations; never raises for LLM faults."""
    messages = build_messages(
        prompts, question, passages, max_sentences=max_sentences, round_trip=round_trip
    )
    try:
        reply = await client.chat(messages, on_token=_discard)
    except LlmError as exc:
        return LlmOutcome(grounded=None, fallback_reason=f"llm_{exc.reason}")
    outcome = LlmOutcome(
        grounded=None,
        raw_text=reply.text,
        tokens={"prompt": reply.prompt_tokens, "completion": reply.completion_tokens},
        cost_usd=client.cost_usd(reply),
        attempts=reply.attempts,
    )
    text = round_trip.restore(reply.text)
    if text.strip().lower().rstrip(".!") == IDK_REPLY:
        outcome.fallback_reason = "llm_declined"
        return outcome
    grounded = validate_answer(text, passages, system_prompt=messages[0]["content"])
    if not grounded.ok:
        outcome.fallback_reason = "llm_failed_validation"
        return outcome
    outcome.grounded = grounded
    return outcome


async def condense_question(
    client: LlmClient,
    prompts: dict[str, str],
    question: str,
    history: Sequence[str],
    *,
    round_trip: LlmRoundTrip,
) -> str | None:
    """A standalone version of a follow-up, or None when the LLM fails (caller falls back)."""
    prompt = render(
        prompts["condense"],
        history=[round_trip.mask(turn) for turn in history],
        question=round_trip.mask(question),
    )
    try:
        reply = await client.chat([{"role": "user", "content": prompt}], max_tokens=120)
    except LlmError:
        return None
    rewritten = " ".join(round_trip.restore(reply.text).split())
    return rewritten if 0 < len(rewritten) <= 4 * max(len(question), 100) else None
