"""The HTTP contract at its edges: problem details for bad input, auth, CSRF, health."""

import asyncio
import gc
import time
import uuid
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from app.db.migrate import upgrade
from app.embedded import EmbeddedPostgres
from app.settings import Settings
from tests.builders import make_app, make_user

pytestmark = pytest.mark.integration


async def test_bad_questions_get_problem_details_naming_field_and_limit(
    settings: Settings, db_session: AsyncSession
) -> None:
    user = await make_user(db_session, "alex")
    async with AsyncTestClient(app=make_app(settings)) as client:
        cases = {
            "": "empty",
            "x" * 2001: "2,000",
            "hello\x00world": "NUL",
        }
        for message, expected in cases.items():
            response = await client.post(
                "/api/v1/chat", json={"message": message}, headers=user.headers
            )
            assert response.status_code == 422, response.text
            assert response.headers["content-type"].startswith("application/problem+json")
            body = response.json()
            assert body["field"] == "message" and expected in body["detail"]
        wrong_type = await client.post("/api/v1/chat", json={"message": 42}, headers=user.headers)
        assert wrong_type.status_code == 400 and "message" in wrong_type.json()["detail"]
        not_json = await client.post(
            "/api/v1/chat",
            content=b"\xff\xfe",
            headers={**user.headers, "content-type": "application/json"},
        )
        assert not_json.status_code == 400
        extra = await client.post(
            "/api/v1/chat", json={"message": "hi", "admin": True}, headers=user.headers
        )
        assert extra.status_code == 400
    stored = (await db_session.execute(text("SELECT count(*) FROM messages"))).scalar_one()
    assert stored == 0


async def test_authentication_and_roles(settings: Settings, db_session: AsyncSession) -> None:
    user = await make_user(db_session, "alex")
    async with AsyncTestClient(app=make_app(settings)) as client:
        anonymous = await client.post("/api/v1/search", json={"query": "leave"})
        assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
        wrong = await client.post(
            "/api/v1/search", json={"query": "leave"}, headers={"Authorization": "Bearer gw_nope"}
        )
        assert wrong.status_code == 401
        forbidden = await client.post("/api/v1/groups", json={"name": "hr"}, headers=user.headers)
        assert forbidden.status_code == 403 and "admin" in forbidden.json()["detail"]
        missing = await client.get(f"/api/v1/conversations/{uuid.uuid4()}", headers=user.headers)
        assert missing.status_code == 404


async def test_browser_session_needs_csrf_token_for_changes(
    settings: Settings, db_session: AsyncSession
) -> None:
    await make_user(db_session, "alex")
    async with AsyncTestClient(app=make_app(settings)) as client:
        bad = await client.post("/login", data={"username": "alex", "password": "wrong password"})
        assert bad.status_code == 401
        login = await client.post(
            "/login",
            data={"username": "alex", "password": "correct horse battery"},
            follow_redirects=False,
        )
        assert login.status_code == 303 and login.headers["location"] == "/"
        page = await client.get("/")
        assert page.status_code == 200 and "data-csrf" in page.text
        csrf = page.text.split('data-csrf="', 1)[1].split('"', 1)[0]
        no_token = await client.post("/api/v1/search", json={"query": "leave"})
        assert no_token.status_code == 403 and "CSRF" in no_token.json()["detail"]
        with_token = await client.post(
            "/api/v1/search", json={"query": "leave"}, headers={"X-CSRF-Token": csrf}
        )
        assert with_token.status_code == 200 and with_token.json() == {"results": []}


async def test_upload_over_the_limit_is_rejected_with_413(
    settings: Settings, db_session: AsyncSession
) -> None:
    admin = await make_user(db_session, "root", role="admin")
    small = settings.model_copy(
        update={"ingestion": settings.ingestion.model_copy(update={"max_upload_bytes": 2048})}
    )
    async with AsyncTestClient(app=make_app(small)) as client:
        source = await client.post(
            "/api/v1/sources", json={"name": "kb", "groups": ["everyone"]}, headers=admin.headers
        )
        response = await client.post(
            f"/api/v1/sources/{source.json()['id']}/documents",
            files={"file": ("big.txt", b"a" * 4096)},
            headers=admin.headers,
        )
        assert response.status_code == 413, response.text
    count = (await db_session.execute(text("SELECT count(*) FROM documents"))).scalar_one()
    assert count == 0


async def test_database_outage_gives_fast_503_and_recovers(
    settings: Settings, tmp_path: Path
) -> None:
    server = EmbeddedPostgres(tmp_path / "own-pgdata")
    url = server.start()
    try:
        await asyncio.to_thread(upgrade, url)
        async with create_async_engine(url, poolclass=NullPool).begin() as conn:
            session = AsyncSession(bind=conn)
            user = await make_user(session, "alex")
        own = settings.model_copy(update={"database_url": url})
        async with AsyncTestClient(app=make_app(own)) as client:
            assert (await client.get("/health/live")).status_code == 200
            ready = await client.get("/health/ready")
            assert ready.status_code == 200 and ready.json()["components"]["database"] == "ok"
            server.stop()
            started = time.perf_counter()
            down = await client.get("/health/ready")
            assert time.perf_counter() - started < 1.0
            assert down.status_code == 503
            assert down.json()["components"]["database"].startswith(("down", "timeout"))
            search = await client.post("/api/v1/search", json={"query": "x"}, headers=user.headers)
            assert search.status_code == 503 and search.json()["title"] == "Service unavailable"
            server.start()
            recovered = await client.get("/health/ready")
            assert recovered.status_code == 200
            again = await client.post("/api/v1/search", json={"query": "x"}, headers=user.headers)
            assert again.status_code == 200
    finally:
        server.destroy()


async def test_metrics_are_prometheus_text(settings: Settings) -> None:
    async with AsyncTestClient(app=make_app(settings)) as client:
        response = await client.get("/metrics")
        assert response.status_code == 200
        assert "groundwork_answers_total" in response.text


async def test_too_many_requests_get_429(settings: Settings, db_session: AsyncSession) -> None:
    user = await make_user(db_session, "alex")
    limited = settings.model_copy(
        update={"web": settings.web.model_copy(update={"rate_limit_per_minute": 3})}
    )
    async with AsyncTestClient(app=make_app(limited)) as client:
        codes = [
            (
                await client.post("/api/v1/search", json={"query": "leave"}, headers=user.headers)
            ).status_code
            for _ in range(7)
        ]
        # Seven requests span at most two one-minute windows, so one window sees more than three.
        assert codes[:3] == [200, 200, 200] and 429 in codes


async def test_startup_objects_stay_frozen_while_serving_and_are_handed_back_at_shutdown(
    settings: Settings,
) -> None:
    """Full collections would walk every model object on each pass (270 ms with the real
    models); the app freezes what start-up leaves alive and unfreezes it when it stops."""
    gc.unfreeze()
    async with AsyncTestClient(app=make_app(settings)) as client:
        assert gc.get_freeze_count() > 0
        assert (await client.get("/health/live")).status_code == 200
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
