from dataclasses import asdict, replace

import pytest

from app.chat.confidence import (
    ConfidenceSignals,
    ConfidenceWeights,
    answer_confidence,
    cosine_signal,
    score_margin,
)
from app.chat.versions import AnswerConfig

SIGNALS = ConfidenceSignals(retrieval=0.8, margin=0.2, support=0.6, coverage=0.4, semantic=0.9)


def test_margin_is_the_relative_lead_of_the_best_passage() -> None:
    assert score_margin([]) == 0.0
    assert score_margin([0.7]) == 1.0
    assert score_margin([1.0, 0.75]) == pytest.approx(0.25)
    assert score_margin([1.0, 1.2]) == 0.0  # clipped


def test_confidence_is_the_normalised_weighted_mean() -> None:
    weights = ConfidenceWeights(retrieval=1, margin=0, support=1, coverage=0, semantic=0)
    assert answer_confidence(SIGNALS, weights) == pytest.approx((0.8 + 0.6) / 2)
    assert answer_confidence(SIGNALS, ConfidenceWeights(0, 0, 0, 0, 0)) == 0.0


def test_the_semantic_signal_counts_only_when_weighed() -> None:
    base = ConfidenceWeights()
    without = answer_confidence(replace(SIGNALS, semantic=0.0), base)
    assert answer_confidence(SIGNALS, base) == without  # default weight 0: unchanged
    weighed = replace(base, semantic=0.5)
    assert answer_confidence(SIGNALS, weighed) > answer_confidence(
        replace(SIGNALS, semantic=0.1), weighed
    )


def test_cosine_signal_is_a_logistic_around_its_midpoint() -> None:
    assert cosine_signal(0.5) == pytest.approx(0.5)
    assert cosine_signal(0.9) > 0.95 > 0.05 > cosine_signal(0.1)
    assert cosine_signal(0.6, midpoint=0.6) == pytest.approx(0.5)


def test_a_version_stored_before_the_semantic_signal_does_not_weigh_it() -> None:
    stored = asdict(AnswerConfig())
    stored["weights"] = {k: v for k, v in stored["weights"].items() if k != "semantic"}
    stored["weights"]["support"] = 0.5
    loaded = AnswerConfig.from_dict(stored)
    assert loaded.weights.semantic == 0.0
    assert loaded.weights.support == 0.5
    # A partial weights object keeps the defaults of the weights it leaves out.
    partial = AnswerConfig.from_dict({"weights": {"retrieval": 0.9}})
    assert partial.weights.coverage == ConfidenceWeights().coverage
