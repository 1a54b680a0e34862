"""The feedback loop: thumbs-down answers and resolved hand-offs become reviewable cases."""

import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.accounts import create_group, create_user
from app.errors import InvalidInput
from evals.candidates import Expectation, accept, collect, list_candidates, reject
from evals.golden import load_golden

pytestmark = pytest.mark.integration


async def _turn(session: AsyncSession, conv: uuid.UUID, question: str, answer: str) -> uuid.UUID:
    """One committed turn (its own transaction, like a request)."""
    message = uuid.uuid4()
    await session.execute(
        text(
            "INSERT INTO messages (id, conversation_id, role, content, trace) VALUES "
            "(:u, :c, 'user', :q, '{}'), (:a, :c, 'assistant', :ans, '{}')"
        ),
        {"u": uuid.uuid4(), "a": message, "c": conv, "q": question, "ans": answer},
    )
    await session.commit()
    return message


async def _conversation(session: AsyncSession, user: uuid.UUID) -> uuid.UUID:
    conv = uuid.uuid4()
    await session.execute(
        text("INSERT INTO conversations (id, user_id, title) VALUES (:id, :u, 't')"),
        {"id": conv, "u": user},
    )
    return conv


async def test_thumbs_down_and_answered_handoffs_are_queued_once(db_session: AsyncSession) -> None:
    await create_group(db_session, "hr")
    user = await create_user(db_session, "hana", password="correct horse battery", groups=["hr"])
    conv = await _conversation(db_session, user)
    await _turn(db_session, conv, "How many leave days?", "27 days [1]")
    bad = await _turn(db_session, conv, "And for part-timers?", "Pro rata [1]")
    await db_session.execute(
        text(
            "INSERT INTO feedback (id, message_id, user_id, rating, reason, comment) VALUES "
            "(:id, :m, :u, 'down', 'wrong', 'it is 20'), (:id2, :m, :u, 'up', NULL, NULL)"
        ),
        {"id": uuid.uuid4(), "id2": uuid.uuid4(), "m": bad, "u": user},
    )
    other = await _conversation(db_session, user)
    idk = await _turn(db_session, other, "Can I bring my dog?", "I don't know yet")
    open_idk = await _turn(db_session, other, "And my cat?", "I don't know yet")
    for message, status in ((idk, "answered"), (open_idk, "open")):
        await db_session.execute(
            text(
                "INSERT INTO handoffs (id, conversation_id, message_id, question, reason, status) "
                "VALUES (:id, :c, :m, 'q', 'low_confidence', :s)"
            ),
            {"id": uuid.uuid4(), "c": other, "m": message, "s": status},
        )
    await db_session.commit()
    await db_session.execute(
        text(
            "INSERT INTO messages (id, conversation_id, role, content, trace) "
            "VALUES (:id, :c, 'agent', 'Dogs are welcome on Fridays.', '{}')"
        ),
        {"id": uuid.uuid4(), "c": other},
    )

    assert await collect(db_session) == 2
    assert await collect(db_session) == 0  # idempotent
    queued = {c.kind: c for c in await list_candidates(db_session)}
    feedback = queued["feedback"]
    assert feedback.question == "And for part-timers?"
    assert feedback.history == ["How many leave days?"]
    assert feedback.groups == ["hr"]
    assert feedback.note == "wrong: it is 20"
    assert queued["handoff"].answer == "Dogs are welcome on Fridays."
    assert queued["handoff"].history == []  # the hand-off was on the first turn


async def test_accept_writes_a_valid_golden_case_and_reject_drops(
    db_session: AsyncSession, tmp_path: Path
) -> None:
    user = await create_user(db_session, "alex", password="correct horse battery")
    conv = await _conversation(db_session, user)
    for question in ("first?", "second?"):
        message = await _turn(db_session, conv, question, "an answer")
        await db_session.execute(
            text(
                "INSERT INTO feedback (id, message_id, user_id, rating) VALUES (:id, :m, :u, 'down')"
            ),
            {"id": uuid.uuid4(), "m": message, "u": user},
        )
    await collect(db_session)
    first, second = await list_candidates(db_session)
    golden = tmp_path / "accepted.jsonl"

    with pytest.raises(InvalidInput, match="expected-sources"):
        await accept(db_session, str(first.id)[:8], Expectation(), golden_file=golden)
    case = await accept(
        db_session,
        str(first.id)[:8],
        Expectation(expected_facts=("27 days",), expected_sources=("handbook.pdf",)),
        golden_file=golden,
    )
    assert load_golden(golden) == [case]
    assert json.loads(golden.read_text())["tags"] == ["accepted", "feedback"]
    with pytest.raises(InvalidInput, match="already accepted"):
        await accept(db_session, str(first.id), Expectation(must_handoff=True), golden_file=golden)
    await reject(db_session, str(second.id))
    assert await list_candidates(db_session) == []
    assert {c.status for c in await list_candidates(db_session, None)} == {"accepted", "rejected"}
