"""Driver errors map to the status a client can act on: down -> 503, a collision with a
concurrent change -> 503 with Retry-After (nothing saved), anything else -> 500."""

from typing import Any

import pytest
from sqlalchemy.exc import DBAPIError

from app.web.errors import handle_driver_error


class _Orig(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


class _Request:
    class url:  # noqa: N801 - mimics Request.url
        path = "/api/v1/documents/x/acl"


@pytest.mark.parametrize(
    ("sqlstate", "status", "retry"),
    [
        ("40P01", 503, "1"),  # deadlock detected
        ("40001", 503, "1"),  # serialization failure
        ("55P03", 503, "1"),  # lock not available
        ("08006", 503, None),  # connection failure: the database is down
        ("23505", 500, None),  # unique violation: a bug, not a collision
    ],
)
def test_driver_errors_by_sqlstate(sqlstate: str, status: int, retry: str | None) -> None:
    error = DBAPIError("UPDATE ...", {}, _Orig(sqlstate))
    request: Any = _Request()
    response = handle_driver_error(request, error)
    assert response.status_code == status
    assert response.headers.get("Retry-After") == retry
    assert sqlstate not in str(response.content)  # nothing of the driver's text leaks
