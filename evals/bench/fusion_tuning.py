"""Offline fusion tuning and confidence calibration on per-query leg results (no database).

Legs are doc-level rankings (a doc scores by its best chunk). Tuning picks the fusion method
and weights with the best mean nDCG@10 on one half of the queries; reports use the other.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from evals.ir_metrics import mean, ndcg_at, recall_at
from retrieval.fusion import fuse_scores
from retrieval.types import Fusion

DocList = list[tuple[str, float]]


@dataclass(frozen=True)
class QueryLegs:
    query_id: str
    dense: DocList
    keyword: DocList
    top_similarity: float | None
    # The legs as fusion sees them when each also scored the other's candidates (None: as is).
    fusion_dense: DocList | None = None
    fusion_keyword: DocList | None = None
    # The sentence leg (best-sentence cosine of every candidate), when measured.
    sentence: DocList | None = None
    # The documents in the order ``retrieval.retriever.retrieve`` ranks their chunks (fused per
    # chunk by the version's settings, a document where its best chunk stands), when measured.
    served: list[str] | None = None


@dataclass(frozen=True)
class FusionChoice:
    method: Fusion
    dense_weight: float
    keyword_weight: float
    rrf_k: int = 60
    sentence_weight: float = 0.0

    def label(self) -> str:
        extra = f", k={self.rrf_k}" if self.method == "rrf" else ""
        third = (
            f":{self.sentence_weight:.2f} (dense:keyword:sentence)" if self.sentence_weight else ""
        )
        return f"{self.method} {self.dense_weight:.2f}:{self.keyword_weight:.2f}{third}{extra}"


def collapse_to_docs(hits: Sequence[tuple[str, float]]) -> DocList:
    """Best score per doc, best first (``hits`` are chunk hits already mapped to doc ids)."""
    best: dict[str, float] = {}
    for doc, score in hits:
        if doc not in best or score > best[doc]:
            best[doc] = score
    return sorted(best.items(), key=lambda item: (-item[1], item[0]))


def fused_ranking(legs: QueryLegs, choice: FusionChoice) -> list[str]:
    dense = legs.dense if legs.fusion_dense is None else legs.fusion_dense
    keyword = legs.keyword if legs.fusion_keyword is None else legs.fusion_keyword
    weighted = [(dense, choice.dense_weight), (keyword, choice.keyword_weight)]
    if choice.sentence_weight and legs.sentence is not None:
        weighted.append((legs.sentence, choice.sentence_weight))
    ranked = fuse_scores(weighted, method=choice.method, rrf_k=choice.rrf_k)
    return [doc for doc, _ in ranked]


def scores(
    rankings: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]]
) -> tuple[float, float]:
    """Mean (nDCG@10, Recall@100) over the queries in ``rankings``."""
    ids = list(rankings)
    return (
        mean([ndcg_at(rankings[q], qrels[q], 10) for q in ids]),
        mean([recall_at(rankings[q], qrels[q], 100) for q in ids]),
    )


def candidate_choices(*, sentence: bool = False) -> list[FusionChoice]:
    """The tuning grid; with ``sentence``, also every normalised-score mix of the three legs
    in steps of 0.05 with each leg at 0.10 or more."""
    grid = [round(0.05 * i, 2) for i in range(4, 17)]
    choices = [FusionChoice("rrf", w, round(1 - w, 2), k) for w in grid for k in (20, 60)]
    for method in ("zscore", "minmax"):
        choices.extend(FusionChoice(method, w, round(1 - w, 2)) for w in grid)
    if sentence:
        steps = range(2, 17)
        scaled: tuple[Fusion, ...] = ("zscore", "minmax")
        for method in scaled:
            choices.extend(
                FusionChoice(method, d / 20, k / 20, sentence_weight=round(1 - (d + k) / 20, 2))
                for d in steps
                for k in steps
                if d + k <= 18
            )
    return choices


def tune(
    legs: Sequence[QueryLegs], qrels: Mapping[str, Mapping[str, int]]
) -> tuple[FusionChoice, float]:
    """The choice with the best mean nDCG@10 over ``legs`` (ties: first in the grid)."""
    best: tuple[FusionChoice, float] | None = None
    with_sentence = all(q.sentence is not None for q in legs)
    for choice in candidate_choices(sentence=with_sentence):
        ndcg, _ = scores({q.query_id: fused_ranking(q, choice) for q in legs}, qrels)
        if best is None or ndcg > best[1] + 1e-12:
            best = (choice, ndcg)
    assert best is not None  # noqa: S101 - the grid is never empty
    return best


@dataclass(frozen=True)
class Calibration:
    midpoint: float
    slope: float
    agreement_bonus: float


def confidence(sim: float, agree: bool, cal: Calibration) -> float:
    return 1.0 / (1.0 + math.exp(-(cal.slope * (sim - cal.midpoint) + cal.agreement_bonus * agree)))


def fit_calibration(samples: Sequence[tuple[float, bool, bool]]) -> Calibration:
    """Logistic fit of P(top doc relevant) on (top cosine, legs agree) -> the config's form."""
    from sklearn.linear_model import LogisticRegression

    features = [[sim, float(agree)] for sim, agree, _ in samples]
    labels = [int(hit) for _, _, hit in samples]
    model = LogisticRegression(C=100.0).fit(features, labels)
    slope, bonus = (float(x) for x in model.coef_[0])
    intercept = float(model.intercept_[0])
    return Calibration(midpoint=-intercept / slope, slope=slope, agreement_bonus=bonus)


def calibration_error(
    samples: Sequence[tuple[float, bool, bool]], cal: Calibration, bins: int = 10
) -> tuple[float, float]:
    """(expected calibration error over ``bins`` equal-width bins, Brier score)."""
    probs = [(confidence(sim, agree, cal), hit) for sim, agree, hit in samples]
    if not probs:
        return 0.0, 0.0
    ece = 0.0
    for b in range(bins):
        inside = [
            (p, h)
            for p, h in probs
            if b / bins <= p < (b + 1) / bins or (b == bins - 1 and p == 1.0)
        ]
        if inside:
            gap = abs(mean([p for p, _ in inside]) - mean([float(h) for _, h in inside]))
            ece += gap * len(inside) / len(probs)
    brier = mean([(p - float(h)) ** 2 for p, h in probs])
    return ece, brier
