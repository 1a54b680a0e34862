"""What happens to personal data at each place it can appear, and reversible pseudonymisation.

Documents follow their source's mode (``apply_document_policy``); questions, LLM requests, answers
and feedback comments follow one deployment-wide ``PiiPolicy``, applied by one ``PiiGuard``.
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from app.errors import DocumentRejected
from guardrails.output import redact_answer
from guardrails.spans import PiiEntity, PiiRedactor, Redaction, replace_entities

# Knowledge-base documents: contact identifiers and secrets only. Names and places stay, because
# colleague names and office cities are business content and NER over-fires on product names.
DOCUMENT_ENTITIES: frozenset[str] = frozenset(
    {
        "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE", "IP_ADDRESS",
        "STREET_ADDRESS", "EMPLOYEE_ID", "SECRET", "US_ITIN", "US_PASSPORT", "US_BANK_NUMBER",
        "MAC_ADDRESS", "CRYPTO",
    }
)  # fmt: skip
# Questions, logs, audit, answers and feedback: everything, people and places included.
QUESTION_ENTITIES: frozenset[str] = DOCUMENT_ENTITIES | {"PERSON", "LOCATION"}

PiiMode = Literal["redact", "keep", "block"]


@dataclass(frozen=True)
class PiiPolicy:
    """The deployment-wide mode per place (documents follow their source's own mode).

    ``questions`` covers everything stored about a question (message, conversation title,
    hand-off, audit event); logs never carry free text at all. ``llm_context`` covers everything
    sent to an external LLM: the question, the conversation history and the retrieved passages.
    ``answers`` redacts personal data in generated text that the user neither wrote nor was shown.
    """

    questions: Literal["redact", "keep"] = "redact"
    llm_context: Literal["redact", "pseudonymize", "keep"] = "pseudonymize"
    answers: Literal["redact", "keep"] = "redact"
    feedback_comments: Literal["redact", "keep"] = "redact"


class ScopedRedactor:
    """A ``PiiRedactor`` that reports and replaces only the entity types in ``allowed``.

    The generic scope for any redactor: detection still runs over every type, then the excluded
    ones are dropped. ``PresidioRedactor.scoped`` is the fast one (it skips NER when it can).
    """

    def __init__(self, inner: PiiRedactor, allowed: Iterable[str]) -> None:
        self._inner = inner
        self._allowed = frozenset(allowed)

    @property
    def allowed(self) -> frozenset[str]:
        return self._allowed

    def find(self, text: str) -> list[PiiEntity]:
        return [e for e in self._inner.find(text) if e.type in self._allowed]

    def redact(self, text: str) -> Redaction:
        entities = self.find(text)
        return Redaction(replace_entities(text, entities), tuple(entities))

    def redact_many(self, texts: Sequence[str]) -> list[Redaction]:
        return [
            self._scope(text, r)
            for text, r in zip(texts, self._inner.redact_many(texts), strict=True)
        ]

    def scoped(self, entities: Iterable[str]) -> "ScopedRedactor":
        return ScopedRedactor(self._inner, self._allowed & frozenset(entities))

    def _scope(self, text: str, redaction: Redaction) -> Redaction:
        entities = tuple(e for e in redaction.entities if e.type in self._allowed)
        return Redaction(replace_entities(text, entities), entities)


def apply_document_policy(redactor: PiiRedactor, texts: Sequence[str], mode: PiiMode) -> list[str]:
    """Texts (a document's chunks) as they may be stored under ``mode``.

    ``keep`` returns them unchanged, ``redact`` replaces entities with ``<TYPE>``, ``block`` raises
    ``DocumentRejected`` naming the entity types found (and returns the texts when there are none).
    """
    if mode == "keep":
        return list(texts)
    redactions = redactor.redact_many(texts)
    if mode == "redact":
        return [r.text for r in redactions]
    types = sorted({e.type for r in redactions for e in r.entities})
    if types:
        raise DocumentRejected(
            f"the document contains personal data ({', '.join(types)}) "
            "and its source's policy is block"
        )
    return list(texts)


_PLACEHOLDER = re.compile(r"<([A-Z_]+)_(\d+)>")


@dataclass(frozen=True)
class Pseudonymizer:
    """Stable placeholders (``<PERSON_1>``) for an LLM round trip, restored in the reply.

    The same value gets the same placeholder across calls that share a ``mapping``.
    """

    redactor: PiiRedactor

    def pseudonymize(
        self, text: str, mapping: dict[str, str] | None = None
    ) -> tuple[str, dict[str, str]]:
        """Return the text with placeholders and ``placeholder -> original`` (extended in place)."""
        mapping = {} if mapping is None else mapping
        by_value = {value: key for key, value in mapping.items()}
        counters: dict[str, int] = {}
        for key in mapping:
            found = _PLACEHOLDER.fullmatch(key)
            if found:
                kind, number = found.group(1), int(found.group(2))
                counters[kind] = max(counters.get(kind, 0), number)
        parts: list[str] = []
        cursor = 0
        for entity in self.redactor.find(text):
            value = text[entity.start : entity.end]
            placeholder = by_value.get(value)
            if placeholder is None:
                counters[entity.type] = counters.get(entity.type, 0) + 1
                placeholder = f"<{entity.type}_{counters[entity.type]}>"
                mapping[placeholder] = value
                by_value[value] = placeholder
            parts.extend((text[cursor : entity.start], placeholder))
            cursor = entity.end
        parts.append(text[cursor:])
        return "".join(parts), mapping

    @staticmethod
    def restore(text: str, mapping: dict[str, str]) -> str:
        """Put the original values back; unknown placeholders are left as they are."""
        return _PLACEHOLDER.sub(lambda m: mapping.get(m.group(0), m.group(0)), text)


class LlmRoundTrip:
    """Masks everything sent to an external LLM for one question, and restores the reply.

    One instance per question: the condensation and the answer request share its mapping, so a
    value keeps its placeholder across both and the reply's placeholders can be put back.
    """

    def __init__(
        self, mode: Literal["redact", "pseudonymize", "keep"], redactor: PiiRedactor | None
    ) -> None:
        self._mode = mode
        self._redactor = redactor
        self.mapping: dict[str, str] = {}

    def mask(self, text: str) -> str:
        if self._mode == "keep" or self._redactor is None:
            return text
        if self._mode == "redact":
            return self._redactor.redact(text).text
        return Pseudonymizer(self._redactor).pseudonymize(text, self.mapping)[0]

    def restore(self, text: str) -> str:
        return Pseudonymizer.restore(text, self.mapping) if self.mapping else text


class PiiGuard:
    """Applies one ``PiiPolicy`` with one detector, scoped to ``QUESTION_ENTITIES``.

    Without a detector (light test models) every place passes text through unchanged, as under
    ``keep``; ``build_chat_deps`` refuses an external LLM in that state unless ``llm_context`` is
    ``keep``.
    """

    def __init__(self, policy: PiiPolicy, redactor: PiiRedactor | None) -> None:
        self.policy = policy
        self._redactor = redactor.scoped(QUESTION_ENTITIES) if redactor else None

    def question(self, text: str) -> str:
        """The question as it may be stored, audited and shown to agents."""
        return self._apply(self.policy.questions, text)

    def feedback_comment(self, text: str) -> str:
        return self._apply(self.policy.feedback_comments, text)

    def llm_round_trip(self) -> LlmRoundTrip:
        return LlmRoundTrip(self.policy.llm_context, self._redactor)

    def answer(self, text: str, *, shown: Sequence[str]) -> Redaction:
        """A generated answer without personal data that is not in ``shown`` (the question and
        the passages this user was shown: values the user may see)."""
        if self.policy.answers == "keep" or self._redactor is None or not text:
            return Redaction(text, ())
        return redact_answer(self._redactor, text, allowed=shown)

    def _apply(self, mode: str, text: str) -> str:
        if mode == "keep" or self._redactor is None:
            return text
        return self._redactor.redact(text).text
