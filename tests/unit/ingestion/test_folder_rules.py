"""Per-file access rules of folder sources and the worker's schedule helper (pure)."""

import json
from pathlib import Path

import pytest

from app.errors import InvalidInput
from ingestion.folders import file_groups
from ingestion.timings import StageTimings
from ingestion.worker import _every


def test_sidecar_wins_over_front_matter(tmp_path: Path) -> None:
    doc = tmp_path / "a.md"
    doc.write_text("---\ngroups: [hr]\n---\n# A\n")
    (tmp_path / "a.md.acl.json").write_text(json.dumps({"groups": ["finance"]}))
    assert file_groups(doc, doc.read_bytes()) == ["finance"]


@pytest.mark.parametrize(
    ("front", "expected"),
    [("groups: [hr, board]", ["hr", "board"]), ("groups:\n  - hr\n  - board", ["hr", "board"])],
)
def test_markdown_front_matter_groups(tmp_path: Path, front: str, expected: list[str]) -> None:
    doc = tmp_path / "a.md"
    doc.write_text(f"---\n{front}\n---\n# A\n")
    assert file_groups(doc, doc.read_bytes()) == expected


def test_no_rule_means_the_source_default(tmp_path: Path) -> None:
    doc = tmp_path / "a.txt"
    doc.write_text("groups: [hr]\n")  # front matter only counts in markdown
    assert file_groups(doc, doc.read_bytes()) is None


@pytest.mark.parametrize("body", ['{"groups": "hr"}', '["hr"]', '{"groups": [1]}', "{"])
def test_malformed_sidecar_is_rejected(tmp_path: Path, body: str) -> None:
    doc = tmp_path / "a.txt"
    doc.write_text("x")
    (tmp_path / "a.txt.acl.json").write_text(body)
    with pytest.raises(InvalidInput, match=r"a\.txt\.acl\.json"):
        file_groups(doc, b"x")


def test_schedule_fires_at_the_configured_interval() -> None:
    assert _every(5) == {"second": set(range(0, 60, 5))}
    assert _every(300) == {"minute": {0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55}, "second": {0}}


def test_stage_shares_sum_to_one() -> None:
    timings = StageTimings()
    timings.add("parse", 1.0)
    timings.add("embed", 3.0)
    assert timings.shares() == {"parse": 0.25, "embed": 0.75}
