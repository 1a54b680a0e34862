"""The answer-confidence fit weighs the signal that separates, and its threshold honours the
must-answer limit for every set while declining as much of the rest as it can."""

import random

import pytest

from app.chat.confidence import ConfidenceWeights
from evals.fit_answer_confidence import (
    SIGNALS,
    Record,
    confidences,
    fit,
    summary,
    threshold_for,
    weight_grid,
)


def _records(seed: int) -> list[Record]:
    """Two must-answer sets and two should-decline sets: ``support`` separates them, ``margin``
    and ``semantic`` are noise, and ``coverage`` is *higher* for the should-decline ones."""
    rng = random.Random(seed)
    out = []
    sets = (("a@x", True, 300), ("b@y", True, 60), ("c@x", False, 300), ("d@y", False, 60))
    for name, answer, count in sets:
        for _ in range(count):
            signals = {
                "retrieval": rng.random(),
                "margin": rng.random(),
                "support": min(1.0, max(0.0, rng.gauss(0.7 if answer else 0.4, 0.12))),
                "coverage": min(1.0, max(0.0, rng.gauss(0.4 if answer else 0.6, 0.1))),
                "semantic": rng.random(),
            }
            drafted = rng.random() > 0.02
            out.append(Record(set=name, answer=answer, signals=signals, drafted=drafted))
    return out


def test_the_grid_covers_the_simplex() -> None:
    grid = weight_grid(0.25)
    assert len(grid) == 70  # compositions of 4 units into 5 parts: C(8, 4)
    assert all(abs(sum(getattr(w, n) for n in SIGNALS) - 1) < 1e-9 for w in grid)
    assert ConfidenceWeights(0, 0, 1, 0, 0) in grid


def test_fit_puts_the_weight_on_the_separating_signal() -> None:
    records = _records(seed=3)
    fitted = fit(records, max_declined=0.05, step=0.1)
    assert fitted.weights.support >= 0.7
    assert fitted.weights.coverage == 0.0  # anti-correlated: a weighted mean cannot use it
    shipped = confidences(records, ConfidenceWeights())
    shipped_t = threshold_for(records, shipped, max_declined=0.05)
    shipped_declined = summary(records, shipped, shipped_t)["sets"]
    assert fitted.declined["c@x"] > shipped_declined["c@x"]["declined"] + 0.2
    assert fitted.objective == pytest.approx((fitted.declined["c@x"] + fitted.declined["d@y"]) / 2)


def test_threshold_is_the_highest_that_keeps_every_must_answer_set_within_the_limit() -> None:
    records = _records(seed=4)
    values = confidences(records, ConfidenceWeights(0, 0, 1, 0, 0))
    t = threshold_for(records, values, max_declined=0.05)
    sets = summary(records, values, t)["sets"]
    assert sets["a@x"]["declined"] <= 0.05
    assert sets["b@y"]["declined"] <= 0.05
    higher = min(v for v in values if v > t)  # one value higher breaks the limit for some set
    over = summary(records, values, higher)["sets"]
    assert max(over["a@x"]["declined"], over["b@y"]["declined"]) > 0.05
    # a question without a draft is declined at any threshold above 0
    assert all(v == 0.0 for r, v in zip(records, values, strict=True) if not r.drafted)


def test_ties_and_small_sets_follow_the_count_rule() -> None:
    """With 20 must-answer questions and a 0.05 limit exactly one may fall below."""
    values = [0.1, *[0.5] * 19]
    records = [
        Record(set="s", answer=True, signals=dict.fromkeys(SIGNALS, v), drafted=True)
        for v in values
    ]
    assert threshold_for(records, values, max_declined=0.05) == 0.5
    assert threshold_for(records, values, max_declined=0.04) == 0.1
