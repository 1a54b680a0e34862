"""SciFact retrieval quality through the real store and SQL: nDCG@10 / Recall@100 per leg and fused.

Queries split in two halves by id (even/odd position in sorted order): fusion weights, BM25
parameters and the confidence calibration are tuned on the first half and reported on the
second half and on all queries. The legs are taken ``--candidates`` deep (300 by default), and
once more as the version serves them (its own, smaller candidate counts). Most rows fuse the legs
per document (a document scores by its best chunk in each leg, as the reference fusions of the
literature do); "deployed as served" fuses per chunk, as ``retrieve()`` does, and ranks each
document where its best chunk stands: that row is what users get.
"""

import asyncio
import time
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.db.models import EVERYONE
from app.db.session import make_engine
from app.resources import load_models
from evals.bench.fusion_tuning import (
    Calibration,
    DocList,
    FusionChoice,
    QueryLegs,
    calibration_error,
    collapse_to_docs,
    fit_calibration,
    fused_ranking,
    scores,
    tune,
)
from evals.bench.scifact_corpus import load_scifact_corpus
from evals.bench.scratch_db import scratch_database
from evals.datasets_scifact import SciFact, load_scifact
from retrieval.embeddings import Embedder, embed_questions
from retrieval.retriever import complete_legs, fuse_legs, given, search_legs, sentence_leg
from retrieval.tokens import WordpieceTokenizer, packaged_model_dir
from retrieval.types import Hit, RetrievalConfig

BASELINES = (FusionChoice("rrf", 1.0, 1.0, 60), FusionChoice("minmax", 0.5, 0.5))
BM25_GRID = ((0.9, 0.4), (1.2, 0.75), (1.2, 0.5), (1.5, 0.75), (0.9, 0.6), (1.5, 0.5))


def split_queries(ids: list[str]) -> tuple[list[str], list[str]]:
    ordered = sorted(ids, key=lambda q: (len(q), q))
    return ordered[0::2], ordered[1::2]


async def run_legs(
    engine: AsyncEngine,
    data: SciFact,
    vectors: dict[str, list[float]],
    chunk_doc: dict[Any, str],
    config: RetrievalConfig,
) -> dict[str, QueryLegs]:
    """Both legs for every query via ``retrieval.retriever.search_legs`` (the production SQL)."""
    out: dict[str, QueryLegs] = {}

    def docs(hits: list[Hit]) -> DocList:
        return collapse_to_docs([(chunk_doc[h.chunk_id], h.score) for h in hits])

    for query_id, query in data.queries.items():
        async with AsyncSession(engine) as session:
            dense, keyword, _ = await search_legs(
                session, given(vectors[query_id]), query, groups=[EVERYONE], config=config
            )
            full_dense, full_keyword = dense, keyword
            sentence = await sentence_leg(
                session, vectors[query_id], dense, keyword, groups=[EVERYONE]
            )
            if config.complete_scores:
                full_dense, full_keyword = await complete_legs(
                    session,
                    vectors[query_id],
                    query,
                    dense,
                    keyword,
                    groups=[EVERYONE],
                    config=config,
                )

        # What ``retrieve()`` ranks: the chunks fused by the version's own settings, each
        # document where its first chunk stands (the legs above are fused per document).
        fused = fuse_legs(
            full_dense, full_keyword, config, sentence if config.sentence_weight > 0 else ()
        )
        out[query_id] = QueryLegs(
            query_id=query_id,
            dense=docs(dense),
            keyword=docs(keyword),
            top_similarity=dense[0].score if dense else None,
            fusion_dense=docs(full_dense) if config.complete_scores else None,
            fusion_keyword=docs(full_keyword) if config.complete_scores else None,
            sentence=docs(sentence),
            served=list(dict.fromkeys(chunk_doc[hit.chunk_id] for hit in fused)),
        )
    return out


def _served(legs: QueryLegs) -> list[str]:
    return legs.served or []


def _leg_rankings(legs: dict[str, QueryLegs], ids: list[str], leg: str) -> dict[str, list[str]]:
    return {q: [doc for doc, _ in getattr(legs[q], leg)] for q in ids}


def _row(
    label: str,
    legs: dict[str, QueryLegs],
    subsets: dict[str, list[str]],
    data: SciFact,
    ranking: Any,
    report: dict[str, Any],
) -> str:
    """One table row; the figures also go to ``report[label][subset]``."""
    cells = []
    for name, ids in subsets.items():
        ndcg, recall = scores({q: ranking(legs[q]) for q in ids}, data.qrels)
        cells.append(f"{ndcg:.3f} / {recall:.3f}")
        report.setdefault(label, {})[name.replace(" ", "_").replace("-", "_")] = {
            "ndcg_at_10": round(ndcg, 4),
            "recall_at_100": round(recall, 4),
        }
    return f"| {label} | " + " | ".join(cells) + " |"


def _calibration_samples(
    legs: dict[str, QueryLegs], ids: list[str], choice: FusionChoice, data: SciFact
) -> list[tuple[float, bool, bool]]:
    samples = []
    for q in ids:
        ranking = fused_ranking(legs[q], choice)
        top = legs[q].top_similarity
        if not ranking or top is None:
            continue
        agree = bool(
            legs[q].dense and legs[q].keyword and legs[q].dense[0][0] == legs[q].keyword[0][0]
        )
        samples.append((top, agree, data.qrels[q].get(ranking[0], 0) > 0))
    return samples


async def evaluate(settings: Any, url: str, args: Any, embedder: Embedder) -> dict[str, Any]:
    """Measure, print the table, and return the figures as a nested report."""
    report: dict[str, Any] = {"suite": "scifact", "split": args.split}
    data = load_scifact(Path(settings.datasets_dir), split=args.split)
    tokenizer = WordpieceTokenizer.from_model_dir(packaged_model_dir())
    engine = make_engine(url, pool_size=2)
    try:
        corpus = await load_scifact_corpus(
            engine, data, embedder, tokenizer, data_dir=settings.data_dir
        )
        print(
            f"corpus: {len(data.docs)} docs, {corpus.chunks} chunks ({corpus.load_seconds:.0f} s)"
        )
        qids = list(data.queries)
        # The questions as the serving process encodes them (``embedding.serve_runtime``).
        qvec = embed_questions(embedder, [data.queries[q] for q in qids])
        vectors = {q: v.tolist() for q, v in zip(qids, qvec, strict=True)}
        tune_ids, held_ids = split_queries(qids)
        subsets = {"tune half": tune_ids, "held-out half": held_ids, "all": qids}
        base = replace(
            RetrievalConfig(),
            dense_candidates=args.dense_candidates or args.candidates,
            indexed_dense_candidates=args.dense_candidates or args.candidates,
            keyword_candidates=args.candidates,
            complete_scores=args.complete_scores,
        )
        best_bm25, best_ndcg = (base.bm25_k1, base.bm25_b), -1.0
        for k1, b in BM25_GRID if args.tune_bm25 else ((base.bm25_k1, base.bm25_b),):
            started = time.perf_counter()
            legs = await run_legs(
                engine, data, vectors, corpus.chunk_doc, replace(base, bm25_k1=k1, bm25_b=b)
            )
            ndcg, _ = scores(_leg_rankings(legs, tune_ids, "keyword"), data.qrels)
            print(
                f"  bm25 k1={k1} b={b}: nDCG@10 {ndcg:.3f} on the tune half "
                f"({time.perf_counter() - started:.0f} s)"
            )
            if ndcg > best_ndcg:
                best_bm25, best_ndcg, best_legs = (k1, b), ndcg, legs
        legs = best_legs
        choice, tuned_ndcg = tune([legs[q] for q in tune_ids], data.qrels)
        print(
            f"\nSciFact {args.split}: {len(qids)} queries; BM25 k1={best_bm25[0]} b={best_bm25[1]}; "
            f"tuned fusion (hybrid): {choice.label()} (tune-half nDCG@10 {tuned_ndcg:.3f}); "
            f"deployed: the version's {base.fusion} {base.dense_weight:.2f}:{base.keyword_weight:.2f}"
            f"{', complete scores' if base.complete_scores else ''}\n"
        )
        print(
            "| method | "
            + " | ".join(f"{n} (n={len(i)}) nDCG@10 / R@100" for n, i in subsets.items())
            + " |"
        )
        print("|---|" + "---|" * len(subsets))
        print(_row("dense", legs, subsets, data, lambda x: [d for d, _ in x.dense], report))
        print(_row("bm25", legs, subsets, data, lambda x: [d for d, _ in x.keyword], report))
        print(
            _row(
                "sentence (reranks the union)",
                legs,
                subsets,
                data,
                lambda x: [d for d, _ in x.sentence or []],
                report,
            )
        )
        deployed = FusionChoice(
            base.fusion,
            base.dense_weight,
            base.keyword_weight,
            base.rrf_k,
            sentence_weight=base.sentence_weight,
        )
        fusions = [(f"{c.label()} (baseline)", c) for c in BASELINES]
        fusions += [
            ("hybrid", choice),
            (f"deployed ({args.candidates} candidates a leg)", deployed),
        ]
        for label, fusion in fusions:
            print(_row(label, legs, subsets, data, partial(fused_ranking, choice=fusion), report))
        # As served: the version's own candidate counts (fewer per leg than the bench's, which
        # changes what each leg's normalisation sees), BM25 parameters and score completion.
        served = RetrievalConfig()
        served_legs = await run_legs(engine, data, vectors, corpus.chunk_doc, served)
        print(
            f"\nas served ({served.indexed_dense_candidates} dense through the index, "
            f"{served.keyword_candidates} keyword candidates):"
        )
        fusions = [(f"{c.label()} as served", c) for c in BASELINES]
        for label, fusion in [*fusions, ("deployed as served, fused per document", deployed)]:
            ranking = partial(fused_ranking, choice=fusion)
            print(_row(label, served_legs, subsets, data, ranking, report))
        print(_row("deployed as served", served_legs, subsets, data, _served, report))
        default = Calibration(
            base.confidence_midpoint, base.confidence_slope, base.confidence_agreement_bonus
        )
        fitted = fit_calibration(_calibration_samples(legs, tune_ids, choice, data))
        held = _calibration_samples(legs, held_ids, choice, data)
        for name, cal in (("default", default), ("fitted", fitted)):
            ece, brier = calibration_error(held, cal)
            report[f"confidence_{name}"] = {"held_out_ece": round(ece, 4), "brier": round(brier, 4)}
            print(
                f"confidence {name}: midpoint {cal.midpoint:.3f} slope {cal.slope:.2f} "
                f"agreement {cal.agreement_bonus:.2f} -> held-out ECE {ece:.3f}, Brier {brier:.3f}"
            )
        report["hybrid_fusion"] = choice.label()
        report["deployed_fusion"] = deployed.label()
        report["bm25"]["k1_b"] = f"{best_bm25[0]} {best_bm25[1]}"
    finally:
        await engine.dispose()
    return report


def measure_quality(settings: Any, args: Any) -> dict[str, Any]:
    embedder = load_models(settings, with_guardrails=False, questions=True).embedder
    with scratch_database(settings, "bench_scifact", fresh=args.fresh) as url:
        return asyncio.run(evaluate(settings, url, args, embedder))
