"""What happens to personal data at each place it can appear, and reversible pseudonymisation.

Documents follow their source's mode; questions, logs, audit, LLM context, answers and feedback
follow one deployment-wide ``PiiPolicy``.
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from app.errors import DocumentRejected
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
    """Mode per place. ``block`` applies to documents only (questions are redacted instead)."""

    documents: PiiMode = "redact"  # default for sources without their own mode
    questions: Literal["redact", "keep"] = "redact"
    logs: Literal["redact", "keep"] = "redact"
    audit: Literal["redact", "keep"] = "redact"
    llm_context: Literal["redact", "pseudonymize", "keep"] = "pseudonymize"
    answers: Literal["redact", "keep"] = "redact"
    feedback_comments: Literal["redact", "keep"] = "redact"


class ScopedRedactor:
    """A ``PiiRedactor`` that reports and replaces only the entity types in ``allowed``.

    Detection still runs over every type, so a span that the inner redactor resolved as an
    excluded type (a person) is left in clear text rather than re-labelled.
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
