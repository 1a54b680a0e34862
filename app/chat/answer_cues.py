"""Ranking cues of the composer that read words: the value a question asks for, and the
question terms a sentence's predecessor holds.

``question_kind`` reads the question's wording (how many, when, who, ...); ``answer_cue`` says
whether a candidate sentence holds a value of that kind. ``preceding_gain`` measures what the
sentence before a candidate adds of the question (an answer often follows the sentence naming
its subject).
"""

import re
from collections.abc import Sequence

from app.chat.sentence_pool import PreparedSentence
from retrieval.analyzer import analyze

_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    "sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
    "hundreds?|thousands?|millions?|billions?|trillions?|dozens?|half|third|quarter|twice"
)
_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_HAS_NUMBER = re.compile(rf"\d|\b(?:{_NUMBER_WORDS})\b", re.IGNORECASE)
_HAS_DATE = re.compile(
    rf"\b(?:1\d{{3}}|20\d{{2}}|\d{{1,4}}s|\d+(?:st|nd|rd|th)|{_MONTHS})\b"
    r"|\b(?:centur(?:y|ies)|BC|AD|BCE|CE)\b",
    re.IGNORECASE,
)
_INNER_CAPITALISED = re.compile(r"(?<=\s)[A-Z][\w\-]+")
_ASKS_NUMBER = re.compile(
    r"\bhow (?:many|much|long|old|far|large|big|high|tall|often)\b"
    r"|\bwhat (?:percentage|percent|number|amount|proportion)\b",
    re.IGNORECASE,
)
_ASKS_DATE = re.compile(
    r"\bwhen\b|\b(?:what|which|in what) (?:year|years|century|date|decade|day|month|era)\b",
    re.IGNORECASE,
)
_ASKS_NAME = re.compile(
    r"\bwho(?:m|se)?\b|\bwhere\b|\b(?:what|which) (?:country|city|state|region|place|nation)\b",
    re.IGNORECASE,
)


def question_kind(question: str) -> str:
    """``number``, ``date``, ``name`` (a person or place) or ``""``: what the answer must contain."""
    if _ASKS_NUMBER.search(question):
        return "number"
    if _ASKS_DATE.search(question):
        return "date"
    if _ASKS_NAME.search(question):
        return "name"
    return ""


def answer_cue(kind: str, sentence: str, question_terms: Sequence[str]) -> float:
    """1.0 when ``sentence`` holds the kind of value the question asks for, else 0.0.

    A name must be a capitalised word inside the sentence that the question does not mention.
    """
    if kind == "number":
        return float(bool(_HAS_NUMBER.search(sentence)))
    if kind == "date":
        return float(bool(_HAS_DATE.search(sentence)))
    if kind == "name":
        asked = set(question_terms)
        return float(
            any(
                (terms := analyze(m.group())) and terms[0] not in asked
                for m in _INNER_CAPITALISED.finditer(sentence)
            )
        )
    return 0.0


def preceding_gain(
    idf: dict[str, float],
    candidates: Sequence[tuple[int, PreparedSentence]],
    sentences: Sequence[tuple[int, PreparedSentence]],
) -> list[float]:
    """Per candidate ``(passage index, sentence)``: the IDF-weighted share of question terms
    found in the sentence before it in its passage (``sentences``: every sentence by passage
    index) and not in the candidate itself; 0 for a passage's first sentence."""
    total = sum(idf.values())
    if total <= 0:
        return [0.0 for _ in candidates]
    before = {(i, s.position + 1): s.terms for i, s in sentences}
    out = []
    for passage, sentence in candidates:
        terms = before.get((passage, sentence.position), frozenset())
        out.append(sum(w for t, w in idf.items() if t in terms and t not in sentence.terms) / total)
    return out
