"""Browser sign-in and sign-out (session cookie); the API uses Bearer keys instead."""

import secrets
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Redirect, Template

from app.audit import record_event
from app.auth.accounts import authenticate_password
from app.web.dependencies import DbSession

MAX_FIELD_CHARS = 256


@get("/login", sync_to_thread=False)
def login_page(request: Request[Any, Any, Any], error: FromQuery[str | None] = None) -> Template:
    return Template(template_name="login.html.jinja2", context={"error": error})


@post("/login", status_code=303)
async def login(
    request: Request[Any, Any, Any],
    data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
    db_session: DbSession,
) -> Any:
    username = str(data.get("username", ""))[:MAX_FIELD_CHARS]
    password = str(data.get("password", ""))[:MAX_FIELD_CHARS]
    principal = await authenticate_password(db_session, username, password) if username else None
    if principal is None:
        await record_event(db_session, actor_id=None, action="auth.login_failed", details={})
        return Template(
            template_name="login.html.jinja2",
            context={"error": "Wrong user name or password."},
            status_code=401,
        )
    request.set_session({"user_id": str(principal.user_id), "csrf": secrets.token_urlsafe(24)})
    await record_event(db_session, actor_id=principal.user_id, action="auth.login", details={})
    return Redirect("/", status_code=303)


@post("/logout", status_code=303)
async def logout(request: Request[Any, Any, Any]) -> Redirect:
    request.clear_session()
    return Redirect("/login", status_code=303)
