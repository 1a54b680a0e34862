"""``groundwork eval pii``: PII recall, precision and F2 per entity type, plus speed.

Runs the real offline Presidio redactor on presidio-research's synthetic set and WNUT-17 dev.
"""

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.settings import Settings
from guardrails.evaluation import evaluate_pii
from guardrails.pii import build_presidio_redactor

# Acceptance targets (issue 6): recall per contact/secret type, overall F2, speed.
RECALL_TARGET_TYPES = (
    "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE", "IP_ADDRESS",
)  # fmt: skip
RECALL_TARGET, F2_TARGET, MS_PER_KB_TARGET = 0.99, 0.80, 60.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--datasets", type=Path, default=None, help="shared datasets folder")
    parser.add_argument("--out", type=Path, default=None, help="JSON results file")


def run(settings: Settings, args: argparse.Namespace) -> int:
    datasets: Path = args.datasets or settings.datasets_dir
    dataset = datasets / "pii" / "presidio_synth.shared.json"
    redactor = build_presidio_redactor(score_threshold=settings.pii.score_threshold)
    result = evaluate_pii(redactor, dataset)
    result["targets"] = _targets(result)
    sys.stdout.write(render(result))
    out = write_results(result, args.out, "pii")
    sys.stdout.write(f"\nresults written to {out}\n")
    return 0 if all(result["targets"].values()) else 1


def _targets(result: dict[str, Any]) -> dict[str, bool]:
    per_type = result["per_type"]
    checks = {f"recall {t} >= {RECALL_TARGET}": False for t in RECALL_TARGET_TYPES}
    for entity_type in RECALL_TARGET_TYPES:
        if entity_type in per_type:
            ok = per_type[entity_type]["recall"] >= RECALL_TARGET
            checks[f"recall {entity_type} >= {RECALL_TARGET}"] = ok
    checks[f"overall F2 >= {F2_TARGET}"] = result["overall"]["f2"] >= F2_TARGET
    checks[f"median ms/KB <= {MS_PER_KB_TARGET}"] = result["ms_per_kb"] <= MS_PER_KB_TARGET
    return checks


def render(result: dict[str, Any]) -> str:
    evaluated = set(result["evaluated_types"])
    lines = [f"{'type':<20}{'recall':>8}{'prec.':>8}{'F2':>8}{'gold':>7}{'pred':>7}  counted"]
    for entity_type, m in result["per_type"].items():
        counted = "yes" if entity_type in evaluated else "no (not redacted)"
        lines.append(
            f"{entity_type:<20}{m['recall']:>8.3f}{m['precision']:>8.3f}{m['f2']:>8.3f}"
            f"{m['support']:>7}{m['predicted']:>7}  {counted}"
        )
    overall = result["overall"]
    lines.append(
        f"{'OVERALL':<20}{overall['recall']:>8.3f}{overall['precision']:>8.3f}"
        f"{overall['f2']:>8.3f}{overall['support']:>7}{overall['predicted']:>7}"
    )
    lines.append(
        f"median ms per KB: {result['ms_per_kb']} wall, {result['cpu_ms_per_kb']} CPU "
        "(CPU time is the fair figure on a busy machine)"
    )
    for entity_type, m in result.get("wnut17_dev", {}).items():
        lines.append(f"WNUT-17 dev {entity_type}: recall {m['recall']:.3f} P {m['precision']:.3f}")
    lines.extend(f"[{'PASS' if ok else 'FAIL'}] {name}" for name, ok in result["targets"].items())
    return "\n".join(lines) + "\n"


def write_results(result: dict[str, Any], out: Path | None, suite: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = out or Path("evals") / "results" / f"{suite}-{stamp}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return path
