import json
from pathlib import Path

from evals.gate import THRESHOLDS_FILE, check, load_thresholds


def test_check_reports_floors_ceilings_and_missing_metrics() -> None:
    bounds = {"min": {"recall": 0.9, "absent": 0.1}, "max": {"leak_rate": 0.0}}
    failures = check({"recall": 0.8, "leak_rate": 0.1}, bounds)
    assert len(failures) == 3
    assert check({"recall": 0.95, "absent": 0.2, "leak_rate": 0.0}, bounds) == []


def test_committed_demo_thresholds_guard_leaks_and_quality(tmp_path: Path) -> None:
    demo = load_thresholds("demo")
    assert demo["max"]["pii_leak_rate"] == 0
    assert demo["max"]["acl_violations"] == 0
    assert {"citation_match", "handoff_recall", "ndcg_at_10"} <= set(demo["min"])
    assert json.loads(THRESHOLDS_FILE.read_text())  # valid JSON
    other = tmp_path / "t.json"
    other.write_text('{"x": {"min": {"a": 1}}}')
    assert load_thresholds("demo", other) == {}
