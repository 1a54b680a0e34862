"""Engine and session factories. Built by the composition roots, never at import time."""

import time
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

# A pooled connection idle at least this long is pinged before use (see ``_ping_if_idle``).
PING_AFTER_IDLE_SECONDS = 5.0
# pgvector scan settings every connection of ``make_engine`` starts with, recorded in the
# connection's ``info`` under ``HNSW_INFO_KEY``: a search that wants exactly these skips its
# per-transaction ``set_config`` round trip (``retrieval.search.vector_search``).
HNSW_DEFAULTS = {"hnsw.iterative_scan": "relaxed_order", "hnsw.ef_search": "200"}
HNSW_INFO_KEY = "hnsw_defaults"


def make_engine(url: str, *, pool_size: int = 5, echo: bool = False) -> AsyncEngine:
    """An asyncpg engine whose connections use custom plans and iterative HNSW scans.

    ``plan_cache_mode=force_custom_plan``: asyncpg prepares statements, and a generic plan
    for a filtered vector query was measured 10x slower (stack notes, trap 4).
    """
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=5,
        echo=echo,
        connect_args={
            "timeout": 5,
            "command_timeout": 60,
            "server_settings": {
                "plan_cache_mode": "force_custom_plan",
                "application_name": "groundwork",
                **HNSW_DEFAULTS,
            },
        },
    )
    event.listen(engine.sync_engine, "connect", _record_hnsw_defaults)
    event.listen(engine.sync_engine, "checkin", _remember_checkin)
    event.listen(engine.sync_engine, "checkout", _ping_if_idle)
    return engine


def _record_hnsw_defaults(_dbapi_connection: Any, record: Any) -> None:
    record.info[HNSW_INFO_KEY] = dict(HNSW_DEFAULTS)


def _remember_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["checked_in"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Ping a connection that sat idle in the pool, so one that the server dropped meanwhile
    (a restart, an idle timeout) is replaced before a request uses it.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout: one more round trip per request,
    which on the 100k-chunk bench was the eighth of seven statements a search sends. A
    connection back in the pool for less than ``PING_AFTER_IDLE_SECONDS`` is used as is; if the
    server went away within that window, the request fails and the pool drops the connection.
    """
    idle_since = record.info.get("checked_in")
    if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
        return
    try:
        dbapi_connection.ping()
    except Exception as error:  # any failure: the pool discards it and connects again
        raise exc.DisconnectionError(f"stale pooled connection: {type(error).__name__}") from error


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
