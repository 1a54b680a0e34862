"""The pool pings a connection only after it sat idle, and replaces one the server dropped."""

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import session as db_session_module
from app.db.session import make_engine
from retrieval.types import RetrievalConfig

pytestmark = pytest.mark.integration


async def _backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def test_an_idle_connection_dropped_by_the_server_is_replaced(
    engine: AsyncEngine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool = make_engine(database_url, pool_size=1)
    try:
        first = await _backend_pid(pool)
        assert await _backend_pid(pool) == first  # the same pooled connection, reused
        async with engine.connect() as admin:  # the server drops it (a restart, a timeout)
            await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        # Once it has been idle long enough it is pinged, found dead and replaced: no error.
        monkeypatch.setattr(db_session_module, "PING_AFTER_IDLE_SECONDS", 0.0)
        second = await _backend_pid(pool)
        assert second != first
        assert await _backend_pid(pool) == second
    finally:
        await pool.dispose()


async def test_a_connection_back_in_the_pool_moments_ago_is_not_pinged(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool = make_engine(database_url, pool_size=1)
    queries: list[str] = []
    try:
        async with pool.connect() as conn:
            raw = await conn.get_raw_connection()
            asyncpg_connection = raw.driver_connection
            assert asyncpg_connection is not None
            asyncpg_connection.add_query_logger(lambda record: queries.append(record.query))
        # The logger sees transaction control; a ping runs in a transaction of its own.
        await _backend_pid(pool)
        assert queries.count("BEGIN;") == 1  # checked in just now: used as is, no ping
        monkeypatch.setattr(db_session_module, "PING_AFTER_IDLE_SECONDS", 0.0)
        queries.clear()
        await _backend_pid(pool)
        assert queries.count("BEGIN;") == 2  # idle long enough: pinged first
    finally:
        await pool.dispose()


async def test_connections_start_with_the_broad_hnsw_scan_settings(database_url: str) -> None:
    """What ``vector_search`` relies on to skip its ``set_config`` for broad searches."""
    assert db_session_module.HNSW_DEFAULTS["hnsw.ef_search"] == str(
        RetrievalConfig().ef_search_broad
    )
    pool = make_engine(database_url, pool_size=1)
    try:
        async with pool.connect() as conn:
            await conn.execute(text("SELECT '[1,2,3]'::vector"))  # the extension is loaded now
            shown = [
                (await conn.execute(text(f"SHOW {name}"))).scalar_one()
                for name in ("hnsw.iterative_scan", "hnsw.ef_search")
            ]
            assert shown == ["relaxed_order", "200"]
            assert conn.info[db_session_module.HNSW_INFO_KEY] == db_session_module.HNSW_DEFAULTS
    finally:
        await pool.dispose()
