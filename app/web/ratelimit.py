"""Per-caller request limits for state-changing API calls (a fixed one-minute window).

With Redis configured the counters are shared by every web process; without it each
process counts on its own (local use).
"""

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from redis.asyncio import Redis

from app.errors import RateLimited

Incr = Callable[[str, int], Awaitable[int]]


def redis_counter(client: Redis) -> Incr:
    async def incr(key: str, ttl_seconds: int) -> int:
        async with client.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, ttl_seconds)
            count, _ = await pipe.execute()
        return int(count)

    return incr


@dataclass
class RateLimiter:
    per_minute: int
    incr: Incr | None = None
    _local: dict[str, tuple[int, int]] = field(default_factory=dict)

    async def hit(self, caller: str) -> None:
        """Count one request; raise ``RateLimited`` once the caller exceeds the limit."""
        window = int(time.time() // 60)
        key = f"groundwork:rate:{caller}:{window}"
        if self.incr is not None:
            count = await self.incr(key, 120)
        else:
            previous_window, previous = self._local.get(caller, (window, 0))
            count = (previous if previous_window == window else 0) + 1
            self._local[caller] = (window, count)
        if count > self.per_minute:
            raise RateLimited(
                f"more than {self.per_minute} requests in a minute; wait {60 - int(time.time()) % 60} s"
            )
