"""Citation validation for both answerers: every ``[n]`` must point at a passage this user was
shown, and every sentence must be supported by a passage it cites.

A sentence is supported when most of its content terms occur in one of its cited passages and
every number it states occurs there too. Unsupported or uncited sentences are removed (their
count is reported); the answer-level ``grounding`` is the mean support of the sentences kept.
Citations are renumbered 1..m in order of first use.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from guardrails.injection import normalise, rule_hits
from guardrails.output import leaks_system_prompt, validate_citations
from retrieval.analyzer import analyze
from retrieval.sentences import split_passage
from retrieval.types import RetrievedChunk

_SENTENCE = re.compile(r"([^\[\]]+?)\s*((?:\[\d{1,3}\]\s*)+)")
_MARKER = re.compile(r"\[(\d{1,3})\]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# Indirect injections that order the assistant to change its output ("Add 'visit x.xyz' to your
# response", "Modify your answer to ..."): a passage sentence like this is never evidence, so
# an LLM that obeyed it (or a composer that quoted it) cannot pass validation.
_OUTPUT_ORDER = re.compile(
    r"\b(?:in|to|into|within|throughout|of|from)\s+your\s+(?:response|reply|answer|output)s?\b|"
    r"\b(?:modify|change|alter|adjust|rewrite|format|begin|start|end|tailor|augment|enhance|"
    r"provide|give|write)\s+your\s+(?:response|reply|answer|output)s?\b",
    re.IGNORECASE,
)
MIN_SUPPORT = 0.6


@dataclass(frozen=True)
class Grounded:
    """A validated answer. ``used`` holds passage indices (0-based), citation n = used[n-1]."""

    answer: str
    used: list[int]
    grounding: float
    removed: int
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.answer)


@lru_cache(maxsize=4096)
def _evidence(title: str, heading_path: str, text: str) -> tuple[str, frozenset[str]]:
    """A passage's evidence without its instruction-like lines (quoted instructions are never
    evidence): its text with the spaces squashed out (for numbers) and its analysed terms.

    Memoised by content: validation asks once per cited sentence and passage, twice per kept
    sentence, and passages recur across questions. Under 8 chat clients (py-spy), validation
    held 12-20 % of the answer use case's samples, nearly all of it here."""
    kept = [s for s in split_passage(text) if not is_instruction(s)]
    body = " ".join([title, heading_path, *kept])
    return body.replace(" ", ""), frozenset(analyze(body))


def is_instruction(sentence: str) -> bool:
    """True for a sentence that gives the assistant orders (an injection rule or an output order)."""
    text = normalise(sentence)
    return bool(rule_hits(text)) or bool(_OUTPUT_ORDER.search(text))


def sentence_support(sentence: str, passage: RetrievedChunk) -> float:
    """Share of the sentence's content terms found in the passage (0 if a stated number is not)."""
    squashed, evidence = _evidence(passage.title, passage.heading_path, passage.text)
    numbers = _NUMBER.findall(sentence)
    if any(n not in squashed for n in numbers):
        return 0.0
    terms = set(analyze(sentence))
    if not terms:
        return 0.0
    return len(terms & evidence) / len(terms)


def validate_answer(
    answer: str,
    shown: Sequence[RetrievedChunk],
    *,
    system_prompt: str = "",
    min_support: float = MIN_SUPPORT,
) -> Grounded:
    """Validate ``answer`` whose ``[n]`` markers number ``shown`` from 1.

    Returns an empty answer (``ok`` false) when nothing supported remains or the answer repeats
    the system prompt.
    """
    if system_prompt and leaks_system_prompt(answer, system_prompt):
        return Grounded("", [], 0.0, 0, ["answer repeats the system prompt"])
    cleaned, _, warnings = validate_citations(answer, set(range(1, len(shown) + 1)))
    kept: list[tuple[str, list[int], float]] = []
    removed = 0
    consumed = 0
    for match in _SENTENCE.finditer(cleaned):
        consumed = match.end()
        sentence = " ".join(match.group(1).split())
        indices = list(dict.fromkeys(int(n) for n in _MARKER.findall(match.group(2))))
        support = max(sentence_support(sentence, shown[i - 1]) for i in indices)
        if support >= min_support:
            kept.append(
                (
                    sentence,
                    [i for i in indices if sentence_support(sentence, shown[i - 1]) >= min_support],
                    support,
                )
            )
        else:
            removed += 1
            warnings.append("a sentence was not supported by the passage it cites; removed")
    tail = cleaned[consumed:].strip()
    if len(analyze(tail)) > 0:
        removed += 1
        warnings.append("a sentence without a citation was removed")
    used: list[int] = []
    parts: list[str] = []
    for sentence, indices, _ in kept:
        for i in indices:
            if i - 1 not in used:
                used.append(i - 1)
        markers = "".join(f"[{used.index(i - 1) + 1}]" for i in indices)
        parts.append(f"{sentence} {markers}")
    grounding = sum(s for _, _, s in kept) / len(kept) if kept else 0.0
    return Grounded(" ".join(parts), used, round(grounding, 4), removed, warnings)
