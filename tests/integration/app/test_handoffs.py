"""The agent's hand-off workflow over HTTP: queue, claim, reply into the asker's conversation,
close, and verified answers that retrieval finds only for readers of their access rule."""

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.db.session import make_session_factory
from app.resources import build_pipeline_deps
from app.settings import Settings
from evals.candidates import collect, list_candidates
from ingestion.pipeline import ingest_document
from ingestion.sources import create_source, register_document
from tests.builders import ApiUser, light_models, make_app, make_groups, make_user

pytestmark = pytest.mark.integration

QUESTION = "Can I bring my dog to the office on Fridays?"
ANSWER = "Yes: dogs are welcome in the office on Fridays if they are house-trained and on a lead."
# None of these answers the question (no shared words), yet each is retrieved for a reader.
DOCS = {
    # (source, groups): (file name, text)
    ("hr-kb", "hr"): (
        "parental-leave.md",
        "# Parental leave\n\nParental leave lasts sixteen weeks at full pay. "
        "Request it from your manager eight weeks ahead.",
    ),
    ("public-kb", "everyone"): (
        "canteen.md",
        "# Canteen\n\nLunch is served from noon until two. Vegetarian dishes are always offered.",
    ),
    ("finance-kb", "finance"): (
        "budget.md",
        "# Budget\n\nQuarterly budgets are approved by controllers. Invoices are paid monthly.",
    ),
}


@dataclass(frozen=True)
class World:
    asker: ApiUser
    colleague: ApiUser
    outsider: ApiUser
    agent: ApiUser
    finance_agent: ApiUser


async def _world(settings: Settings, engine: AsyncEngine, session: AsyncSession) -> World:
    await make_groups(session, "hr", "finance")
    world = World(
        asker=await make_user(session, "alex", groups=("hr",)),
        colleague=await make_user(session, "bo", groups=("hr",)),
        outsider=await make_user(session, "olly", groups=("finance",)),
        agent=await make_user(session, "ana", role="agent", groups=("hr",)),
        finance_agent=await make_user(session, "fay", role="agent", groups=("finance",)),
    )
    deps = build_pipeline_deps(settings, make_session_factory(engine), light_models())
    for (source, group), (name, body) in DOCS.items():
        source_id = await create_source(session, name=source, groups=[group])
        registered = await register_document(
            session,
            source_id=source_id,
            filename=name,
            data=body.encode(),
            uploads_dir=settings.uploads_dir,
            max_bytes=settings.ingestion.max_upload_bytes,
        )
        await session.commit()
        assert (await ingest_document(deps, registered.id)).status == "ready"
    return world


async def _hand_off(client: AsyncTestClient[Any], asker: ApiUser) -> dict[str, Any]:
    response = await client.post("/api/v1/chat", json={"message": QUESTION}, headers=asker.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["handoff"] is not None and body["handoff"]["status"] == "open", body
    return body


async def _queue(
    client: AsyncTestClient[Any], user: ApiUser, status: str = "open"
) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/handoffs?status={status}", headers=user.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["handoffs"]
    return items


async def _search(client: AsyncTestClient[Any], user: ApiUser) -> list[dict[str, Any]]:
    response = await client.post(
        "/api/v1/search", json={"query": QUESTION, "k": 10}, headers=user.headers
    )
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def _verified(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in results if r["title"] == "Verified answer"]


async def test_agent_claims_and_replies_and_the_asker_sees_it(
    settings: Settings, engine: AsyncEngine, db_session: AsyncSession
) -> None:
    world = await _world(settings, engine, db_session)
    async with AsyncTestClient(app=make_app(settings)) as client:
        asked = await _hand_off(client, world.asker)
        handoff_id = asked["handoff"]["id"]

        [item] = await _queue(client, world.agent)
        assert item["id"] == handoff_id and item["status"] == "open"
        assert item["question"] == QUESTION and item["history"] == []
        assert item["conversation_id"] == asked["conversation_id"]
        assert item["reason"] == asked["handoff"]["reason"]
        sources = {p["source"] for p in item["passages"]}
        assert {"parental-leave.md", "canteen.md"} <= sources
        assert "budget.md" not in sources  # never retrieved for the asker
        # An agent outside hr works the same queue but never sees hr passages.
        [seen_by_finance] = await _queue(client, world.finance_agent)
        assert {p["source"] for p in seen_by_finance["passages"]} == {"canteen.md"}

        claimed = await client.post(
            f"/api/v1/handoffs/{handoff_id}/claim", headers=world.agent.headers
        )
        assert claimed.status_code == 200 and claimed.json()["status"] == "claimed"
        assert await _queue(client, world.agent) == []
        [mine] = await _queue(client, world.agent, "claimed")
        assert mine["assignee"] == "ana"
        for action in ("claim", "reply", "close"):
            taken = await client.post(
                f"/api/v1/handoffs/{handoff_id}/{action}",
                json={"answer": "mine"} if action == "reply" else None,
                headers=world.finance_agent.headers,
            )
            assert taken.status_code == 409, (action, taken.text)

        replied = await client.post(
            f"/api/v1/handoffs/{handoff_id}/reply",
            json={"answer": ANSWER},
            headers=world.agent.headers,
        )
        assert replied.status_code == 200, replied.text
        assert replied.json()["status"] == "answered" and replied.json()["verified"] is None

        conversation = await client.get(
            f"/api/v1/conversations/{asked['conversation_id']}", headers=world.asker.headers
        )
        assert conversation.status_code == 200
        messages = conversation.json()["messages"]
        assert [m["role"] for m in messages] == ["user", "assistant", "agent"]
        assert messages[-1]["content"] == ANSWER
        assert messages[-1]["id"] == replied.json()["message_id"]
        # Not verified: retrieval does not know the reply.
        assert _verified(await _search(client, world.colleague)) == []

        closed = await client.post(
            f"/api/v1/handoffs/{handoff_id}/close", headers=world.agent.headers
        )
        assert closed.status_code == 200 and closed.json()["status"] == "closed"
        [done] = await _queue(client, world.agent, "closed")
        assert done["id"] == handoff_id
        again = await client.post(
            f"/api/v1/handoffs/{handoff_id}/reply",
            json={"answer": "one more thing"},
            headers=world.agent.headers,
        )
        assert again.status_code == 409
        assert again.headers["content-type"].startswith("application/problem+json")

    actions = (
        await db_session.execute(
            text(
                "SELECT action FROM audit_events WHERE object_type = 'handoff' "
                "AND object_id = :id ORDER BY id"
            ),
            {"id": handoff_id},
        )
    ).scalars()
    assert list(actions) == ["handoff.claim", "handoff.reply", "handoff.close"]
    # The feedback loop: the resolved hand-off becomes a candidate eval case with the reply.
    await collect(db_session)
    [candidate] = [c for c in await list_candidates(db_session) if c.kind == "handoff"]
    assert candidate.question == QUESTION and candidate.answer == ANSWER
    assert candidate.groups == ["hr"]


async def test_verified_answer_is_found_only_by_readers_of_its_groups(
    settings: Settings, engine: AsyncEngine, db_session: AsyncSession
) -> None:
    world = await _world(settings, engine, db_session)
    nobody = await make_user(db_session, "nina")
    async with AsyncTestClient(app=make_app(settings)) as client:
        asked = await _hand_off(client, world.asker)
        handoff_id = asked["handoff"]["id"]
        assert _verified(await _search(client, world.colleague)) == []

        replied = await client.post(
            f"/api/v1/handoffs/{handoff_id}/reply",
            json={"answer": ANSWER, "save_as_verified": True},
            headers=world.agent.headers,
        )
        assert replied.status_code == 200, replied.text
        verified = replied.json()["verified"]
        # Default rule: the passages the asker was shown were hr and everyone, so hr.
        assert verified["groups"] == ["hr"]

        [hit] = _verified(await _search(client, world.colleague))
        assert hit["document_id"] == verified["document_id"]
        assert "house-trained" in hit["snippet"]
        for user in (world.outsider, nobody):
            results = await _search(client, user)
            assert _verified(results) == []
            assert all("house-trained" not in r["snippet"] for r in results)
        # Next time the question is answered from the verified answer, cited as such.
        again = await client.post(
            "/api/v1/chat", json={"message": QUESTION}, headers=world.colleague.headers
        )
        assert again.json()["handoff"] is None, again.json()
        assert [c["title"] for c in again.json()["citations"]] == ["Verified answer"]
        assert "house-trained" in again.json()["answer"]
        outside = await client.post(
            "/api/v1/chat", json={"message": QUESTION}, headers=world.outsider.headers
        )
        assert outside.json()["handoff"] is not None
        assert "house-trained" not in outside.text
        # The asker sees the reply in the conversation as well.
        conversation = await client.get(
            f"/api/v1/conversations/{asked['conversation_id']}", headers=world.asker.headers
        )
        assert conversation.json()["messages"][-1]["content"] == ANSWER
        # A revised reply replaces the verified answer: same document, new text only.
        revised = await client.post(
            f"/api/v1/handoffs/{handoff_id}/reply",
            json={"answer": f"{ANSWER} Muzzles are never required.", "save_as_verified": True},
            headers=world.agent.headers,
        )
        assert revised.status_code == 200, revised.text
        assert revised.json()["verified"]["document_id"] == verified["document_id"]
        [hit] = _verified(await _search(client, world.colleague))
        assert "Muzzles" in hit["snippet"]

    row = (
        await db_session.execute(
            text(
                "SELECT s.kind, d.status, d.title, d.acl_override, "
                "(SELECT count(*) FROM chunks c WHERE c.document_id = d.id AND c.access = "
                "ARRAY['hr']::varchar[]), "
                "(SELECT count(*) FROM chunk_terms t JOIN chunks c ON c.id = t.chunk_id "
                "WHERE c.document_id = d.id) "
                "FROM documents d JOIN sources s ON s.id = d.source_id WHERE d.id = :id"
            ),
            {"id": uuid.UUID(verified["document_id"])},
        )
    ).one()
    assert row[:4] == ("verified", "ready", "Verified answer", ["hr"])
    assert row[4] >= 1 and row[5] > 0  # embedded chunks with BM25 postings, under hr
    consistent = (
        await db_session.execute(
            text(
                "SELECT chunk_count = (SELECT count(*) FROM chunks) FROM corpus_stats WHERE id = 1"
            )
        )
    ).scalar_one()
    assert consistent  # BM25's statistics describe exactly the chunks that exist


async def test_requested_groups_narrow_the_rule_but_never_widen_it(
    settings: Settings, engine: AsyncEngine, db_session: AsyncSession
) -> None:
    world = await _world(settings, engine, db_session)
    async with AsyncTestClient(app=make_app(settings)) as client:
        handoff_id = (await _hand_off(client, world.asker))["handoff"]["id"]
        url = f"/api/v1/handoffs/{handoff_id}/reply"
        for groups, expected in (
            (["finance"], "wider"),  # the asker is not in finance, nor are the hr passages
            (["everyone"], "wider"),  # an hr passage was shown: not for everyone
            (["nope"], "unknown group"),
            ([], "at least one"),
        ):
            response = await client.post(
                url,
                json={"answer": ANSWER, "save_as_verified": True, "groups": groups},
                headers=world.agent.headers,
            )
            assert response.status_code == 422, (groups, response.text)
            body = response.json()
            assert body["field"] == "groups" and expected in body["detail"], body
        without_save = await client.post(
            url, json={"answer": ANSWER, "groups": ["hr"]}, headers=world.agent.headers
        )
        assert without_save.status_code == 422 and without_save.json()["field"] == "groups"
        explicit = await client.post(
            url,
            json={"answer": ANSWER, "save_as_verified": True, "groups": ["HR"]},
            headers=world.agent.headers,
        )
        assert explicit.status_code == 200, explicit.text
        assert explicit.json()["verified"]["groups"] == ["hr"]
    count = (
        await db_session.execute(text("SELECT count(*) FROM messages WHERE role = 'agent'"))
    ).scalar_one()
    assert count == 1  # the rejected replies stored nothing


async def test_bad_input_and_roles_get_problem_details(
    settings: Settings, engine: AsyncEngine, db_session: AsyncSession
) -> None:
    world = await _world(settings, engine, db_session)
    admin = await make_user(db_session, "root", role="admin")
    async with AsyncTestClient(app=make_app(settings)) as client:
        handoff_id = (await _hand_off(client, world.asker))["handoff"]["id"]
        base = f"/api/v1/handoffs/{handoff_id}"
        for method, url, body in (
            ("GET", "/api/v1/handoffs?status=open", None),
            ("POST", f"{base}/claim", None),
            ("POST", f"{base}/reply", {"answer": "sure"}),
            ("POST", f"{base}/close", None),
        ):
            response = await client.request(method, url, json=body, headers=world.asker.headers)
            assert response.status_code == 403, (url, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
            assert "agent" in response.json()["detail"]
        anonymous = await client.get("/api/v1/handoffs")
        assert anonymous.status_code == 401

        for answer, expected in (
            ("   ", "empty"),
            ("x" * 8001, "8,000"),
            ("see the handbook\x00 page two", "NUL"),
        ):
            response = await client.post(
                f"{base}/reply", json={"answer": answer}, headers=world.agent.headers
            )
            assert response.status_code == 422, response.text
            assert response.json()["field"] == "answer" and expected in response.json()["detail"]
        wrong_type = await client.post(
            f"{base}/reply", json={"answer": 42}, headers=world.agent.headers
        )
        assert wrong_type.status_code == 400 and "answer" in wrong_type.json()["detail"]
        extra = await client.post(
            f"{base}/reply", json={"answer": "ok", "sudo": True}, headers=world.agent.headers
        )
        assert extra.status_code == 400
        bad_status = await client.get("/api/v1/handoffs?status=lost", headers=world.agent.headers)
        assert bad_status.status_code == 422 and bad_status.json()["field"] == "status"
        bad_limit = await client.get("/api/v1/handoffs?limit=0", headers=world.agent.headers)
        assert bad_limit.status_code == 422 and bad_limit.json()["field"] == "limit"
        missing = await client.post(
            f"/api/v1/handoffs/{uuid.uuid4()}/claim", headers=world.agent.headers
        )
        assert missing.status_code == 404

        # Admins hold the agent role, and may take over another agent's claim.
        await client.post(f"{base}/claim", headers=world.agent.headers)
        assert len(await _queue(client, admin, "claimed")) == 1
        closed = await client.post(f"{base}/close", headers=admin.headers)
        assert closed.status_code == 200 and closed.json()["status"] == "closed"
