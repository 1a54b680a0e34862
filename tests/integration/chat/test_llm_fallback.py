"""A slow or garbage LLM behind ``answer_question``: the composer answers, the persisted trace
says why, and what was streamed is the final answer."""

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.chat.service import answer_question
from app.resources import build_chat_deps
from app.settings import Settings
from tests.builders import light_models
from tests.integration.chat.conftest import (
    RecordingLlm,
    Reply,
    activate_version,
    ingest,
    llm_settings,
    make_principal,
    persisted_trace,
    stream_body,
)

pytestmark = pytest.mark.integration

HANDBOOK = """# Annual leave

Every employee receives 27 days of paid annual leave per calendar year.
Unused leave of up to five days may be carried over to the next calendar year.
"""
QUESTION = "How many days of paid annual leave does every employee receive per calendar year?"


async def _slow(body: dict[str, Any]) -> httpx.Response:
    await asyncio.sleep(3)
    return httpx.Response(200, content=stream_body("Too late. [1]"))


async def _garbage(body: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, content=b"data: {this is not json\n\n")


async def _overloaded(body: dict[str, Any]) -> httpx.Response:
    return httpx.Response(503, text="overloaded")


@pytest.mark.parametrize(
    ("reply", "reason"),
    [(_slow, "llm_timeout"), (_garbage, "llm_garbage"), (_overloaded, "llm_http_503")],
)
async def test_a_failing_llm_falls_back_to_the_composer_and_the_trace_says_why(
    settings: Settings, engine: AsyncEngine, db_session: AsyncSession, reply: Reply, reason: str
) -> None:
    models = light_models()
    await ingest(settings, engine, models, db_session, {"leave.md": HANDBOOK})
    await activate_version(db_session)
    principal = await make_principal(db_session)
    llm = RecordingLlm(reply)
    deps = build_chat_deps(
        llm_settings(settings, timeout_seconds=0.5), models, llm_transport=llm.transport
    )
    assert deps.llm is not None
    tokens: list[str] = []

    async def sink(token: str) -> None:
        tokens.append(token)

    answer = await answer_question(db_session, deps, principal, message=QUESTION, on_token=sink)
    await db_session.commit()
    await deps.llm.aclose()

    assert len(llm.bodies) == 1  # the LLM was asked (and failed), not skipped
    assert answer.answer.startswith("Every employee receives 27 days of paid annual leave")
    assert answer.handoff is None and answer.citations
    assert "".join(tokens) == answer.answer == answer.streamed
    trace = await persisted_trace(db_session, answer.message_id)
    assert trace["answerer"] == "composer"
    assert trace["fallback"] == reason
    assert trace["llm"]["fallback_reason"] == reason
    assert trace["tokens"] == {"prompt": 0, "completion": 0}
    assert trace["outcome"] == "answered"
