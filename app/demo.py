"""The demo: groups, users with random passwords, and the bundled knowledge base.

Runs once, on the first start of ``groundwork run`` against an empty database. Files are
registered like any upload and ingested by the real worker through the queue.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.accounts import create_group, create_user
from app.auth.credentials import new_password
from ingestion.sources import RegisteredDocument, create_source, register_document

KNOWLEDGE_BASE = Path(__file__).parent / "demo" / "knowledge_base"
DEMO_SOURCE = "Demo knowledge base"
DEMO_GROUPS = ("hr", "finance", "engineering")
# (user name, role, groups): one reader per restricted group, one without any, an agent, an admin.
DEMO_USERS = (
    ("alex", "user", ()),
    ("hana", "user", ("hr",)),
    ("felix", "user", ("finance",)),
    ("erin", "user", ("engineering",)),
    ("agent", "agent", ()),
    ("admin", "admin", ("hr", "finance", "engineering")),
)


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    role: str
    groups: tuple[str, ...]


async def is_empty(session: AsyncSession) -> bool:
    return bool(
        (await session.execute(text("SELECT NOT EXISTS (SELECT 1 FROM users)"))).scalar_one()
    )


async def create_demo_identities(session: AsyncSession) -> list[DemoUser]:
    for group in DEMO_GROUPS:
        await create_group(session, group)
    users = []
    for username, role, groups in DEMO_USERS:
        password = new_password()
        await create_user(session, username, password=password, role=role, groups=groups)
        users.append(DemoUser(username, password, role, groups))
    return users


def manifest() -> list[dict[str, object]]:
    data = json.loads((KNOWLEDGE_BASE / "manifest.json").read_text(encoding="utf-8"))
    documents: list[dict[str, object]] = data["documents"]
    return documents


async def register_demo_documents(
    session: AsyncSession, *, uploads_dir: Path, max_bytes: int
) -> list[RegisteredDocument]:
    """Register every manifest file in one source; restricted files carry their own ACL."""
    source_id = await create_source(
        session, name=DEMO_SOURCE, groups=["everyone"], pii_policy="redact"
    )
    registered = []
    for entry in manifest():
        path = KNOWLEDGE_BASE / str(entry["file"])
        groups = [str(g) for g in entry["groups"]]  # type: ignore[attr-defined]
        registered.append(
            await register_document(
                session,
                source_id=source_id,
                filename=path.name,
                data=path.read_bytes(),
                uploads_dir=uploads_dir,
                max_bytes=max_bytes,
                acl_override=None if groups == ["everyone"] else groups,
            )
        )
    return registered
