"""What kind of value a question asks for, and whether a sentence holds one.

``question_kind`` reads the question's wording (how many, when, who, ...); ``answer_cue`` says
whether a candidate sentence holds a value of that kind. The composer uses the pair as one of
its ranking cues.
"""

import re
from collections.abc import Sequence

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
