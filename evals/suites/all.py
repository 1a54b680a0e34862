"""``groundwork eval all``: every suite into one run folder and one report.

A suite contributes a ``SuiteResult`` through ``evaluate(settings, args)``; a suite that
only has ``run`` is run as is, and the JSON report it leaves in
``<data_dir>/evals/reports/<suite>.json`` is folded in (numeric leaves become metrics). A
missing suite is skipped with a note. The combined run is stored like any other.
"""

import argparse
import importlib
import json
import tempfile
import time
import traceback
from pathlib import Path

from app.arguments import names
from app.settings import Settings
from evals.results import print_metrics, record
from evals.runner import SuiteResult, add_result_arguments, flatten

SUITES = ("demo", "contoso", "squad", "out_of_scope", "scifact", "pii", "injection")

# Published reference numbers (shared/datasets/README.md), shown next to each suite.
PUBLISHED = {
    "contoso": "upstream azure-search-openai-demo runs with GPT models: citations_matched "
    "0.42-0.54, groundedness pass 0.88-1.0",
    "squad": "full SQuAD 2.0 dev: BERT-large EM 78.7 / F1 81.8; BiDAF F1 67.9",
    "scifact": "BEIR test split nDCG@10: BM25 0.665 (Anserini 0.679), all-MiniLM-L6-v2 0.645, "
    "bge-small-en-v1.5 0.713",
    "pii": "presidio-research synth: default Presidio F2 0.618 (P 0.685 / R 0.603), tuned F2 0.845",
    "injection": "DeBERTa classifier 0.99 accuracy on deepset test; guard models ~60% on NotInject",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--only", type=names(SUITES), default=list(SUITES), help="comma-separated subset"
    )
    add_result_arguments(parser)


def suite_defaults(module: object) -> argparse.Namespace:
    """The suite's own defaults, as if run with no options, writing no files of its own."""
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)  # type: ignore[attr-defined]
    return parser.parse_args([])


def run(settings: Settings, args: argparse.Namespace) -> int:
    collected: list[SuiteResult] = []
    code = 0
    scratch = Path(tempfile.mkdtemp(prefix="eval-all-"))
    for name in args.only:
        module_name = f"evals.suites.{name}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            print(f"== eval {name}: skipped (not built yet)")
            continue
        print(f"== eval {name}")
        try:
            if hasattr(module, "evaluate"):
                collected.append(module.evaluate(settings, suite_defaults(module)))
                if name in PUBLISHED:
                    collected[-1].meta.setdefault("published", PUBLISHED[name])
            else:
                started, suite_args = time.time(), suite_defaults(module)
                if hasattr(suite_args, "out"):  # suites that take --out write their JSON there
                    suite_args.out = scratch / f"{name}.json"
                code = max(code, int(module.run(settings, suite_args)))
                report = getattr(suite_args, "out", None) or _reports_dir(settings) / f"{name}.json"
                if folded := from_report_file(report, name, newer_than=started):
                    collected.append(folded)
        except Exception:  # one broken suite must not hide the others' numbers
            traceback.print_exc()
            print(f"== eval {name}: FAILED")
            code = 1
        except KeyboardInterrupt:  # Ctrl-C skips the running suite; the others are kept
            print(f"== eval {name}: interrupted, skipped")
            code = 130
    if collected:
        run_dir = record(
            settings,
            collected,
            results_dir=args.results_dir,
            store_in_db=not args.no_db,
            label="all",
        )
        for result in collected:
            print_metrics(result)
        print(f"\nresults: {run_dir}")
    return code


def _reports_dir(settings: Settings) -> Path:
    """Where the answer suites (``evals.suites.answer_runs``) leave their JSON reports."""
    return settings.data_dir.resolve() / "evals" / "reports"


def from_report_file(path: Path, name: str, *, newer_than: float) -> SuiteResult | None:
    """A ``SuiteResult`` from the JSON report a ``run``-only suite wrote during this run."""
    if not path.is_file() or path.stat().st_mtime < newer_than:
        return None
    data = json.loads(path.read_text())
    return SuiteResult(
        suite=name,
        metrics=flatten(data),
        meta={
            "reproduce": f"groundwork eval {name}",
            "note": f"folded in from {path.name}",
            "published": PUBLISHED.get(name, ""),
        },
    )
