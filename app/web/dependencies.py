"""Every request-scoped dependency, by the parameter name handlers use.

``principal`` authenticates with a Bearer API key or the browser session. Browser
requests that change state must carry the session's CSRF token in ``X-CSRF-Token``
(API-key requests are not exposed to CSRF: browsers never attach the key on their own).
"""

import hmac
import uuid
from collections.abc import AsyncGenerator
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.accounts import authenticate_api_key, load_principal
from app.auth.principal import Principal
from app.errors import NotAuthenticated, NotFound, PermissionDenied
from app.web.state import WebState

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"


def web_state(state: State) -> WebState:
    value: WebState = state.web
    return value


async def provide_db_session(state: State) -> AsyncGenerator[AsyncSession, None]:
    async with web_state(state).session_factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    # Its own short session, not the request's ``db_session``: Litestar enters the cleanup of
    # generator dependencies only after *all* of them resolved, so raising here (401, 403,
    # 429) while holding the request session would leave its connection checked out.
    async with web_state(request.app.state).session_factory.begin() as db_session:
        principal = await _authenticate(request, db_session)
    if request.method not in SAFE_METHODS:
        await web_state(request.app.state).limiter.hit(str(principal.user_id))
    return principal


async def _authenticate(request: Request[Any, Any, Any], db_session: AsyncSession) -> Principal:
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise NotAuthenticated("use 'Authorization: Bearer <api key>'")
        principal = await authenticate_api_key(db_session, key.strip())
        if principal is None:
            raise NotAuthenticated("the API key is invalid or revoked")
        return principal
    session = request.session if "session" in request.scope else {}
    user_id = session.get("user_id") if session else None
    if not user_id:
        raise NotAuthenticated("sign in, or send an API key")
    if request.method not in SAFE_METHODS:
        expected = str(session.get("csrf", ""))
        sent = request.headers.get(CSRF_HEADER, "")
        if not expected or not hmac.compare_digest(expected, sent):
            raise PermissionDenied("missing or wrong CSRF token; reload the page")
    principal = await load_principal(db_session, uuid.UUID(str(user_id)))
    if principal is None:
        request.clear_session()
        raise NotAuthenticated("your account is no longer active")
    return principal


def require_role(principal: Principal, role: str) -> None:
    if not principal.has_role(role):
        raise PermissionDenied(f"this needs the {role} role")


def admin_only(principal: Principal) -> None:
    """Admin pages answer others with the same 404 as a missing page."""
    if not principal.has_role("admin"):
        raise NotFound("page not found")


def provide_state(state: State) -> WebState:
    return web_state(state)


DEPENDENCIES = {
    "db_session": Provide(provide_db_session),
    "principal": Provide(provide_principal),
    "web": Provide(provide_state, sync_to_thread=False),
}


# Handler parameter types: the parameter name selects the dependency (Litestar 2.23+).
DbSession = NamedDependency[AsyncSession]
Caller = NamedDependency[Principal]
Web = NamedDependency[WebState]
