"""The caller of a request: who they are, their role and the groups they can read."""

import uuid
from dataclasses import dataclass

from app.db.models import EVERYONE, ROLES

ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}  # user 0, agent 1, admin 2


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID
    username: str
    role: str
    groups: tuple[str, ...]

    @property
    def readable_groups(self) -> list[str]:
        """Access tokens this caller holds; ``everyone`` is implicit for every signed-in user."""
        return sorted({EVERYONE, *self.groups})

    def has_role(self, role: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]
