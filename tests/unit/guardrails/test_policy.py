"""Scoped redaction: each place redacts its own entity types, over one shared detector."""

from collections.abc import Iterable, Sequence

from guardrails.policy import DOCUMENT_ENTITIES, QUESTION_ENTITIES, ScopedRedactor
from guardrails.spans import PiiEntity, Redaction, replace_entities

TEXT = "Ask Ann Lee in Oslo at ann@example.com"


class FakeRedactor:
    def find(self, text: str) -> list[PiiEntity]:
        return [
            PiiEntity("PERSON", 4, 11, 0.9),
            PiiEntity("LOCATION", 15, 19, 0.9),
            PiiEntity("EMAIL_ADDRESS", 23, 38, 1.0),
        ]

    def redact(self, text: str) -> Redaction:
        found = self.find(text)
        return Redaction(replace_entities(text, found), tuple(found))

    def scoped(self, entities: Iterable[str]) -> ScopedRedactor:
        return ScopedRedactor(self, entities)

    def redact_many(self, texts: Sequence[str]) -> list[Redaction]:
        return [self.redact(t) for t in texts]


def test_document_scope_keeps_names_and_places() -> None:
    scoped = ScopedRedactor(FakeRedactor(), DOCUMENT_ENTITIES)
    assert scoped.redact(TEXT).text == "Ask Ann Lee in Oslo at <EMAIL_ADDRESS>"
    assert [e.type for e in scoped.find(TEXT)] == ["EMAIL_ADDRESS"]
    assert [r.text for r in scoped.redact_many([TEXT])] == [scoped.redact(TEXT).text]


def test_question_scope_redacts_everything() -> None:
    scoped = ScopedRedactor(FakeRedactor(), QUESTION_ENTITIES)
    assert scoped.redact(TEXT).text == "Ask <PERSON> in <LOCATION> at <EMAIL_ADDRESS>"


def test_scopes() -> None:
    assert "PERSON" not in DOCUMENT_ENTITIES
    assert "LOCATION" not in DOCUMENT_ENTITIES
    assert {"SECRET", "STREET_ADDRESS", "EMPLOYEE_ID"} <= DOCUMENT_ENTITIES
    assert DOCUMENT_ENTITIES < QUESTION_ENTITIES
