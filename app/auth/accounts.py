"""Users, groups, memberships and API keys as explicit SQL functions.

Names are validated here (the one place they enter), so every boundary (CLI, HTTP)
gets the same specific error for a bad name.
"""

import re
import uuid
from collections.abc import Sequence
from functools import lru_cache

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.credentials import hash_api_key, hash_password, new_api_key, verify_password
from app.auth.principal import ROLE_RANK, Principal
from app.db.models import EVERYONE
from app.errors import Conflict, InvalidInput, NotFound

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
MIN_PASSWORD_CHARS = 10


def validate_name(value: str, *, field: str) -> str:
    name = value.strip().lower()
    if not _NAME.match(name):
        raise InvalidInput(
            f"{field} must be 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter "
            "or digit",
            field=field,
        )
    return name


def validate_groups(values: Sequence[str], *, field: str = "groups") -> list[str]:
    return sorted({validate_name(v, field=field) for v in values})


async def create_group(session: AsyncSession, name: str) -> uuid.UUID:
    group = validate_name(name, field="name")
    if group == EVERYONE:
        raise InvalidInput(
            f"'{EVERYONE}' is built in: every signed-in user belongs to it", field="name"
        )
    try:
        async with session.begin_nested():
            row = await session.execute(
                text("INSERT INTO groups (id, name) VALUES (:id, :name) RETURNING id"),
                {"id": uuid.uuid4(), "name": group},
            )
    except IntegrityError:
        raise Conflict(f"group '{group}' already exists", field="name") from None
    return uuid.UUID(str(row.scalar_one()))


async def ensure_groups_exist(session: AsyncSession, names: Sequence[str]) -> list[str]:
    groups = validate_groups(names)
    wanted = [g for g in groups if g != EVERYONE]
    found = set(
        (await session.execute(text("SELECT name FROM groups WHERE name = ANY(:n)"), {"n": wanted}))
        .scalars()
        .all()
    )
    missing = [g for g in wanted if g not in found]
    if missing:
        raise InvalidInput(f"unknown group(s): {', '.join(missing)}", field="groups")
    return groups


async def create_user(
    session: AsyncSession,
    username: str,
    *,
    password: str,
    role: str = "user",
    groups: Sequence[str] = (),
) -> uuid.UUID:
    name = validate_name(username, field="username")
    if role not in ROLE_RANK:
        raise InvalidInput("role must be one of user, agent, admin", field="role")
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidInput(
            f"password must be at least {MIN_PASSWORD_CHARS} characters", field="password"
        )
    user_id = uuid.uuid4()
    try:
        async with session.begin_nested():
            await session.execute(
                text(
                    "INSERT INTO users (id, username, password_hash, role) "
                    "VALUES (:id, :name, :hash, :role)"
                ),
                {"id": user_id, "name": name, "hash": hash_password(password), "role": role},
            )
    except IntegrityError:
        raise Conflict(f"user '{name}' already exists", field="username") from None
    await set_user_groups(session, user_id, groups)
    return user_id


async def set_user_groups(
    session: AsyncSession, user_id: uuid.UUID, groups: Sequence[str]
) -> list[str]:
    """Replace a user's memberships. Takes effect on the user's next request."""
    wanted = [g for g in await ensure_groups_exist(session, groups) if g != EVERYONE]
    exists = await session.execute(text("SELECT 1 FROM users WHERE id = :id"), {"id": user_id})
    if exists.first() is None:
        raise NotFound("no such user")
    await session.execute(text("DELETE FROM memberships WHERE user_id = :id"), {"id": user_id})
    await session.execute(
        text(
            "INSERT INTO memberships (user_id, group_id) "
            "SELECT :id, g.id FROM groups g WHERE g.name = ANY(:names)"
        ),
        {"id": user_id, "names": wanted},
    )
    return wanted


async def load_principal(session: AsyncSession, user_id: uuid.UUID) -> Principal | None:
    """Fresh from the database on every request, so revocations apply immediately."""
    row = (
        await session.execute(
            text(
                """
                SELECT u.id, u.username, u.role,
                       COALESCE(array_agg(g.name ORDER BY g.name)
                                FILTER (WHERE g.name IS NOT NULL), '{}') AS groups
                FROM users u
                LEFT JOIN memberships m ON m.user_id = u.id
                LEFT JOIN groups g ON g.id = m.group_id
                WHERE u.id = :id AND u.is_active
                GROUP BY u.id
                """
            ),
            {"id": user_id},
        )
    ).first()
    if row is None:
        return None
    return Principal(user_id=row[0], username=row[1], role=row[2], groups=tuple(row[3]))


async def authenticate_password(
    session: AsyncSession, username: str, password: str
) -> Principal | None:
    row = (
        await session.execute(
            text("SELECT id, password_hash FROM users WHERE username = :name AND is_active"),
            {"name": username.strip().lower()},
        )
    ).first()
    if row is None:
        verify_password(_dummy_hash(), password)  # same work either way: no user-enumeration timing
        return None
    if not verify_password(row[1], password):
        return None
    return await load_principal(session, row[0])


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password("not-a-real-password-used-for-timing")


async def create_api_key(session: AsyncSession, username: str, *, name: str = "default") -> str:
    user_id = (
        await session.execute(
            text("SELECT id FROM users WHERE username = :u"), {"u": username.lower()}
        )
    ).scalar_one_or_none()
    if user_id is None:
        raise NotFound(f"no user named '{username}'")
    key = new_api_key()
    await session.execute(
        text(
            "INSERT INTO api_keys (id, user_id, name, prefix, key_hash) "
            "VALUES (:id, :user, :name, :prefix, :hash)"
        ),
        {
            "id": uuid.uuid4(),
            "user": user_id,
            "name": validate_name(name, field="name"),
            "prefix": key[:8],
            "hash": hash_api_key(key),
        },
    )
    return key


# ``api_keys.last_used_at`` is rewritten at most this often: touching it on every request made
# each read-only one (a search) write a row version and wait for its WAL flush at commit.
LAST_USED_RESOLUTION_SECONDS = 60

# The key's owner if the key is live; ``last_used_at`` moves only when it is older than the
# resolution (an UPDATE of no row writes nothing, so the transaction stays read-only).
_LIVE_KEY = text(
    """
    WITH live AS (
        SELECT id, user_id, last_used_at FROM api_keys
        WHERE key_hash = :hash AND revoked_at IS NULL
    ), touched AS (
        UPDATE api_keys SET last_used_at = now()
        WHERE id IN (
            SELECT id FROM live
            WHERE last_used_at IS NULL OR last_used_at < now() - make_interval(secs => :every)
        )
    )
    SELECT user_id FROM live
    """
)


async def authenticate_api_key(session: AsyncSession, key: str) -> Principal | None:
    """The principal of a live (not revoked) key, checked on every request."""
    params = {"hash": hash_api_key(key), "every": LAST_USED_RESOLUTION_SECONDS}
    row = (await session.execute(_LIVE_KEY, params)).first()
    return None if row is None else await load_principal(session, row[0])
