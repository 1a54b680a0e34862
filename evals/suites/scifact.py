"""``groundwork eval scifact``: SciFact retrieval quality (nDCG@10, Recall@100) per leg and fused.

The same measurement as ``groundwork bench retrieval --part quality`` (BM25 at the configured
k1/b, no grid search); see ``evals.bench.retrieval_quality``.
"""

import argparse

from app.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--split", default="train", help="SciFact qrels split")
    parser.add_argument("--candidates", type=int, default=300, help="chunks per leg")
    parser.add_argument("--fresh", action="store_true", help="rebuild the scratch database")


def run(settings: Settings, args: argparse.Namespace) -> int:
    from evals.bench.retrieval_quality import run_quality

    args.tune_bm25 = False
    return run_quality(settings, args)
