"""Train the prompt-injection classifier on deepset and write the joblib artifact plus its metadata.

Usage: ``python -m guardrails.train_injection --datasets DIR --out PATH.joblib``
"""

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from guardrails.injection import (
    RULE_SCORE,
    Embed,
    InjectionDetector,
    load_deepset,
    load_notinject,
    normalise,
    packaged_embedder,
    rule_hits,
)
from guardrails.injection_benign import benign_prompts, imperative_benign_prompts

_FOLDS = 5
_SEED = 13
# The threshold is the lowest one whose cross-validated false-positive rate on deepset's
# benign prompts stays at or below this (NotInject is never used to choose it).
_MAX_CV_FALSE_POSITIVE_RATE = 0.02
# Share of the embedding model in the averaged probability (chosen by deepset CV AUC and
# detection at the false-positive budget above).
EMBED_WEIGHT = 0.3
_BENIGN_PER_TEMPLATE = 80


def build_pipeline() -> Any:
    """TF-IDF over character 2-5-grams and word 1-2-grams, into a balanced logistic regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    features = FeatureUnion(
        [
            (
                "chars",
                TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True,
                                lowercase=True, max_features=60000),
            ),
            (
                "words",
                TfidfVectorizer(analyzer="word", ngram_range=(1, 2), min_df=2, sublinear_tf=True,
                                lowercase=True),
            ),
        ]
    )  # fmt: skip
    classifier = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000)
    return Pipeline([("features", features), ("classifier", classifier)])


def build_embedding_classifier() -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=3.0, class_weight="balanced", max_iter=3000)


def fit_detector(
    texts: list[str], labels: list[int], vectors: Any, *, embed: Embed | None
) -> InjectionDetector:
    """Both classifiers fitted on normalised ``texts`` (and their embedding ``vectors``)."""
    return InjectionDetector(
        model=build_pipeline().fit(texts, labels),
        threshold=1.0,
        embedding_model=build_embedding_classifier().fit(vectors, labels),
        embed=embed,
        embed_weight=EMBED_WEIGHT,
    )


def combined_scores(detector: InjectionDetector, texts: list[str]) -> list[float]:
    """The detector's score: classifier probability, raised to ``RULE_SCORE`` on a rule hit."""
    return [
        max(p, RULE_SCORE if rule_hits(t) else 0.0)
        for t, p in zip(texts, detector.probabilities(texts), strict=True)
    ]


def cross_validate(
    texts: list[str], labels: list[int], benign: list[str], embed: Embed
) -> list[float]:
    """Out-of-fold deepset scores from stratified 5-fold CV; ``benign`` joins every training fold."""
    from sklearn.model_selection import StratifiedKFold

    vectors, benign_vectors = embed(texts), embed(benign)
    scores = [0.0] * len(texts)
    folds = StratifiedKFold(n_splits=_FOLDS, shuffle=True, random_state=_SEED)
    for train, test in folds.split(texts, labels):
        detector = fit_detector(
            [texts[i] for i in train] + benign,
            [labels[i] for i in train] + [0] * len(benign),
            np.vstack([vectors[train], benign_vectors]),
            embed=embed,
        )
        for index, score in zip(
            test, combined_scores(detector, [texts[i] for i in test]), strict=True
        ):
            scores[int(index)] = score
    return scores


def choose_threshold(scores: list[float], labels: list[int]) -> float:
    negatives = sorted((s for s, y in zip(scores, labels, strict=True) if y == 0), reverse=True)
    allowed = min(int(len(negatives) * _MAX_CV_FALSE_POSITIVE_RATE), len(negatives) - 1)
    # Just above the (allowed+1)-th highest benign score, but never below 0.5.
    return round(max(0.5, negatives[allowed] + 1e-6), 4)


def rates(scores: list[float], labels: list[int], threshold: float) -> dict[str, float]:
    flagged = [s >= threshold for s in scores]
    positives = [f for f, y in zip(flagged, labels, strict=True) if y == 1]
    negatives = [f for f, y in zip(flagged, labels, strict=True) if y == 0]
    return {
        "detection_rate": round(sum(positives) / len(positives), 4),
        "false_positive_rate": round(sum(negatives) / len(negatives), 4),
    }


def train(datasets_dir: Path, out: Path) -> dict[str, Any]:
    import joblib

    injection_dir = datasets_dir / "injection"
    raw_texts, labels = load_deepset(injection_dir / "deepset_train.jsonl")
    texts = [normalise(t) for t in raw_texts]
    benign = [
        normalise(t) for t in benign_prompts(_BENIGN_PER_TEMPLATE) + imperative_benign_prompts()
    ]
    embed = packaged_embedder()
    oof_scores = cross_validate(texts, labels, benign, embed)
    threshold = choose_threshold(oof_scores, labels)
    detector = fit_detector(
        texts + benign,
        labels + [0] * len(benign),
        np.vstack([embed(texts), embed(benign)]),
        embed=embed,
    )
    held_out = [normalise(t) for t in load_notinject(injection_dir)]
    held_out_scores = combined_scores(detector, held_out)
    notinject_fp = sum(s >= threshold for s in held_out_scores) / len(held_out_scores)
    metadata: dict[str, Any] = {
        "model": (
            f"{1 - EMBED_WEIGHT:.1f} x tfidf(char_wb 2-5 + word 1-2) LR + {EMBED_WEIGHT:.1f} x "
            "MiniLM-embedding LR (both balanced), max with rules"
        ),
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "training_data": (
            "deepset/prompt-injections train split (deepset_train.jsonl) plus "
            f"{len(benign)} benign trigger-word prompts (questions and imperatives) from "
            "guardrails.injection_benign"
        ),
        "training_examples": len(texts) + len(benign),
        "training_injections": sum(labels),
        "threshold": threshold,
        "threshold_rule": (
            f"cv false-positive rate on deepset benign <= {_MAX_CV_FALSE_POSITIVE_RATE}"
        ),
        "rule_score": RULE_SCORE,
        "embed_weight": EMBED_WEIGHT,
        "metrics": {
            f"deepset_cv{_FOLDS}": rates(oof_scores, labels, threshold),
            "notinject_false_positive_rate": round(notinject_fp, 4),
            "notinject_examples": len(held_out),
            "notinject_note": "held out: never used for training or threshold selection",
            "operating_points": operating_points(oof_scores, labels, held_out_scores),
        },
    }
    artifact = {
        "tfidf": detector.model,
        "embedding_model": detector.embedding_model,
        "embed_weight": EMBED_WEIGHT,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(artifact, out, compress=3)
    out.with_suffix(".json").write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    return metadata


def operating_points(
    scores: list[float], labels: list[int], held_out_scores: list[float]
) -> list[dict[str, float]]:
    """Detection and held-out false positives at other deepset-CV false-positive budgets."""
    points = []
    for budget in (0.0, 0.02, 0.05, 0.10):
        negatives = sorted((s for s, y in zip(scores, labels, strict=True) if y == 0), reverse=True)
        threshold = negatives[min(int(len(negatives) * budget), len(negatives) - 1)] + 1e-6
        point = {"cv_fp_budget": budget, "threshold": round(threshold, 4)}
        point.update(rates(scores, labels, threshold))
        flagged = sum(s >= threshold for s in held_out_scores) / len(held_out_scores)
        point["notinject_false_positive_rate"] = round(flagged, 4)
        points.append(point)
    return points


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", type=Path, required=True, help="the shared datasets folder")
    parser.add_argument("--out", type=Path, default=Path("guardrails/models/injection.joblib"))
    args = parser.parse_args(argv)
    metadata = train(args.datasets, args.out)
    sys.stdout.write(json.dumps(metadata["metrics"], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
