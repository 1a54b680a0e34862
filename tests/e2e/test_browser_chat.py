"""The web chat in a real headless Chromium: sign in, ask, see the streamed answer with a
numbered citation, open it, and land on the highlighted passage."""

import asyncio
import socket
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.db.session import make_session_factory
from app.resources import build_pipeline_deps
from app.settings import Settings
from ingestion.pipeline import ingest_document
from ingestion.sources import create_source, register_document
from tests.builders import light_models, make_app, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
CHROMIUM = Path("/usr/bin/chromium")
HANDBOOK = b"""# Staff handbook

## Annual leave

Every employee receives 27 days of paid annual leave per calendar year.
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (make test installs it)")
async def test_sign_in_ask_and_open_the_cited_passage(
    settings: Settings, engine: AsyncEngine, db_session: AsyncSession
) -> None:
    from playwright.async_api import async_playwright

    models = light_models()
    await make_user(db_session, "alex")
    source_id = await create_source(db_session, name="kb", groups=["everyone"])
    doc = await register_document(
        db_session,
        source_id=source_id,
        filename="handbook.md",
        data=HANDBOOK,
        uploads_dir=settings.uploads_dir,
        max_bytes=10_000,
    )
    await db_session.commit()
    await ingest_document(
        build_pipeline_deps(settings, make_session_factory(engine), models), doc.id
    )

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            make_app(settings, models),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
        )
    )
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.05)
        async with async_playwright() as p:
            browser = await p.chromium.launch(
                executable_path=str(CHROMIUM),
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = await browser.new_page()
            await page.goto(f"http://127.0.0.1:{port}/")
            assert page.url.endswith("/login")
            await page.fill("input[name=username]", "alex")
            await page.fill("input[name=password]", "correct horse battery")
            await page.click("button[type=submit]")
            await page.wait_for_url(f"http://127.0.0.1:{port}/")
            await page.fill("#question", "How many days of paid annual leave?")
            await page.click("#send")
            citation = page.locator("li.assistant a.cite").first
            await citation.wait_for(timeout=15_000)
            answer = await page.locator("li.assistant .answer").inner_text()
            assert "27 days of paid annual leave" in answer and "[1]" in answer
            await citation.click()
            await page.wait_for_url(f"**/documents/{doc.id}**")
            highlighted = await page.locator(".passage.highlight").inner_text()
            assert "27 days" in highlighted
            await browser.close()
    finally:
        server.should_exit = True
        await serving
