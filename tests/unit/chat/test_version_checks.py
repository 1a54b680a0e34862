"""A new version's settings are checked for type and range, each problem named by setting."""

from typing import Any

import pytest

from app.chat.version_checks import config_problems
from app.chat.versions import default_config, with_changes


def _problems(changes: dict[str, Any]) -> list[str]:
    return config_problems(with_changes(default_config(), changes))


def test_the_shipped_defaults_pass() -> None:
    assert config_problems(default_config()) == []


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"retrieval": {"k": "abc"}}, "retrieval.k must be a whole number, got 'abc'"),
        ({"retrieval": {"k": 8.5}}, "retrieval.k must be a whole number, got 8.5"),
        ({"retrieval": {"k": True}}, "retrieval.k must be a whole number, got True"),
        ({"retrieval": {"k": 0}}, "retrieval.k must be at least 1, got 0"),
        ({"retrieval": {"fusion": "max"}}, "retrieval.fusion must be one of rrf, zscore, minmax"),
        ({"retrieval": {"complete_scores": "yes"}}, "retrieval.complete_scores must be true"),
        ({"retrieval": {"bm25_b": 1.5}}, "retrieval.bm25_b must be at most 1, got 1.5"),
        ({"composer": {"max_sentences": 0}}, "composer.max_sentences must be at least 1, got 0"),
        ({"composer": {"relative_floor": "0.7"}}, "composer.relative_floor must be a number"),
        ({"composer": {"follow_on": 1}}, "composer.follow_on must be true or false, got 1"),
        ({"answer": {"confidence_threshold": 5}}, "answer.confidence_threshold must be at most 1"),
        ({"answer": {"answerer": "gpt"}}, "answer.answerer must be one of composer, llm"),
        ({"answer": {"weights": {"support": "high"}}}, "answer.weights.support must be a number"),
        ({"answer": {"weights": {"margin": -1}}}, "answer.weights.margin must be at least 0"),
        ({"answer": {"weights": 3}}, "answer.weights must be an object"),
    ],
)
def test_each_bad_setting_is_named_with_its_rule(changes: dict[str, Any], problem: str) -> None:
    found = _problems(changes)
    assert any(problem in p for p in found), found


def test_all_weights_at_zero_are_refused() -> None:
    zero = dict.fromkeys(("retrieval", "margin", "support", "coverage", "semantic"), 0)
    assert _problems({"answer": {"weights": zero}}) == ["answer.weights must not all be 0"]


def test_every_problem_is_reported_at_once() -> None:
    found = _problems({"retrieval": {"k": 0}, "composer": {"max_sentences": "3"}})
    assert len(found) == 2
