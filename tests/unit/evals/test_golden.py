import json
from pathlib import Path

import pytest

from evals.golden import (
    GOLDEN_DIR,
    GoldenCase,
    GoldenFormatError,
    append_case,
    demo_cases,
    load_golden,
    parse_case,
)


def test_committed_golden_sets_follow_the_format() -> None:
    cases = demo_cases()
    assert len(cases) == 145
    assert sum(c.must_handoff for c in cases) >= 51 + 6
    assert all(c.expected_sources for c in cases if c.answerable)


def test_committed_restricted_facts_never_sit_in_public_cases() -> None:
    for case in load_golden(GOLDEN_DIR / "demo.jsonl"):
        if case.must_handoff:
            assert not case.expected_sources, case.id


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"id": "x", "question": "q", "extra": 1}, "unknown field"),
        ({"id": "x", "question": ""}, "'question'"),
        ({"id": "x", "question": "q", "groups": "hr"}, "'groups' must be a list"),
        ({"id": "x", "question": "q", "must_handoff": "yes"}, "'must_handoff'"),
        (
            {"id": "x", "question": "q", "must_handoff": True, "expected_sources": ["a.md"]},
            "cannot expect",
        ),
        ({"id": "x", "question": "q", "expected_pages": ["a.pdf#page=2"]}, "expected page"),
    ],
)
def test_invalid_cases_are_rejected_with_the_reason(line: dict[str, object], message: str) -> None:
    with pytest.raises(GoldenFormatError, match=message):
        parse_case(line)


def test_load_names_file_and_line_and_refuses_duplicate_ids(tmp_path: Path) -> None:
    path = tmp_path / "g.jsonl"
    path.write_text('{"id": "a", "question": "q"}\n\n{"id": "a", "question": "r"}\n')
    with pytest.raises(GoldenFormatError, match="duplicate case id 'a'"):
        load_golden(path)
    path.write_text('{"id": "a", "question": "q"}\nnot json\n')
    with pytest.raises(GoldenFormatError, match=r"g\.jsonl:2"):
        load_golden(path)


def test_append_case_round_trips_and_refuses_an_existing_id(tmp_path: Path) -> None:
    path = tmp_path / "accepted.jsonl"
    case = GoldenCase(id="acc-1", question="q?", expected_sources=("a.md",), tags=("accepted",))
    append_case(path, case)
    assert load_golden(path) == [case]
    assert json.loads(path.read_text())["expected_sources"] == ["a.md"]
    with pytest.raises(GoldenFormatError, match=r"already exists"):
        append_case(path, case)
