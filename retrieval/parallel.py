"""A second connection for the dense leg, lent only while the process is lightly loaded.

Running the two legs on two connections at once helps a lone query (both cores work on it:
with 1 client on 100k chunks, p95 66 -> 50 ms at a 10 % readable share, 42 -> 36 ms at 100 %)
but costs throughput when queries already keep every core busy (with 8 clients p95 rose
96 -> 115 ms at 0.1 %). So a connection is lent only while at most ``max_in_flight``
retrievals run in this process; beyond that the legs share the caller's connection.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


class ParallelLegs:
    """Per-process; used from the event loop only (the counter needs no lock)."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, max_in_flight: int = 1
    ) -> None:
        if max_in_flight < 0:
            raise ValueError("max_in_flight must be >= 0")
        self._sessions = sessions
        self._max_in_flight = max_in_flight
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @asynccontextmanager
    async def lend(self) -> AsyncIterator[AsyncSession | None]:
        """A second session while few retrievals run, else ``None`` (run the legs in turn)."""
        self._in_flight += 1
        try:
            if self._in_flight <= self._max_in_flight:
                async with self._sessions() as session:
                    yield session
            else:
                yield None
        finally:
            self._in_flight -= 1
