"""The ``groundwork eval`` and ``groundwork bench`` commands, registered on the main CLI.

Each suite or benchmark lives in its own module with ``add_arguments(parser)`` and
``run(settings, args) -> int``; this file only maps command names to those modules, so
adding a suite is one line here and one new module.
"""

import argparse
import importlib
from typing import Any

from app.settings import Settings

EVAL_SUITES = {
    "demo": ("evals.suites.demo", "the team-written golden set of the demo knowledge base"),
    "contoso": ("evals.suites.contoso", "Contoso PDFs: citation match on 25 questions"),
    "squad": ("evals.suites.squad", "SQuAD 2.0: cited-sentence answers and abstention"),
    "out_of_scope": (
        "evals.suites.out_of_scope",
        "cross- and near-domain questions must be handed off",
    ),
    "scifact": ("evals.suites.scifact", "SciFact retrieval quality (nDCG@10, Recall@100)"),
    "pii": ("evals.suites.pii", "PII detection per entity type (presidio-research synth, WNUT-17)"),
    "injection": ("evals.suites.injection", "prompt-injection detection and false positives"),
    "all": ("evals.suites.all", "every suite above, one report"),
    "diff": ("evals.suites.diff", "compare the metrics of two recorded runs"),
    "candidates": (
        "evals.suites.candidates",
        "the review queue of thumbs-down answers and hand-offs",
    ),
    "accept": ("evals.suites.accept", "accept a queued candidate into the golden set"),
    "reject": ("evals.suites.reject", "drop a queued candidate"),
}
BENCHMARKS = {
    "ingest": ("evals.bench.ingest", "ingestion throughput with real embeddings"),
    "retrieval": ("evals.bench.retrieval", "retrieval quality and filtered recall/latency"),
    "latency": ("evals.bench.latency", "end-to-end latency under concurrency over HTTP"),
    "startup": (
        "evals.bench.startup",
        "`groundwork run` from a fresh data dir: ready, first answer",
    ),
    "all": ("evals.bench.all", "every benchmark above"),
}


def _register(sub: Any, command: str, table: dict[str, tuple[str, str]], help_text: str) -> None:
    parser = sub.add_parser(command, help=help_text)
    targets = parser.add_subparsers(dest="target", required=True)
    for name, (module_name, text) in table.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue  # not built yet: the command is simply not offered
        target = targets.add_parser(name, help=text)
        module.add_arguments(target)
        target.set_defaults(handler=_runner(module))


def _runner(module: Any) -> Any:
    def handler(settings: Settings, args: argparse.Namespace) -> int:
        code: int = module.run(settings, args)
        return code

    return handler


def add_commands(sub: Any) -> None:
    """Register ``eval <suite>`` and ``bench <benchmark>`` on the ``groundwork`` parser."""
    _register(sub, "eval", EVAL_SUITES, "measure answer and retrieval quality")
    _register(sub, "bench", BENCHMARKS, "measure speed and memory")
