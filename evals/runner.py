"""The common result format of every suite, and the golden-case runner over a workspace.

A suite produces a ``SuiteResult`` (metrics + per-case rows + latencies) and hands it to
``evals.results.record`` (files + the ``eval_runs`` table) via ``finish``. Suites owned by
other engineers plug in by exposing ``evaluate(settings, args) -> SuiteResult`` and
ending ``run`` with ``return finish(settings, args, result)``.
"""

import argparse
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text

from app.arguments import writable_dir
from app.auth.principal import Principal
from app.chat.service import ChatAnswer
from app.settings import Settings
from evals.golden import GoldenCase
from evals.scoring import Cited, Observation, aggregate, curve, score_case
from evals.workspace import Workspace

DEFAULT_RESULTS_DIR = Path("evals/results")


@dataclass
class SuiteResult:
    """What one suite measured. ``metrics`` values are plain floats; ``rows`` are JSON objects."""

    suite: str
    metrics: dict[str, float]
    rows: list[dict[str, Any]] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    version: int | None = None
    # Free-form context: dataset, reproduce command, published reference numbers
    # ("reference": {metric: "text"}), the abstention curve ("abstention_curve": [...]).
    meta: dict[str, Any] = field(default_factory=dict)


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a nested report as ``a.b`` metrics (lists and text are left out)."""
    out: dict[str, float] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            out[name] = float(value)
        elif isinstance(value, Mapping):
            out.update(flatten(value, f"{name}."))
    return out


def result_from_report(name: str, report: Mapping[str, Any], **meta: Any) -> SuiteResult:
    """The common format for a suite that builds a nested JSON report (the answer suites).

    Numeric leaves become metrics; ``per_question`` or ``records`` become the rows, their
    ``latency_ms`` the latency distribution; an ``abstention_curve`` is kept for the plot; an
    integer ``version`` is the assistant version the answers came from.
    """
    rows = [dict(r) for r in report.get("per_question") or report.get("records") or []]
    latencies = [
        float(r["latency_ms"]) for r in rows if isinstance(r.get("latency_ms"), int | float)
    ]
    extra: dict[str, Any] = {"reproduce": f"groundwork eval {name}", **meta}
    if curve := report.get("abstention_curve"):
        extra["abstention_curve"] = curve
    version = report.get("version")
    return SuiteResult(
        suite=name,
        metrics=flatten({k: v for k, v in report.items() if k != "version"}),
        rows=rows,
        latencies_ms=latencies,
        version=version if isinstance(version, int) else None,
        meta=extra,
    )


def add_result_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every recorded suite shares: where results go and whether to store them."""
    parser.add_argument(
        "--results-dir", type=writable_dir, default=DEFAULT_RESULTS_DIR, help="where run folders go"
    )
    parser.add_argument(
        "--no-db", action="store_true", help="write files only; skip the eval_runs table"
    )


def finish(settings: Settings, args: argparse.Namespace, result: SuiteResult) -> int:
    """Record ``result`` (files, and the table unless ``--no-db``) and print its metrics."""
    from evals.results import print_metrics, record

    run_dir = record(
        settings,
        [result],
        results_dir=getattr(args, "results_dir", DEFAULT_RESULTS_DIR),
        store_in_db=not getattr(args, "no_db", False),
    )
    print_metrics(result)
    print(f"results: {run_dir}")
    return 0


def observe(answer: ChatAnswer, chunk_sources: Mapping[str, str], wall_ms: float) -> Observation:
    """An ``Observation`` from a chat answer; retrieved chunks are mapped to their documents."""
    trace = answer.trace
    chunks = trace.get("retrieval", {}).get("chunks", [])
    return Observation(
        answer=answer.answer,
        citations=[
            Cited(source=c.source, page=c.page, snippet=c.snippet, title=c.title)
            for c in answer.citations
        ],
        confidence=float(answer.confidence),
        handed_off=answer.handoff is not None,
        outcome=str(trace.get("outcome", "")),
        latency_ms=round(wall_ms, 2),
        retrieved_sources=[chunk_sources.get(c["chunk_id"], "?") for c in chunks],
        support=float(trace.get("support", 0.0)),
        injection_score=float(trace.get("injection_score", 0.0)),
        cost_usd=float(trace.get("cost_usd", 0.0)),
    )


async def chunk_sources(workspace: Workspace) -> dict[str, str]:
    """chunk id -> the ``source`` (document uri) of its document, for retrieval metrics."""
    async with workspace.session_factory() as session:
        rows = await session.execute(
            text("SELECT c.id::text, d.uri FROM chunks c JOIN documents d ON d.id = c.document_id")
        )
        return {str(chunk): str(uri) for chunk, uri in rows.all()}


async def run_golden(
    workspace: Workspace,
    cases: Sequence[GoldenCase],
    *,
    suite: str,
    acl: Mapping[str, Sequence[str]],
) -> SuiteResult:
    """Ask every case as a user with its groups (replaying ``history`` in one conversation)."""
    sources = await chunk_sources(workspace)
    principals: dict[tuple[str, ...], Principal] = {}
    rows: list[dict[str, Any]] = []
    version: int | None = None
    for case in cases:
        groups = tuple(sorted(case.groups))
        if groups not in principals:
            principals[groups] = await workspace.user(
                "eval-" + ("-".join(groups) or "plain"), groups
            )
        principal = principals[groups]
        conversation: uuid.UUID | None = None
        for earlier in case.history:
            conversation = (await workspace.ask(principal, earlier, conversation)).conversation_id
        started = time.perf_counter()
        answer = await workspace.ask(principal, case.question, conversation)
        wall_ms = (time.perf_counter() - started) * 1000
        version = answer.trace.get("version", version)
        rows.append(score_case(case, observe(answer, sources, wall_ms), acl))
    return SuiteResult(
        suite=suite,
        metrics=aggregate(rows),
        rows=rows,
        latencies_ms=[float(r["latency_ms"]) for r in rows],
        version=version,
        meta={"abstention_curve": curve(rows)},
    )
