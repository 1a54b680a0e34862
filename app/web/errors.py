"""The one place that maps errors to HTTP: RFC 9457 problem details for the API and for
browsers alike (the UI's scripts read ``detail``); unexpected errors are logged, not shown."""

from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.errors import (
    ConfigurationError,
    Conflict,
    DependencyUnavailable,
    GroundworkError,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
)
from app.logging import get_logger
from app.web.field_rules import breaks_constraint, describe, field_name

log = get_logger(__name__)

STATUS_BY_ERROR: dict[type[GroundworkError], tuple[int, str]] = {
    PayloadTooLarge: (413, "Payload too large"),
    InvalidInput: (422, "Invalid input"),
    NotAuthenticated: (401, "Not authenticated"),
    PermissionDenied: (403, "Permission denied"),
    NotFound: (404, "Not found"),
    Conflict: (409, "Conflict"),
    RateLimited: (429, "Too many requests"),
    DependencyUnavailable: (503, "Service unavailable"),
    ConfigurationError: (500, "Server misconfigured"),
}
PROBLEM_JSON = "application/problem+json"


def problem(status: int, title: str, detail: str, **extra: Any) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def handle_domain_error(request: Request[Any, Any, Any], exc: GroundworkError) -> Response[Any]:
    for error_type in type(exc).__mro__:
        if error_type in STATUS_BY_ERROR:
            status, title = STATUS_BY_ERROR[error_type]
            break
    else:
        status, title = 500, "Internal error"
    if status >= 500:
        log.error("http.domain_error", path=request.url.path, error=type(exc).__name__)
    return problem(status, title, exc.message, field=exc.field)


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if isinstance(exc, ValidationException):
        return handle_invalid_request(request, exc)
    return problem(exc.status_code, str(exc.detail or "error"), str(exc.detail or ""))


def handle_invalid_request(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[Any]:
    """A value that breaks a rule its field declares is invalid input (422, like the use cases'
    own checks, with the rule in words); a request of the wrong shape is a 400."""
    errors = exc.extra if isinstance(exc.extra, list) else None
    first = errors[0] if errors and isinstance(errors[0], dict) else None
    if first is None:
        return problem(400, "Invalid request", "the request body or parameters are invalid")
    key = first.get("key")
    message = str(first.get("message", "invalid value"))
    field = field_name(key, message)
    if key and field and breaks_constraint(message):
        rule = describe(request.route_handler, key, source=first.get("source"), message=message)
        detail = f"{field} {rule}" if rule else f"{key}: {message}"
        return problem(422, "Invalid input", detail, field=field)
    return problem(
        400, "Invalid request", f"{key or 'body'}: {message}", field=field, errors=errors
    )


def handle_database_down(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.error("http.database_unavailable", path=request.url.path, error=type(exc).__name__)
    return problem(
        503, "Service unavailable", "a backing service is unavailable; try again shortly"
    )


# SQLSTATE classes that mean "the database is not reachable right now", not a bug:
# 08 connection exception, 57P0x shutdown/cannot connect, 53 insufficient resources, 3D000 no
# database, 55000 database not accepting connections.
_UNAVAILABLE_SQLSTATES = ("08", "57P0", "53", "3D000", "55000")


# A concurrent change collided with this one and the database rolled it back: 40001
# serialization failure, 40P01 deadlock, 55P03 lock not available. Nothing was written; the
# same request succeeds when repeated.
_CONFLICT_SQLSTATES = ("40001", "40P01", "55P03")


def handle_driver_error(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[Any]:
    sqlstate = str(getattr(exc.orig, "sqlstate", "") or "")
    if exc.connection_invalidated or sqlstate.startswith(_UNAVAILABLE_SQLSTATES):
        return handle_database_down(request, exc)
    if sqlstate in _CONFLICT_SQLSTATES:
        log.warning("http.concurrent_conflict", path=request.url.path, sqlstate=sqlstate)
        response = problem(
            503,
            "Service busy",
            "a concurrent change collided with this request and nothing was saved; try again",
        )
        response.headers["Retry-After"] = "1"
        return response
    return handle_unexpected(request, exc)


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # Driver errors can quote row values, so only the class and constraint name are logged.
    constraint = getattr(getattr(exc, "orig", None), "constraint_name", None)
    log.error(
        "http.unhandled_error",
        path=request.url.path,
        error=type(exc).__name__,
        constraint=constraint,
    )
    return problem(500, "Internal error", "something went wrong on our side; it has been logged")


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    GroundworkError: handle_domain_error,
    HTTPException: handle_http_exception,
    OperationalError: handle_database_down,
    InterfaceError: handle_database_down,
    DBAPIError: handle_driver_error,
    PoolTimeout: handle_database_down,
    OSError: handle_database_down,  # connection refused, socket gone: a server is down
    Exception: handle_unexpected,
}
