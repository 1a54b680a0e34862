"""Shared plumbing of the answer suites (contoso, squad, out_of_scope): corpora, asking, reports.

Each corpus loads into its own cached workspace (``chat-<name>``) with PII kept as-is (public
data sets; redaction would rewrite the very names and dates the questions ask for). An asked
question becomes an ``Asked`` record holding everything the metrics need, including the draft
answer a hand-off withheld, so thresholds can be re-evaluated offline.
"""

import hashlib
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.auth.principal import Principal
from app.chat.service import REFUSED_INJECTION, ChatAnswer
from app.chat.versions import activate_defaults
from app.settings import Settings
from evals.workspace import CorpusFile, Workspace
from ingestion.sources import create_source, source_id_by_name


@dataclass(frozen=True)
class Asked:
    question: str
    answer: str  # what the user saw
    draft: str  # the answer that would have been given (== answer unless handed off)
    citations: list[tuple[str, int | None]]  # (source, page) in citation order
    draft_citations: list[tuple[str, int | None]]
    confidence: float
    handed_off: bool
    latency_ms: float
    trace: dict[str, Any]

    @property
    def refused(self) -> bool:
        """Refused as a prompt injection: a fixed reply with confidence 1, never an answer."""
        return self.trace.get("outcome") == REFUSED_INJECTION

    def answered_at(self, threshold: float) -> bool:
        """Would this question be answered if the version's threshold were ``threshold``?"""
        return bool(self.draft) and not self.refused and self.confidence >= threshold

    @property
    def answer_confidence(self) -> float:
        """The confidence of the answer it got; 0 without one (no draft, or refused)."""
        return self.confidence if self.answered_at(0.0) else 0.0

    def answer_at(self, threshold: float) -> str:
        return self.draft if self.answered_at(threshold) else ""


def datasets_dir(settings: Settings) -> Path:
    return settings.datasets_dir.resolve()


def fingerprint(files: Sequence[CorpusFile], salt: str = "") -> str:
    digest = hashlib.sha256(salt.encode())
    for file in sorted(files, key=lambda f: f.name):
        digest.update(file.name.encode())
        digest.update(hashlib.sha256(file.data).digest())
        digest.update(",".join(file.groups).encode())
    return digest.hexdigest()[:16]


async def load(ws: Workspace, source: str, files: Sequence[CorpusFile]) -> dict[str, int]:
    """Ingest ``files`` into ``source`` (created with PII policy ``keep``); status counts."""
    async with ws.session_factory.begin() as session:
        await activate_defaults(session, "eval: current defaults")
        if await source_id_by_name(session, source) is None:
            await create_source(session, name=source, groups=["everyone"], pii_policy="keep")
    statuses = await ws.load_corpus(source, files)
    counts: dict[str, int] = {}
    for status in statuses.values():
        counts[status] = counts.get(status, 0) + 1
    return counts


async def ask(
    ws: Workspace, principal: Principal, question: str, conversation_id: uuid.UUID | None = None
) -> tuple[Asked, ChatAnswer]:
    started = time.perf_counter()
    reply = await ws.ask(principal, question, conversation_id)
    latency = (time.perf_counter() - started) * 1000
    cites = [(c.source, c.page) for c in reply.citations]
    draft = reply.trace.get("draft", {})
    handed_off = reply.handoff is not None
    return (
        Asked(
            question=question,
            answer=reply.answer,
            draft=str(draft.get("answer", "")) if handed_off else reply.answer,
            citations=cites,
            draft_citations=[(s, p) for s, p in draft.get("citations", [])]
            if handed_off
            else cites,
            confidence=reply.confidence,
            handed_off=handed_off,
            latency_ms=latency,
            trace=reply.trace,
        ),
        reply,
    )


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def split_half(key: str) -> str:
    """A stable tune/report split: ``tune`` or ``report`` by the hash of ``key``."""
    return "tune" if hashlib.sha256(key.encode()).digest()[0] % 2 == 0 else "report"


def write_report(settings: Settings, name: str, report: dict[str, Any]) -> Path:
    """Print ``report`` as JSON and store it under ``<data_dir>/evals/reports/<name>.json``."""
    path = settings.data_dir.resolve() / "evals" / "reports" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=2, default=str)
    path.write_text(text)
    print(text)
    print(f"report written to {path}")
    return path
