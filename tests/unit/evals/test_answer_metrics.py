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


@pytest.mark.parametrize(
    ("draft", "answered", "passages", "loss"),
    [
        ("It took effect in 1958. [1]", True, PASSAGES, "hit"),
        ("It took effect in 1958. [1]", False, PASSAGES, "declined"),
        ("The council meets in Brussels. [1]", True, PASSAGES, "not_cited"),
        ("", False, PASSAGES, "not_cited"),
        ("The council meets in Brussels. [1]", True, PASSAGES[1:], "not_retrieved"),
    ],
)
def test_answer_loss_names_the_stage_that_lost_the_answer(
    draft: str, answered: bool, passages: list[str], loss: str
) -> None:
    assert am.answer_loss(["1958"], passages, draft, answered) == loss


def test_an_answer_beyond_the_third_cited_sentence_is_not_cited() -> None:
    draft = "A. [1] B. [1] C. [1] It took effect in 1958. [1]"
    assert am.answer_loss(["1958"], PASSAGES, draft, True) == "not_cited"
    assert am.answer_loss(["1958"], PASSAGES, draft, True, k=4) == "hit"
