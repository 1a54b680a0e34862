"""What one serving process keeps between retrievals, built once by the composition root.

None of it decides access: the readable counts pick a path, the second connection runs a leg
at the same time, the postings copy ranks keyword candidates; every returned row is checked
against ``chunks.access`` in the statement that returns it.
"""

from dataclasses import dataclass, field

from retrieval.parallel import ParallelLegs
from retrieval.postings_cache import PostingsCache
from retrieval.readable import ReadableCounts


@dataclass(frozen=True)
class ProcessState:
    """``readable`` caches readable-set sizes; ``parallel`` lends the dense leg a second
    connection while the process is lightly loaded; ``postings`` keeps the postings of recently
    queried terms so the keyword leg scores them in memory."""

    readable: ReadableCounts = field(default_factory=ReadableCounts)
    parallel: ParallelLegs | None = None
    postings: PostingsCache | None = None
