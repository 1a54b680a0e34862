"""The keyword analyzer shared by indexing and querying: tokenize, drop stop words, stem.

English words are Snowball-stemmed; tokens in other scripts pass through lower-cased and
unstemmed, so non-English text still matches itself exactly.
"""

import re
import unicodedata
from collections import Counter
from functools import lru_cache

import snowballstemmer

_TOKEN = re.compile(r"\w+", re.UNICODE)
_MAX_TERM_CHARS = 64

# A compact English stop list (function words only: content words carry BM25's signal).
STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "s",
        "t",
        "d",
        "ll",
        "m",
        "re",
        "ve",
        "y",
    ]
)


@lru_cache(maxsize=1)
def _stemmer() -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer("english")


def _is_latin(token: str) -> bool:
    return all(ch.isascii() or unicodedata.name(ch, "").startswith("LATIN") for ch in token)


def analyze(text: str) -> list[str]:
    """Terms of ``text`` in order (with repeats). Pure and deterministic."""
    normalized = unicodedata.normalize("NFKC", text).lower()
    tokens = [t for t in _TOKEN.findall(normalized) if t not in STOP_WORDS]
    latin = [t for t in tokens if _is_latin(t)]
    stemmed = dict(zip(latin, _stemmer().stemWords(latin), strict=True))
    return [stemmed.get(t, t)[:_MAX_TERM_CHARS] for t in tokens]


def term_frequencies(text: str) -> Counter[str]:
    return Counter(analyze(text))


def query_terms(text: str) -> list[str]:
    """Distinct query terms, first occurrence order."""
    return list(dict.fromkeys(analyze(text)))
