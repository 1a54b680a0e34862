"""Admin pages for evaluation runs: the list of recorded runs and each run's HTML report.

Reads the ``eval_runs`` table and the run folder it names directly; the web layer never
imports ``evals`` (which sits above it). Admin only; others get the same 404 as a
missing run.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from litestar import Response, get
from litestar.params import FromPath
from litestar.response import Template
from sqlalchemy import text

from app.errors import NotFound
from app.web.dependencies import Caller, DbSession, admin_only

# Headline metrics shown in the list, when a suite has them.
HEADLINE = ("pass_rate", "answer_accuracy", "citation_match", "handoff_recall", "ndcg_at_10")
LIST_LIMIT = 200


@dataclass(frozen=True)
class EvalRunView:
    id: uuid.UUID
    run_id: str
    suite: str
    version: int | None
    cases: int
    created_at: datetime
    headline: list[tuple[str, float]]


@get("/admin/evals")
async def eval_runs_page(db_session: DbSession, principal: Caller) -> Template:
    admin_only(principal)
    rows = await db_session.execute(
        text(
            "SELECT id, run_id, suite, version, cases, created_at, metrics FROM eval_runs "
            "ORDER BY created_at DESC LIMIT :limit"
        ),
        {"limit": LIST_LIMIT},
    )
    runs = [
        EvalRunView(
            id=row.id,
            run_id=row.run_id,
            suite=row.suite,
            version=row.version,
            cases=row.cases,
            created_at=row.created_at,
            headline=[(k, float(row.metrics[k])) for k in HEADLINE if k in row.metrics],
        )
        for row in rows
    ]
    return Template(
        template_name="admin_evals.html.jinja2", context={"user": principal, "runs": runs}
    )


@get("/admin/evals/{run_id:uuid}")
async def eval_report(
    run_id: FromPath[uuid.UUID], db_session: DbSession, principal: Caller
) -> Response[Any]:
    admin_only(principal)
    path = (
        await db_session.execute(
            text("SELECT results_path FROM eval_runs WHERE id = :id"), {"id": run_id}
        )
    ).scalar_one_or_none()
    report = Path(path) / "report.html" if path else None
    if report is None or not report.is_file():
        raise NotFound("no report for this run")
    return Response(
        report.read_text(encoding="utf-8"),
        media_type="text/html",
        # The report is static HTML with inline SVG: no scripts may run in it.
        headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"},
    )
