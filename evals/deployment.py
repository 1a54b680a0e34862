"""The deployment's own database (``DATABASE_URL``, or the embedded server in the data
directory) for commands that read or write it: eval run records and the candidate queue.
"""

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from app.db.migrate import upgrade
from app.embedded import EmbeddedPostgres
from app.settings import Settings

T = TypeVar("T")


@contextmanager
def deployment_url(settings: Settings) -> Iterator[str]:
    """A migrated database URL; an embedded server started here is stopped on exit."""
    server = None
    url = settings.database_url
    if url is None:
        server = EmbeddedPostgres(settings.data_dir.resolve() / "pgdata")
        url = server.start()
    try:
        upgrade(url)
        yield url
    finally:
        if server is not None:
            server.stop()


def in_transaction(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one committed transaction on the deployment database."""

    async def main(url: str) -> T:
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            async with async_sessionmaker(engine, expire_on_commit=False).begin() as session:
                return await work(session)
        finally:
            await engine.dispose()

    with deployment_url(settings) as url:
        return asyncio.run(main(url))
