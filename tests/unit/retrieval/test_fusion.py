import uuid
from typing import Any

import pytest

from retrieval.fusion import fuse, fuse_scores, normalise, retrieval_confidence
from retrieval.types import Hit


def test_weighted_rrf_adds_weight_over_rank() -> None:
    ranked = fuse_scores(
        [([("a", 9.0), ("b", 1.0)], 2.0), ([("b", 5.0)], 1.0)], method="rrf", rrf_k=1
    )
    assert ranked == [("b", pytest.approx(2 / 3 + 1 / 2)), ("a", 1.0)]


def test_minmax_maps_each_leg_to_unit_range_and_missing_gets_floor() -> None:
    ranked = dict(
        fuse_scores([([("a", 10.0), ("b", 0.0)], 0.5), ([("c", 3.0)], 0.5)], method="minmax")
    )
    assert ranked == {"a": 0.5 + 0.5 * 1.0, "b": 0.0 + 0.5, "c": 0.5 * 0.0 + 0.5}


def test_zscore_of_constant_leg_is_zero() -> None:
    assert normalise([2.0, 2.0], "zscore") == [0.0, 0.0]
    assert normalise([1.0, 3.0], "zscore") == [-1.0, 1.0]


def test_duplicate_key_in_a_leg_keeps_its_best_rank() -> None:
    ranked = dict(fuse_scores([([("a", 3.0), ("a", 1.0)], 1.0)], method="rrf", rrf_k=0))
    assert ranked == {"a": 1.0}


def test_fuse_keeps_raw_leg_scores() -> None:
    one, two = uuid.uuid4(), uuid.uuid4()
    fused = fuse(
        [Hit(one, 0.9)],
        [Hit(two, 7.0), Hit(one, 3.0)],
        method="zscore",
        dense_weight=0.5,
        keyword_weight=0.5,
    )
    by_id = {h.chunk_id: h for h in fused}
    assert by_id[one].dense_score == 0.9
    assert by_id[one].keyword_score == 3.0
    assert by_id[two].dense_score is None
    assert fused[0].chunk_id == two


def test_confidence_is_monotonic_and_bounded() -> None:
    values = [retrieval_confidence(s / 10, agreement=False) for s in range(11)]
    assert values == sorted(values)
    assert 0.0 < values[0] < values[-1] < 1.0
    assert retrieval_confidence(None, agreement=True) == 0.0
    assert retrieval_confidence(0.5, agreement=True) > retrieval_confidence(0.5, agreement=False)


def test_the_sentence_leg_joins_the_fusion_with_its_own_weight() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    dense = [Hit(a, 0.9), Hit(b, 0.8)]
    keyword = [Hit(a, 5.0), Hit(b, 4.0)]
    sentence = [Hit(b, 0.95), Hit(a, 0.5)]  # b holds the one sentence that answers
    common: dict[str, Any] = {"method": "zscore", "dense_weight": 0.25, "keyword_weight": 0.25}
    without = fuse(dense, keyword, **common)
    assert [h.chunk_id for h in without] == [a, b]
    heavy = fuse(dense, keyword, **common, sentence=sentence, sentence_weight=0.6)
    assert [h.chunk_id for h in heavy] == [b, a]
    light = fuse(dense, keyword, **common, sentence=sentence, sentence_weight=0.1)
    assert [h.chunk_id for h in light] == [a, b]
    assert heavy[0].dense_score == 0.8 and heavy[0].keyword_score == 4.0  # raw scores kept
