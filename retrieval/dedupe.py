"""Near-duplicate collapsing of retrieved passages: identical or almost identical texts show once.

Two passages are near-duplicates when their content hashes match or the Jaccard overlap of
their word 3-shingles reaches a threshold (the same paragraph re-uploaded with small edits).
"""

import re
from collections.abc import Callable, Hashable, Sequence
from functools import lru_cache
from typing import TypeVar

T = TypeVar("T")
H = TypeVar("H", bound=Hashable)
_WORD = re.compile(r"\w+", re.UNICODE)


def shingles(text: str, size: int = 3) -> frozenset[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    if len(words) < size:
        return frozenset([tuple(words)]) if words else frozenset()
    # The i-th shifted word lists, zipped: the tuples stop at the shortest (the last shingle).
    return frozenset(zip(*(words[i:] for i in range(size)), strict=False))


@lru_cache(maxsize=1024)
def shingle_hashes(text: str) -> frozenset[int]:
    """``shingles`` as hashes, memoised by text: retrieved passages recur across questions, and
    computing their shingles was about 4 % of a chat request's samples (py-spy, 8 clients).
    Hashes keep an entry near 10 KB; two shingles sharing a 64-bit hash would merely count as
    one in the overlap."""
    return frozenset(hash(gram) for gram in shingles(text))


def jaccard(a: frozenset[H], b: frozenset[H]) -> float:
    if not a and not b:
        return 1.0
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared)


def _may_reach(a: frozenset[H], b: frozenset[H], t: float) -> bool:
    """False when ``jaccard(a, b) >= t`` is impossible by size alone (it is at most
    ``min / max`` of the two sizes), so most pairs of unrelated passages skip the intersection."""
    small, large = sorted((len(a), len(b)))
    return large == 0 or small >= t * large


def collapse_near_duplicates(
    items: Sequence[T],
    *,
    text_of: Callable[[T], str],
    hash_of: Callable[[T], str],
    threshold: float,
    limit: int,
) -> list[T]:
    """The first ``limit`` items, in order, skipping any that duplicate an earlier kept one."""
    kept: list[T] = []
    kept_hashes: set[str] = set()
    kept_shingles: list[frozenset[int]] = []
    for item in items:
        if len(kept) >= limit:
            break
        digest = hash_of(item)
        if digest in kept_hashes:
            continue
        grams = shingle_hashes(text_of(item))
        if threshold <= 1.0 and any(
            _may_reach(grams, other, threshold) and jaccard(grams, other) >= threshold
            for other in kept_shingles
        ):
            continue
        kept.append(item)
        kept_hashes.add(digest)
        kept_shingles.append(grams)
    return kept
