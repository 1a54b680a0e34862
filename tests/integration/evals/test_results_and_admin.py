"""Recorded runs land in ``eval_runs`` and their report is served to admins only."""

import uuid
from pathlib import Path

import anyio
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.settings import Settings
from evals.results import record
from evals.runner import SuiteResult
from tests.builders import make_app, make_user

pytestmark = pytest.mark.integration


async def test_a_recorded_run_is_listed_and_its_report_served_to_admins(
    settings: Settings, db_session: AsyncSession, tmp_path: Path
) -> None:
    result = SuiteResult(suite="demo", metrics={"pass_rate": 0.75}, rows=[], version=2)
    run_dir = await anyio.to_thread.run_sync(
        lambda: record(settings, [result], results_dir=tmp_path / "results")
    )
    row = (
        await db_session.execute(
            text("SELECT id, run_id, version, metrics, results_path FROM eval_runs")
        )
    ).one()
    assert row.version == 2
    assert row.metrics == {"pass_rate": 0.75}
    assert Path(row.results_path) == run_dir
    assert row.run_id == run_dir.name
    admin = await make_user(db_session, "root", role="admin")
    user = await make_user(db_session, "alex")

    async with AsyncTestClient(app=make_app(settings)) as client:
        listing = await client.get("/admin/evals", headers=admin.headers)
        assert listing.status_code == 200
        assert run_dir.name in listing.text
        assert "pass_rate 0.750" in listing.text
        report = await client.get(f"/admin/evals/{row.id}", headers=admin.headers)
        assert report.status_code == 200
        assert report.headers["content-type"].startswith("text/html")
        assert "<svg" in report.text
        assert "default-src 'none'" in report.headers["content-security-policy"]
        for path in ("/admin/evals", f"/admin/evals/{row.id}"):
            assert (await client.get(path, headers=user.headers)).status_code == 404
        missing = await client.get(f"/admin/evals/{uuid.uuid4()}", headers=admin.headers)
        assert missing.status_code == 404
