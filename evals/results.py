"""The results store: a folder per run (summary.json, rows.jsonl, report.html) and a row per
suite in the ``eval_runs`` table of the deployment's database, plus loading runs back.

The table lives in the same database the admin UI reads (``DATABASE_URL`` or the embedded
server in the data directory), so the admin sees every run next to the assistant version.
"""

import json
import secrets
import sys
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import NotFound
from app.settings import Settings
from evals.deployment import in_transaction
from evals.report import render_report
from evals.runner import SuiteResult


def new_run_id(label: str) -> str:
    """Sortable and unique: ``20261124T101500Z-demo-3f9a``."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{label}-{secrets.token_hex(2)}"


def write_run(run_dir: Path, run_id: str, results: Sequence[SuiteResult]) -> None:
    """Write the three files of a run into ``run_dir`` (created if missing)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    summary = {
        "run_id": run_id,
        "created_at": datetime.now(UTC).isoformat(),
        "suites": {
            r.suite: {
                "version": r.version,
                "metrics": r.metrics,
                "cases": len(r.rows),
                "meta": r.meta,
                "latencies_ms": r.latencies_ms,
            }
            for r in results
        },
    }
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    with (run_dir / "rows.jsonl").open("w", encoding="utf-8") as handle:
        for result in results:
            for row in result.rows:
                handle.write(json.dumps({"suite": result.suite, **row}, ensure_ascii=False) + "\n")
    (run_dir / "report.html").write_text(render_report(run_id, results), encoding="utf-8")


def record(
    settings: Settings,
    results: Sequence[SuiteResult],
    *,
    results_dir: Path,
    store_in_db: bool = True,
    label: str | None = None,
) -> Path:
    """Write the run's files and (unless told not to) its ``eval_runs`` rows; returns the folder."""
    run_id = new_run_id(label or (results[0].suite if len(results) == 1 else "all"))
    run_dir = (results_dir / run_id).resolve()
    write_run(run_dir, run_id, results)
    if store_in_db:
        try:
            store_rows(settings, run_id, run_dir, results)
        except Exception as exc:  # the files are the record; the table is the index
            print(f"warning: eval_runs not updated ({type(exc).__name__}: {exc})", file=sys.stderr)
    return run_dir


def store_rows(
    settings: Settings, run_id: str, run_dir: Path, results: Sequence[SuiteResult]
) -> None:
    """Insert one ``eval_runs`` row per suite into the deployment database."""

    async def insert(session: AsyncSession) -> None:
        for result in results:
            await session.execute(
                text(
                    "INSERT INTO eval_runs (id, run_id, suite, version, metrics, cases, "
                    "results_path) VALUES (:id, :run, :suite, :version, "
                    "CAST(:metrics AS jsonb), :cases, :path)"
                ),
                {
                    "id": uuid.uuid4(),
                    "run": run_id if len(results) == 1 else f"{run_id}:{result.suite}",
                    "suite": result.suite,
                    "version": result.version,
                    "metrics": json.dumps(result.metrics),
                    "cases": len(result.rows),
                    "path": str(run_dir),
                },
            )

    in_transaction(settings, insert)


def load_summary(ref: str, results_dir: Path) -> dict[str, Any]:
    """A run's summary by folder name (under ``results_dir``) or by path to its folder."""
    candidates = [Path(ref), results_dir / ref]
    for folder in candidates:
        if (folder / "summary.json").is_file():
            data: dict[str, Any] = json.loads((folder / "summary.json").read_text())
            return data
    raise NotFound(f"no run {ref!r} (looked in {', '.join(map(str, candidates))})")


def print_metrics(result: SuiteResult) -> None:
    """A two-column table of the suite's metrics, with published references when known."""
    reference = result.meta.get("reference", {})
    print(f"\n{result.suite}  (version {result.version}, {len(result.rows)} cases)")
    for name, value in sorted(result.metrics.items()):
        ref = reference.get(name)
        print(f"  {name:32} {value:>12.4f}" + (f"   published: {ref}" if ref else ""))
