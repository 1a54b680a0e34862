import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retrieval.dedupe import collapse_near_duplicates
from retrieval.keyword import select_terms
from retrieval.types import RetrievalConfig

BASE = (
    "Every employee receives 27 days of paid annual leave per calendar year in the Rotterdam office"
)


def test_near_duplicates_collapse_to_the_first_and_distinct_texts_stay() -> None:
    items = [
        ("a", BASE),
        ("b", BASE + "."),
        ("c", "Salary band L5 ranges from 92,000 EUR"),
        ("a", BASE),
    ]
    kept = collapse_near_duplicates(
        items, text_of=lambda i: i[1], hash_of=lambda i: i[0], threshold=0.9, limit=10
    )
    assert [k for k, _ in kept] == ["a", "c"]


def test_collapse_respects_limit() -> None:
    items = [(str(i), f"text number {i} about topic {i * 7}") for i in range(10)]
    kept = collapse_near_duplicates(
        items, text_of=lambda i: i[1], hash_of=lambda i: i[0], threshold=0.9, limit=3
    )
    assert len(kept) == 3


def test_common_terms_are_skipped_only_beyond_the_rarest_few() -> None:
    stats = [("cell", 900), ("rare", 3), ("gene", 10), ("the", 990), ("x", 5)]
    kept = [t for t, _ in select_terms(stats, 1000, max_terms=2, max_df_ratio=0.25)]
    assert kept == ["rare", "x", "gene"]
    assert len(select_terms(stats, 1000, max_terms=10, max_df_ratio=0.25)) == 5


def test_a_postings_budget_drops_the_commonest_terms_beyond_the_rarest_few() -> None:
    stats = [("a", 100), ("b", 200), ("c", 300), ("d", 400), ("e", 50)]

    def pick(budget: float) -> list[str]:
        chosen = select_terms(stats, 1000, max_terms=2, max_df_ratio=1.0, max_postings=budget)
        return [t for t, _ in chosen]

    assert pick(10_000) == ["e", "a", "b", "c", "d"]
    assert pick(650) == ["e", "a", "b", "c"]  # 650 postings fit, 1,050 do not
    assert pick(640) == ["e", "a", "b"]
    assert pick(0) == ["e", "a"]  # the rarest max_terms stay whatever they cost
    assert select_terms(stats, 1000, max_terms=9, max_df_ratio=1.0, max_postings=0)


def test_idf_is_positive_and_decreasing_in_df() -> None:
    idfs = dict(select_terms([("a", 1), ("b", 500)], 1000, max_terms=5, max_df_ratio=1.0))
    assert idfs["a"] > idfs["b"] > 0


def test_config_round_trips_and_rejects_unknown_keys() -> None:
    from dataclasses import asdict

    config = RetrievalConfig(fusion="rrf", dense_weight=0.3)
    assert RetrievalConfig.from_dict(asdict(config)) == config
    assert RetrievalConfig.from_dict({}) == RetrievalConfig()
    with pytest.raises(ValueError, match="unknown retrieval settings"):
        RetrievalConfig.from_dict({"nope": 1})
    with pytest.raises(ValueError, match="unknown fusion"):
        RetrievalConfig.from_dict({"fusion": "max"})
    with pytest.raises(ValueError, match="ef_search_broad must be at least 1"):
        RetrievalConfig.from_dict({"ef_search_broad": 0})
    with pytest.raises(ValueError, match="dense_candidates must be at least 1"):
        RetrievalConfig.from_dict({"dense_candidates": -5})
    with pytest.raises(ValueError, match="broad_share"):
        RetrievalConfig.from_dict({"broad_share": 1.5})
    with pytest.raises(ValueError, match="complete_scores must be true or false"):
        RetrievalConfig.from_dict({"complete_scores": "yes"})
    assert RetrievalConfig.from_dict({"complete_scores": True}).complete_scores


def _reference_collapse(items: list[tuple[str, str]], threshold: float, limit: int) -> list[str]:
    """The definition: word 3-shingles as slices, Jaccard as intersection over union."""

    def grams(text: str) -> frozenset[tuple[str, ...]]:
        words = re.findall(r"\w+", text.lower())
        if len(words) < 3:
            return frozenset([tuple(words)]) if words else frozenset()
        return frozenset(tuple(words[i : i + 3]) for i in range(len(words) - 2))

    kept: list[tuple[str, frozenset[tuple[str, ...]]]] = []
    for key, text in items:
        if len(kept) >= limit:
            break
        g = grams(text)
        if any(k == key for k, _ in kept):
            continue
        if any((len(g & o) / len(g | o) if g or o else 1.0) >= threshold for _, o in kept):
            continue
        kept.append((key, g))
    return [k for k, _ in kept]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from("abcdefgh"),
            st.lists(st.sampled_from(["leave", "days", "paid", "office", "rotterdam", "27"])).map(
                " ".join
            ),
        ),
        max_size=12,
    ),
    st.sampled_from([0.0, 0.3, 0.5, 0.8, 0.9, 1.0]),
    st.integers(1, 8),
)
def test_collapse_matches_its_definition(
    items: list[tuple[str, str]], threshold: float, limit: int
) -> None:
    """The size bound that skips most intersections never changes what is kept."""
    kept = collapse_near_duplicates(
        items, text_of=lambda i: i[1], hash_of=lambda i: i[0], threshold=threshold, limit=limit
    )
    assert [k for k, _ in kept] == _reference_collapse(items, threshold, limit)
