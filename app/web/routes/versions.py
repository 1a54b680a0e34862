"""Admin API and page for assistant versions: list, create from the active one, activate.

Activating an earlier version is the rollback: versions never change, only which one is active.
Every create and activate is an audit event.
"""

from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.params import FromPath, KwargDefinition
from litestar.response import Template
from sqlalchemy import text

from app.audit import record_event
from app.chat import versions
from app.web.dependencies import Caller, DbSession, admin_only, require_role
from app.web.fields import NOT_BLANK_PATTERN, json_body
from app.web.routes.evals import HEADLINE


class VersionRequest(msgspec.Struct, forbid_unknown_fields=True):
    description: Annotated[str, KwargDefinition(min_length=1, pattern=NOT_BLANK_PATTERN)]
    # Sections of settings replacing the active version's; each setting's type and range is
    # checked by ``app.chat.version_checks`` (and named in the 422), not shown here.
    changes: Annotated[
        dict[str, Any],
        KwargDefinition(
            schema_extra={
                "propertyNames": {"enum": list(versions.SECTIONS)},
                "additionalProperties": {"type": "object"},
            }
        ),
    ] = msgspec.field(default_factory=dict)
    activate: bool = False


def _view(v: versions.VersionSummary) -> dict[str, Any]:
    return {
        "number": v.number,
        "description": v.description,
        "active": v.is_active,
        "created_at": v.created_at.isoformat(),
        "config": v.config,
    }


@get("/api/v1/versions")
async def list_versions(db_session: DbSession, principal: Caller) -> dict[str, Any]:
    require_role(principal, "admin")
    return {"versions": [_view(v) for v in await versions.list_versions(db_session)]}


@post("/api/v1/versions", status_code=201)
async def create_version(
    data: Annotated[VersionRequest, json_body()], db_session: DbSession, principal: Caller
) -> dict[str, Any]:
    require_role(principal, "admin")
    number = await versions.create_from_active(
        db_session, data.changes, description=data.description, activate=data.activate
    )
    await record_event(
        db_session,
        actor_id=principal.user_id,
        action="version.create",
        object_type="assistant_version",
        object_id=str(number),
        details={"number": number, "sections": sorted(data.changes), "activate": data.activate},
    )
    return {"number": number, "active": data.activate}


@post("/api/v1/versions/{number:int}/activate", status_code=200)
async def activate_version(
    number: FromPath[int], db_session: DbSession, principal: Caller
) -> dict[str, Any]:
    require_role(principal, "admin")
    previous = (await versions.active_version(db_session)).number
    await versions.activate_version(db_session, number)
    await record_event(
        db_session,
        actor_id=principal.user_id,
        action="version.activate",
        object_type="assistant_version",
        object_id=str(number),
        details={"number": number, "previous": previous},
    )
    return {"active": number, "previous": previous}


@get("/admin/versions")
async def versions_page(
    request: Request[Any, Any, Any], db_session: DbSession, principal: Caller
) -> Template:
    admin_only(principal)
    latest = await db_session.execute(
        text(
            "SELECT DISTINCT ON (version, suite) version, suite, metrics FROM eval_runs "
            "WHERE version IS NOT NULL ORDER BY version, suite, created_at DESC"
        )
    )
    evals: dict[int, list[tuple[str, str, float]]] = {}
    for row in latest:
        evals.setdefault(row.version, []).extend(
            (row.suite, k, float(row.metrics[k])) for k in HEADLINE if k in row.metrics
        )
    return Template(
        template_name="admin_versions.html.jinja2",
        context={
            "user": principal,
            "versions": await versions.list_versions(db_session),
            "evals": evals,
            "csrf": request.session.get("csrf", ""),
        },
    )
