"""PII spans and what is done with them: the ``PiiRedactor`` contract, overlap and address merging.

Pure Python (no Presidio), so every rule here is unit-tested without loading a model.
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from guardrails.recognizers import CUSTOM_RECOGNIZERS

# Between two parts of one postal address: separators, a state code or a postcode.
_ADDRESS_GAP = re.compile(
    r"[\s,.;\-]*(?:[A-Z]{2}\b)?[\s,.\-]*(?:\d{3,6}(?:\s?[A-Z]{2})?)?[\s,.\-]*"
)
# After a street address: an optional town and state code, then the postcode that ends it
# ("..., Mountain View, CA 94043", ", 94043-1351", " 10115"); a town alone is not absorbed.
_TRAILING_POSTCODE = re.compile(
    r"[ \t]*,?[ \t]*(?:[A-Z][\w'.\-]*(?:[ \t]+[A-Z][\w'.\-]*){0,3}[ \t]*,[ \t]*)?"
    r"(?:[A-Z]{2}[ \t]+)?\d{4,6}(?:-\d{4})?\b"
)
_LINE_END_POSTCODE = re.compile(r"[ \t,]*(\d{4,6})[ \t]*(?=\n|$|[.?!,])")
_ADDRESS_FAMILY = frozenset({"STREET_ADDRESS", "LOCATION"})
# Weak pattern matches are kept when one of their entity's context words is this close. Presidio's
# own context check misses many (it drops stop words such as "call" and looks only backwards).
_CONTEXT_BEFORE, _CONTEXT_AFTER, _CONTEXT_BOOST = 48, 16, 0.35


def _context_patterns() -> dict[str, re.Pattern[str]]:
    words: dict[str, set[str]] = {}
    for spec in CUSTOM_RECOGNIZERS:
        words.setdefault(spec.entity, set()).update(spec.context)
    return {
        entity: re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, ws))) + r")\b", re.I)
        for entity, ws in words.items()
        if ws
    }


_CONTEXT = _context_patterns()


@dataclass(frozen=True)
class PiiEntity:
    type: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class Redaction:
    text: str
    entities: tuple[PiiEntity, ...]


class PiiRedactor(Protocol):
    def find(self, text: str) -> list[PiiEntity]:
        """Non-overlapping entities in ``text``, sorted by start offset."""
        ...

    def redact(self, text: str) -> Redaction:
        """``text`` with each entity replaced by ``<TYPE>``, plus the entities found."""
        ...

    def redact_many(self, texts: Sequence[str]) -> list[Redaction]:
        """``redact`` for many texts at once (batched NLP; use it for ingestion)."""
        ...

    def scoped(self, entities: Iterable[str]) -> "PiiRedactor":
        """A redactor that finds and replaces only the types in ``entities``."""
        ...


def replace_entities(text: str, entities: Iterable[PiiEntity]) -> str:
    """Replace each (non-overlapping) entity span with a ``<TYPE>`` placeholder."""
    parts: list[str] = []
    cursor = 0
    for entity in sorted(entities, key=lambda e: e.start):
        if entity.start < cursor:
            continue
        parts.append(text[cursor : entity.start])
        parts.append(f"<{entity.type}>")
        cursor = entity.end
    parts.append(text[cursor:])
    return "".join(parts)


def resolve_overlaps(entities: Iterable[PiiEntity]) -> list[PiiEntity]:
    """Merge overlapping spans into one; the merged span takes the strongest entity's type.

    Merging (rather than dropping the weaker span) keeps every detected character redacted.
    """
    merged: list[list[PiiEntity]] = []
    for entity in sorted(entities, key=lambda e: (e.start, -e.end)):
        if merged and entity.start < max(e.end for e in merged[-1]):
            merged[-1].append(entity)
        else:
            merged.append([entity])
    result = []
    for group in merged:
        start, end = min(e.start for e in group), max(e.end for e in group)
        # A span that covers the whole group is the more complete reading ("1987 74 Diakou
        # Street" is an address that happens to contain a phone-like "1987 74").
        covering = [e for e in group if e.start == start and e.end == end]
        best = max(covering or group, key=lambda e: (e.score, e.end - e.start))
        result.append(PiiEntity(type=best.type, start=start, end=end, score=best.score))
    return result


def merge_address_parts(text: str, entities: list[PiiEntity]) -> list[PiiEntity]:
    """Join a street address with the town, state code and postcode that follow it on its line.

    "1600 Amphitheatre Parkway, Mountain View, CA 94043" is one address, not an address and a
    location with a postcode left in clear text between them. In a multi-line postal block each
    line keeps its own span (town and country stay LOCATION); a postcode ending the block's
    country line becomes its own STREET_ADDRESS span, so it is never left in clear text.
    """
    result: list[PiiEntity] = []
    for entity in entities:
        previous = result[-1] if result else None
        if (
            previous is not None
            and {previous.type, entity.type} <= _ADDRESS_FAMILY
            and "STREET_ADDRESS" in {previous.type, entity.type}
            and _ADDRESS_GAP.fullmatch(text, previous.end, entity.start)
            and "\n" not in text[previous.end : entity.start]
        ):
            result[-1] = PiiEntity(
                "STREET_ADDRESS", previous.start, entity.end, max(previous.score, entity.score)
            )
        else:
            result.append(entity)
    merged = []
    for entity in result:
        merged.append(_with_trailing_postcode(text, entity))
        postcode = _LINE_END_POSTCODE.match(text, entity.end)
        if entity.type == "LOCATION" and postcode is not None:
            merged.append(PiiEntity("STREET_ADDRESS", postcode.start(1), postcode.end(1), 0.6))
    return merged


def boost_by_context(text: str, entity: PiiEntity, *, threshold: float) -> PiiEntity:
    """Raise a below-threshold score when a context word for its type is just before or after."""
    pattern = _CONTEXT.get(entity.type)
    if entity.score >= threshold or pattern is None:
        return entity
    before = text[max(0, entity.start - _CONTEXT_BEFORE) : entity.start]
    after = text[entity.end : entity.end + _CONTEXT_AFTER]
    if pattern.search(before) or pattern.search(after):
        score = min(1.0, entity.score + _CONTEXT_BOOST)
        return PiiEntity(entity.type, entity.start, entity.end, score)
    return entity


def _with_trailing_postcode(text: str, entity: PiiEntity) -> PiiEntity:
    if entity.type != "STREET_ADDRESS":
        return entity
    match = _TRAILING_POSTCODE.match(text, entity.end)
    if match is None:
        return entity
    return PiiEntity(entity.type, entity.start, match.end(), entity.score)


def trim_to_first_line(text: str, entity: PiiEntity) -> PiiEntity | None:
    """A name never spans lines: cut a PERSON span at its first line break (None if empty).

    spaCy's NER runs names into the next line of a contact block ("Allan\\nEchocardiographer").
    """
    if entity.type != "PERSON":
        return entity
    value = text[entity.start : entity.end]
    head = value.split("\n", 1)[0].rstrip(" \t,>|")
    if not head.strip():
        return None
    return PiiEntity(entity.type, entity.start, entity.start + len(head), entity.score)
