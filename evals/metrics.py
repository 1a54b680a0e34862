"""Pure evaluation metrics shared by every suite: ranking, text overlap, decisions, latency.

Functions take plain values and return floats in [0, 1] unless named otherwise (``_ms``,
``_usd``). Nothing here knows about the database or the chat service. Answer-text metrics
(token F1, cited sentences, the abstention curve) live in ``evals.answer_metrics``.
"""

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from evals.ir_metrics import ndcg_at

_WS = re.compile(r"\s+")

# Metric names matching these fragments are better when lower (diffs and gates use this).
_LOWER_IS_BETTER = ("_ms", "latency", "leak", "false_positive", "cost", "violation", "error", "rss")


def higher_is_better(metric: str) -> bool:
    """Whether a larger value of ``metric`` is an improvement (by naming convention)."""
    return not any(fragment in metric for fragment in _LOWER_IS_BETTER)


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def collapse(text: str) -> str:
    """Lower-case with runs of whitespace collapsed (PDF extraction breaks lines mid-sentence)."""
    return _WS.sub(" ", text).strip().lower()


def contains_fact(haystack: str, fact: str) -> bool:
    """Case- and whitespace-insensitive substring test, as the golden README prescribes."""
    return collapse(fact) in collapse(haystack)


def recall_at_k(ranking: Sequence[str], relevant: set[str], k: int) -> float:
    """Share of ``relevant`` items among the first ``k`` of ``ranking``."""
    if not relevant:
        return 0.0
    return len(relevant & set(ranking[:k])) / len(relevant)


def hit_at_k(ranking: Sequence[str], relevant: set[str], k: int) -> float:
    """1.0 when any relevant item is in the first ``k``."""
    return float(any(item in relevant for item in ranking[:k]))


def reciprocal_rank(ranking: Sequence[str], relevant: set[str]) -> float:
    for rank, item in enumerate(ranking, start=1):
        if item in relevant:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranking: Sequence[str], relevant: set[str], k: int = 10) -> float:
    """Binary-relevance nDCG@k (same gain and discount as BEIR)."""
    return ndcg_at(ranking, dict.fromkeys(relevant, 1), k)


@dataclass(frozen=True)
class Decisions:
    """Precision and recall of a yes/no decision (hand-off, refusal, injection block)."""

    precision: float
    recall: float
    false_positive_rate: float
    support: int


def decisions(predicted: Sequence[bool], expected: Sequence[bool]) -> Decisions:
    """Precision/recall/FPR of ``predicted`` against ``expected``; empty denominators give 0 (FPR) / 1."""
    tp = sum(p and e for p, e in zip(predicted, expected, strict=True))
    fp = sum(p and not e for p, e in zip(predicted, expected, strict=True))
    fn = sum(e and not p for p, e in zip(predicted, expected, strict=True))
    negatives = sum(not e for e in expected)
    return Decisions(
        precision=tp / (tp + fp) if tp + fp else 1.0,
        recall=tp / (tp + fn) if tp + fn else 1.0,
        false_positive_rate=fp / negatives if negatives else 0.0,
        support=sum(expected),
    )


def percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile (numpy's default method); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * p / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency_summary(values_ms: Sequence[float], prefix: str = "latency") -> dict[str, float]:
    return {
        f"{prefix}_p50_ms": round(percentile(values_ms, 50), 2),
        f"{prefix}_p95_ms": round(percentile(values_ms, 95), 2),
        f"{prefix}_p99_ms": round(percentile(values_ms, 99), 2),
    }


def rate(flags: Sequence[bool]) -> float:
    return mean([float(f) for f in flags])


def leaked(texts: Sequence[str], forbidden: Sequence[str]) -> list[str]:
    """The ``forbidden`` strings that appear in any of ``texts`` (PII or restricted facts)."""
    return [fact for fact in forbidden if any(contains_fact(t, fact) for t in texts)]


def per_tag_rate(rows: Sequence[Mapping[str, object]], key: str) -> dict[str, float]:
    """Mean of boolean ``row[key]`` per tag in ``row['tags']``."""
    buckets: dict[str, list[bool]] = {}
    for row in rows:
        tags = row.get("tags") or []
        for tag in tags if isinstance(tags, list) else []:
            buckets.setdefault(str(tag), []).append(bool(row.get(key)))
    return {tag: round(rate(values), 4) for tag, values in sorted(buckets.items())}
