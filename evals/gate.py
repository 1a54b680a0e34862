"""Committed quality thresholds (``evals/thresholds.json``) and the check that enforces them.

The file maps suite -> {"min": {metric: floor}, "max": {metric: ceiling}}. Thresholds are
set just below (or above) a measured run and only ever tightened: a failing gate is a
regression to fix, not a number to loosen.
"""

import json
from collections.abc import Mapping
from pathlib import Path

THRESHOLDS_FILE = Path(__file__).parent / "thresholds.json"


def load_thresholds(suite: str, path: Path = THRESHOLDS_FILE) -> dict[str, dict[str, float]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    bounds: dict[str, dict[str, float]] = data.get(suite, {})
    return bounds


def check(metrics: Mapping[str, float], bounds: Mapping[str, Mapping[str, float]]) -> list[str]:
    """Every violated bound as a readable line; a metric missing from ``metrics`` is a failure."""
    failures = []
    for metric, floor in sorted(bounds.get("min", {}).items()):
        value = metrics.get(metric)
        if value is None or value < floor:
            failures.append(f"{metric} = {value} is below the committed minimum {floor}")
    for metric, ceiling in sorted(bounds.get("max", {}).items()):
        value = metrics.get(metric)
        if value is None or value > ceiling:
            failures.append(f"{metric} = {value} is above the committed maximum {ceiling}")
    return failures
