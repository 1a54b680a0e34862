from pathlib import Path

import pytest

from evals import metrics as m
from evals.bench.machine import cpu_model, describe_machine


def test_contains_fact_ignores_case_and_broken_lines() -> None:
    assert m.contains_fact("You get EUR 300 per\ncalendar   year.", "eur 300 per calendar year")
    assert not m.contains_fact("EUR 30", "EUR 300")


def test_ranking_metrics_on_a_known_ranking() -> None:
    ranking = ["a.md", "b.pdf", "c.md"]
    assert m.reciprocal_rank(ranking, {"b.pdf"}) == 0.5
    assert m.recall_at_k(ranking, {"b.pdf", "z"}, 3) == 0.5
    assert m.hit_at_k(ranking, {"c.md"}, 2) == 0.0
    assert m.ndcg_at_k(ranking, {"a.md"}) == 1.0
    assert m.ndcg_at_k(ranking, {"b.pdf"}) == pytest.approx(1 / 1.584962500721156)


def test_decisions_precision_recall_and_false_positive_rate() -> None:
    d = m.decisions([True, True, False, False], [True, False, True, False])
    assert (d.precision, d.recall, d.false_positive_rate, d.support) == (0.5, 0.5, 0.5, 2)
    empty = m.decisions([False], [False])
    assert (empty.precision, empty.recall, empty.false_positive_rate) == (1.0, 1.0, 0.0)


def test_percentiles_interpolate_like_numpy() -> None:
    values = [float(v) for v in range(1, 101)]
    assert m.percentile(values, 50) == pytest.approx(50.5)
    assert m.percentile(values, 99) == pytest.approx(99.01)
    assert m.percentile([], 95) == 0.0
    assert m.latency_summary([10.0])["latency_p95_ms"] == 10.0


def test_metric_direction_follows_its_name() -> None:
    assert m.higher_is_better("citation_match")
    assert not m.higher_is_better("latency_p95_ms")
    assert not m.higher_is_better("pii_leak_rate")
    assert not m.higher_is_better("injection_false_positive_rate")


def test_leaked_reports_each_forbidden_string_found() -> None:
    assert m.leaked(["call +31 6 1234", "ok"], ["+31 6 1234", "NL91"]) == ["+31 6 1234"]


def test_benchmarks_name_the_cpu(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: AMD EPYC 9B14\nflags\t\t: fpu\n")
    assert cpu_model(info) == "AMD EPYC 9B14"
    assert cpu_model(tmp_path / "missing") == "unknown CPU"
    assert "cores (" in describe_machine()
