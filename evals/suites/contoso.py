"""``groundwork eval contoso``: ingest the 6 Contoso PDFs, ask the 25 shared questions.

Citation match: one of the first three distinct cited pages (``file.pdf#page=N``) equals a
ground-truth page. Also: any-citation rate of answered questions, hand-off rate, token F1 of
the answer against the ground truth, latency percentiles.
"""

import argparse
import asyncio
import json
import re
from pathlib import Path
from typing import Any

from app.arguments import integer
from app.resources import load_models
from app.settings import Settings
from evals import answer_metrics as m
from evals.runner import SuiteResult, add_result_arguments, finish, result_from_report
from evals.suites import answer_runs as runs
from evals.workspace import CorpusFile, open_workspace

_TRUTH_PAGE = re.compile(r"\[([^\[\]]+?\.pdf#page=\d+)\]")
SOURCE = "contoso"


def corpus(settings: Settings) -> list[CorpusFile]:
    folder = runs.datasets_dir(settings) / "contoso" / "pdfs"
    return [CorpusFile(name=p.name, data=p.read_bytes()) for p in sorted(folder.glob("*.pdf"))]


def questions(settings: Settings) -> list[dict[str, Any]]:
    """``question``, ``truth`` (answer text) and ``pages`` (ground-truth ``file#page=N`` keys)."""
    path = runs.datasets_dir(settings) / "contoso" / "ground_truth.shared.jsonl"
    out = []
    for line in Path(path).read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            row["pages"] = _TRUTH_PAGE.findall(row["truth"])
            out.append(row)
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_result_arguments(parser)
    parser.add_argument(
        "--limit", type=integer(0), default=0, help="ask only the first N questions (0 = all)"
    )


def score(rows: list[dict[str, Any]], asked: list[runs.Asked], threshold: float) -> dict[str, Any]:
    matched, with_citation, answered, f1 = 0, 0, 0, 0.0
    for row, a in zip(rows, asked, strict=True):
        if not a.answered_at(threshold):
            continue
        answered += 1
        cited = m.distinct_cited_pages(a.draft_citations)
        matched += m.citation_match(cited, row["pages"])
        with_citation += bool(cited)
        f1 += m.token_f1(a.draft, _TRUTH_PAGE.sub("", row["truth"]))
    n = len(rows)
    return {
        "questions": n,
        "citation_match": round(matched / n, 4),
        "answered_share": round(answered / n, 4),
        "any_citation_rate_of_answered": round(with_citation / answered, 4) if answered else None,
        "answer_token_f1_of_answered": round(f1 / answered, 4) if answered else None,
    }


async def _run(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    files = corpus(settings)
    rows = questions(settings)[: args.limit or None]
    models = load_models(settings, questions=True)
    async with open_workspace(
        settings, "chat-contoso", fingerprint=runs.fingerprint(files), models=models
    ) as ws:
        loaded = await runs.load(ws, SOURCE, files)
        user = await ws.user("contoso-eval")
        asked = [(await runs.ask(ws, user, row["question"]))[0] for row in rows]
    threshold = float(asked[0].trace.get("threshold", 0.0)) if asked else 0.0
    report: dict[str, Any] = {
        "suite": "contoso",
        "corpus": loaded,
        "threshold": threshold,
        "version": asked[0].trace.get("version") if asked else None,
        "at_version_threshold": score(rows, asked, threshold),
        "without_threshold": score(rows, asked, 0.0),
        "latency_ms": {
            "p50": round(runs.percentile([a.latency_ms for a in asked], 0.5), 1),
            "p95": round(runs.percentile([a.latency_ms for a in asked], 0.95), 1),
        },
        "per_question": [
            {
                "question": row["question"],
                "truth_pages": row["pages"],
                "cited_pages": m.distinct_cited_pages(a.draft_citations),
                "confidence": a.confidence,
                "handed_off": a.handed_off,
            }
            for row, a in zip(rows, asked, strict=True)
        ],
    }
    return report


def evaluate(settings: Settings, args: argparse.Namespace) -> SuiteResult:
    report = asyncio.run(_run(settings, args))
    runs.write_report(settings, "contoso", report)
    return result_from_report("contoso", report)


def run(settings: Settings, args: argparse.Namespace) -> int:
    return finish(settings, args, evaluate(settings, args))
