"""Feedback on answers: thumbs up/down with an optional reason and (redacted) comment."""

import uuid
from collections.abc import Callable
from typing import Literal, get_args

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import record_event
from app.auth.principal import Principal
from app.errors import InvalidInput, NotFound
from guardrails.validation import validate_text_field

FeedbackRating = Literal["up", "down"]
FeedbackReason = Literal[
    "wrong", "incomplete", "not_relevant", "outdated", "unclear", "other", "helpful"
]
REASONS = frozenset(get_args(FeedbackReason))
MAX_COMMENT_CHARS = 2000


async def record_feedback(
    session: AsyncSession,
    principal: Principal,
    *,
    message_id: uuid.UUID,
    rating: str,
    reason: str | None,
    comment: str | None,
    redact: Callable[[str], str],
) -> uuid.UUID:
    """Store feedback on an assistant message in one of the caller's own conversations."""
    if rating not in get_args(FeedbackRating):
        raise InvalidInput("rating must be 'up' or 'down'", field="rating")
    if reason is not None and reason not in REASONS:
        raise InvalidInput(f"reason must be one of {', '.join(sorted(REASONS))}", field="reason")
    # Trimmed, NFC, no control characters (PostgreSQL cannot store NUL: it was a 500), not
    # binary, at most MAX_COMMENT_CHARS: the rules of every stored free text.
    comment = validate_text_field(comment, max_chars=MAX_COMMENT_CHARS) or None
    owner = (
        await session.execute(
            text(
                "SELECT c.user_id FROM messages m JOIN conversations c ON c.id = m.conversation_id "
                "WHERE m.id = :id AND m.role = 'assistant'"
            ),
            {"id": message_id},
        )
    ).scalar_one_or_none()
    if owner != principal.user_id:
        raise NotFound("message not found")
    feedback_id = uuid.uuid4()
    await session.execute(
        text(
            "INSERT INTO feedback (id, message_id, user_id, rating, reason, comment) "
            "VALUES (:id, :msg, :user, :rating, :reason, :comment)"
        ),
        {
            "id": feedback_id,
            "msg": message_id,
            "user": principal.user_id,
            "rating": rating,
            "reason": reason,
            "comment": redact(comment) if comment else None,
        },
    )
    await record_event(
        session,
        actor_id=principal.user_id,
        action="feedback.create",
        object_type="message",
        object_id=message_id,
        details={"rating": rating, "reason": reason},
    )
    return feedback_id
