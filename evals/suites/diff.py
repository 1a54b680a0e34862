"""``groundwork eval diff RUN_A RUN_B``: every metric of every suite both runs share, side by side.

Runs are folder names under ``--results-dir`` (or paths). ``--fail-on-regression TOL``
exits 1 when any metric got worse by more than ``TOL`` (direction from the metric's name).
"""

import argparse
from pathlib import Path
from typing import Any

from app.arguments import number
from app.settings import Settings
from evals.metrics import higher_is_better
from evals.runner import DEFAULT_RESULTS_DIR


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_a", help="the baseline run (folder name or path)")
    parser.add_argument("run_b", help="the new run")
    parser.add_argument("--results-dir", type=Path, default=DEFAULT_RESULTS_DIR)
    parser.add_argument("--fail-on-regression", type=number(0.0), default=None, metavar="TOL")


def diff_rows(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, str, float, float, str]]:
    """(suite, metric, value a, value b, verdict) for every metric present in both summaries."""
    rows = []
    for suite in sorted(set(a["suites"]) & set(b["suites"])):
        ma, mb = a["suites"][suite]["metrics"], b["suites"][suite]["metrics"]
        for metric in sorted(set(ma) & set(mb)):
            delta = float(mb[metric]) - float(ma[metric])
            better = delta > 0 if higher_is_better(metric) else delta < 0
            verdict = "" if abs(delta) < 1e-9 else ("better" if better else "WORSE")
            rows.append((suite, metric, float(ma[metric]), float(mb[metric]), verdict))
    return rows


def run(settings: Settings, args: argparse.Namespace) -> int:
    from evals.results import load_summary

    a = load_summary(args.run_a, args.results_dir)
    b = load_summary(args.run_b, args.results_dir)
    print(f"A = {a['run_id']}\nB = {b['run_id']}\n")
    print(f"{'suite':10} {'metric':32} {'A':>12} {'B':>12} {'B - A':>10}")
    regressed = False
    for suite, metric, va, vb, verdict in diff_rows(a, b):
        print(f"{suite:10} {metric:32} {va:>12.4f} {vb:>12.4f} {vb - va:>+10.4f}  {verdict}")
        tolerance = args.fail_on_regression
        if verdict == "WORSE" and tolerance is not None and abs(vb - va) > tolerance:
            regressed = True
    only = sorted(set(a["suites"]) ^ set(b["suites"]))
    if only:
        print(f"\nsuites in only one run: {', '.join(only)}")
    return 1 if regressed else 0
