"""The access rule of a verified answer: who may retrieve an agent's saved reply.

A reply is built from what the asker was shown, so it may reach only people who could read
every one of those passages *and* who share a group with the asker. ``everyone`` on a
passage means "no restriction". The default rule is the widest one allowed; an agent may
name groups instead, but only within that ceiling. With no passages at all, the reply is
the agent's own knowledge and defaults to the asker's groups.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.accounts import ensure_groups_exist, load_principal
from app.db.models import EVERYONE
from app.errors import InvalidInput


@dataclass(frozen=True)
class AccessBounds:
    """What the rule is derived from.

    ``passages``: the access lists of the retrieved passages that still exist;
    ``missing``: how many retrieved passages are gone (deleted or re-ingested) since;
    ``asker``: the asker's readable groups now (``everyone`` included).
    """

    passages: tuple[frozenset[str], ...]
    missing: int
    asker: frozenset[str]

    @property
    def shared(self) -> frozenset[str] | None:
        """Groups that can read every passage; ``None`` when none is restricted."""
        common: frozenset[str] | None = None
        for access in self.passages:
            if EVERYONE in access:
                continue
            common = access if common is None else common & access
        return common

    def allows(self, group: str) -> bool:
        shared = self.shared
        if group not in self.asker:
            return False
        if shared is None:
            return True
        return group in shared


def normalise(groups: Sequence[str]) -> list[str]:
    """Sorted, unique; ``everyone`` alone when present (the other names add nothing)."""
    unique = set(groups)
    return [EVERYONE] if EVERYONE in unique else sorted(unique)


def default_access(bounds: AccessBounds) -> list[str]:
    """The widest rule ``bounds`` allow; ``InvalidInput`` (field ``groups``) if none is safe."""
    if bounds.missing:
        raise InvalidInput(
            "some passages this question retrieved have changed since; name the groups that "
            "may see the verified answer",
            field="groups",
        )
    if not bounds.passages:
        own = bounds.asker - {EVERYONE}
        return normalise(list(own) or [EVERYONE])
    shared = bounds.shared
    if shared is None:
        return [EVERYONE]
    allowed = shared & bounds.asker
    if not allowed:
        raise InvalidInput(
            "no group can read every passage this question retrieved; name the groups that "
            "may see the verified answer",
            field="groups",
        )
    return normalise(list(allowed))


def check_requested(bounds: AccessBounds, groups: Sequence[str]) -> list[str]:
    """``groups`` (already validated names) if each is within the ceiling, else ``InvalidInput``."""
    if not groups:
        raise InvalidInput("groups must name at least one group", field="groups")
    too_wide = [g for g in groups if not bounds.allows(g)]
    if too_wide:
        raise InvalidInput(
            f"groups {', '.join(sorted(too_wide))} would be wider than what the asker was shown; "
            "a verified answer may only reach people who could read every passage it came from "
            "and who share a group with the asker",
            field="groups",
        )
    return normalise(groups)


async def load_bounds(
    session: AsyncSession, *, message_id: uuid.UUID, asker_id: uuid.UUID
) -> AccessBounds:
    """Bounds from the handed-off answer's trace (the passages the asker was shown)."""
    trace: Any = (
        await session.execute(
            text("SELECT trace -> 'retrieval' -> 'chunks' FROM messages WHERE id = :id"),
            {"id": message_id},
        )
    ).scalar_one_or_none()
    chunk_ids = [uuid.UUID(str(c["chunk_id"])) for c in trace or [] if c.get("chunk_id")]
    rows = (
        await session.execute(
            text("SELECT access FROM chunks WHERE id = ANY(:ids)"), {"ids": chunk_ids}
        )
    ).scalars()
    passages = tuple(frozenset(access) for access in rows)
    asker = await load_principal(session, asker_id)
    readable = frozenset(asker.readable_groups if asker is not None else [EVERYONE])
    return AccessBounds(passages=passages, missing=len(chunk_ids) - len(passages), asker=readable)


async def resolve_access(
    session: AsyncSession, bounds: AccessBounds, requested: Sequence[str] | None
) -> list[str]:
    """The rule to store: the default, or the requested groups once validated and bounded."""
    if requested is None:
        return default_access(bounds)
    if not requested:
        raise InvalidInput("groups must name at least one group", field="groups")
    names = await ensure_groups_exist(session, requested)
    return check_requested(bounds, names)
