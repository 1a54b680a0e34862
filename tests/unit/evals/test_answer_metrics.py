import pytest

from evals import answer_metrics as am

PASSAGES = [
    "The treaty was signed in Rome. It took effect in 1958.",
    "The council meets in Brussels.",
]


def test_cited_sentences_keep_their_markers_in_order() -> None:
    answer = "It took effect in 1958. [1] The council meets in Brussels. [2][1]"
    assert am.cited_sentences(answer) == [
        ("It took effect in 1958.", [1]),
        ("The council meets in Brussels.", [2, 1]),
    ]


def test_only_the_first_k_cited_sentences_count() -> None:
    answer = "A. [1] B. [1] C. [1] The year was 1958. [2]"
    assert not am.first_k_contain_answer(answer, ["1958"], 3)
    assert am.first_k_contain_answer(answer, ["1958"], 4)


def test_a_gold_answer_must_match_whole_words() -> None:
    assert am.contains_answer("It took effect in 1958.", ["1958"])
    assert not am.contains_answer("It took effect in 19582.", ["1958"])


COUNCIL = "The council meets in Brussels. [1]"
RANKED = ["The council meets in Brussels.", "It took effect in 1958."]


@pytest.mark.parametrize(
    ("draft", "answered", "passages", "ranked", "loss"),
    [
        ("It took effect in 1958. [1]", True, PASSAGES, [], "hit"),
        ("It took effect in 1958. [1]", False, PASSAGES, [], "declined"),
        (COUNCIL, True, PASSAGES, RANKED, "cut_by_floors"),
        ("", False, PASSAGES, RANKED, "cut_by_floors"),
        (COUNCIL, True, PASSAGES, RANKED[:1], "ranked_low"),
        ("", False, PASSAGES, [], "ranked_low"),
        (COUNCIL, True, PASSAGES[1:], RANKED[:1], "not_retrieved"),
    ],
)
def test_answer_loss_names_the_stage_that_lost_the_answer(
    draft: str, answered: bool, passages: list[str], ranked: list[str], loss: str
) -> None:
    assert am.answer_loss(["1958"], passages, draft, answered, ranked) == loss


def test_only_the_first_k_cited_or_ranked_sentences_count() -> None:
    draft = "A. [1] B. [1] C. [1] It took effect in 1958. [1]"
    ranked = ["A.", "B.", "C.", "It took effect in 1958."]
    assert am.answer_loss(["1958"], PASSAGES, draft, True, ranked) == "ranked_low"
    assert am.answer_loss(["1958"], PASSAGES, draft, True, ranked, k=4) == "hit"
