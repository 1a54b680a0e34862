"""How many chunks a caller may read, remembered for a few seconds per group list.

The count only chooses the search path (exact scans for small readable sets, the HNSW index
and the capped keyword pass for large ones, a narrower HNSW breadth when most of the corpus is
readable); every path returns only readable rows, so a stale count costs time or a little
recall, never access. Counting 2,001 readable rows of a 100k-chunk table takes 3-4 ms of a
30-40 ms query, and counting to half of it (to tell a broad set) tens of ms; a cached count
takes none.
"""

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from retrieval.search import count_readable
from retrieval.types import Readable


class ReadableCounts:
    """Per-process cache of ``count_readable`` keyed by the sorted group list, limit and share.

    Used from the event loop only (no lock): nothing awaits between a read and its update.
    """

    def __init__(
        self,
        *,
        ttl_seconds: float = 30.0,
        max_entries: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_seconds < 0 or max_entries < 1:
            raise ValueError("ttl_seconds must be >= 0 and max_entries >= 1")
        self._ttl, self._max, self._clock = ttl_seconds, max_entries, clock
        self._entries: OrderedDict[tuple[tuple[str, ...], int, float], tuple[float, Readable]] = (
            OrderedDict()
        )

    async def count(
        self, session: AsyncSession, *, groups: Sequence[str], limit: int, share: float = 0.0
    ) -> Readable:
        key = (tuple(sorted(set(groups))), limit, share)
        now = self._clock()
        hit = self._entries.get(key)
        if hit is not None and now - hit[0] < self._ttl:
            self._entries.move_to_end(key)
            return hit[1]
        value = await count_readable(session, groups=groups, limit=limit, share=share)
        self._entries[key] = (now, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
        return value
