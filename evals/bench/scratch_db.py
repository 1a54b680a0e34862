"""A scratch embedded PostgreSQL for benchmarks: one server under the data dir, one migrated
database per benchmark, kept between runs so a loaded corpus can be reused.
"""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.db.migrate import upgrade
from app.embedded import EmbeddedPostgres, prepare_runtime_dir
from app.settings import Settings


@contextmanager
def scratch_database(settings: Settings, name: str, *, fresh: bool) -> Iterator[str]:
    """Yield an asyncpg URL of database ``name`` at the migration head (dropped first if fresh).

    Uses ``settings.database_url``'s server when set, else an embedded one under
    ``<data_dir>/bench/pgdata``.
    """
    server: EmbeddedPostgres | None = None
    admin_url = settings.database_url
    if admin_url is None:
        base = Path(settings.data_dir).resolve() / "bench"
        prepare_runtime_dir(base)
        server = EmbeddedPostgres(base / "pgdata")
        admin_url = server.start()
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        asyncio.run(_create(admin_url, name, fresh=fresh))
        upgrade(url)
        yield url
    finally:
        if server is not None:
            server.stop()


async def _create(admin_url: str, name: str, *, fresh: bool) -> None:
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    async with engine.connect() as conn:
        if fresh:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        exists = (
            await conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        ).first()
        if exists is None:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
