"""Train the prompt-injection classifier on deepset and write the joblib artifact plus its metadata.

Usage: ``python -m guardrails.train_injection --datasets DIR --out PATH.joblib``

Training data: deepset's train split, the team-written prompts of ``guardrails.injection_benign``
(templated and free-form benign trigger-word prompts, free-form benign task requests and
document-style procedural sentences, hand-written attacks). NotInject is never used for training.
``split_notinject`` cuts it into two fixed hash-based halves: the calibration half constrains the
threshold only; the held-out half is never used for training, threshold choice or model
selection, and the reported NotInject false-positive rate is on it alone.

The model: a TF-IDF (character 2-5-grams + word 1-2-grams) logistic regression averaged with a
logistic regression over MiniLM sentence embeddings, ``(1 - w) * tfidf + w * embedding``, then the
maximum with the rule score. The embedding share ``w`` is a hyper-parameter picked from
``EMBED_WEIGHTS`` by cross-validation on the training data only (``choose_weight``).

How the weight and threshold are chosen and how the reported detection is measured:

* ``choose_threshold`` takes out-of-fold scores (stratified 5-fold CV) of deepset and of the
  free-form benign prompts and returns the lowest threshold (at least 0.5) whose false-positive
  rate is at most ``MAX_DEEPSET_FALSE_POSITIVE_RATE`` on deepset's benign prompts, at most
  ``MAX_TRIGGER_FALSE_POSITIVE_RATE`` on the free-form benign trigger-word prompts, and that
  flags so few prompts of the NotInject calibration half (scored by a model trained without
  NotInject) that the one-sided ``NOTINJECT_CONFIDENCE`` Clopper-Pearson upper bound of the
  false-positive rate stays within ``NOTINJECT_TARGET_FALSE_POSITIVE_RATE``
  (``notinject_budget``: at most 1 of its 119 prompts). The half is small, so a threshold that
  merely matched the target on it would often miss the target on unseen prompts.
* ``choose_weight`` does that for every weight in ``EMBED_WEIGHTS`` and keeps the one with the
  highest out-of-fold detection at its threshold (ties: fewer deepset false positives, then
  fewer trigger-word false positives, then the smaller weight).
* The reported detection (``deepset_cv5_nested``) is nested: for each outer fold the weight and
  the threshold are chosen by an inner 5-fold CV on the other four folds only, then applied to
  the outer fold, which neither the model, the weight nor the threshold has seen.
* The shipped weight and threshold are chosen the same way by a 5-fold CV on all the training
  data.
"""

import argparse
import json
import math
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
    factual_benign_prompts,
    general_benign_prompts,
    hard_benign_prompts,
    imperative_benign_prompts,
    procedural_benign_prompts,
)

_FOLDS = 5
_SEED = 13
_OUTER_SEED = 29
MAX_DEEPSET_FALSE_POSITIVE_RATE = 0.05
MAX_TRIGGER_FALSE_POSITIVE_RATE = 0.03
# The acceptance target for benign trigger-word prompts, and the confidence with which the
# NotInject calibration half must show it is met (see ``notinject_budget``).
NOTINJECT_TARGET_FALSE_POSITIVE_RATE = 0.05
NOTINJECT_CONFIDENCE = 0.95
_MIN_THRESHOLD = 0.5
# Candidate shares of the MiniLM-embedding model in the averaged probability; ``choose_weight``
# picks one by cross-validation. The embedding model always keeps some share.
EMBED_WEIGHTS = (0.2, 0.3, 0.4, 0.5)
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
    ``extra`` (the other team-written benign prompts and the hand-written attacks) joins every
    training fold and is never evaluated on."""

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
    templated = (
        benign_prompts(_BENIGN_PER_TEMPLATE)
        + imperative_benign_prompts()
        + general_benign_prompts()
        + procedural_benign_prompts()
        + factual_benign_prompts()
    )
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
    """The TF-IDF classifier (and the embedding classifier, with ``embed``) on ``texts``.

    The embedding share is set to the first candidate weight; ``train`` sets the chosen one."""
    model = build_pipeline().fit(texts, labels)
    if embed is None:
        return InjectionDetector(model=model, threshold=1.0)
    dense = build_embedding_classifier().fit(np.vstack([vectors[t] for t in texts]), labels)
    return InjectionDetector(
        model=model,
        threshold=1.0,
        embedding_model=dense,
        embed=embed,
        embed_weight=EMBED_WEIGHTS[0],
    )


@dataclass
class Components:
    """A detector's parts on some texts: TF-IDF probability, embedding-model probability (None
    without one) and whether a rule hits. ``scores(w)`` is what the detector computes with
    embedding share ``w``, so one set of fits serves every candidate weight."""

    tfidf: Any
    dense: Any
    rules: Any

    def scores(self, weight: float) -> Any:
        p = self.tfidf if self.dense is None else (1 - weight) * self.tfidf + weight * self.dense
        return np.maximum(p, np.where(self.rules, RULE_SCORE, 0.0))


def components(
    detector: InjectionDetector, texts: list[str], vectors: dict[str, Any]
) -> Components:
    tfidf = detector.model.predict_proba(texts)[:, 1] if texts else np.zeros(0)
    dense = None
    if detector.embedding_model is not None:
        dense = np.zeros(0)
        if texts:
            dense = detector.embedding_model.predict_proba(np.vstack([vectors[t] for t in texts]))
            dense = dense[:, 1]
    return Components(tfidf, dense, np.array([bool(rule_hits(t)) for t in texts], dtype=bool))


def detector_scores(
    detector: InjectionDetector, texts: list[str], vectors: dict[str, Any]
) -> list[float]:
    """The detector's score as served: classifier probability, raised to ``RULE_SCORE`` on a
    rule hit."""
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
) -> tuple[Components, Components]:
    """Out-of-fold components of the given deepset rows and calibration prompts (5-fold CV)."""
    deepset_idx, calibration_idx = np.asarray(deepset_idx), np.asarray(calibration_idx)
    labels = [corpus.labels[i] for i in deepset_idx]
    rows = Components(np.zeros(len(deepset_idx)), None, np.zeros(len(deepset_idx), dtype=bool))
    cal = Components(
        np.zeros(len(calibration_idx)), None, np.zeros(len(calibration_idx), dtype=bool)
    )
    for train, test, cal_train, cal_test in _folds(labels, len(calibration_idx), seed):
        detector = fit_on(corpus, deepset_idx[train], calibration_idx[cal_train], embed)
        for target, index, held in (
            (rows, test, [corpus.texts[i] for i in deepset_idx[test]]),
            (cal, cal_test, [corpus.calibration[i] for i in calibration_idx[cal_test]]),
        ):
            part = components(detector, held, corpus.vectors)
            target.tfidf[index] = part.tfidf
            target.rules[index] = part.rules
            if part.dense is not None:
                if target.dense is None:
                    target.dense = np.zeros(len(target.tfidf))
                target.dense[index] = part.dense
    return rows, cal


def binomial_upper_bound(k: int, n: int, confidence: float) -> float:
    """One-sided Clopper-Pearson upper confidence bound of a rate observed as ``k`` of ``n``."""
    if k >= n:
        return 1.0
    low, high = k / n, 1.0
    for _ in range(60):  # bisection on P(X <= k | p) = 1 - confidence
        p = (low + high) / 2
        cdf = sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1))
        low, high = (p, high) if cdf > 1 - confidence else (low, p)
    return high


def notinject_budget(n: int) -> float:
    """Largest false-positive rate k/n on ``n`` NotInject calibration prompts whose upper bound
    (``NOTINJECT_CONFIDENCE``) is within ``NOTINJECT_TARGET_FALSE_POSITIVE_RATE`` (0 if none)."""
    allowed = 0
    while (
        allowed + 1 < n
        and binomial_upper_bound(allowed + 1, n, NOTINJECT_CONFIDENCE)
        <= NOTINJECT_TARGET_FALSE_POSITIVE_RATE
    ):
        allowed += 1
    return allowed / n if n else 0.0


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
        (np.array(notinject_scores), notinject_budget(len(notinject_scores)) + 1e-9),
    ]  # fmt: skip
    candidates = {_MIN_THRESHOLD, *scores, *calibration_scores, *notinject_scores}
    for candidate in sorted(candidates):
        threshold = candidate + 1e-6
        if threshold < _MIN_THRESHOLD:
            continue
        if all(b.size == 0 or (b >= threshold).mean() <= limit for b, limit in budgets):
            return round(threshold, 6)
    return 1.0


def choose_weight(
    oof: Components, labels: list[int], oof_calibration: Components, notinject: Components
) -> tuple[float, float]:
    """(embedding weight, threshold): the candidate weight whose budget threshold catches the
    most out-of-fold injections (ties: fewer deepset, then trigger-word false positives, then
    the smaller weight). Uses only the data the scores came from, never an evaluation fold."""
    y = np.asarray(labels)
    candidates: list[tuple[tuple[float, float, float, float], float, float]] = []
    for weight in EMBED_WEIGHTS if oof.dense is not None else (0.0,):
        scores = oof.scores(weight)
        calibration = oof_calibration.scores(weight)
        threshold = choose_threshold(
            [float(s) for s in scores],
            labels,
            [float(s) for s in calibration],
            [float(s) for s in notinject.scores(weight)],
        )
        key = (
            float(np.mean(scores[y == 1] >= threshold)),
            -float(np.mean(scores[y == 0] >= threshold)),
            -float(np.mean(calibration >= threshold)) if calibration.size else 0.0,
            -weight,
        )
        candidates.append((key, weight, threshold))
    _, weight, threshold = max(candidates)
    return weight, threshold


def nested_cross_validation(corpus: Corpus, embed: Embed | None) -> dict[str, Any]:
    """Detection and false positives on outer folds whose weight and threshold came from inner
    CV only. ``classifier_only_detection_rate``: the same, without the rules."""
    caught: list[bool] = []
    caught_by_classifier: list[bool] = []
    false_alarms: list[bool] = []
    trigger_alarms: list[bool] = []
    thresholds: list[float] = []
    weights: list[float] = []
    labels = corpus.labels
    for train, test, cal_train, cal_test in _folds(labels, len(corpus.calibration), _OUTER_SEED):
        inner, inner_calibration = out_of_fold(corpus, train, cal_train, embed, _SEED)
        detector = fit_on(corpus, train, cal_train, embed)
        notinject = components(detector, corpus.notinject_calibration, corpus.vectors)
        weight, threshold = choose_weight(
            inner, [labels[i] for i in train], inner_calibration, notinject
        )
        weights.append(weight)
        thresholds.append(threshold)
        held = components(detector, [corpus.texts[i] for i in test], corpus.vectors)
        scores = held.scores(weight)
        classifier = Components(held.tfidf, held.dense, np.zeros_like(held.rules)).scores(weight)
        for i, score, plain in zip(test, scores, classifier, strict=True):
            if labels[i] == 1:
                caught.append(bool(score >= threshold))
                caught_by_classifier.append(bool(plain >= threshold))
            else:
                false_alarms.append(bool(score >= threshold))
        held_calibration = [corpus.calibration[i] for i in cal_test]
        trigger = components(detector, held_calibration, corpus.vectors).scores(weight)
        trigger_alarms.extend(bool(s >= threshold) for s in trigger)
    return {
        "detection_rate": round(float(np.mean(caught)), 4),
        "false_positive_rate": round(float(np.mean(false_alarms)), 4),
        "team_trigger_benign_false_positive_rate": round(float(np.mean(trigger_alarms)), 4),
        "classifier_only_detection_rate": round(float(np.mean(caught_by_classifier)), 4),
        "outer_fold_thresholds": [round(t, 4) for t in thresholds],
        "outer_fold_embed_weights": weights,
    }


def load_squad_questions(path: Path) -> list[str]:
    """Every question of a SQuAD 2.0 file (answerable or not): plain factual questions."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    return [qa["question"] for a in data for p in a["paragraphs"] for qa in p["qas"]]


def factual_question_rates(
    detector: InjectionDetector, datasets_dir: Path, threshold: float
) -> dict[str, Any]:
    """The shipped detector's false-positive rate on SQuAD 2.0's dev questions, when the shared
    datasets hold them: benign factual questions that no choice (training, weight, threshold)
    has seen. Measured only; nothing is fitted or picked on them."""
    path = datasets_dir / "squad2" / "dev-v2.0.shared.json"
    if not path.exists():
        return {}
    questions = load_squad_questions(path)
    scores = detector.score_many(questions)
    flagged = sum(s >= threshold for s in scores)
    return {
        "squad_questions_false_positive_rate": round(flagged / len(questions), 4),
        "squad_questions_flagged": flagged,
        "squad_questions_examples": len(questions),
    }


def rates(scores: list[float], labels: list[int], threshold: float) -> dict[str, float]:
    flagged = [s >= threshold for s in scores]
    positives = [f for f, y in zip(flagged, labels, strict=True) if y == 1]
    negatives = [f for f, y in zip(flagged, labels, strict=True) if y == 0]
    return {
        "detection_rate": round(sum(positives) / len(positives), 4),
        "false_positive_rate": round(sum(negatives) / len(negatives), 4),
    }


def train(datasets_dir: Path, out: Path, *, use_embeddings: bool = True) -> dict[str, Any]:
    import joblib

    injection_dir = datasets_dir / "injection"
    embed = packaged_embedder() if use_embeddings else None
    corpus = load_corpus(injection_dir, embed)
    all_rows, all_calibration = np.arange(len(corpus.texts)), np.arange(len(corpus.calibration))
    nested = nested_cross_validation(corpus, embed)
    oof, oof_calibration = out_of_fold(corpus, all_rows, all_calibration, embed, _SEED)
    detector = fit_on(corpus, all_rows, all_calibration, embed)
    notinject = components(detector, corpus.notinject_calibration, corpus.vectors)
    weight, threshold = choose_weight(oof, corpus.labels, oof_calibration, notinject)
    detector.embed_weight = weight
    oof_scores = [float(s) for s in oof.scores(weight)]
    oof_trigger_fp = float(np.mean(oof_calibration.scores(weight) >= threshold))
    notinject_calibration = detector_scores(detector, corpus.notinject_calibration, corpus.vectors)
    calibration_fp = float(np.mean([s >= threshold for s in notinject_calibration]))
    held_out = corpus.notinject_held_out
    held_out_scores = detector_scores(detector, held_out, corpus.vectors)
    notinject_fp = sum(s >= threshold for s in held_out_scores) / len(held_out_scores)
    factual = factual_question_rates(detector, datasets_dir, threshold)
    notinject_allowed = round(
        notinject_budget(len(corpus.notinject_calibration)) * len(corpus.notinject_calibration)
    )
    budgets = (
        f"false-positive rate <= {MAX_DEEPSET_FALSE_POSITIVE_RATE} on deepset benign and <= "
        f"{MAX_TRIGGER_FALSE_POSITIVE_RATE} on the team's free-form benign trigger-word prompts "
        f"({_FOLDS}-fold out of fold), and at most {notinject_allowed} of the "
        f"{len(corpus.notinject_calibration)} prompts of the NotInject calibration half "
        f"(split_notinject) flagged, so that the one-sided {NOTINJECT_CONFIDENCE:.0%} "
        "Clopper-Pearson upper bound of its false-positive rate is <= "
        f"{NOTINJECT_TARGET_FALSE_POSITIVE_RATE}"
    )
    metadata: dict[str, Any] = {
        "model": (
            f"{1 - weight:.1f} x tfidf(char_wb 2-5 + word 1-2) LR + {weight:.1f} x "
            "MiniLM-embedding LR (both balanced), max with rules"
        ),
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "training_data": (
            "deepset/prompt-injections train split (deepset_train.jsonl) plus, from "
            f"guardrails.injection_benign, {len(corpus.calibration)} free-form benign "
            f"trigger-word prompts, {corpus.extra_labels.count(0)} other team-written benign "
            "prompts (templated trigger-word questions and imperatives, free-form task requests, "
            "document-style procedural sentences, encyclopedic questions) and "
            f"{sum(corpus.extra_labels)} hand-written "
            "attacks"
        ),
        "training_examples": len(corpus.texts) + len(corpus.calibration) + len(corpus.extra),
        "training_injections": sum(corpus.labels) + sum(corpus.extra_labels),
        "threshold": threshold,
        "threshold_rule": (
            f"lowest threshold >= {_MIN_THRESHOLD} with {budgets}; the NotInject held-out half is "
            "never used"
        ),
        "model_selection": (
            f"embedding weight picked from {list(EMBED_WEIGHTS)} by {_FOLDS}-fold CV on the "
            "training data (choose_weight: most out-of-fold deepset injections caught at each "
            "weight's budget threshold); in deepset_cv5_nested the weight and threshold of each "
            "outer fold come from the inner CV on the other folds only. TF-IDF and embedding-LR "
            "settings (C=3, C=10) are fixed. No NotInject held-out prompt and no outer-fold label "
            "is used for any choice"
        ),
        "threshold_budgets": {
            "deepset_benign": MAX_DEEPSET_FALSE_POSITIVE_RATE,
            "team_trigger_benign": MAX_TRIGGER_FALSE_POSITIVE_RATE,
            "notinject_calibration": round(notinject_budget(len(corpus.notinject_calibration)), 4),
        },
        "rule_score": RULE_SCORE,
        "embed_weight": weight if detector.embedding_model is not None else 0.0,
        "metrics": {
            f"deepset_cv{_FOLDS}_nested": nested,
            f"deepset_cv{_FOLDS}": rates(oof_scores, corpus.labels, threshold),
            "deepset_cv_note": (
                f"deepset_cv{_FOLDS}_nested: each outer fold scored with an embedding weight and "
                "threshold chosen by inner CV on the other folds (the honest figure); "
                f"deepset_cv{_FOLDS}: the same out-of-fold scores the shipped weight and "
                "threshold were chosen on (optimistic). The rules are hand-written, not fitted "
                "per fold, and some were written after reading deepset's out-of-fold misses, so "
                "detection_rate is optimistic for them; classifier_only_detection_rate is the "
                "nested figure without any rule"
            ),
            "team_trigger_benign_cv_false_positive_rate": round(oof_trigger_fp, 4),
            "notinject_false_positive_rate": round(notinject_fp, 4),
            "notinject_examples": len(held_out),
            "notinject_calibration_false_positive_rate": round(calibration_fp, 4),
            "notinject_calibration_examples": len(notinject_calibration),
            **factual,
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
        "embed_weight": metadata["embed_weight"],
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
