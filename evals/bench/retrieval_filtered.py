"""Filtered dense recall@10 against exact search, and hybrid latency, at fixed ACL selectivities.

The corpus (``--chunks``, default 100k) comes from ``evals.bench.synthetic_corpus``; queries
are SciFact claims. Latency is the full ``retrieve()``: query embedding, both legs, fusion.
"""

import asyncio
import random
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.db.session import make_engine, make_session_factory
from app.resources import load_models
from evals.bench.scratch_db import scratch_database
from evals.bench.synthetic_corpus import EVERYONE, SELECTIVITY_GROUPS, load_synthetic
from evals.datasets_scifact import chunk_scifact, load_scifact, sentence_windows
from evals.embedding_cache import embed_cached
from ingestion.chunking import embedding_text
from retrieval.embeddings import Embedder, embed_questions
from retrieval.parallel import ParallelLegs
from retrieval.postings_cache import PostingsCache
from retrieval.process_state import ProcessState
from retrieval.readable import ReadableCounts
from retrieval.retriever import retrieve
from retrieval.search import count_readable, vector_search
from retrieval.tokens import WordpieceTokenizer, packaged_model_dir
from retrieval.types import RetrievalConfig

SELECTIVITIES = [(share, [group]) for share, group in SELECTIVITY_GROUPS.items()] + [
    (1.0, [EVERYONE])
]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def recall_at_10(
    engine: AsyncEngine, vectors: list[list[float]], groups: list[str], config: RetrievalConfig
) -> tuple[float, int, float]:
    """(mean recall@10 vs exact, short results, mean dense ms) with the production path.

    The readable set does not change during the loop, so it is counted once (as the serving
    process's cache would), and the timing is the dense search alone.
    """
    recalls, short, times = [], 0, []
    async with AsyncSession(engine) as session:
        readable = await count_readable(
            session, groups=groups, limit=config.exact_below + 1, share=config.broad_share
        )
    for vector in vectors:
        async with AsyncSession(engine) as session:
            started = time.perf_counter()
            ann = await vector_search(
                session,
                vector,
                groups=groups,
                k=10,
                ef_search=readable.ef_search(config),
                exact=readable.few(config),
            )
            times.append((time.perf_counter() - started) * 1000)
            exact = await vector_search(session, vector, groups=groups, k=10, exact=True)
        want = min(10, len(exact))
        short += len(ann) < want
        recalls.append(len({h.chunk_id for h in ann} & {h.chunk_id for h in exact}) / max(want, 1))
    return statistics.fmean(recalls), short, statistics.fmean(times)


async def latencies(
    engine: AsyncEngine,
    embedder: Embedder,
    queries: list[str],
    groups: list[str],
    config: RetrievalConfig,
    clients: int,
    state: ProcessState,
) -> tuple[list[float], dict[str, list[float]]]:
    """Each query's full ``retrieve()`` time, from ``clients`` concurrent loops sharing
    ``state`` as a serving process's requests share it, and its stage timings by name
    (``retrieve``'s own marks; the embedding overlaps the count and the keyword leg)."""
    pending = list(queries)
    out: list[float] = []
    stages: dict[str, list[float]] = {}

    async def client() -> None:
        while pending:
            query = pending.pop()
            async with AsyncSession(engine) as session:
                started = time.perf_counter()
                result = await retrieve(
                    session, embedder, query, groups=groups, config=config, state=state
                )
                out.append((time.perf_counter() - started) * 1000)
            for stage, ms in result.timings_ms.items():
                stages.setdefault(stage, []).append(ms)

    await asyncio.gather(*(client() for _ in range(clients)))
    return out, stages


def stage_summary(stages: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    """p50 / p95 per stage, in ``retrieve``'s order."""
    return {
        stage: {"p50_ms": round(_pct(ms, 0.5), 1), "p95_ms": round(_pct(ms, 0.95), 1)}
        for stage, ms in stages.items()
    }


def _stage_line(label: str, stages: dict[str, dict[str, float]]) -> str:
    cells = ", ".join(
        f"{name.removesuffix('_ms')} {v['p50_ms']:.1f}/{v['p95_ms']:.1f}"
        for name, v in stages.items()
    )
    return f"  {label} stages p50/p95 ms: {cells}"


async def measure(settings: Any, url: str, args: Any, embedder: Embedder) -> dict[str, Any]:
    """Print the table; return the same figures (one row per readable share)."""
    data = load_scifact(Path(settings.datasets_dir))
    tokenizer = WordpieceTokenizer.from_model_dir(packaged_model_dir())
    drafts = chunk_scifact(data.docs, tokenizer)
    base = embed_cached(
        embedder,
        [embedding_text(c.title, c.heading_path, c.text) for _, c in drafts],
        data_dir=settings.data_dir,
    )
    first_chunk: dict[str, int] = {}
    for index, (doc_id, _) in enumerate(drafts):
        first_chunk.setdefault(doc_id, index)
    windows = sentence_windows(data.docs)
    random.Random(11).shuffle(windows)  # noqa: S311 - a reproducible sample, not a secret
    if len(windows) < args.chunks:
        print(f"only {len(windows)} sentence windows available; using all")
    windows = windows[: args.chunks]
    owners = np.array([first_chunk[doc] for doc, _ in windows])
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    corpus = await load_synthetic(dsn, [t for _, t in windows], owners, base)
    print(
        f"corpus: {corpus.chunks} chunks from {len(base)} real MiniLM vectors (perturbed); "
        f"load {corpus.load_seconds:.0f} s, HNSW + covering index build {corpus.index_seconds:.0f} s"
    )
    qids = sorted(data.queries)[: args.queries]
    texts = [data.queries[q] for q in qids]
    qvecs = [v.tolist() for v in embed_questions(embedder, texts)]
    config = RetrievalConfig(complete_scores=args.complete_scores)
    engine = make_engine(url, pool_size=max(args.clients, 2) + 1)  # + 1: background loads
    # The serving process's copy of the postings, started empty and kept across the rows (as
    # a process keeps it); a query whose terms it does not hold yet is scored in SQL.
    sessions, capacity = make_session_factory(engine), settings.chat.postings_cache_postings
    postings = PostingsCache(sessions, max_postings=capacity) if capacity else None
    legs = settings.chat.parallel_legs_in_flight  # as the serving process runs them

    def process_state() -> ProcessState:
        """A fresh readable-count cache per measurement (as before), the same postings copy."""
        parallel = ParallelLegs(sessions, max_in_flight=legs) if legs else None
        return ProcessState(readable=ReadableCounts(), parallel=parallel, postings=postings)

    report: dict[str, Any] = {"chunks": corpus.chunks, "queries": len(qids), "rows": []}
    try:
        await latencies(engine, embedder, texts[:20], [EVERYONE], config, 1, process_state())
        print(f"\n{len(qids)} queries per row; config {config}\n")
        print(
            "| readable share | recall@10 | short results | dense ms (mean) | "
            f"1 client p50 / p95 ms | {args.clients} clients p50 / p95 ms | "
            "keyword legs in memory |"
        )
        print("|---|---|---|---|---|---|---|")
        stage_lines: list[str] = []
        for share, groups in SELECTIVITIES:
            recall, short, dense_ms = await recall_at_10(engine, qvecs, groups, config)
            before = (postings.hits, postings.misses) if postings else (0, 0)
            one, one_stages = await latencies(
                engine, embedder, texts, groups, config, 1, process_state()
            )
            many, many_stages = await latencies(
                engine, embedder, texts, groups, config, args.clients, process_state()
            )
            one_summary, many_summary = stage_summary(one_stages), stage_summary(many_stages)
            hits, misses = (
                (postings.hits - before[0], postings.misses - before[1]) if postings else (0, 0)
            )
            print(
                f"| {share:.1%} | {recall:.4f} | {short} | {dense_ms:.1f} | "
                f"{_pct(one, 0.5):.1f} / {_pct(one, 0.95):.1f} | "
                f"{_pct(many, 0.5):.1f} / {_pct(many, 0.95):.1f} | "
                f"{hits} of {hits + misses} |",
                flush=True,
            )
            report["rows"].append(
                {
                    "readable_share": share,
                    "recall_at_10": round(recall, 4),
                    "short_results": short,
                    "dense_ms_mean": round(dense_ms, 1),
                    "one_client_p50_ms": round(_pct(one, 0.5), 1),
                    "one_client_p95_ms": round(_pct(one, 0.95), 1),
                    f"{args.clients}_clients_p50_ms": round(_pct(many, 0.5), 1),
                    f"{args.clients}_clients_p95_ms": round(_pct(many, 0.95), 1),
                    "keyword_in_memory": hits,
                    "keyword_in_sql": misses,
                    "one_client_stages": one_summary,
                    f"{args.clients}_clients_stages": many_summary,
                }
            )
            stage_lines.append(_stage_line(f"{share:.1%}, 1 client", one_summary))
            stage_lines.append(_stage_line(f"{share:.1%}, {args.clients} clients", many_summary))
        print("\n".join(stage_lines))
    finally:
        await engine.dispose()
    return report


def run_filtered(settings: Any, args: Any) -> dict[str, Any]:
    embedder = load_models(settings, with_guardrails=False, serving=True).embedder
    with scratch_database(settings, "bench_filtered", fresh=True) as url:
        return asyncio.run(measure(settings, url, args, embedder))
