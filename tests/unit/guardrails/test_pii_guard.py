"""The deployment PII policy applied by ``PiiGuard``: stored questions, the LLM round trip, and
answers (only values the user neither wrote nor was shown are redacted)."""

import re
from collections.abc import Iterable, Sequence

import pytest

from guardrails.output import redact_answer
from guardrails.policy import PiiGuard, PiiPolicy, ScopedRedactor
from guardrails.spans import PiiEntity, Redaction, replace_entities

_EMAIL = re.compile(r"[\w.]+@[\w.]+\.\w+")
_NAMES = re.compile(r"\b(?:Ann Lee|Bo Stark)\b")


class RegexRedactor:
    """E-mail addresses and two known names; deterministic, no model."""

    def find(self, text: str) -> list[PiiEntity]:
        found = [PiiEntity("EMAIL_ADDRESS", m.start(), m.end(), 1.0) for m in _EMAIL.finditer(text)]
        found += [PiiEntity("PERSON", m.start(), m.end(), 0.9) for m in _NAMES.finditer(text)]
        return sorted(found, key=lambda e: e.start)

    def redact(self, text: str) -> Redaction:
        found = self.find(text)
        return Redaction(replace_entities(text, found), tuple(found))

    def scoped(self, entities: Iterable[str]) -> ScopedRedactor:
        return ScopedRedactor(self, entities)

    def redact_many(self, texts: Sequence[str]) -> list[Redaction]:
        return [self.redact(t) for t in texts]


QUESTION = "I am Ann Lee (ann@example.com): how much leave do I get?"


def test_questions_and_feedback_follow_their_modes() -> None:
    guard = PiiGuard(PiiPolicy(), RegexRedactor())
    assert guard.question(QUESTION) == "I am <PERSON> (<EMAIL_ADDRESS>): how much leave do I get?"
    assert guard.feedback_comment("mail bo@example.org") == "mail <EMAIL_ADDRESS>"
    keep = PiiGuard(PiiPolicy(questions="keep", feedback_comments="keep"), RegexRedactor())
    assert keep.question(QUESTION) == QUESTION
    assert keep.feedback_comment("mail bo@example.org") == "mail bo@example.org"


def test_pseudonymised_round_trip_shares_placeholders_and_restores_the_reply() -> None:
    trip = PiiGuard(PiiPolicy(), RegexRedactor()).llm_round_trip()
    masked_question = trip.mask(QUESTION)
    masked_history = trip.mask("Earlier Ann Lee asked about Bo Stark")
    assert "Ann Lee" not in masked_question + masked_history
    assert "ann@example.com" not in masked_question
    assert "<PERSON_1>" in masked_question and "<PERSON_1>" in masked_history
    assert "<PERSON_2>" in masked_history
    assert trip.restore("<PERSON_1> gets 27 days [1]") == "Ann Lee gets 27 days [1]"


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("redact", "I am <PERSON> (<EMAIL_ADDRESS>): how much leave do I get?"),
        ("keep", QUESTION),
    ],
)
def test_redact_and_keep_round_trips(mode: str, expected: str) -> None:
    trip = PiiGuard(PiiPolicy(llm_context=mode), RegexRedactor()).llm_round_trip()  # type: ignore[arg-type]
    assert trip.mask(QUESTION) == expected
    assert trip.restore("<PERSON_1> [1]") == "<PERSON_1> [1]"


def test_without_a_detector_everything_passes_through() -> None:
    guard = PiiGuard(PiiPolicy(), None)
    trip = guard.llm_round_trip()
    assert guard.question(QUESTION) == QUESTION and trip.mask(QUESTION) == QUESTION
    assert guard.answer("Bo Stark [1]", shown=[]).text == "Bo Stark [1]"


def test_answers_keep_values_the_user_gave_or_was_shown_and_redact_the_rest() -> None:
    guard = PiiGuard(PiiPolicy(), RegexRedactor())
    passage = "Leave requests go to Bo Stark."
    answer = "Ann Lee, ask Bo Stark or leak@evil.example.com. [1]"
    screened = guard.answer(answer, shown=[QUESTION, passage])
    assert screened.text == "Ann Lee, ask Bo Stark or <EMAIL_ADDRESS>. [1]"
    assert [e.type for e in screened.entities] == ["EMAIL_ADDRESS"]
    assert PiiGuard(PiiPolicy(answers="keep"), RegexRedactor()).answer(answer, shown=[]).text == (
        answer
    )


def test_an_allowed_value_must_match_whole_words() -> None:
    # "Ann Lee" is not shown just because "Ann Leestraat" is.
    redaction = redact_answer(RegexRedactor(), "Ann Lee [1]", allowed=["Visit Ann Leestraat 4"])
    assert redaction.text == "<PERSON> [1]"
