"""Answer confidence (0..1) from retrieval confidence, score margin, and answer support.

Pure arithmetic over already-computed signals, so the weights and the threshold (both part of
the assistant version) can be calibrated offline from stored traces.
"""

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ConfidenceSignals:
    retrieval: float  # retrieval's own 0..1 confidence (top dense cosine, legs agreeing)
    margin: float  # 0..1: how far the best passage stands above the runner-up
    support: float  # 0..1: how well the best answer sentence answers the question
    coverage: float  # 0..1: IDF-weighted share of question terms present in the cited passages


@dataclass(frozen=True)
class ConfidenceWeights:
    retrieval: float = 0.30
    margin: float = 0.05
    support: float = 0.35
    coverage: float = 0.30


def score_margin(scores: Sequence[float]) -> float:
    """``(s1 - s2) / |s1|`` of the two best passage scores, clipped to 0..1 (1 for one passage)."""
    if not scores:
        return 0.0
    if len(scores) == 1 or scores[0] == 0:
        return 1.0
    return max(0.0, min(1.0, (scores[0] - scores[1]) / abs(scores[0])))


def answer_confidence(signals: ConfidenceSignals, weights: ConfidenceWeights) -> float:
    """Weighted mean of the signals (weights normalised), rounded to 4 places."""
    total = weights.retrieval + weights.margin + weights.support + weights.coverage
    if total <= 0:
        return 0.0
    value = (
        weights.retrieval * signals.retrieval
        + weights.margin * signals.margin
        + weights.support * signals.support
        + weights.coverage * signals.coverage
    ) / total
    return round(max(0.0, min(1.0, value)), 4)
