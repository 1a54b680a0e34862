"""Canary test: distinctive fake personal data planted in a redact-policy document, a question
and a feedback comment never shows up anywhere it could leak to.

The whole journey runs over HTTP with real Presidio in the web app and in the worker's real
pipeline (upload, arq worker through Redis, chat as JSON and SSE, search, conversation, document
content, feedback). Afterwards every response body, every row of every table, ``/metrics``, the
captured log output and every request sent to the (faked) external LLM are searched for the
canaries. Only the embedder is a deterministic fake. Slow (loads Presidio and spaCy).
"""

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import app.main
from app.chat.service import ChatDeps
from app.logging import configure_logging
from app.resources import Models, build_chat_deps
from app.settings import Settings
from tests.builders import ApiUser, make_app, make_user, run_worker_until_idle
from tests.integration.chat.conftest import (
    RecordingLlm,
    activate_version,
    llm_settings,
    stream_body,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DOCUMENT = b"""# Expense claims

## Reimbursement

Expense claims are reimbursed within 14 days after approval by the finance desk.
Questions about expense claims go to the finance desk at zq.canary.7731@example.org \
or call +31 6 1234 5678 during office hours.
Reimbursements are paid from the company account NL91ABNA0417164300 every Friday.
"""
QUESTION = "I am Zebulon Quartermaine. How quickly are expense claims reimbursed?"
STREAMED_QUESTION = "Which e-mail address and phone number does the finance desk use?"
SEARCH = "finance desk e-mail address phone number expense claims account"
COMMENT = (
    "Zebulon Quartermaine here: the answer was fine, but please mail me at "
    "zq.canary.7731@example.org or call +31 6 1234 5678."
)
# Matched case-insensitively. Fragments too, so a partial redaction is caught as well.
CANARIES = (
    "zq.canary.7731@example.org",
    "canary",
    "+31 6 1234 5678",
    "1234 5678",
    "NL91ABNA0417164300",
    "0417164300",
    "Zebulon",
    "Quartermaine",
)
PLACEHOLDERS = ("<EMAIL_ADDRESS>", "<PHONE_NUMBER>", "<IBAN_CODE>")
_SOURCE = re.compile(r"^\[(\d+)\] ")


@pytest.fixture
def app_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    """What the app writes to stdout/stderr (``create_app`` points structlog and stdlib logging
    at the streams of the moment: capsys's). Afterwards logging is pointed back at pytest's
    session-long streams, so later log lines never hit capsys's closed buffers."""
    yield capsys
    with capsys.disabled():
        configure_logging()


async def _quoting_llm(body: dict[str, Any]) -> httpx.Response:
    """Quotes the first source line about the finance desk verbatim, so whatever the LLM was
    sent about it comes back in the answer (a leak into the prompt would show in the reply)."""
    prompt = body["messages"][-1]["content"]
    wanted = "finance desk at" if "e-mail" in prompt.split("Question:")[-1] else "finance desk"
    number = "1"
    answer = "i don't know"
    for line in prompt.splitlines():
        if found := _SOURCE.match(line):
            number = found.group(1)
        elif wanted in line:
            answer = f"{line.strip()} [{number}]"
            break
    if not body.get("stream"):
        usage = {"prompt_tokens": 40, "completion_tokens": 9}
        return httpx.Response(
            200, json={"choices": [{"message": {"content": answer}}], "usage": usage}
        )
    middle = len(answer) // 2
    return httpx.Response(200, content=stream_body(answer[:middle], answer[middle:]))


def _leaks(label: str, body: str) -> list[str]:
    lowered = body.lower()
    return [f"{label}: {c!r}" for c in CANARIES if c.lower() in lowered]


async def _all_rows(session: AsyncSession) -> dict[str, list[str]]:
    """Every row of every table in the schema, each as its JSON text (all columns)."""
    tables = (
        await session.execute(
            text(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
            )
        )
    ).scalars()
    rows: dict[str, list[str]] = {}
    for table in list(tables):
        result = await session.execute(
            text(f'SELECT CAST(row_to_json(t) AS text) FROM "{table}" t')
        )
        rows[str(table)] = [str(v) for v in result.scalars()]
    return rows


async def test_planted_personal_data_never_leaks_anywhere(
    settings: Settings,
    redis_url: str,
    engine: AsyncEngine,
    db_session: AsyncSession,
    presidio_models: Models,
    monkeypatch: pytest.MonkeyPatch,
    app_logs: pytest.CaptureFixture[str],
) -> None:
    redis = Redis.from_url(redis_url)
    await redis.flushdb()
    await redis.aclose()
    live = llm_settings(
        settings.model_copy(update={"redis_url": redis_url}), llm_context="pseudonymize"
    )
    assert live.pii.default_policy == "redact" and live.pii.questions == "redact"

    llm = RecordingLlm(_quoting_llm)

    def chat_deps_with_fake_llm(
        s: Settings, m: Models, *, session_factory: async_sessionmaker[AsyncSession] | None = None
    ) -> ChatDeps:
        return build_chat_deps(s, m, llm_transport=llm.transport, session_factory=session_factory)

    monkeypatch.setattr(app.main, "build_chat_deps", chat_deps_with_fake_llm)
    await activate_version(db_session, answerer="llm")
    admin = await make_user(db_session, "root", role="admin")
    reader = await make_user(db_session, "alex")
    bodies: list[tuple[str, str]] = []

    async def call(
        client: AsyncTestClient[Litestar], method: str, url: str, user: ApiUser, **kw: Any
    ) -> httpx.Response:
        headers = {**user.headers, **kw.pop("headers", {})}
        response = await client.request(method, url, headers=headers, **kw)
        assert response.status_code < 300, (url, response.status_code, response.text)
        bodies.append((f"{method} {url}", response.text))
        return response

    async with AsyncTestClient(app=make_app(live, presidio_models)) as client:
        source = await call(
            client,
            "POST",
            "/api/v1/sources",
            admin,
            json={"name": "finance", "groups": ["everyone"], "pii_policy": "redact"},
        )
        source_id = source.json()["id"]
        upload = await call(
            client,
            "POST",
            f"/api/v1/sources/{source_id}/documents",
            admin,
            files={"file": ("expenses.md", DOCUMENT)},
        )
        doc_id = str(upload.json()["id"])
        await run_worker_until_idle(live, engine, presidio_models)
        status = await call(client, "GET", f"/api/v1/documents/{doc_id}", admin)
        assert status.json()["status"] == "ready", status.text

        reply = await call(client, "POST", "/api/v1/chat", reader, json={"message": QUESTION})
        answer = reply.json()
        assert answer["citations"], answer
        assert answer["citations"][0]["document_id"] == doc_id
        assert "14 days" in answer["answer"]

        streamed = await call(
            client,
            "POST",
            "/api/v1/chat",
            reader,
            json={"message": STREAMED_QUESTION},
            headers={"Accept": "text/event-stream"},
        )
        assert streamed.headers["content-type"].startswith("text/event-stream")
        final = [
            json.loads(line.split(":", 1)[1])
            for line in streamed.text.splitlines()
            if line.startswith("data:") and '"conversation_id"' in line
        ]
        assert final and final[-1]["citations"][0]["document_id"] == doc_id, streamed.text
        assert "<EMAIL_ADDRESS>" in final[-1]["answer"], final[-1]

        found = await call(client, "POST", "/api/v1/search", reader, json={"query": SEARCH})
        snippets = [r["snippet"] for r in found.json()["results"] if r["document_id"] == doc_id]
        assert any("<EMAIL_ADDRESS>" in s for s in snippets), found.text

        for conversation_id in (answer["conversation_id"], final[-1]["conversation_id"]):
            history = await call(client, "GET", f"/api/v1/conversations/{conversation_id}", reader)
            assert [m["role"] for m in history.json()["messages"]] == ["user", "assistant"]
        content = await call(client, "GET", f"/api/v1/documents/{doc_id}/content", reader)
        assert content.json()["passages"], content.text
        await call(
            client,
            "POST",
            f"/api/v1/messages/{answer['message_id']}/feedback",
            reader,
            json={"rating": "down", "comment": COMMENT},
        )
        metrics = await client.get("/metrics")
        assert metrics.status_code == 200 and "# TYPE" in metrics.text
        bodies.append(("GET /metrics", metrics.text))

    logged = app_logs.readouterr()
    log_output = logged.out + logged.err
    rows = await _all_rows(db_session)

    # Positive controls: the journey really happened and really went through redaction.
    for event in ("web.started", "ingestion.ready", "chat.answered"):
        assert event in log_output, f"log capture misses {event}: {log_output[-2000:]}"
    chunks = " ".join(rows["chunks"])
    assert rows["chunks"] and "finance desk" in chunks
    for placeholder in PLACEHOLDERS:
        assert placeholder in chunks, placeholder
    assert len(llm.bodies) >= 2, llm.bodies  # both chats asked the (fake) external LLM
    outbound = "\n".join(llm.bodies)
    assert "<EMAIL_ADDRESS>" in outbound and "<PERSON_1>" in outbound, outbound
    comments = (await db_session.execute(text("SELECT comment FROM feedback"))).scalars().all()
    assert comments and "<PERSON>" in str(comments[0]), comments
    questions = (
        (await db_session.execute(text("SELECT content FROM messages WHERE role = 'user'")))
        .scalars()
        .all()
    )
    assert any("<PERSON>" in str(q) for q in questions), questions
    for table in ("messages", "citations", "feedback", "audit_events", "conversations"):
        assert rows[table], f"{table} is empty: the canary check would be vacuous"
    assert "handoffs" in rows

    leaks = [leak for label, body in bodies for leak in _leaks(label, body)]
    leaks += [leak for table, values in rows.items() for v in values for leak in _leaks(table, v)]
    leaks += _leaks("logs", log_output)
    leaks += [leak for body in llm.bodies for leak in _leaks("outbound LLM request", body)]
    assert not leaks, "\n".join(leaks)
