"""Output checks on a generated answer: citations, system-prompt leaks, personal data."""

import re
from collections.abc import Sequence
from difflib import SequenceMatcher

from guardrails.spans import PiiRedactor, Redaction, replace_entities

_CITATION = re.compile(r"\[(\d{1,3})\]")
# A shared run of this many characters with the system prompt counts as a leak.
LEAK_MIN_CHARS = 60


def validate_citations(answer: str, shown_indices: set[int]) -> tuple[str, list[int], list[str]]:
    """Drop ``[n]`` markers that point outside the passages this user was shown.

    Returns the cleaned answer, the valid indices in order of first use, and one warning per
    dropped marker.
    """
    used: list[int] = []
    warnings: list[str] = []

    def keep_or_drop(match: re.Match[str]) -> str:
        index = int(match.group(1))
        if index in shown_indices:
            if index not in used:
                used.append(index)
            return match.group(0)
        warnings.append(f"citation [{index}] does not point at a shown passage; removed")
        return ""

    cleaned = _CITATION.sub(keep_or_drop, answer)
    cleaned = re.sub(r"[ \t]+([.,;:!?])", r"\1", cleaned)
    cleaned = re.sub(r"[ \t]{2,}", " ", cleaned).strip()
    return cleaned, used, warnings


def leaks_system_prompt(
    answer: str, system_prompt: str, *, min_chars: int = LEAK_MIN_CHARS
) -> bool:
    """True when the answer repeats a long stretch of the system prompt (ignoring case, spaces)."""
    a, b = _squash(answer), _squash(system_prompt)
    if not a or not b:
        return False
    threshold = min(min_chars, len(b))
    match = SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b))
    return match.size >= threshold


def redact_answer(redactor: PiiRedactor, answer: str, *, allowed: Sequence[str] = ()) -> Redaction:
    """Redact personal data from an answer before it leaves the system.

    Values that occur in one of the ``allowed`` texts (the user's own question, the passages the
    user was shown) stay: the user may see them. Everything else the redactor finds is replaced.
    """
    haystack = _squash(" ".join(allowed))
    entities = [
        e
        for e in redactor.find(answer)
        if not re.search(rf"(?<!\w){re.escape(_squash(answer[e.start : e.end]))}(?!\w)", haystack)
    ]
    return Redaction(replace_entities(answer, entities), tuple(entities))


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()
