"""The postings copy finds a reader's postings as slices of its access-list-sorted arrays."""

import numpy as np

from retrieval.postings_cache import _readable_positions


def test_slices_select_exactly_the_readable_postings() -> None:
    rng = np.random.default_rng(7)
    for _ in range(300):
        sets = np.sort(rng.integers(1, 12, size=int(rng.integers(0, 60)))).astype(np.int32)
        allowed = np.unique(rng.integers(0, 14, size=int(rng.integers(1, 6)))).astype(np.int32)
        expected = np.flatnonzero(np.isin(sets, allowed))
        found = _readable_positions(sets, allowed)
        if len(expected) == len(sets):
            assert found is None
        else:
            assert found is not None
            assert found.tolist() == expected.tolist()
