"""``groundwork bench ingest``: end-to-end ingestion throughput with the real models.

Files (the Contoso PDFs; SciFact abstracts written as .txt) are registered into a fresh
scratch database and loaded with the bulk path; reports chunks/s and time per stage.
"""

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from app.arguments import integer
from app.db.session import make_engine, make_session_factory
from app.resources import Models, build_pipeline_deps, load_models
from app.settings import Settings
from evals.bench.machine import describe_machine
from evals.bench.scratch_db import scratch_database
from ingestion.bulk import ingest_many
from ingestion.bulk_store import create_vector_index, drop_vector_index
from ingestion.sources import create_source, register_document
from ingestion.timings import StageTimings

CORPORA = ("contoso", "scifact")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--corpus",
        type=corpora,
        default=list(CORPORA),
        help="comma-separated: contoso, scifact or a folder",
    )
    parser.add_argument(
        "--limit", type=integer(0), default=0, help="at most this many files (0 = all)"
    )
    parser.add_argument("--pii-policy", choices=("redact", "keep", "block"), default="redact")
    parser.add_argument(
        "--embed-batch", type=integer(1), default=256, help="chunks per embedding call"
    )
    parser.add_argument(
        "--defer-index", action="store_true", help="drop HNSW during the load, rebuild after"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")


def run(settings: Settings, args: argparse.Namespace) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    started = time.perf_counter()
    models = load_models(settings)
    print(f"models loaded in {time.perf_counter() - started:.1f} s; load {_load_avg()}")
    results: list[dict[str, Any]] = []
    for corpus in args.corpus:
        with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
            files = _materialise(settings, corpus, Path(tmp), limit=args.limit)
            name = f"bench_ingest_{Path(corpus).name.lower()}"[:60]
            with scratch_database(settings, name, fresh=True) as url:
                result = asyncio.run(_load(settings, url, models, files, args))
        result["corpus"] = corpus
        results.append(result)
        _print(result)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


def corpora(text: str) -> list[str]:
    """``--corpus``: comma-separated ``contoso``, ``scifact`` or existing folders."""
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    if not chosen:
        raise argparse.ArgumentTypeError("expected contoso, scifact or a folder")
    for name in chosen:
        if name not in CORPORA and not Path(name).is_dir():
            raise argparse.ArgumentTypeError(
                f"{name!r} is neither contoso, scifact nor an existing folder"
            )
    return chosen


def _materialise(settings: Settings, corpus: str, tmp: Path, *, limit: int) -> list[Path]:
    datasets = Path(settings.datasets_dir)
    if corpus == "contoso":
        files = sorted((datasets / "contoso" / "pdfs").glob("*.pdf"))
    elif corpus == "scifact":
        files = []
        with (datasets / "scifact" / "corpus.jsonl").open(encoding="utf-8") as lines:
            for line in lines:
                doc = json.loads(line)
                path = tmp / f"{doc['_id']}.txt"
                path.write_text(f"{doc['title']}\n\n{doc['text']}\n", encoding="utf-8")
                files.append(path)
    else:
        files = sorted(p for p in Path(corpus).rglob("*") if p.is_file())
    return files[:limit] if limit else files


async def _load(
    settings: Settings, url: str, models: Models, files: list[Path], args: argparse.Namespace
) -> dict[str, Any]:
    engine = make_engine(url, pool_size=3)
    factory = make_session_factory(engine)
    deps = build_pipeline_deps(settings, factory, models)
    timings = StageTimings()
    load_before = _load_avg()
    started = time.perf_counter()
    try:
        with timings.stage("register"):
            async with factory.begin() as session:
                source_id = await create_source(
                    session, name="bench", groups=["everyone"], pii_policy=args.pii_policy
                )
                ids = []
                for path in files:
                    registered = await register_document(
                        session,
                        source_id=source_id,
                        filename=path.name,
                        data=path.read_bytes(),
                        uploads_dir=settings.data_dir / "bench" / "uploads",
                        max_bytes=settings.ingestion.max_upload_bytes,
                    )
                    ids.append(registered.id)
        if args.defer_index:
            async with factory.begin() as session:
                await drop_vector_index(session)
        outcomes = await ingest_many(deps, ids, embed_batch=args.embed_batch, timings=timings)
        if args.defer_index:
            with timings.stage("index"):
                async with factory.begin() as session:
                    await create_vector_index(session)
        seconds = time.perf_counter() - started
    finally:
        await engine.dispose()
    chunks = sum(o.chunks for o in outcomes)
    stages = {k: round(v, 2) for k, v in sorted(timings.seconds.items())}
    return {
        "documents": len(files),
        "ready": sum(o.status == "ready" for o in outcomes),
        "failed": sum(o.status == "failed" for o in outcomes),
        "chunks": chunks,
        "seconds": round(seconds, 1),
        "chunks_per_second": round(chunks / seconds, 2) if seconds else 0.0,
        "embed_chunks_per_second": round(chunks / timings.seconds.get("embed", 1e-9), 2),
        "store_chunks_per_second": round(chunks / timings.seconds.get("store", 1e-9), 1),
        "stage_seconds": stages,
        "stage_share": {k: round(v, 3) for k, v in sorted(timings.shares().items())},
        "defer_index": bool(args.defer_index),
        "pii_policy": args.pii_policy,
        "load_before": load_before,
        "load_after": _load_avg(),
        "cpus": os.cpu_count(),
        "machine": describe_machine(),
    }


def _load_avg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _print(r: dict[str, Any]) -> None:
    print(
        f"{r['corpus']}: {r['documents']} files ({r['ready']} ready, {r['failed']} failed), "
        f"{r['chunks']} chunks in {r['seconds']} s = {r['chunks_per_second']} chunks/s end to end "
        f"(embedding alone {r['embed_chunks_per_second']}/s, store {r['store_chunks_per_second']}/s)"
    )
    stages = ", ".join(
        f"{k} {r['stage_seconds'][k]} s ({r['stage_share'][k]:.0%})" for k in r["stage_seconds"]
    )
    print(f"  stages (parse/pii/chunk overlap embedding, so they sum above wall time): {stages}")
    print(f"  load average before {r['load_before']}, after {r['load_after']} ({r['cpus']} CPUs)")
