"""Server-rendered pages: the chat, a cited passage in its document, and the admin console.

Templates receive plain view values (never ORM rows); the chat page streams answers
from the JSON/SSE API with a small script and works as plain HTML forms otherwise.
"""

import uuid
from typing import Any

from litestar import Request, get
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from app.auth.accounts import load_principal
from app.auth.principal import Principal
from app.errors import NotFound
from app.web.dependencies import DbSession
from ingestion.documents import document_passages, list_documents


async def _signed_in(request: Request[Any, Any, Any], db_session: DbSession) -> Principal | None:
    user_id = request.session.get("user_id") if "session" in request.scope else None
    if not user_id:
        return None
    return await load_principal(db_session, uuid.UUID(str(user_id)))


@get("/")
async def chat_page(request: Request[Any, Any, Any], db_session: DbSession) -> Template | Redirect:
    principal = await _signed_in(request, db_session)
    if principal is None:
        return Redirect("/login")
    return Template(
        template_name="chat.html.jinja2",
        context={"user": principal, "csrf": request.session.get("csrf", "")},
    )


@get("/documents/{document_id:uuid}")
async def document_page(
    request: Request[Any, Any, Any],
    document_id: FromPath[uuid.UUID],
    db_session: DbSession,
    chunk: FromQuery[uuid.UUID | None] = None,
) -> Template | Redirect:
    principal = await _signed_in(request, db_session)
    if principal is None:
        return Redirect("/login")
    try:
        view, passages = await document_passages(db_session, principal, document_id)
    except NotFound:
        return Template(
            template_name="not_found.html.jinja2", context={"user": principal}, status_code=404
        )
    return Template(
        template_name="document.html.jinja2",
        context={
            "user": principal,
            "document": view,
            "passages": passages,
            "highlight": str(chunk) if chunk else "",
        },
    )


@get("/admin")
async def admin_page(request: Request[Any, Any, Any], db_session: DbSession) -> Template | Redirect:
    principal = await _signed_in(request, db_session)
    if principal is None:
        return Redirect("/login")
    if not principal.has_role("admin"):
        return Template(
            template_name="not_found.html.jinja2", context={"user": principal}, status_code=404
        )
    return Template(
        template_name="admin.html.jinja2",
        context={
            "user": principal,
            "documents": await list_documents(db_session),
            "csrf": request.session.get("csrf", ""),
        },
    )
