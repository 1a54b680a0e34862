"""The whole journey over HTTP: admin uploads, the worker ingests through Redis, users ask.

Real PostgreSQL + pgvector, real Redis and arq; only the embedder is a deterministic fake.
"""

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.settings import Settings
from tests.builders import (
    ApiUser,
    light_models,
    make_app,
    make_groups,
    make_user,
    run_worker_until_idle,
)

pytestmark = pytest.mark.e2e

HANDBOOK = b"""# Staff handbook

## Annual leave

Every employee receives 27 days of paid annual leave per calendar year.
Unused leave of up to five days may be carried over into the first quarter of the next year.

## Office hours

The Rotterdam office is open from 07:30 to 19:00 on working days.
"""

SALARIES = b"""# Salary bands

## Engineering bands

Salary band L5 ranges from 92,000 to 118,000 EUR per year, reviewed every April.
Band L6 starts at 121,500 EUR.
"""


@pytest.fixture
async def live(settings: Settings, redis_url: str) -> Settings:
    client = Redis.from_url(redis_url)
    await client.flushdb()
    await client.aclose()
    return settings.model_copy(update={"redis_url": redis_url})


async def _upload(
    client: AsyncTestClient[Litestar], admin: ApiUser, source_id: str, name: str, data: bytes
) -> str:
    response = await client.post(
        f"/api/v1/sources/{source_id}/documents",
        files={"file": (name, data)},
        headers=admin.headers,
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


async def test_user_outside_group_never_sees_restricted_document(
    live: Settings, engine: AsyncEngine, db_session: AsyncSession
) -> None:
    await make_groups(db_session, "hr")
    admin = await make_user(db_session, "root", role="admin", groups=("hr",))
    outsider = await make_user(db_session, "alex")
    insider = await make_user(db_session, "hana", groups=("hr",))
    models = light_models()

    async with AsyncTestClient(app=make_app(live, models)) as client:
        source = await client.post(
            "/api/v1/sources", json={"name": "kb", "groups": ["everyone"]}, headers=admin.headers
        )
        assert source.status_code == 201, source.text
        source_id = source.json()["id"]
        handbook_id = await _upload(client, admin, source_id, "handbook.md", HANDBOOK)
        salaries_id = await _upload(client, admin, source_id, "salary_bands.md", SALARIES)
        acl = await client.put(
            f"/api/v1/documents/{salaries_id}/acl", json={"groups": ["hr"]}, headers=admin.headers
        )
        assert acl.status_code == 200, acl.text

        await run_worker_until_idle(live, engine, models)
        for doc_id in (handbook_id, salaries_id):
            status = await client.get(f"/api/v1/documents/{doc_id}", headers=admin.headers)
            assert status.json()["status"] == "ready", status.text

        question = {"message": "What is the salary band L5 range in EUR?"}
        hidden = await client.post("/api/v1/chat", json=question, headers=outsider.headers)
        assert hidden.status_code == 200, hidden.text
        body = hidden.text
        assert "92,000" not in body and "Salary bands" not in body and salaries_id not in body
        found = await client.post(
            "/api/v1/search", json={"query": "salary band L5 EUR"}, headers=outsider.headers
        )
        assert salaries_id not in found.text and "118,000" not in found.text
        denied = await client.get(
            f"/api/v1/documents/{salaries_id}/content", headers=outsider.headers
        )
        assert denied.status_code == 404
        conversation = await client.get(
            f"/api/v1/conversations/{hidden.json()['conversation_id']}", headers=outsider.headers
        )
        assert "92,000" not in conversation.text and salaries_id not in conversation.text

        allowed = await client.post("/api/v1/chat", json=question, headers=insider.headers)
        answer = allowed.json()
        assert "92,000 to 118,000 EUR" in answer["answer"]
        assert answer["citations"][0]["document_id"] == salaries_id
        assert answer["citations"][0]["source"] == "salary_bands.md"
        assert "[1]" in answer["answer"]


async def test_answer_cites_public_passage_and_conversation_keeps_it(
    live: Settings, engine: AsyncEngine, db_session: AsyncSession
) -> None:
    admin = await make_user(db_session, "root", role="admin")
    reader = await make_user(db_session, "alex")
    models = light_models()
    async with AsyncTestClient(app=make_app(live, models)) as client:
        source_id = (
            await client.post(
                "/api/v1/sources",
                json={"name": "kb", "groups": ["everyone"]},
                headers=admin.headers,
            )
        ).json()["id"]
        doc_id = await _upload(client, admin, source_id, "handbook.md", HANDBOOK)
        await run_worker_until_idle(live, engine, models)

        reply = await client.post(
            "/api/v1/chat",
            json={"message": "How many days of paid annual leave do employees get?"},
            headers=reader.headers,
        )
        answer = reply.json()
        assert "27 days of paid annual leave" in answer["answer"]
        assert answer["handoff"] is None
        citation = answer["citations"][0]
        assert citation["document_id"] == doc_id and citation["title"] == "Staff handbook"
        assert "27 days" in citation["snippet"]

        passage = await client.get(f"/api/v1/documents/{doc_id}/content", headers=reader.headers)
        assert any(p["chunk_id"] == citation["chunk_id"] for p in passage.json()["passages"])

        history = await client.get(
            f"/api/v1/conversations/{answer['conversation_id']}", headers=reader.headers
        )
        roles = [m["role"] for m in history.json()["messages"]]
        assert roles == ["user", "assistant"]


async def test_streamed_answer_arrives_as_tokens_then_citations_then_final(
    live: Settings, engine: AsyncEngine, db_session: AsyncSession
) -> None:
    admin = await make_user(db_session, "root", role="admin")
    models = light_models()
    async with AsyncTestClient(app=make_app(live, models)) as client:
        source_id = (
            await client.post(
                "/api/v1/sources",
                json={"name": "kb", "groups": ["everyone"]},
                headers=admin.headers,
            )
        ).json()["id"]
        await _upload(client, admin, source_id, "handbook.md", HANDBOOK)
        await run_worker_until_idle(live, engine, models)
        response = await client.post(
            "/api/v1/chat",
            json={"message": "When is the Rotterdam office open?"},
            headers={**admin.headers, "Accept": "text/event-stream"},
        )
        assert response.headers["content-type"].startswith("text/event-stream"), response.text
        events = [
            line.split(":", 1)[1].strip()
            for line in response.text.splitlines()
            if line.startswith("event:")
        ]
        assert events[0] == "token" and events[-2:] == ["citations", "final"]
