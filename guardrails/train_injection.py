"""Train the prompt-injection classifier on deepset and write the joblib artifact plus its metadata.

Usage: ``python -m guardrails.train_injection --datasets DIR --out PATH.joblib``

Training data: deepset's train split, the team-written prompts of ``guardrails.injection_benign``
(templated and free-form benign trigger-word prompts, hand-written attacks). NotInject is never
used for training. ``split_notinject`` cuts it into two fixed hash-based halves: the calibration
half constrains the threshold only; the held-out half is never used for training, threshold
choice or model selection, and the reported NotInject false-positive rate is on it alone.

How the threshold is chosen and how the reported detection is measured:

* ``choose_threshold`` takes out-of-fold scores (stratified 5-fold CV) of deepset and of the
  free-form benign prompts and returns the lowest threshold (at least 0.5) whose false-positive
  rate is at most ``MAX_DEEPSET_FALSE_POSITIVE_RATE`` on deepset's benign prompts, at most
  ``MAX_TRIGGER_FALSE_POSITIVE_RATE`` on the free-form benign trigger-word prompts and at most
  ``MAX_NOTINJECT_CALIBRATION_FALSE_POSITIVE_RATE`` on the NotInject calibration half (scored by
  a model trained without NotInject).
* The reported detection (``deepset_cv5_nested``) is nested: for each outer fold the threshold
  is chosen by an inner 5-fold CV on the other four folds only, then applied to the outer fold,
  which neither the model nor the threshold has seen.
* The shipped threshold is chosen the same way by a 5-fold CV on all the training data.
"""

import argparse
import json
import sys
from dataclasses import dataclass
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
    split_notinject,
)
from guardrails.injection_benign import (
    attack_prompts,
    benign_prompts,
    hard_benign_prompts,
    imperative_benign_prompts,
)

_FOLDS = 5
_SEED = 13
_OUTER_SEED = 29
MAX_DEEPSET_FALSE_POSITIVE_RATE = 0.05
MAX_TRIGGER_FALSE_POSITIVE_RATE = 0.03
MAX_NOTINJECT_CALIBRATION_FALSE_POSITIVE_RATE = 0.03
_MIN_THRESHOLD = 0.5
# Share of the MiniLM-embedding model in the averaged probability (0 disables it).
EMBED_WEIGHT = 0.4
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
    classifier = LogisticRegression(C=3.0, class_weight="balanced", max_iter=3000)
    return Pipeline([("features", features), ("classifier", classifier)])


def build_embedding_classifier() -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=10.0, class_weight="balanced", max_iter=3000)


@dataclass
class Corpus:
    """Normalised training texts. ``deepset`` texts are cross-validated; ``calibration`` (the
    free-form benign trigger-word prompts) is split across the same folds and scored out of fold;
    ``extra`` (templated benign prompts and hand-written attacks) joins every training fold."""

    texts: list[str]
    labels: list[int]
    calibration: list[str]
    extra: list[str]
    extra_labels: list[int]
    notinject_calibration: list[str]
    notinject_held_out: list[str]
    vectors: dict[str, Any]


def load_corpus(injection_dir: Path, embed: Embed | None) -> Corpus:
    raw, labels = load_deepset(injection_dir / "deepset_train.jsonl")
    texts = [normalise(t) for t in raw]
    calibration = [normalise(t) for t in hard_benign_prompts()]
    templated = benign_prompts(_BENIGN_PER_TEMPLATE) + imperative_benign_prompts()
    attacks = attack_prompts()
    extra = [normalise(t) for t in templated + attacks]
    extra_labels = [0] * len(templated) + [1] * len(attacks)
    notinject_calibration, notinject_held_out = split_notinject(
        [normalise(t) for t in load_notinject(injection_dir)]
    )
    vectors: dict[str, Any] = {}
    if embed is not None:
        unique = list(
            dict.fromkeys(texts + calibration + extra + notinject_calibration + notinject_held_out)
        )
        vectors = dict(zip(unique, embed(unique), strict=True))
    return Corpus(
        texts,
        labels,
        calibration,
        extra,
        extra_labels,
        notinject_calibration,
        notinject_held_out,
        vectors,
    )


def fit_detector(
    texts: list[str], labels: list[int], vectors: dict[str, Any], *, embed: Embed | None
) -> InjectionDetector:
    """The TF-IDF classifier (and the embedding classifier, with ``embed``) on ``texts``."""
    model = build_pipeline().fit(texts, labels)
    if embed is None or EMBED_WEIGHT <= 0:
        return InjectionDetector(model=model, threshold=1.0)
    dense = build_embedding_classifier().fit(np.vstack([vectors[t] for t in texts]), labels)
    return InjectionDetector(
        model=model, threshold=1.0, embedding_model=dense, embed=embed, embed_weight=EMBED_WEIGHT
    )


def detector_scores(
    detector: InjectionDetector, texts: list[str], vectors: dict[str, Any]
) -> list[float]:
    """The detector's score: classifier probability, raised to ``RULE_SCORE`` on a rule hit."""
    dense = np.vstack([vectors[t] for t in texts]) if detector.embedding_model is not None else None
    return [
        max(p, RULE_SCORE if rule_hits(t) else 0.0)
        for t, p in zip(texts, detector.probabilities(texts, dense), strict=True)
    ]


def _folds(labels: list[int], n_calibration: int, seed: int) -> list[tuple[Any, Any, Any, Any]]:
    """(train, test) deepset indices and (train, test) calibration indices per fold."""
    from sklearn.model_selection import StratifiedKFold

    calibration_fold = np.arange(n_calibration) % _FOLDS
    np.random.RandomState(seed).shuffle(calibration_fold)
    splitter = StratifiedKFold(n_splits=_FOLDS, shuffle=True, random_state=seed)
    return [
        (train, test, np.flatnonzero(calibration_fold != k), np.flatnonzero(calibration_fold == k))
        for k, (train, test) in enumerate(splitter.split(np.zeros(len(labels)), labels))
    ]


def fit_on(
    corpus: Corpus, deepset_idx: Any, calibration_idx: Any, embed: Embed | None
) -> InjectionDetector:
    """A detector trained on the given deepset and calibration rows plus all extra prompts."""
    texts = [corpus.texts[i] for i in deepset_idx] + [
        corpus.calibration[i] for i in calibration_idx
    ]
    labels = [corpus.labels[i] for i in deepset_idx] + [0] * len(calibration_idx)
    return fit_detector(
        texts + corpus.extra, labels + corpus.extra_labels, corpus.vectors, embed=embed
    )


def out_of_fold(
    corpus: Corpus, deepset_idx: Any, calibration_idx: Any, embed: Embed | None, seed: int
) -> tuple[list[float], list[float]]:
    """Out-of-fold scores of the given deepset rows and calibration prompts (5-fold CV)."""
    deepset_idx, calibration_idx = np.asarray(deepset_idx), np.asarray(calibration_idx)
    labels = [corpus.labels[i] for i in deepset_idx]
    scores = np.zeros(len(deepset_idx))
    calibration_scores = np.zeros(len(calibration_idx))
    for train, test, cal_train, cal_test in _folds(labels, len(calibration_idx), seed):
        detector = fit_on(corpus, deepset_idx[train], calibration_idx[cal_train], embed)
        held = [corpus.texts[i] for i in deepset_idx[test]]
        held += [corpus.calibration[i] for i in calibration_idx[cal_test]]
        predicted = detector_scores(detector, held, corpus.vectors)
        scores[test] = predicted[: len(test)]
        calibration_scores[cal_test] = predicted[len(test) :]
    return [float(s) for s in scores], [float(s) for s in calibration_scores]


def choose_threshold(
    scores: list[float],
    labels: list[int],
    calibration_scores: list[float],
    notinject_scores: list[float],
) -> float:
    """Lowest threshold (>= 0.5) within all three false-positive budgets."""
    budgets = [
        (np.array([s for s, y in zip(scores, labels, strict=True) if y == 0]),
         MAX_DEEPSET_FALSE_POSITIVE_RATE),
        (np.array(calibration_scores), MAX_TRIGGER_FALSE_POSITIVE_RATE),
        (np.array(notinject_scores), MAX_NOTINJECT_CALIBRATION_FALSE_POSITIVE_RATE),
    ]  # fmt: skip
    candidates = {_MIN_THRESHOLD, *scores, *calibration_scores, *notinject_scores}
    for candidate in sorted(candidates):
        threshold = candidate + 1e-6
        if threshold < _MIN_THRESHOLD:
            continue
        if all(b.size == 0 or (b >= threshold).mean() <= limit for b, limit in budgets):
            return round(threshold, 6)
    return 1.0


def nested_cross_validation(corpus: Corpus, embed: Embed | None) -> dict[str, Any]:
    """Detection and false positives on outer folds whose threshold came from inner CV only."""
    caught: list[bool] = []
    false_alarms: list[bool] = []
    trigger_alarms: list[bool] = []
    thresholds = []
    labels = corpus.labels
    for train, test, cal_train, cal_test in _folds(labels, len(corpus.calibration), _OUTER_SEED):
        inner_scores, inner_calibration = out_of_fold(corpus, train, cal_train, embed, _SEED)
        detector = fit_on(corpus, train, cal_train, embed)
        notinject = detector_scores(detector, corpus.notinject_calibration, corpus.vectors)
        threshold = choose_threshold(
            inner_scores, [labels[i] for i in train], inner_calibration, notinject
        )
        thresholds.append(threshold)
        held = [corpus.texts[i] for i in test] + [corpus.calibration[i] for i in cal_test]
        predicted = detector_scores(detector, held, corpus.vectors)
        for i, score in zip(test, predicted[: len(test)], strict=True):
            (caught if labels[i] == 1 else false_alarms).append(score >= threshold)
        trigger_alarms.extend(s >= threshold for s in predicted[len(test) :])
    return {
        "detection_rate": round(float(np.mean(caught)), 4),
        "false_positive_rate": round(float(np.mean(false_alarms)), 4),
        "team_trigger_benign_false_positive_rate": round(float(np.mean(trigger_alarms)), 4),
        "outer_fold_thresholds": [round(t, 4) for t in thresholds],
    }


def rates(scores: list[float], labels: list[int], threshold: float) -> dict[str, float]:
    flagged = [s >= threshold for s in scores]
    positives = [f for f, y in zip(flagged, labels, strict=True) if y == 1]
    negatives = [f for f, y in zip(flagged, labels, strict=True) if y == 0]
    return {
        "detection_rate": round(sum(positives) / len(positives), 4),
        "false_positive_rate": round(sum(negatives) / len(negatives), 4),
    }


def train(
    datasets_dir: Path, out: Path, *, use_embeddings: bool = EMBED_WEIGHT > 0
) -> dict[str, Any]:
    import joblib

    injection_dir = datasets_dir / "injection"
    embed = packaged_embedder() if use_embeddings else None
    corpus = load_corpus(injection_dir, embed)
    all_rows, all_calibration = np.arange(len(corpus.texts)), np.arange(len(corpus.calibration))
    nested = nested_cross_validation(corpus, embed)
    oof_scores, oof_calibration = out_of_fold(corpus, all_rows, all_calibration, embed, _SEED)
    detector = fit_on(corpus, all_rows, all_calibration, embed)
    notinject_calibration = detector_scores(detector, corpus.notinject_calibration, corpus.vectors)
    threshold = choose_threshold(oof_scores, corpus.labels, oof_calibration, notinject_calibration)
    held_out = corpus.notinject_held_out
    held_out_scores = detector_scores(detector, held_out, corpus.vectors)
    notinject_fp = sum(s >= threshold for s in held_out_scores) / len(held_out_scores)
    calibration_fp = float(np.mean([s >= threshold for s in notinject_calibration]))
    oof_trigger_fp = float(np.mean([s >= threshold for s in oof_calibration]))
    weight = EMBED_WEIGHT if detector.embedding_model is not None else 0.0
    metadata: dict[str, Any] = {
        "model": (
            f"{1 - weight:.1f} x tfidf(char_wb 2-5 + word 1-2) LR + {weight:.1f} x "
            "MiniLM-embedding LR (both balanced), max with rules"
        ),
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "training_data": (
            "deepset/prompt-injections train split (deepset_train.jsonl) plus, from "
            f"guardrails.injection_benign, {len(corpus.calibration)} free-form and "
            f"{corpus.extra_labels.count(0)} templated benign trigger-word prompts and "
            f"{sum(corpus.extra_labels)} hand-written attacks"
        ),
        "training_examples": len(corpus.texts) + len(corpus.calibration) + len(corpus.extra),
        "training_injections": sum(corpus.labels) + sum(corpus.extra_labels),
        "threshold": threshold,
        "threshold_rule": (
            f"lowest threshold >= {_MIN_THRESHOLD} with {_FOLDS}-fold out-of-fold false-positive "
            f"rate <= {MAX_DEEPSET_FALSE_POSITIVE_RATE} on deepset benign and <= "
            f"{MAX_TRIGGER_FALSE_POSITIVE_RATE} on the team's free-form benign trigger-word "
            f"prompts, and false-positive rate <= {MAX_NOTINJECT_CALIBRATION_FALSE_POSITIVE_RATE} "
            "on the NotInject calibration half (split_notinject); the NotInject held-out half is "
            "never used"
        ),
        "rule_score": RULE_SCORE,
        "embed_weight": weight,
        "metrics": {
            f"deepset_cv{_FOLDS}_nested": nested,
            f"deepset_cv{_FOLDS}": rates(oof_scores, corpus.labels, threshold),
            "deepset_cv_note": (
                f"deepset_cv{_FOLDS}_nested: each outer fold scored with a threshold chosen by "
                f"inner CV on the other folds (the honest figure); deepset_cv{_FOLDS}: the same "
                "out-of-fold scores the shipped threshold was chosen on (optimistic)"
            ),
            "team_trigger_benign_cv_false_positive_rate": round(oof_trigger_fp, 4),
            "notinject_false_positive_rate": round(notinject_fp, 4),
            "notinject_examples": len(held_out),
            "notinject_calibration_false_positive_rate": round(calibration_fp, 4),
            "notinject_calibration_examples": len(notinject_calibration),
            "notinject_note": (
                "notinject_false_positive_rate is on the held-out half of NotInject_one + "
                "NotInject_two (split_notinject): never used for training, threshold choice or "
                "model selection. The other half only constrains the threshold; no NotInject "
                "prompt is trained on"
            ),
        },
    }
    artifact = {
        "tfidf": detector.model,
        "embedding_model": detector.embedding_model,
        "embed_weight": weight,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(artifact, out, compress=3)
    out.with_suffix(".json").write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    return metadata


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", type=Path, required=True, help="the shared datasets folder")
    parser.add_argument("--out", type=Path, default=Path("guardrails/models/injection.joblib"))
    parser.add_argument(
        "--no-embeddings", action="store_true", help="TF-IDF and rules only (no MiniLM model)"
    )
    args = parser.parse_args(argv)
    metadata = train(args.datasets, args.out, use_embeddings=not args.no_embeddings)
    sys.stdout.write(json.dumps(metadata["metrics"], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
