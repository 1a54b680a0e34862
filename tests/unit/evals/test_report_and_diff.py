import argparse
import json
from pathlib import Path

import pytest

from app.errors import NotFound
from evals.report import render_report
from evals.results import load_summary, write_run
from evals.runner import SuiteResult
from evals.suites import diff


def _result(accuracy: float, latency: float) -> SuiteResult:
    rows = [
        {
            "id": "c1",
            "tags": ["public"],
            "passed": False,
            "answerable": True,
            "question": "<script>alert(1)</script>",
            "outcome": "answered",
            "facts_found": 0,
            "facts_total": 1,
        }
    ]
    return SuiteResult(
        suite="demo",
        metrics={"answer_accuracy": accuracy, "latency_p95_ms": latency, "cases": 1.0},
        rows=rows,
        latencies_ms=[latency, latency / 2],
        version=3,
        meta={
            "abstention_curve": [{"threshold": 0.0, "answered_share": 1.0, "declined_share": 0.5}],
            "reference": {"answer_accuracy": "BERT 0.82"},
        },
    )


def test_a_run_folder_holds_summary_rows_and_an_escaped_report(tmp_path: Path) -> None:
    write_run(tmp_path / "r1", "r1", [_result(0.8, 100.0)])
    summary = json.loads((tmp_path / "r1" / "summary.json").read_text())
    assert summary["suites"]["demo"]["metrics"]["answer_accuracy"] == 0.8
    assert summary["suites"]["demo"]["version"] == 3
    row = json.loads((tmp_path / "r1" / "rows.jsonl").read_text().splitlines()[0])
    assert row["suite"] == "demo"
    html = (tmp_path / "r1" / "report.html").read_text()
    assert html.count("<svg") >= 3  # bars, latency histogram, abstention curve
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "BERT 0.82" in html


def test_diff_marks_direction_by_metric_and_fails_on_regression(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_run(tmp_path / "a", "a", [_result(0.8, 100.0)])
    write_run(tmp_path / "b", "b", [_result(0.7, 50.0)])
    rows = {
        m: verdict
        for _, m, _, _, verdict in diff.diff_rows(
            load_summary("a", tmp_path), load_summary("b", tmp_path)
        )
    }
    assert rows["answer_accuracy"] == "WORSE"
    assert rows["latency_p95_ms"] == "better"
    args = argparse.Namespace(run_a="a", run_b="b", results_dir=tmp_path, fail_on_regression=0.05)
    assert diff.run(None, args) == 1  # type: ignore[arg-type]
    assert "WORSE" in capsys.readouterr().out
    args.fail_on_regression = None
    assert diff.run(None, args) == 0  # type: ignore[arg-type]


def test_an_unknown_run_is_named_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no run 'nope'"):
        load_summary("nope", tmp_path)


def test_run_only_suites_are_folded_in_by_their_numeric_leaves() -> None:
    from evals.runner import flatten

    report = {"suite": "x", "ok": True, "a": 1, "b": {"c": 0.5, "d": [1, 2]}, "e": None}
    assert flatten(report) == {"a": 1.0, "b.c": 0.5}


def test_an_answer_report_keeps_rows_latencies_and_the_abstention_curve() -> None:
    from evals.runner import result_from_report

    curve = [{"threshold": 0.5, "declined_unanswerable": 0.7, "declined_answerable": 0.1}]
    report = {
        "at_version_threshold": {"citation_match": 0.64},
        "per_question": [{"question": "q1", "latency_ms": 12.5}, {"question": "q2"}],
        "abstention_curve": curve,
        "version": 3,
    }
    result = result_from_report("contoso", report)
    assert result.version == 3
    assert result.metrics == {"at_version_threshold.citation_match": 0.64}
    assert [r["question"] for r in result.rows] == ["q1", "q2"]
    assert result.latencies_ms == [12.5]
    assert result.meta["abstention_curve"] == curve
    assert result.meta["reproduce"] == "groundwork eval contoso"
    assert "Abstention curve" in render_report("run-1", [result])
