"""Assistant versions over HTTP: list, create from the active one, activate, roll back, audit."""

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.settings import Settings
from tests.builders import make_app, make_user

pytestmark = pytest.mark.integration


async def test_admin_creates_activates_and_rolls_back_a_version(
    settings: Settings, db_session: AsyncSession
) -> None:
    admin = await make_user(db_session, "root", role="admin")
    async with AsyncTestClient(app=make_app(settings)) as client:
        listed = (await client.get("/api/v1/versions", headers=admin.headers)).json()["versions"]
        assert [v["number"] for v in listed if v["active"]] == [1]
        created = await client.post(
            "/api/v1/versions",
            json={
                "description": "wider dense leg",
                "changes": {
                    "retrieval": {"dense_candidates": 80},
                    "answer": {"confidence_threshold": 0.6},
                },
                "activate": True,
            },
            headers=admin.headers,
        )
        assert created.status_code == 201, created.text
        assert created.json() == {"number": 2, "active": True}
        versions = {
            v["number"]: v
            for v in (await client.get("/api/v1/versions", headers=admin.headers)).json()[
                "versions"
            ]
        }
        assert versions[2]["active"] and not versions[1]["active"]
        new, old = versions[2]["config"], versions[1]["config"]
        assert new["retrieval"]["dense_candidates"] == 80
        assert new["answer"]["confidence_threshold"] == 0.6
        # Everything not changed is carried over from the active version.
        assert new["retrieval"]["ef_search"] == old["retrieval"]["ef_search"]
        assert new["prompts"] == old["prompts"]
        # A chat answer names the version that produced it; rollback is activating version 1.
        reply = await client.post("/api/v1/chat", json={"message": "hello"}, headers=admin.headers)
        assert reply.status_code == 200
        rolled = await client.post("/api/v1/versions/1/activate", headers=admin.headers)
        assert rolled.status_code == 200 and rolled.json() == {"active": 1, "previous": 2}
        reply = await client.post("/api/v1/chat", json={"message": "hello"}, headers=admin.headers)
        assert reply.status_code == 200
        page = await client.get("/admin/versions", headers=admin.headers)
        assert page.status_code == 200 and "wider dense leg" in page.text
    traced = (
        await db_session.execute(
            text(
                "SELECT (trace->>'version')::int FROM messages WHERE role = 'assistant' "
                "ORDER BY created_at"
            )
        )
    ).scalars()
    assert list(traced) == [2, 1]
    actions = (
        await db_session.execute(
            text(
                "SELECT action, object_id FROM audit_events WHERE action LIKE 'version.%' "
                "ORDER BY id"
            )
        )
    ).all()
    assert [tuple(a) for a in actions] == [("version.create", "2"), ("version.activate", "1")]


async def test_bad_versions_are_refused_and_nothing_changes(
    settings: Settings, db_session: AsyncSession
) -> None:
    admin = await make_user(db_session, "root", role="admin")
    user = await make_user(db_session, "alex")
    async with AsyncTestClient(app=make_app(settings)) as client:
        cases = [
            ({"description": "x", "changes": {"retrival": {}}}, "retrival"),
            ({"description": "x", "changes": {"retrieval": {"ef_serch": 10}}}, "ef_serch"),
            ({"description": "x", "changes": {"retrieval": {"fusion": "max"}}}, "fusion"),
            ({"description": "x", "changes": {"composer": 3}}, "composer"),
            ({"description": "x", "changes": {"prompts": {"answer_system": " "}}}, "prompt"),
            ({"description": " ", "changes": {}}, "description"),
        ]
        for body, expected in cases:
            response = await client.post("/api/v1/versions", json=body, headers=admin.headers)
            assert response.status_code == 422, (body, response.text)
            assert expected in response.json()["detail"], response.json()
        missing = await client.post("/api/v1/versions/99/activate", headers=admin.headers)
        assert missing.status_code == 404 and "99" in missing.json()["detail"]
        for method, path in (("GET", "/api/v1/versions"), ("POST", "/api/v1/versions/1/activate")):
            denied = await client.request(method, path, headers=user.headers)
            assert denied.status_code == 403
        hidden = await client.get("/admin/versions", headers=user.headers)
        assert hidden.status_code == 404
    rows = (
        await db_session.execute(text("SELECT number, is_active FROM assistant_versions"))
    ).all()
    assert [tuple(r) for r in rows] == [(1, True)]
