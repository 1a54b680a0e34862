"""``groundwork eval scifact``: SciFact retrieval quality (nDCG@10, Recall@100) per leg and fused.

The same measurement as ``groundwork bench retrieval --part quality`` (BM25 at the configured
k1/b, no grid search); see ``evals.bench.retrieval_quality``.
"""

import argparse

from app.arguments import integer
from app.settings import Settings
from evals.runner import SuiteResult, add_result_arguments, finish, result_from_report
from evals.suites import answer_runs as runs


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_result_arguments(parser)
    parser.add_argument("--split", default="train", help="SciFact qrels split")
    parser.add_argument("--candidates", type=integer(1), default=300, help="chunks per leg")
    parser.add_argument("--fresh", action="store_true", help="rebuild the scratch database")


def evaluate(settings: Settings, args: argparse.Namespace) -> SuiteResult:
    from evals.bench.retrieval_quality import measure_quality

    args.tune_bm25 = False
    args.dense_candidates = None
    args.complete_scores = False
    report = measure_quality(settings, args)
    runs.write_report(settings, "scifact", report)
    return result_from_report("scifact", report)


def run(settings: Settings, args: argparse.Namespace) -> int:
    return finish(settings, args, evaluate(settings, args))
