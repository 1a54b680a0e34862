"""``groundwork versions create --set``: section.key=value pairs, JSON values, clear errors."""

import pytest

from app.cli import _setting_changes
from app.errors import InvalidInput


def test_set_pairs_become_section_changes_with_json_values() -> None:
    changes = _setting_changes(
        ["retrieval.ef_search=300", "retrieval.fusion=rrf", "answer.confidence_threshold=0.6"]
    )
    assert changes == {
        "retrieval": {"ef_search": 300, "fusion": "rrf"},
        "answer": {"confidence_threshold": 0.6},
    }


@pytest.mark.parametrize("pair", ["ef_search=300", "retrieval.ef_search", ".x=1", "retrieval.=1"])
def test_malformed_pairs_name_the_pair(pair: str) -> None:
    with pytest.raises(InvalidInput, match=r"section\.key=value"):
        _setting_changes([pair])
