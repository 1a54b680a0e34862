"""``groundwork bench retrieval``: SciFact quality per leg and fused, and filtered recall/latency."""

import argparse
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.arguments import integer
from app.settings import Settings
from evals.bench.machine import describe_machine


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--part", choices=("quality", "filtered", "all"), default="all")
    parser.add_argument("--split", default="train", help="SciFact qrels split")
    parser.add_argument(
        "--candidates", type=integer(1), default=300, help="chunks per leg (quality)"
    )
    parser.add_argument(
        "--dense-candidates",
        type=integer(1),
        default=None,
        help="dense leg only (quality; else --candidates)",
    )
    parser.add_argument(
        "--complete-scores",
        action="store_true",
        help="each leg also scores the other's candidates before fusion",
    )
    parser.add_argument(
        "--tune-bm25", action="store_true", help="grid-search k1/b on the tune half"
    )
    parser.add_argument(
        "--chunks",
        type=integer(1000),
        default=100_000,
        help="corpus size (filtered; at least 1000, so the 0.1 %% share holds a chunk)",
    )
    parser.add_argument("--queries", type=integer(1), default=200, help="queries per selectivity")
    parser.add_argument(
        "--clients", type=integer(1), default=8, help="concurrent clients (filtered)"
    )
    parser.add_argument("--fresh", action="store_true", help="rebuild the scratch databases")
    parser.add_argument(
        "--out", type=Path, default=Path("bench-results"), help="JSON output folder"
    )


def run(settings: Settings, args: argparse.Namespace) -> int:
    report: dict[str, Any] = {"machine": describe_machine(), "part": args.part}
    print(f"machine: {report['machine']}")
    if args.part in ("quality", "all"):
        from evals.bench.retrieval_quality import measure_quality

        report["quality"] = measure_quality(settings, args)
    if args.part in ("filtered", "all"):
        from evals.bench.retrieval_filtered import run_filtered

        report["filtered"] = run_filtered(settings, args)
    report["load_average_1m"] = round(os.getloadavg()[0], 2)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"retrieval-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written: {path}")
    return 0
