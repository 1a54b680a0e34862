"""``groundwork eval demo``: the team-written golden sets over the bundled demo knowledge base.

Ingests ``app/demo/knowledge_base`` (with its access groups) into a scratch workspace with
the real models, asks every case of ``demo.jsonl`` and ``near_domain_oos.jsonl`` (plus
admin-accepted cases with ``--accepted``) and scores them; ``--gate`` enforces
``evals/thresholds.json`` like the CI test does.
"""

import argparse
import asyncio
from collections.abc import Sequence

from app.chat.versions import activate_defaults
from app.demo import KNOWLEDGE_BASE, manifest
from app.resources import Models
from app.settings import Settings
from evals.gate import check, load_thresholds
from evals.golden import GoldenCase, demo_cases
from evals.runner import SuiteResult, add_result_arguments, finish, run_golden
from evals.workspace import CorpusFile, Workspace, corpus_fingerprint, open_workspace

SUITE = "demo"


def demo_corpus() -> list[CorpusFile]:
    """Every manifest document with its access groups."""
    return [
        CorpusFile(
            name=str(entry["file"]),
            data=(KNOWLEDGE_BASE / str(entry["file"])).read_bytes(),
            groups=tuple(str(g) for g in entry["groups"]),  # type: ignore[attr-defined]
        )
        for entry in manifest()
    ]


def demo_acl() -> dict[str, tuple[str, ...]]:
    return {f.name: f.groups for f in demo_corpus()}


async def evaluate_in(workspace: Workspace, cases: Sequence[GoldenCase]) -> SuiteResult:
    """Load the demo corpus into ``workspace`` (idempotent) and score ``cases`` with this
    release's default version (a cached workspace may still hold an older one active)."""
    async with workspace.session_factory.begin() as session:
        await activate_defaults(session, "eval: current defaults")
    statuses = await workspace.load_corpus("demo", demo_corpus())
    failed = sorted(name for name, status in statuses.items() if status == "failed")
    if failed:
        raise RuntimeError(f"demo documents failed to ingest: {', '.join(failed)}")
    result = await run_golden(workspace, cases, suite=SUITE, acl=demo_acl())
    result.meta.update(
        reproduce="groundwork eval demo",
        note="Demo knowledge base, golden sets demo.jsonl + near_domain_oos.jsonl, offline composer.",
    )
    return result


async def evaluate_demo(
    settings: Settings, *, include_accepted: bool = False, models: Models | None = None
) -> SuiteResult:
    files = demo_corpus()
    cases = demo_cases(include_accepted=include_accepted)
    async with open_workspace(
        settings, SUITE, fingerprint=corpus_fingerprint(files), models=models
    ) as workspace:
        return await evaluate_in(workspace, cases)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--accepted", action="store_true", help="also ask the admin-accepted cases")
    parser.add_argument(
        "--gate", action="store_true", help="exit 1 when a committed threshold is missed"
    )
    add_result_arguments(parser)


def evaluate(settings: Settings, args: argparse.Namespace) -> SuiteResult:
    return asyncio.run(evaluate_demo(settings, include_accepted=args.accepted))


def run(settings: Settings, args: argparse.Namespace) -> int:
    result = evaluate(settings, args)
    code = finish(settings, args, result)
    if args.gate:
        failures = check(result.metrics, load_thresholds(SUITE))
        for line in failures:
            print(f"GATE: {line}")
        code = code or int(bool(failures))
    return code
