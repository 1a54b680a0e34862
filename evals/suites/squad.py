"""``groundwork eval squad``: SQuAD 2.0 (20 dev articles) as one open-domain knowledge base.

Every paragraph is one document. Answerable questions: does the first cited sentence (and one
of up to three) contain a gold answer, token F1 of the first cited sentence. Unanswerable ones:
the abstention curve and AUC of the answer confidence (answerable = positive).
"""

import argparse
import asyncio
import json
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from app.arguments import integer
from app.auth.principal import Principal
from app.chat.composer import compose
from app.chat.versions import active_version
from app.resources import load_models
from app.settings import Settings
from evals import answer_metrics as m
from evals.runner import SuiteResult, add_result_arguments, finish, result_from_report
from evals.suites import answer_runs as runs
from evals.workspace import CorpusFile, Workspace, open_workspace
from retrieval.search import load_chunks, retrieved_chunk

SOURCE = "squad"
PER_CLASS = 250  # questions per class in the eval's seeded sample


def articles(settings: Settings) -> list[dict[str, Any]]:
    path = runs.datasets_dir(settings) / "squad2" / "dev-v2.0.shared.json"
    data: list[dict[str, Any]] = json.loads(path.read_text())["data"]
    return data


def corpus(settings: Settings) -> list[CorpusFile]:
    return [
        CorpusFile(name=f"{a['title']}_{i:03d}.txt", data=p["context"].encode())
        for a in articles(settings)
        for i, p in enumerate(a["paragraphs"])
    ]


def questions(settings: Settings, *, per_class: int, seed: int = 7) -> list[dict[str, Any]]:
    """A seeded sample of ``per_class`` answerable and ``per_class`` unanswerable questions."""
    answerable: list[dict[str, Any]] = []
    unanswerable: list[dict[str, Any]] = []
    for article in articles(settings):
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                row = {
                    "id": qa["id"],
                    "question": qa["question"],
                    "answers": sorted({a["text"] for a in qa["answers"]}),
                }
                (unanswerable if qa["is_impossible"] else answerable).append(row)
    rng = random.Random(seed)  # noqa: S311  (a reproducible sample, not a secret)
    return rng.sample(answerable, min(per_class, len(answerable))) + rng.sample(
        unanswerable, min(per_class, len(unanswerable))
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_result_arguments(parser)
    parser.add_argument(
        "--per-class", type=integer(1), default=PER_CLASS, help="questions per class (seeded)"
    )
    parser.add_argument("--seed", type=int, default=7)


def score(rows: list[dict[str, Any]], asked: list[runs.Asked], threshold: float) -> dict[str, Any]:
    first = any3 = answered = 0
    f1 = 0.0
    pairs = [(r, a) for r, a in zip(rows, asked, strict=True) if r["answers"]]
    for row, a in pairs:
        text = a.answer_at(threshold)
        answered += bool(text)
        first += m.first_k_contain_answer(text, row["answers"], 1)
        any3 += m.first_k_contain_answer(text, row["answers"], 3)
        sentences = m.cited_sentences(text)
        f1 += m.best_f1(sentences[0][0], row["answers"]) if sentences else 0.0
    n = max(1, len(pairs))
    return {
        "answerable": len(pairs),
        "answered_share": round(answered / n, 4),
        "first_cited_sentence_contains_answer": round(first / n, 4),
        "one_of_three_cited_sentences_contains_answer": round(any3 / n, 4),
        "first_sentence_token_f1": round(f1 / n, 4),
    }


@dataclass(frozen=True)
class Shown:
    """A question's retrieved passages' texts and the three sentences the composer's ranking
    puts first of them (what it would cite if no selection floor cut any)."""

    passages: list[str]
    ranked: list[str]


async def shown(ws: Workspace, principal: Principal, asked: Sequence[runs.Asked]) -> list[Shown]:
    """Per asked question, its retrieved passages (from its trace, one statement for all) and
    the composer's top three sentences of them, under the active version's composer settings
    with every selection floor at 0 (the sentence vectors come from the chat's own cache)."""
    hits = [
        [
            (uuid.UUID(c["chunk_id"]), float(c["score"]))
            for c in a.trace.get("retrieval", {}).get("chunks", [])
        ]
        for a in asked
    ]
    async with ws.session_factory() as session:
        version = await active_version(session)
        rows = await load_chunks(
            session, sorted({i for row in hits for i, _ in row}), groups=principal.readable_groups
        )
    three = replace(
        version.composer,
        max_sentences=3,
        min_sentence_score=0.0,
        relative_floor=0.0,
        cited_passage_floor=0.0,
        hedge_floor=0.0,
    )
    out = []
    for a, scored in zip(asked, hits, strict=True):
        passages = [retrieved_chunk(i, rows[i], score=score) for i, score in scored if i in rows]
        ranked = compose(a.question, passages, ws.chat.embedder, three, ws.chat.pool)
        out.append(Shown([p.text for p in passages], [s.sentence for s in ranked.sentences]))
    return out


def losses(
    answerable: Sequence[tuple[dict[str, Any], runs.Asked]],
    seen: Sequence[Shown],
    threshold: float,
) -> dict[str, float]:
    """Share of the ``(row, asked)`` answerable questions in each ``answer_metrics.LOSSES``
    bucket, and how many the composer's top three sentences answer (``seen``, in the same
    order): the ceiling of selection, without a threshold."""
    counts = dict.fromkeys(m.LOSSES, 0)
    ranked_hits = 0
    for (row, a), s in zip(answerable, seen, strict=True):
        golds = row["answers"]
        loss = m.answer_loss(golds, s.passages, a.draft, a.answered_at(threshold), s.ranked)
        counts[loss] += 1
        ranked_hits += any(m.contains_answer(sentence, golds) for sentence in s.ranked)
    n = max(1, len(answerable))
    out = {name: round(k / n, 4) for name, k in counts.items()}
    out["top_three_ranked_hold_answer"] = round(ranked_hits / n, 4)
    return out


async def _run(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    files = corpus(settings)
    rows = questions(settings, per_class=args.per_class, seed=args.seed)
    models = load_models(settings, questions=True)
    async with open_workspace(
        settings, "chat-squad", fingerprint=runs.fingerprint(files), models=models
    ) as ws:
        loaded = await runs.load(ws, SOURCE, files)
        user = await ws.user("squad-eval")
        asked = [(await runs.ask(ws, user, row["question"]))[0] for row in rows]
        answerable = [(r, a) for r, a in zip(rows, asked, strict=True) if r["answers"]]
        seen = await shown(ws, user, [a for _, a in answerable])
    threshold = float(asked[0].trace.get("threshold", 0.0)) if asked else 0.0
    pairs = list(zip(rows, asked, strict=True))
    pos = [a.answer_confidence for r, a in pairs if r["answers"]]
    neg = [a.answer_confidence for r, a in pairs if not r["answers"]]
    retrieval = {
        has: [
            float(a.trace.get("retrieval", {}).get("confidence", 0.0))
            for r, a in pairs
            if bool(r["answers"]) == has
        ]
        for has in (True, False)
    }
    declined = sum(not a.answered_at(threshold) for r, a in pairs if not r["answers"])
    return {
        "suite": "squad",
        "corpus": loaded,
        "threshold": threshold,
        "version": asked[0].trace.get("version") if asked else None,
        "at_version_threshold": score(rows, asked, threshold),
        "without_threshold": score(rows, asked, 0.0),
        "unanswerable_declined_at_version_threshold": round(declined / max(1, len(neg)), 4),
        # Questions the injection detector refused (counted as not answered above).
        "refused_as_injection": sum(a.refused for a in asked),
        # Where the answerable questions' answers were lost at the version's threshold (shares
        # of the answerable questions, in pipeline order): what a better retriever, ranking or
        # confidence could each still gain.
        "answerable_losses": losses(answerable, seen, threshold),
        "abstention_auc": round(m.abstention_auc(pos, neg), 4),
        "abstention_auc_retrieval_confidence_only": round(
            m.abstention_auc(retrieval[True], retrieval[False]), 4
        ),
        "abstention_curve": [p.__dict__ for p in m.abstention_curve(pos, neg, points=11)],
        "latency_ms": {
            "p50": round(runs.percentile([a.latency_ms for a in asked], 0.5), 1),
            "p95": round(runs.percentile([a.latency_ms for a in asked], 0.95), 1),
        },
    }


def evaluate(settings: Settings, args: argparse.Namespace) -> SuiteResult:
    report = asyncio.run(_run(settings, args))
    runs.write_report(settings, "squad", report)
    return result_from_report("squad", report)


def run(settings: Settings, args: argparse.Namespace) -> int:
    return finish(settings, args, evaluate(settings, args))
