"""The served OpenAPI schema carries the rules the handlers enforce, and a request breaking one
gets a problem-details 422 naming the field and the rule."""

import uuid
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.accounts import MIN_PASSWORD_CHARS
from app.chat.feedback import MAX_COMMENT_CHARS, REASONS
from app.chat.handoff_queue import MAX_LIST
from app.chat.handoffs import MAX_ANSWER_CHARS
from app.db.models import HANDOFF_STATUSES
from app.settings import Settings
from app.web.fields import NAME_PATTERN, TEXT_PATTERN
from app.web.routes.chat import MAX_SEARCH_K
from ingestion.sources import MAX_SOURCE_NAME_CHARS
from tests.builders import make_app, make_user

pytestmark = pytest.mark.integration


async def _schema(settings: Settings) -> dict[str, Any]:
    async with AsyncTestClient(app=make_app(settings)) as client:
        response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _json_bodies(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each operation's JSON request body component, by ``METHOD path``."""
    components = schema["components"]["schemas"]
    bodies = {}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                name = content["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
                bodies[f"{method.upper()} {path}"] = components[name]
    return bodies


async def test_schema_declares_lengths_values_ranges_and_closed_bodies(settings: Settings) -> None:
    schema = await _schema(settings)
    bodies = _json_bodies(schema)
    assert len(bodies) == 10
    assert all(body["additionalProperties"] is False for body in bodies.values())

    message = bodies["POST /api/v1/chat"]["properties"]["message"]
    assert message["minLength"] == 1 and message["pattern"] == TEXT_PATTERN
    assert message["maxLength"] == settings.chat.max_question_chars  # the default, 2,000
    search = bodies["POST /api/v1/search"]["properties"]
    assert (search["k"]["minimum"], search["k"]["maximum"]) == (1, MAX_SEARCH_K)

    feedback = bodies["POST /api/v1/messages/{message_id}/feedback"]["properties"]
    assert feedback["rating"]["enum"] == ["up", "down"]
    assert set(feedback["reason"]["enum"]) == {*REASONS, None}
    assert feedback["comment"]["maxLength"] == MAX_COMMENT_CHARS

    user = bodies["POST /api/v1/users"]["properties"]
    assert user["role"]["enum"] == ["user", "agent", "admin"]
    assert user["password"]["minLength"] == MIN_PASSWORD_CHARS
    assert user["username"]["pattern"] == NAME_PATTERN
    assert user["groups"]["items"]["pattern"] == NAME_PATTERN
    assert "everyone" in bodies["POST /api/v1/groups"]["properties"]["name"]["description"]

    source = bodies["POST /api/v1/sources"]
    assert source["properties"]["kind"]["enum"] == ["upload", "folder"]
    assert source["properties"]["name"]["maxLength"] == MAX_SOURCE_NAME_CHARS
    assert source["then"]["required"] == ["path"]

    reply = bodies["POST /api/v1/handoffs/{handoff_id}/reply"]
    assert reply["properties"]["answer"]["maxLength"] == MAX_ANSWER_CHARS
    assert reply["properties"]["groups"]["minItems"] == 1
    assert reply["then"]["properties"]["save_as_verified"] == {"const": True}

    queue = schema["paths"]["/api/v1/handoffs"]["get"]["parameters"]
    status, limit = (
        next(p["schema"] for p in queue if p["name"] == n) for n in ("status", "limit")
    )
    assert tuple(status["enum"]) == HANDOFF_STATUSES
    assert (limit["minimum"], limit["maximum"]) == (1, MAX_LIST)

    upload = schema["paths"]["/api/v1/sources/{source_id}/documents"]["post"]["requestBody"]
    form = upload["content"]["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert schema["components"]["schemas"][form]["required"] == ["file"]


async def test_values_breaking_a_declared_rule_get_422_naming_field_and_rule(
    settings: Settings, db_session: AsyncSession
) -> None:
    admin = await make_user(db_session, "root", role="admin")
    cases: list[tuple[str, dict[str, Any], str, str]] = [
        ("/api/v1/search", {"query": "leave", "k": MAX_SEARCH_K + 1}, "k", "between 1 and 50"),
        (
            f"/api/v1/messages/{uuid.uuid4()}/feedback",
            {"rating": "sideways"},
            "rating",
            "must be one of down, up",
        ),
        (
            f"/api/v1/messages/{uuid.uuid4()}/feedback",
            {"rating": "up", "comment": "x" * (MAX_COMMENT_CHARS + 1)},
            "comment",
            "at most 2,000 characters",
        ),
        (
            "/api/v1/users",
            {"username": "ada", "password": "correct horse", "role": "root"},
            "role",
            "must be one of admin, agent, user",
        ),
        (
            "/api/v1/users",
            {"username": "ada", "password": "short"},
            "password",
            "must be at least 10 characters",
        ),
        ("/api/v1/sources", {"name": "kb", "groups": [], "kind": "ftp"}, "kind", "folder, upload"),
    ]
    async with AsyncTestClient(app=make_app(settings)) as client:
        for url, body, field, rule in cases:
            response = await client.post(url, json=body, headers=admin.headers)
            assert response.status_code == 422, (url, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
            problem = response.json()
            assert problem["title"] == "Invalid input" and problem["status"] == 422
            assert problem["field"] == field and rule in problem["detail"], problem
        shape = await client.post(
            "/api/v1/search", json={"query": "leave", "top": 3}, headers=admin.headers
        )
        assert shape.status_code == 400 and shape.json()["field"] == "top"
        missing = await client.post(
            f"/api/v1/sources/{uuid.uuid4()}/documents",
            files={"other": ("a.txt", b"a")},
            headers=admin.headers,
        )
        assert missing.status_code == 400 and missing.json()["field"] == "file"
    users = (await db_session.execute(text("SELECT count(*) FROM users"))).scalar_one()
    assert users == 1  # nothing was created
