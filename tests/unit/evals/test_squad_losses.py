"""``eval squad``'s loss breakdown: each answerable question lands in exactly one bucket, and
the ranking ceiling counts the questions whose ranked top three hold an answer."""

from typing import Any

from evals.suites.answer_runs import Asked
from evals.suites.squad import Shown, losses

PASSAGE = "The treaty was signed in Rome. It took effect in 1958."


def _asked(draft: str, confidence: float) -> Asked:
    trace: dict[str, Any] = {"outcome": "answered"}
    return Asked("q", draft, draft, [], [], confidence, False, 1.0, trace)


def test_each_question_counts_once_and_the_ceiling_counts_ranked_hits() -> None:
    row = {"answers": ["1958"]}
    cases = [
        (_asked("It took effect in 1958. [1]", 0.9), Shown([PASSAGE], ["It took effect in 1958."])),
        (_asked("It took effect in 1958. [1]", 0.2), Shown([PASSAGE], ["It took effect in 1958."])),
        (
            _asked("The treaty was signed in Rome. [1]", 0.9),
            Shown([PASSAGE], ["A.", "B.", "1958."]),
        ),
        (_asked("The treaty was signed in Rome. [1]", 0.9), Shown([PASSAGE], ["A."])),
        (_asked("", 0.0), Shown(["Nothing relevant."], [])),
    ]
    found = losses([(row, a) for a, _ in cases], [s for _, s in cases], threshold=0.5)
    assert found == {
        "hit": 0.2,
        "declined": 0.2,
        "cut_by_floors": 0.2,
        "ranked_low": 0.2,
        "not_retrieved": 0.2,
        "top_three_ranked_hold_answer": 0.6,
    }
