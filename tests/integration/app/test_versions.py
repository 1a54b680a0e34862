"""Assistant versions over HTTP: list, create from the active one, activate, roll back, audit."""

import json
import uuid
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from structlog.testing import capture_logs

from app.chat.versions import default_config, ensure_default_version, with_changes
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
            ({"description": "x", "changes": {"retrieval": {"k": "abc"}}}, "retrieval.k must be"),
            (
                {"description": "x", "changes": {"composer": {"max_sentences": 0}}},
                "composer.max_sentences must be at least 1",
            ),
            (
                {"description": "x", "changes": {"answer": {"confidence_threshold": 5}}},
                "answer.confidence_threshold must be at most 1",
            ),
            ({"description": "x", "changes": {"prompts": {"answer_system": " "}}}, "prompt"),
            ({"description": " ", "changes": {}}, "description"),
        ]
        for body, expected in cases:
            response = await client.post("/api/v1/versions", json=body, headers=admin.headers)
            assert response.status_code == 422, (body, response.text)
            assert expected in response.json()["detail"], response.json()
        missing = await client.post("/api/v1/versions/99/activate", headers=admin.headers)
        assert missing.status_code == 404 and "99" in missing.json()["detail"]
        for number in ("0", "8807040734"):  # the second is beyond the column's integer range
            path = f"/api/v1/versions/{number}/activate"
            beyond = await client.post(path, headers=admin.headers)
            assert beyond.status_code == 404 and number in beyond.json()["detail"]
        for method, path in (("GET", "/api/v1/versions"), ("POST", "/api/v1/versions/1/activate")):
            denied = await client.request(method, path, headers=user.headers)
            assert denied.status_code == 403
        hidden = await client.get("/admin/versions", headers=user.headers)
        assert hidden.status_code == 404
    rows = (
        await db_session.execute(text("SELECT number, is_active FROM assistant_versions"))
    ).all()
    assert [tuple(r) for r in rows] == [(1, True)]


async def _store_version(session: AsyncSession, number: int, config: dict[str, Any]) -> None:
    """A version row as another release of Groundwork could have written it."""
    await session.execute(
        text(
            "INSERT INTO assistant_versions (id, number, description, config, is_active) "
            "VALUES (:id, :number, 'other release', CAST(:config AS jsonb), false)"
        ),
        {"id": uuid.uuid4(), "number": number, "config": json.dumps(config)},
    )
    await session.commit()


async def test_versions_of_another_release_run_without_their_unknown_settings(
    settings: Settings, db_session: AsyncSession
) -> None:
    """After a rollback of the code, a version written by a newer release still serves: the
    settings this build does not know are left out (and logged) instead of failing every
    question; one this build cannot run at all is refused at activation, naming the version."""
    admin = await make_user(db_session, "root", role="admin")
    user = await make_user(db_session, "alex")
    await ensure_default_version(db_session)
    newer = with_changes(default_config(), {"composer": {"sentence_reranker": "tiny"}})
    newer["answer"]["weights"] = {**newer["answer"]["weights"], "novelty": 0.2}
    await _store_version(db_session, 2, newer)
    broken = with_changes(default_config(), {"retrieval": {"fusion": "max"}})
    await _store_version(db_session, 3, broken)
    silent = with_changes(default_config(), {"composer": {"max_sentences": 0}})
    await _store_version(db_session, 4, silent)  # stored before settings were range-checked
    async with AsyncTestClient(app=make_app(settings)) as client:
        refused = await client.post("/api/v1/versions/3/activate", headers=admin.headers)
        assert refused.status_code == 422, refused.text
        assert "version 3" in refused.json()["detail"]
        refused = await client.post("/api/v1/versions/4/activate", headers=admin.headers)
        assert refused.status_code == 422, refused.text
        assert "version 4" in refused.json()["detail"]
        assert "composer.max_sentences must be at least 1" in refused.json()["detail"]
        with capture_logs() as logs:
            activated = await client.post("/api/v1/versions/2/activate", headers=admin.headers)
        assert activated.status_code == 200, activated.text
        warned = [e for e in logs if e["event"] == "versions.unknown_settings"]
        assert warned and set(warned[0]["settings"]) == {
            "composer.sentence_reranker",
            "answer.weights.novelty",
        }
        with capture_logs() as logs:
            asked = await client.post(
                "/api/v1/chat", json={"message": "How many leave days?"}, headers=user.headers
            )
        assert asked.status_code == 200, asked.text
        assert not [
            e for e in logs if e["event"] == "versions.unknown_settings"
        ]  # once, not per question
        copied = await client.post(
            "/api/v1/versions",
            json={
                "description": "tuned here",
                "changes": {"answer": {"confidence_threshold": 0.6}},
            },
            headers=admin.headers,
        )
        assert copied.status_code == 201, copied.text
    answered_by = await db_session.execute(
        text("SELECT trace->>'version' FROM messages WHERE role = 'assistant'")
    )
    assert answered_by.scalars().all() == ["2"]
    stored = (
        await db_session.execute(text("SELECT config FROM assistant_versions WHERE number = 4"))
    ).scalar_one()
    assert "sentence_reranker" not in stored["composer"]
    assert "novelty" not in stored["answer"]["weights"]
