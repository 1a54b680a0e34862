"""A feedback comment is checked like every other free text before it is stored."""

from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.settings import Settings
from tests.builders import make_app, make_user

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("comment", "detail"),
    [
        ("fine\x00print", "comment contains a NUL character at position 4"),
        ("ring the bell\x07 twice", "comment contains control character U+0007 at position 13"),
        ("\ufffd" * 40, "comment looks like binary data, not text"),
    ],
)
async def test_a_comment_postgres_cannot_store_or_no_one_can_read_is_refused(
    settings: Settings, db_session: AsyncSession, comment: str, detail: str
) -> None:
    user = await make_user(db_session, "ada")
    async with AsyncTestClient(app=make_app(settings)) as client:
        chat = await client.post(
            "/api/v1/chat", json={"message": "How many days of leave?"}, headers=user.headers
        )
        assert chat.status_code == 200, chat.text
        message_id = chat.json()["message_id"]
        body: dict[str, Any] = {"rating": "down", "comment": comment}
        refused = await client.post(
            f"/api/v1/messages/{message_id}/feedback", json=body, headers=user.headers
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == "comment" and refused.json()["detail"] == detail
        body["comment"] = "  Wrong figure.  "
        stored = await client.post(
            f"/api/v1/messages/{message_id}/feedback", json=body, headers=user.headers
        )
        assert stored.status_code == 201, stored.text
    comments = (await db_session.execute(text("SELECT comment FROM feedback"))).scalars().all()
    assert comments == ["Wrong figure."]  # trimmed, as questions are; the refused one is not there
