"""Fit the composer's ranking-cue weights on SQuAD 2.0 questions that ``eval squad`` never asks.

Usage: ``python -m evals.fit_sentence_ranking [--data-dir D] [--questions 1500]``

Data: the answerable questions of the 20 SQuAD dev articles minus the eval's seeded sample
(``evals.suites.squad.questions``), a seeded sample of ``--questions`` of them, asked against the
same knowledge base as the eval (workspace ``chat-squad``). For each question, retrieval runs
with the active version's settings, and ``app.chat.composer.gather_evidence`` measures every
shortlisted sentence exactly as an answer would: its ``match`` and its four cues
(``passage_best``, ``standing``, ``cue``, ``preceding``). A sentence is a positive when it
contains a gold answer (the eval's own test).

Model: a listwise softmax over each question's shortlist, ``logit = a * match + w . cues``,
maximising the probability of the positive sentences (Adam, L2); questions without a positive
in the shortlist teach nothing and are left out. The composer weighs each cue by ``w / a``
against ``match`` (as a shortfall from the best candidate: the same ranking), so the printed
weights are the config's ``passage_match_weight``, ``passage_weight``, ``cue_weight`` and
``preceding_weight``.
``match`` itself (the semantic and lexical weights) stays as configured, so
support, confidence and every selection floor keep their meaning.

Report: top-1 and top-3 of the ranking by ``match`` alone and with the fitted cues, under 5-fold
cross-validation grouped by article (no article is both fitted and scored), then the weights
fitted on every question.
"""

import argparse
import asyncio
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from app.arguments import integer
from app.chat.composer import gather_evidence
from app.chat.sentence_pool import CachedEmbedder
from app.chat.versions import active_version
from app.resources import load_models
from app.settings import Settings
from evals import answer_metrics as m
from evals.suites import answer_runs as runs
from evals.suites import out_of_scope, squad
from evals.workspace import open_workspace
from retrieval.retriever import retrieve

COLUMNS = ("match", "passage_best", "standing", "cue", "preceding")
CONFIG_NAMES = {
    "passage_best": "passage_match_weight",
    "standing": "passage_weight",
    "cue": "cue_weight",
    "preceding": "preceding_weight",
}
Matrix = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Example:
    """One question's shortlist: a row of ``COLUMNS`` per sentence, and which hold an answer."""

    article: str
    features: Matrix
    positive: npt.NDArray[np.bool_]


def held_out_questions(
    settings: Settings, count: int, seed: int, *, unanswerable: bool = False
) -> list[dict[str, Any]]:
    """A seeded sample of answerable (or, with ``unanswerable``, unanswerable) questions that no
    suite asks: neither ``eval squad``'s sample nor the SQuAD questions of ``eval out_of_scope``."""
    asked = {
        row["id"]
        for row in squad.questions(settings, per_class=squad.PER_CLASS)
        + out_of_scope.squad_questions(settings)
    }
    rows = [
        {
            "article": a["title"],
            "question": qa["question"],
            "answers": [x["text"] for x in qa["answers"]],
        }
        for a in squad.articles(settings)
        for p in a["paragraphs"]
        for qa in p["qas"]
        if qa["is_impossible"] == unanswerable and qa["id"] not in asked
    ]
    rng = random.Random(seed)  # noqa: S311  (a reproducible sample, not a secret)
    return rng.sample(rows, min(count, len(rows)))


async def collect(settings: Settings, rows: Sequence[dict[str, Any]]) -> list[Example]:
    files = squad.corpus(settings)
    models = load_models(settings, questions=True)
    examples: list[Example] = []
    async with open_workspace(
        settings, "chat-squad", fingerprint=runs.fingerprint(files), models=models
    ) as ws:
        await runs.load(ws, squad.SOURCE, files)
        user = await ws.user("squad-eval")
        deps = ws.chat
        for row in rows:
            async with ws.session_factory.begin() as session:
                version = await active_version(session)
                result = await retrieve(
                    session,
                    CachedEmbedder(deps.pool, deps.embedder),
                    row["question"],
                    groups=user.readable_groups,
                    config=version.retrieval,
                    state=deps.retrieval,
                )
            found = gather_evidence(
                row["question"], result.chunks, deps.embedder, version.composer, deps.pool
            )
            if found is None:
                continue
            evidence = found.evidence
            features = np.array(
                [[e.match, e.passage_best, e.standing, e.cue, e.preceding] for e in evidence],
                dtype=np.float64,
            )
            positive = np.array(
                [m.contains_answer(e.sentence.text, row["answers"]) for e in evidence]
            )
            examples.append(Example(row["article"], features, positive))
    return examples


def fit(examples: Sequence[Example], *, l2: float = 1e-2, steps: int = 800) -> Matrix:
    """Weights over ``COLUMNS`` (raw units) maximising the listwise likelihood of positives."""
    useful = [e for e in examples if e.positive.any()]
    if not useful:
        raise ValueError("no question has an answering sentence in its shortlist")
    stacked = np.vstack([e.features for e in useful])
    mean, scale = stacked.mean(axis=0), stacked.std(axis=0) + 1e-9
    standardised = [((e.features - mean) / scale, e.positive.astype(np.float64)) for e in useful]
    w = np.zeros(stacked.shape[1])
    first, second = np.zeros_like(w), np.zeros_like(w)
    for step in range(1, steps + 1):
        grad = l2 * w
        for x, y in standardised:
            logits = x @ w
            p = np.exp(logits - logits.max())
            p /= p.sum()
            target = p * y / (p * y).sum()
            grad += x.T @ (p - target) / len(standardised)
        first = 0.9 * first + 0.1 * grad
        second = 0.999 * second + 0.001 * grad * grad
        w -= 0.1 * (first / (1 - 0.9**step)) / (np.sqrt(second / (1 - 0.999**step)) + 1e-8)
    weights: Matrix = w / scale
    return weights


def hits(examples: Sequence[Example], score: Callable[[Matrix], Matrix], k: int) -> float:
    """Share of questions whose ``k`` best sentences by ``score`` hold an answer."""
    found = sum(
        bool(e.positive[np.argsort(-score(e.features), kind="stable")[:k]].any()) for e in examples
    )
    return found / max(1, len(examples))


def _match_only(x: Matrix) -> Matrix:
    return x[:, 0]


def _linear(w: Matrix) -> Callable[[Matrix], Matrix]:
    def score(x: Matrix) -> Matrix:
        return x @ w

    return score


def cross_validate(
    examples: Sequence[Example], folds: int = 5, *, steps: int = 800
) -> dict[str, float]:
    articles = sorted({e.article for e in examples})
    scored: dict[str, float] = {
        "match_top1": 0,
        "match_top3": 0,
        "fitted_top1": 0,
        "fitted_top3": 0,
    }
    for fold in range(folds):
        held = set(articles[fold::folds])
        train = [e for e in examples if e.article not in held]
        test = [e for e in examples if e.article in held]
        fitted = _linear(fit(train, steps=steps))
        for k in (1, 3):
            scored[f"match_top{k}"] += hits(test, _match_only, k) * len(test)
            scored[f"fitted_top{k}"] += hits(test, fitted, k) * len(test)
    return {name: round(value / len(examples), 4) for name, value in scored.items()}


def config_weights(w: Matrix, columns: Sequence[str] = COLUMNS) -> dict[str, float]:
    """The fitted cue weights in units of ``match``, as ``ComposerConfig`` takes them (a cue
    left out of ``columns`` gets 0)."""
    weights = dict.fromkeys(CONFIG_NAMES.values(), 0.0)
    for i, column in enumerate(columns):
        if i:
            weights[CONFIG_NAMES[column]] = round(float(w[i] / w[0]), 4)
    return weights


def without(
    examples: Sequence[Example], left_out: Sequence[str]
) -> tuple[list[Example], list[str]]:
    """The examples with the ``left_out`` cue columns dropped, and the columns that remain."""
    unknown = set(left_out) - set(CONFIG_NAMES)
    if unknown:
        raise ValueError(f"unknown cue(s) {sorted(unknown)}; cues are {sorted(CONFIG_NAMES)}")
    keep = [i for i, c in enumerate(COLUMNS) if c not in left_out]
    kept = [Example(e.article, e.features[:, keep], e.positive) for e in examples]
    return kept, [COLUMNS[i] for i in keep]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=".groundwork")
    parser.add_argument("--questions", type=integer(1), default=1500)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--without",
        nargs="*",
        default=[],
        choices=sorted(CONFIG_NAMES),
        help="cues to leave out of the fit (their weight stays 0)",
    )
    args = parser.parse_args(argv)
    settings = Settings(data_dir=args.data_dir)
    rows = held_out_questions(settings, args.questions, args.seed)
    examples, columns = without(asyncio.run(collect(settings, rows)), args.without)
    report = {
        "questions": len(examples),
        "answer_in_shortlist": round(sum(e.positive.any() for e in examples) / len(examples), 4),
        "cv_by_article": cross_validate(examples),
        "weights": config_weights(fit(examples), columns),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
