"""Admin API for identity: groups, users and memberships."""

import uuid
from typing import Annotated, Any

import msgspec
from litestar import post, put
from litestar.params import FromPath

from app.audit import record_event
from app.auth import accounts
from app.db.models import Role
from app.web.dependencies import Caller, DbSession, require_role
from app.web.fields import Name, NewGroupName, json_body


class GroupRequest(msgspec.Struct, forbid_unknown_fields=True):
    name: NewGroupName


class UserRequest(msgspec.Struct, forbid_unknown_fields=True):
    username: Name
    password: Annotated[str, msgspec.Meta(min_length=accounts.MIN_PASSWORD_CHARS)]
    role: Role = "user"
    groups: list[Name] = msgspec.field(default_factory=list)


class MembershipRequest(msgspec.Struct, forbid_unknown_fields=True):
    groups: list[Name]


@post("/api/v1/groups", status_code=201)
async def create_group(
    data: Annotated[GroupRequest, json_body()], db_session: DbSession, principal: Caller
) -> dict[str, Any]:
    require_role(principal, "admin")
    group_id = await accounts.create_group(db_session, data.name)
    await record_event(
        db_session,
        actor_id=principal.user_id,
        action="group.create",
        object_type="group",
        object_id=group_id,
        details={"name": data.name},
    )
    return {"id": str(group_id), "name": data.name.strip().lower()}


@post("/api/v1/users", status_code=201)
async def create_user(
    data: Annotated[UserRequest, json_body()], db_session: DbSession, principal: Caller
) -> dict[str, Any]:
    require_role(principal, "admin")
    user_id = await accounts.create_user(
        db_session, data.username, password=data.password, role=data.role, groups=data.groups
    )
    await record_event(
        db_session,
        actor_id=principal.user_id,
        action="user.create",
        object_type="user",
        object_id=user_id,
        details={"role": data.role, "groups": data.groups},
    )
    return {"id": str(user_id), "username": data.username.strip().lower(), "role": data.role}


@put("/api/v1/users/{user_id:uuid}/groups")
async def set_groups(
    user_id: FromPath[uuid.UUID],
    data: Annotated[MembershipRequest, json_body()],
    db_session: DbSession,
    principal: Caller,
) -> dict[str, Any]:
    require_role(principal, "admin")
    groups = await accounts.set_user_groups(db_session, user_id, data.groups)
    await record_event(
        db_session,
        actor_id=principal.user_id,
        action="user.groups",
        object_type="user",
        object_id=user_id,
        details={"groups": groups},
    )
    return {"id": str(user_id), "groups": groups}
