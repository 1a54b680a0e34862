"""Canary test for the LLM round trip: planted personal data from the question and from a
redact-policy document never reaches the (faked) external LLM, and the user still sees the
values they gave. Real Presidio (slow); the endpoint is an ``httpx.MockTransport``."""

import json
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.chat.service import answer_question
from app.resources import Models, build_chat_deps
from app.settings import Settings
from tests.integration.chat.conftest import (
    RecordingLlm,
    activate_version,
    ingest,
    llm_settings,
    make_principal,
    persisted_trace,
    stream_body,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HANDBOOK = """# Annual leave

Every employee receives 27 days of paid annual leave per calendar year.
Unused leave of up to five days may be carried over to the next calendar year.

Questions about leave go to the payroll desk at payroll.canary7731@example.com or +31 6 4821 9377.
Holiday pay is transferred from the account NL91ABNA0417164300.
"""
DOC_CANARIES = ("payroll.canary7731@example.com", "canary7731", "4821 9377", "NL91ABNA0417164300")
QUESTION = (
    "I am Zebulon Quartermaine, mail zq.canary5519@example.com. "
    "How many days of paid annual leave does every employee receive per calendar year?"
)
FOLLOW_UP = "And can Zebulon Quartermaine carry unused leave over to the next year?"
QUESTION_CANARIES = ("Zebulon", "Quartermaine", "zq.canary5519@example.com", "canary5519")
_PERSON = re.compile(r"<PERSON_\d+>")


def _completion(content: str) -> httpx.Response:
    usage = {"prompt_tokens": 40, "completion_tokens": 9}
    return httpx.Response(
        200, json={"choices": [{"message": {"content": content}}], "usage": usage}
    )


async def _obliging_llm(body: dict[str, Any]) -> httpx.Response:
    """Answers from its prompt, addressing the user by the placeholder it was given."""
    prompt = body["messages"][-1]["content"]
    person = (_PERSON.findall(prompt) or ["the user"])[-1]
    if "Rewrite the last user question" in prompt:
        return _completion(f"Can {person} carry unused annual leave over to the next year?")
    if "carry" in prompt.split("Question:")[-1]:
        answer = f"{person} may carry up to five days of unused leave over to the next calendar year. [1]"
    else:
        answer = (
            f"{person}, every employee receives 27 days of paid annual leave per calendar year. [1]"
        )
    middle = len(answer) // 2
    return httpx.Response(200, content=stream_body(answer[:middle], answer[middle:]))


async def test_planted_personal_data_never_reaches_the_llm_and_the_user_sees_their_own_values(
    settings: Settings, engine: AsyncEngine, db_session: AsyncSession, presidio_models: Models
) -> None:
    await ingest(settings, engine, presidio_models, db_session, {"leave.md": HANDBOOK})
    await activate_version(db_session)
    principal = await make_principal(db_session)
    llm = RecordingLlm(_obliging_llm)
    deps = build_chat_deps(
        llm_settings(settings, llm_context="pseudonymize"),
        presidio_models,
        llm_transport=llm.transport,
    )
    assert deps.llm is not None

    tokens: list[str] = []

    async def sink(token: str) -> None:
        tokens.append(token)

    first = await answer_question(db_session, deps, principal, message=QUESTION, on_token=sink)
    streamed_first = "".join(tokens)
    tokens.clear()
    second = await answer_question(
        db_session,
        deps,
        principal,
        message=FOLLOW_UP,
        conversation_id=first.conversation_id,
        on_token=sink,
    )
    await db_session.commit()
    await deps.llm.aclose()

    # Every outbound request: the answer of turn one, condensation and answer of turn two.
    assert len(llm.bodies) == 3
    outbound = "\n".join(llm.bodies)
    for canary in (*DOC_CANARIES, *QUESTION_CANARIES):
        assert canary.lower() not in outbound.lower(), canary
    assert "<PERSON_1>" in outbound  # pseudonymised, not dropped: the LLM can still refer to it
    assert "27 days of paid annual leave" in outbound  # the passage itself did go out

    # The user sees the values they gave (restored), and exactly what was streamed.
    assert first.trace["answerer"] == "llm", first.trace.get("fallback")
    assert first.answer.startswith("Zebulon Quartermaine, every employee receives 27 days")
    assert streamed_first == first.answer
    assert second.trace["answerer"] == "llm" and second.trace["query_rewritten"] == "llm"
    assert "Zebulon Quartermaine may carry up to five days" in second.answer
    assert "".join(tokens) == second.answer

    trace = await persisted_trace(db_session, first.message_id)
    assert trace["answerer"] == "llm" and "fallback" not in trace
    assert trace["llm"]["fallback_reason"] is None and trace["llm"]["model"] == "fake-model"
    assert trace["tokens"] == {"prompt": 321, "completion": 17}

    # Stored questions, titles, hand-offs and audit follow the question policy (redact) ...
    stored_questions = []
    for sql in (
        "SELECT content FROM messages WHERE role = 'user'",
        "SELECT title FROM conversations",
        "SELECT question FROM handoffs",
        "SELECT CAST(details AS text) FROM audit_events",
    ):
        stored_questions += [str(v) for v in (await db_session.execute(text(sql))).scalars()]
    assert stored_questions and "<PERSON>" in stored_questions[0]
    for canary in QUESTION_CANARIES:
        assert all(canary not in s for s in stored_questions), canary
    # ... and the document's data never appears anywhere (chunks, answers, traces).
    everything = [
        str(v)
        for sql in (
            "SELECT text FROM chunks",
            "SELECT content FROM messages",
            "SELECT CAST(trace AS text) FROM messages",
            "SELECT CAST(details AS text) FROM audit_events",
        )
        for v in (await db_session.execute(text(sql))).scalars()
    ]
    for canary in DOC_CANARIES:
        assert all(canary not in s for s in everything), canary
    assert json.dumps(first.trace).count("canary") == 0
