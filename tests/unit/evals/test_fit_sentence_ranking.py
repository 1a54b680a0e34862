"""The ranking-cue fit recovers an informative cue and ignores a useless one."""

import random

import numpy as np
import pytest

from evals.fit_sentence_ranking import (
    Example,
    config_weights,
    cross_validate,
    fit,
    hits,
    without,
)


def _examples(count: int, seed: int) -> list[Example]:
    """Shortlists of 6 sentences where the answer holds the asked-for value (``cue``) and its
    ``match`` is only a little above the others'; the other cues are noise."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        rows, positive = [], []
        answer = rng.randrange(6)
        for j in range(6):
            is_answer = j == answer
            match = rng.gauss(0.5, 0.1) + (0.03 if is_answer else 0.0)
            cue = 1.0 if is_answer or rng.random() < 0.2 else 0.0
            rows.append([match, rng.random(), rng.random(), cue, rng.random()])
            positive.append(is_answer)
        out.append(Example(f"article {i % 10}", np.array(rows), np.array(positive)))
    return out


def test_fit_weighs_the_informative_cue_and_not_the_noise() -> None:
    weights = config_weights(fit(_examples(200, seed=1), steps=300))
    assert weights["cue_weight"] > 0.1
    assert abs(weights["passage_weight"]) < weights["cue_weight"] / 4
    assert abs(weights["passage_match_weight"]) < weights["cue_weight"] / 4
    assert abs(weights["preceding_weight"]) < weights["cue_weight"] / 4


def test_cross_validated_ranking_beats_match_alone_when_a_cue_informs() -> None:
    report = cross_validate(_examples(200, seed=2), steps=150)
    assert report["fitted_top1"] > report["match_top1"] + 0.2
    assert report["fitted_top3"] >= report["match_top3"]


def test_hits_counts_questions_with_an_answer_among_the_best_k() -> None:
    example = Example(
        "a", np.array([[0.9, 0, 0, 0, 0], [0.5, 0, 0, 0, 0]]), np.array([False, True])
    )
    assert hits([example], lambda x: x[:, 0], 1) == 0.0
    assert hits([example], lambda x: x[:, 0], 2) == 1.0


def test_a_left_out_cue_is_not_fitted_and_keeps_weight_zero() -> None:
    examples, columns = without(_examples(200, seed=3), ["standing"])
    assert columns == ["match", "passage_best", "cue", "preceding"]
    assert examples[0].features.shape[1] == 4
    weights = config_weights(fit(examples, steps=300), columns)
    assert weights["passage_weight"] == 0.0
    assert weights["cue_weight"] > 0.1


def test_leaving_out_an_unknown_cue_is_refused() -> None:
    with pytest.raises(ValueError, match="colour"):
        without(_examples(2, seed=4), ["colour"])
