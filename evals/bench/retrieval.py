"""``groundwork bench retrieval``: SciFact quality per leg and fused, and filtered recall/latency."""

import argparse

from app.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--part", choices=("quality", "filtered", "all"), default="all")
    parser.add_argument("--split", default="train", help="SciFact qrels split")
    parser.add_argument("--candidates", type=int, default=300, help="chunks per leg (quality)")
    parser.add_argument(
        "--tune-bm25", action="store_true", help="grid-search k1/b on the tune half"
    )
    parser.add_argument("--chunks", type=int, default=100_000, help="corpus size (filtered)")
    parser.add_argument("--queries", type=int, default=200, help="queries per selectivity")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (filtered)")
    parser.add_argument("--fresh", action="store_true", help="rebuild the scratch databases")


def run(settings: Settings, args: argparse.Namespace) -> int:
    code = 0
    if args.part in ("quality", "all"):
        from evals.bench.retrieval_quality import run_quality

        code |= run_quality(settings, args)
    if args.part in ("filtered", "all"):
        from evals.bench.retrieval_filtered import run_filtered

        code |= run_filtered(settings, args)
    return code
