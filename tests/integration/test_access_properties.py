"""Property: nothing of a document a user may not read reaches them, through any endpoint,
and search finds every document they may read.

Hypothesis draws whole scenarios (memberships, documents with access lists, then a sequence of
questions, ACL changes and membership changes through the admin API); after every request the
response must hold no secret word, title, document id of a document unreadable at that moment.
Hypothesis runs in a worker thread; each example runs on the test's event loop.
"""

import os
import uuid
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.from_thread
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.auth.accounts import set_user_groups
from app.settings import Settings, WebSettings
from ingestion import store
from ingestion.chunking import content_hash
from retrieval.embeddings import Embedder
from tests.builders import ApiUser, light_models, make_app, make_groups, make_user
from tests.integration.retrieval.documents import statistics_drift

pytestmark = pytest.mark.integration
GROUPS = ("g0", "g1", "g2", "g3")
USERS = ("ua", "ub", "uc")
TOKENS = ("quokka", "narwhal", "axolotl", "pangolin", "okapi", "tapir")
# What only a reader of the document can know (questions mention TOKENS, never these).
SECRETS = ("xq7secret", "zv3secret", "kw9secret", "jm2secret", "pf5secret", "hb8secret")

access_st = st.lists(st.sampled_from((*GROUPS, "everyone")), min_size=1, max_size=2, unique=True)
members_st = st.lists(st.sampled_from(GROUPS), max_size=2, unique=True)
step_st = st.one_of(
    st.tuples(
        st.just("ask"),
        st.integers(0, 2),
        st.lists(st.integers(0, 5), min_size=1, max_size=3),
        st.sampled_from(("search", "chat")),
    ),
    st.tuples(st.just("acl"), st.integers(0, 5), access_st),
    st.tuples(st.just("member"), st.integers(0, 2), members_st),
)
scenario_st = st.fixed_dictionaries(
    {
        "members": st.lists(members_st, min_size=3, max_size=3),
        "docs": st.lists(access_st, min_size=1, max_size=6),
        "steps": st.lists(step_st, min_size=1, max_size=6),
    }
)


@dataclass
class World:
    client: AsyncTestClient[Any]
    engine: AsyncEngine
    admin: ApiUser
    users: dict[str, ApiUser]
    user_ids: dict[str, str]
    embedder: Embedder


def _body(doc: int) -> str:
    word = TOKENS[doc]
    return (
        f"The {word} policy: every {word} request is approved by the {word} committee "
        f"within days. Reference {SECRETS[doc]}."
    )


async def _reset(
    world: World, scenario: dict[str, Any]
) -> tuple[list[str], list[set[str]], list[set[str]]]:
    async with AsyncSession(world.engine) as session, session.begin():
        # DELETE, not TRUNCATE: on these few rows it is much cheaper (no file swap per table).
        await session.execute(text("DELETE FROM conversations"))
        await session.execute(text("DELETE FROM sources"))
        await session.execute(text("DELETE FROM term_stats"))
        await session.execute(text("DELETE FROM term_set_stats"))
        await session.execute(text("DELETE FROM access_set_stats"))
        await session.execute(text("UPDATE corpus_stats SET chunk_count = 0, term_total = 0"))
        source_id = uuid.uuid4()
        await session.execute(
            text(
                "INSERT INTO sources (id, name, kind, groups, pii_policy) "
                "VALUES (:id, 'kb', 'upload', ARRAY['everyone'], 'keep')"
            ),
            {"id": source_id},
        )
        doc_ids = []
        for i, access in enumerate(scenario["docs"]):
            doc_id = uuid.uuid4()
            doc_ids.append(str(doc_id))
            await session.execute(
                text(
                    "INSERT INTO documents (id, source_id, uri, title, file_path, size_bytes, content_hash, "
                    "acl_override, status, chunks_done, chunks_total, attempts, flags) VALUES (:id, :src, "
                    ":uri, :title, '', 0, 'h', CAST(:acl AS varchar[]), 'ready', 1, 1, 0, '{}')"
                ),
                {
                    "id": doc_id,
                    "src": source_id,
                    "uri": f"{TOKENS[i]}.md",
                    "title": f"{TOKENS[i]} guide {SECRETS[i]}",
                    "acl": access,
                },
            )
            body = _body(i)
            chunk = store.StoredChunk(
                position=0,
                text=body,
                title=f"{TOKENS[i]} guide {SECRETS[i]}",
                heading_path="",
                page=None,
                content_hash=content_hash(body),
                token_count=20,
                embedding=world.embedder.embed([body])[0].tolist(),
            )
            await store.insert_chunks(session, doc_id, [chunk], access=access)
        members = [set(m) for m in scenario["members"]]
        for name, groups in zip(USERS, members, strict=True):
            await set_user_groups(session, uuid.UUID(world.user_ids[name]), sorted(groups))
    return doc_ids, [set(a) for a in scenario["docs"]], members


async def _put(world: World, url: str, body: dict[str, Any]) -> None:
    response = await world.client.put(url, json=body, headers=world.admin.headers)
    assert response.status_code == 200, response.text


def _assert_hidden(response_text: str, hidden: list[int], doc_ids: list[str]) -> None:
    for doc in hidden:
        assert SECRETS[doc] not in response_text.lower(), (SECRETS[doc], response_text)
        assert doc_ids[doc] not in response_text


async def _ask(
    world: World, user: str, mention: list[int], via: str, hidden: list[int], doc_ids: list[str]
) -> None:
    question = "What is the " + " and ".join(TOKENS[d % len(TOKENS)] for d in mention) + " policy?"
    headers = world.users[user].headers
    if via == "search":
        response = await world.client.post(
            "/api/v1/search", json={"query": question, "k": 10}, headers=headers
        )
        assert response.status_code == 200, response.text
        _assert_hidden(response.text, hidden, doc_ids)
        # And nothing readable goes missing: every body shares the word "policy" with the
        # question, so search (k=10, at most 6 documents) returns every readable one. A grant
        # or membership change is effective on the next request too.
        found = {r["document_id"] for r in response.json()["results"]}
        assert found == {d for i, d in enumerate(doc_ids) if i not in hidden}, question
        return
    response = await world.client.post("/api/v1/chat", json={"message": question}, headers=headers)
    assert response.status_code == 200, response.text
    _assert_hidden(response.text, hidden, doc_ids)
    answer = response.json()
    history = await world.client.get(
        f"/api/v1/conversations/{answer['conversation_id']}", headers=headers
    )
    _assert_hidden(history.text, hidden, doc_ids)
    feedback = await world.client.post(
        f"/api/v1/messages/{answer['message_id']}/feedback",
        json={"rating": "down", "comment": "x"},
        headers=headers,
    )
    assert feedback.status_code == 201, feedback.text
    _assert_hidden(feedback.text, hidden, doc_ids)


async def run_scenario(world: World, scenario: dict[str, Any]) -> None:
    doc_ids, access, members = await _reset(world, scenario)
    for step in scenario["steps"]:
        if step[0] == "acl" and step[1] < len(doc_ids):
            await _put(world, f"/api/v1/documents/{doc_ids[step[1]]}/acl", {"groups": step[2]})
            access[step[1]] = set(step[2])
            # BM25's per-access-list statistics moved with the postings (scores count only what
            # the caller may read, so they must count exactly that).
            async with AsyncSession(world.engine) as session:
                assert await statistics_drift(session) == 0
        elif step[0] == "member":
            await _put(
                world, f"/api/v1/users/{world.user_ids[USERS[step[1]]]}/groups", {"groups": step[2]}
            )
            members[step[1]] = set(step[2])
        elif step[0] == "ask":
            readable = members[step[1]] | {"everyone"}
            hidden = [d for d in range(len(doc_ids)) if not access[d] & readable]
            await _ask(world, USERS[step[1]], step[2], step[3], hidden, doc_ids)
            for doc in hidden:  # document content: indistinguishable from a missing document
                content = await world.client.get(
                    f"/api/v1/documents/{doc_ids[doc]}/content",
                    headers=world.users[USERS[step[1]]].headers,
                )
                assert content.status_code == 404
                _assert_hidden(content.text, hidden, doc_ids)


async def check_access_property(settings_: Settings, engine: AsyncEngine, examples: int) -> None:
    async with engine.connect() as conn:  # thousands of tiny commits: do not wait for fsync
        await conn.execute(text("SELECT set_config('synchronous_commit', 'off', false)"))
        name = (await conn.execute(text("SELECT current_database()"))).scalar_one()
        await conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
        await conn.commit()
    async with AsyncSession(engine, expire_on_commit=False) as session:
        await make_groups(session, *GROUPS)
        admin = await make_user(session, "root", role="admin")
        users = {name: await make_user(session, name) for name in USERS}
        rows = await session.execute(text("SELECT username, id FROM users"))
        user_ids = {str(name): str(uid) for name, uid in rows}
    unlimited = settings_.model_copy(update={"web": WebSettings(rate_limit_per_minute=10**9)})
    models = light_models()  # once: loading the tokenizer per scenario was a fifth of the run
    async with AsyncTestClient(app=make_app(unlimited, models)) as client:
        world = World(client, engine, admin, users, user_ids, models.embedder)
        ran: list[int] = []

        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(scenario=scenario_st)
        def property_holds(scenario: dict[str, Any]) -> None:
            anyio.from_thread.run(run_scenario, world, scenario)
            ran.append(1)

        await anyio.to_thread.run_sync(property_holds)
    # Every requested scenario ran to the end (hypothesis stops early on an exhausted space).
    assert len(ran) >= examples, (len(ran), examples)
    print(f"access property: {len(ran)} scenarios passed")


async def test_unreadable_documents_never_surface_fast(
    settings: Settings, engine: AsyncEngine
) -> None:
    await check_access_property(settings, engine, examples=50)


@pytest.mark.slow
@pytest.mark.timeout(7200)
async def test_unreadable_documents_never_surface_many(
    settings: Settings, engine: AsyncEngine
) -> None:
    # `make test` runs 400 scenarios (about 1 minute); `make test-props` runs the
    # 10,000-scenario acceptance run (23 minutes on 2 cores).
    examples = int(os.environ.get("GROUNDWORK_PROPERTY_EXAMPLES", "400"))
    await check_access_property(settings, engine, examples=examples)
