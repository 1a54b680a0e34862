"""An asked question counts as answered only when it got an answer: a refusal of a suspected
prompt injection carries confidence 1 but is no answer (two SQuAD questions were counted so)."""

from typing import Any

from evals.suites.answer_runs import Asked


def _asked(*, draft: str, confidence: float, outcome: str) -> Asked:
    trace: dict[str, Any] = {"outcome": outcome}
    return Asked(
        question="q",
        answer=draft,
        draft=draft,
        citations=[],
        draft_citations=[],
        confidence=confidence,
        handed_off=outcome == "handed_off",
        latency_ms=1.0,
        trace=trace,
    )


def test_a_refusal_is_never_answered() -> None:
    refused = _asked(
        draft="I can't help with that request.", confidence=1.0, outcome="refused_injection"
    )
    assert refused.refused
    assert not refused.answered_at(0.0) and refused.answer_at(0.0) == ""


def test_answers_follow_the_threshold() -> None:
    answered = _asked(draft="Paris is the capital. [1]", confidence=0.6, outcome="answered")
    assert not answered.refused
    assert answered.answered_at(0.55) and not answered.answered_at(0.65)
    assert answered.answer_at(0.55) == answered.draft
    empty = _asked(draft="", confidence=0.9, outcome="handed_off")
    assert not empty.answered_at(0.0)
