"""Users, groups and API keys on a real database: hashing, uniqueness, revocation."""

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import accounts
from app.auth.credentials import hash_api_key
from app.errors import Conflict, InvalidInput, NotFound

pytestmark = pytest.mark.integration


async def test_password_is_stored_as_argon2_and_verifies(db_session: AsyncSession) -> None:
    await accounts.create_user(db_session, "Alice", password="a long passphrase")
    stored = (await db_session.execute(text("SELECT password_hash FROM users"))).scalar_one()
    assert stored.startswith("$argon2id$") and "passphrase" not in stored
    assert await accounts.authenticate_password(db_session, "alice", "a long passphrase")
    assert await accounts.authenticate_password(db_session, "alice", "wrong passphrase!") is None
    assert await accounts.authenticate_password(db_session, "nobody", "a long passphrase") is None


async def test_api_key_is_stored_hashed_and_authenticates(db_session: AsyncSession) -> None:
    await accounts.create_group(db_session, "hr")
    await accounts.create_user(db_session, "hana", password="a long passphrase", groups=["hr"])
    key = await accounts.create_api_key(db_session, "hana")
    stored = (await db_session.execute(text("SELECT key_hash FROM api_keys"))).scalar_one()
    assert stored == hash_api_key(key) and key not in stored
    principal = await accounts.authenticate_api_key(db_session, key)
    assert principal is not None and principal.groups == ("hr",)
    assert principal.readable_groups == ["everyone", "hr"]
    assert await accounts.authenticate_api_key(db_session, key + "x") is None


async def _last_used(session: AsyncSession) -> Any:
    return (await session.execute(text("SELECT last_used_at FROM api_keys"))).scalar_one()


async def _wrote_anything(session: AsyncSession) -> bool:
    """Whether this transaction has written (PostgreSQL assigns an id at the first write)."""
    xid = (await session.execute(text("SELECT txid_current_if_assigned()"))).scalar_one()
    return xid is not None


async def test_a_key_in_use_is_touched_at_most_once_a_minute(db_session: AsyncSession) -> None:
    await accounts.create_user(db_session, "hana", password="a long passphrase")
    key = await accounts.create_api_key(db_session, "hana")
    await db_session.commit()
    assert await _last_used(db_session) is None
    assert await accounts.authenticate_api_key(db_session, key) is not None
    first = await _last_used(db_session)
    assert first is not None and await _wrote_anything(db_session)
    await db_session.commit()

    # Used again within the minute: authenticated, nothing written (a read-only request stays so).
    assert await accounts.authenticate_api_key(db_session, key) is not None
    assert not await _wrote_anything(db_session)
    assert await _last_used(db_session) == first
    await db_session.commit()

    # Last used longer ago than the resolution: touched again.
    await db_session.execute(
        text("UPDATE api_keys SET last_used_at = last_used_at - make_interval(secs => :s)"),
        {"s": accounts.LAST_USED_RESOLUTION_SECONDS + 1},
    )
    await db_session.commit()
    assert await accounts.authenticate_api_key(db_session, key) is not None
    assert await _last_used(db_session) > first
    await db_session.commit()

    # Revoked: refused on the very next request, whenever it was last used.
    await db_session.execute(text("UPDATE api_keys SET revoked_at = now()"))
    await db_session.commit()
    assert await accounts.authenticate_api_key(db_session, key) is None


async def test_membership_change_applies_to_the_next_lookup(db_session: AsyncSession) -> None:
    await accounts.create_group(db_session, "hr")
    user_id = await accounts.create_user(
        db_session, "hana", password="a long passphrase", groups=["hr"]
    )
    await accounts.set_user_groups(db_session, user_id, [])
    principal = await accounts.load_principal(db_session, user_id)
    assert principal is not None and principal.groups == ()


async def test_duplicate_names_conflict(db_session: AsyncSession) -> None:
    await accounts.create_group(db_session, "hr")
    with pytest.raises(Conflict, match="already exists"):
        await accounts.create_group(db_session, "HR")
    await accounts.create_user(db_session, "bob", password="a long passphrase")
    with pytest.raises(Conflict):
        await accounts.create_user(db_session, "bob", password="another passphrase")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"username": "no spaces", "password": "a long passphrase"}, "username"),
        ({"username": "ok", "password": "short"}, "password"),
        ({"username": "ok", "password": "a long passphrase", "role": "root"}, "role"),
        ({"username": "ok", "password": "a long passphrase", "groups": ["missing"]}, "groups"),
    ],
)
async def test_bad_user_input_names_the_field(
    db_session: AsyncSession, kwargs: dict[str, Any], field: str
) -> None:
    username = kwargs.pop("username")
    with pytest.raises(InvalidInput) as info:
        await accounts.create_user(db_session, str(username), **kwargs)
    assert info.value.field == field


async def test_everyone_is_built_in(db_session: AsyncSession) -> None:
    with pytest.raises(InvalidInput, match="built in"):
        await accounts.create_group(db_session, "everyone")


async def test_key_for_unknown_user_is_not_found(db_session: AsyncSession) -> None:
    with pytest.raises(NotFound):
        await accounts.create_api_key(db_session, "ghost")
