"""The review queue that turns production signals into golden cases.

``collect`` copies every thumbs-down answer and every resolved hand-off (status
``answered`` or ``closed``) into ``eval_candidates`` once (unique per feedback / hand-off),
with the question as stored (already PII-redacted), the earlier questions of the
conversation, the asker's groups, and the answer or the agent's reply. An admin then
accepts a candidate, supplying what a correct answer must contain, into a golden file.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import InvalidInput, NotFound
from evals.golden import GoldenCase, append_case, parse_case

_GROUPS = (
    "ARRAY(SELECT g.name FROM memberships ms JOIN groups g ON g.id = ms.group_id "
    "WHERE ms.user_id = c.user_id ORDER BY g.name)"
)
# A turn's user and assistant messages share one transaction timestamp; earlier turns are older.
_HISTORY = (
    "ARRAY(SELECT u.content FROM messages u WHERE u.conversation_id = m.conversation_id "
    "AND u.role = 'user' AND u.created_at < m.created_at ORDER BY u.created_at)"
)
_QUESTION = (
    "(SELECT u.content FROM messages u WHERE u.conversation_id = m.conversation_id "
    "AND u.role = 'user' AND u.created_at <= m.created_at ORDER BY u.created_at DESC LIMIT 1)"
)
_FROM_FEEDBACK = f"""
INSERT INTO eval_candidates (id, kind, feedback_id, question, answer, history, groups, note, status)
SELECT gen_random_uuid(), 'feedback', f.id, {_QUESTION}, m.content, {_HISTORY}, {_GROUPS},
       concat_ws(': ', f.reason, f.comment), 'pending'
FROM feedback f JOIN messages m ON m.id = f.message_id JOIN conversations c ON c.id = m.conversation_id
WHERE f.rating = 'down' AND {_QUESTION} IS NOT NULL
ON CONFLICT (feedback_id) DO NOTHING
"""
_FROM_HANDOFFS = f"""
INSERT INTO eval_candidates (id, kind, handoff_id, question, answer, history, groups, note, status)
SELECT gen_random_uuid(), 'handoff', h.id, h.question,
       coalesce((SELECT a.content FROM messages a WHERE a.conversation_id = h.conversation_id
                 AND a.role = 'agent' AND a.created_at >= m.created_at
                 ORDER BY a.created_at LIMIT 1), ''),
       {_HISTORY}, {_GROUPS}, 'hand-off: ' || h.reason, 'pending'
FROM handoffs h JOIN messages m ON m.id = h.message_id JOIN conversations c ON c.id = h.conversation_id
WHERE h.status IN ('answered', 'closed')
ON CONFLICT (handoff_id) DO NOTHING
"""


@dataclass(frozen=True)
class Candidate:
    id: uuid.UUID
    kind: str
    question: str
    answer: str
    history: list[str]
    groups: list[str]
    note: str
    status: str
    case_id: str | None
    created_at: datetime


async def collect(session: AsyncSession) -> int:
    """Queue new thumbs-down answers and resolved hand-offs; returns how many were added."""
    added = 0
    for statement in (_FROM_FEEDBACK, _FROM_HANDOFFS):
        result: Any = await session.execute(text(statement))
        added += int(result.rowcount or 0)
    return added


async def list_candidates(session: AsyncSession, status: str | None = "pending") -> list[Candidate]:
    rows = await session.execute(
        text(
            "SELECT id, kind, question, answer, history, groups, note, status, case_id, created_at "
            "FROM eval_candidates WHERE CAST(:status AS text) IS NULL OR status = :status "
            "ORDER BY created_at, id"
        ),
        {"status": status},
    )
    return [Candidate(**dict(row._mapping)) for row in rows]


async def find(session: AsyncSession, ref: str) -> Candidate:
    """A candidate by its id or a unique prefix of it (as ``eval candidates`` prints)."""
    matches = [c for c in await list_candidates(session, None) if str(c.id).startswith(ref.lower())]
    if not matches:
        raise NotFound(f"no eval candidate {ref!r}")
    if len(matches) > 1:
        raise InvalidInput(f"{ref!r} matches {len(matches)} candidates; give more characters")
    return matches[0]


@dataclass(frozen=True)
class Expectation:
    """What the admin says a correct answer looks like."""

    expected_facts: tuple[str, ...] = ()
    expected_sources: tuple[str, ...] = ()
    expected_pages: tuple[str, ...] = ()
    forbidden_facts: tuple[str, ...] = ()
    must_handoff: bool = False


def to_case(candidate: Candidate, expectation: Expectation) -> GoldenCase:
    """The golden case for ``candidate``; validated like any hand-written line."""
    if not expectation.must_handoff and not expectation.expected_sources:
        raise InvalidInput(
            "an answerable case needs --expected-sources (or mark it --must-handoff)",
            field="expected_sources",
        )
    data = {
        "id": f"acc-{candidate.id.hex[:8]}",
        "question": candidate.question,
        "groups": [g for g in candidate.groups if g != "everyone"],
        "history": list(candidate.history),
        "expected_sources": list(expectation.expected_sources),
        "expected_pages": list(expectation.expected_pages),
        "expected_facts": list(expectation.expected_facts),
        "forbidden_facts": list(expectation.forbidden_facts),
        "must_handoff": expectation.must_handoff,
        "must_refuse": False,
        "tags": ["accepted", candidate.kind],
    }
    try:
        return parse_case(data, where=f"candidate {candidate.id}")
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


async def accept(
    session: AsyncSession, ref: str, expectation: Expectation, *, golden_file: Path
) -> GoldenCase:
    """Append the candidate's case to ``golden_file`` and mark it accepted (in one transaction)."""
    candidate = await find(session, ref)
    if candidate.status != "pending":
        raise InvalidInput(f"candidate {candidate.id} is already {candidate.status}")
    case = to_case(candidate, expectation)
    await _review(session, candidate.id, "accepted", case.id)
    append_case(golden_file, case)  # last: a failed write rolls the status back
    return case


async def reject(session: AsyncSession, ref: str) -> Candidate:
    candidate = await find(session, ref)
    await _review(session, candidate.id, "rejected", None)
    return candidate


async def _review(
    session: AsyncSession, candidate_id: uuid.UUID, status: str, case_id: str | None
) -> None:
    await session.execute(
        text(
            "UPDATE eval_candidates SET status = :status, case_id = :case, reviewed_at = now() "
            "WHERE id = :id"
        ),
        {"status": status, "case": case_id, "id": candidate_id},
    )
