"""Near-duplicate collapsing of retrieved passages: identical or almost identical texts show once.

Two passages are near-duplicates when their content hashes match or the Jaccard overlap of
their word 3-shingles reaches a threshold (the same paragraph re-uploaded with small edits).
"""

import re
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
_WORD = re.compile(r"\w+", re.UNICODE)


def shingles(text: str, size: int = 3) -> frozenset[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    if len(words) < size:
        return frozenset([tuple(words)]) if words else frozenset()
    return frozenset(tuple(words[i : i + size]) for i in range(len(words) - size + 1))


def jaccard(a: frozenset[tuple[str, ...]], b: frozenset[tuple[str, ...]]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


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
    kept_shingles: list[frozenset[tuple[str, ...]]] = []
    for item in items:
        if len(kept) >= limit:
            break
        digest = hash_of(item)
        if digest in kept_hashes:
            continue
        grams = shingles(text_of(item))
        if threshold <= 1.0 and any(jaccard(grams, other) >= threshold for other in kept_shingles):
            continue
        kept.append(item)
        kept_hashes.add(digest)
        kept_shingles.append(grams)
    return kept
