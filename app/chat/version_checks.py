"""What a new assistant version's settings must satisfy before it is stored.

Types come from the settings dataclasses' annotations (a whole number where an ``int`` is
declared, a number where a ``float`` is, ``true``/``false`` for a ``bool``, one of the values of a
``Literal``); ranges are listed per setting below. Every problem is reported with the setting's
dotted name (``composer.max_sentences must be at least 1, got 0``), so a version that would fail
or misbehave on every request is refused when it is created, not when it is asked.
"""

import math
import typing
from collections.abc import Mapping
from dataclasses import asdict, fields
from typing import Any, Literal

from app.chat.composer import ComposerConfig
from app.chat.confidence import ConfidenceWeights
from retrieval.types import RetrievalConfig

# Inclusive (low, high) bounds; None leaves a side open. Retrieval checks its own ranges too
# (``RetrievalConfig.from_dict``), for versions stored before these checks existed.
RANGES: dict[str, tuple[float | None, float | None]] = {
    "retrieval.k": (1, 100),
    "retrieval.rrf_k": (1, None),
    "retrieval.exact_below": (0, None),
    "retrieval.bm25_k1": (0, None),
    "retrieval.bm25_b": (0, 1),
    "retrieval.max_query_terms": (1, None),
    "retrieval.max_df_ratio": (0, 1),
    "retrieval.keyword_scan_cap": (1, None),
    "retrieval.near_duplicate_jaccard": (0, 1),
    "retrieval.confidence_slope": (0, None),
    "composer.max_sentences": (1, 10),
    "composer.relative_floor": (0, 1),
    "composer.cited_passage_floor": (0, 1),
    "composer.hedge_floor": (0, 1),
    "composer.hedge_below": (0, None),
    "composer.semantic_weight": (0, None),
    "composer.lexical_weight": (0, None),
    "composer.context_weight": (0, None),
    "composer.rank_decay": (0, None),
    "composer.passage_weight": (0, None),
    "composer.cue_weight": (0, None),
    "composer.passage_match_weight": (0, None),
    "composer.preceding_weight": (0, None),
    "composer.same_passage_penalty": (0, None),
    "composer.embed_candidates": (1, 200),
    "composer.per_passage_candidates": (1, None),
    "answer.confidence_threshold": (0, 1),
    **{f"answer.weights.{f.name}": (0, None) for f in fields(ConfidenceWeights)},
}


def config_problems(config: Mapping[str, Any]) -> list[str]:
    """Every type and range problem of the ``retrieval``, ``composer`` and ``answer`` sections
    (settings a section does not name keep their defaults and are not checked)."""
    problems: list[str] = []
    for section, cls in (("retrieval", RetrievalConfig), ("composer", ComposerConfig)):
        values = config.get(section, {})
        if isinstance(values, Mapping):
            problems += _section(values, cls, section)
    answer = config.get("answer", {})
    if isinstance(answer, Mapping):
        flat = {k: v for k, v in answer.items() if k != "weights"}
        problems += _section(flat, _AnswerFields, "answer")
        weights = answer.get("weights", {})
        if not isinstance(weights, Mapping):
            problems.append("answer.weights must be an object")
        else:
            problems += _section(weights, ConfidenceWeights, "answer.weights")
            if weights and not problems and _weight_sum(weights) <= 0:
                problems.append("answer.weights must not all be 0")
    return problems


class _AnswerFields:
    """The answer section's own settings (``AnswerConfig`` less ``weights``), for their types."""

    confidence_threshold: float
    answerer: Literal["composer", "llm"]


def _section(values: Mapping[str, Any], cls: type, prefix: str) -> list[str]:
    hints = typing.get_type_hints(cls)
    problems = []
    for name, value in values.items():
        if name not in hints:
            continue  # unknown names are the callers' concern (refused or dropped)
        dotted = f"{prefix}.{name}"
        problem = _type_problem(hints[name], value)
        if problem is None:
            problem = _range_problem(dotted, value)
        if problem is not None:
            problems.append(f"{dotted} {problem}")
    return problems


def _type_problem(hint: Any, value: Any) -> str | None:
    shown = repr(value)
    if typing.get_origin(hint) is Literal:
        allowed = typing.get_args(hint)
        if value in allowed and isinstance(value, str):
            return None
        return f"must be one of {', '.join(map(str, allowed))}, got {shown}"
    if hint is bool:
        return None if isinstance(value, bool) else f"must be true or false, got {shown}"
    if hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else f"must be a whole number, got {shown}"
    if hint is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not math.isfinite(value):
            return f"must be a number, got {shown}"
        return None
    if hint is str:
        return None if isinstance(value, str) else f"must be text, got {shown}"
    return None


def _range_problem(dotted: str, value: Any) -> str | None:
    if dotted not in RANGES or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    low, high = RANGES[dotted]
    if low is not None and value < low:
        return f"must be at least {low:g}, got {value:g}"
    if high is not None and value > high:
        return f"must be at most {high:g}, got {value:g}"
    return None


def _weight_sum(weights: Mapping[str, Any]) -> float:
    merged = asdict(ConfidenceWeights())
    merged.update({k: v for k, v in weights.items() if k in merged})
    return float(sum(merged.values()))
