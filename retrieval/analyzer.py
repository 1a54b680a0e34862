"""The keyword analyzer shared by indexing and querying: tokenize, drop stop words, stem.

English words are Snowball-stemmed; tokens in other scripts pass through lower-cased and
unstemmed, so non-English text still matches itself exactly.
"""

import re
import threading
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


_PER_THREAD = threading.local()
# Distinct tokens whose term is remembered; English vocabularies of a knowledge base fit easily.
TERM_CACHE_SIZE = 1 << 17


def _stemmer() -> snowballstemmer.stemmer:
    """This thread's English stemmer: a Snowball stemmer keeps its word in the object while it
    stems, so one shared between threads (ingestion prepares documents in worker threads while
    the event loop analyzes questions) could mix two words up."""
    stemmer: snowballstemmer.stemmer | None = getattr(_PER_THREAD, "stemmer", None)
    if stemmer is None:
        stemmer = _PER_THREAD.stemmer = snowballstemmer.stemmer("english")
    return stemmer


def _is_latin(token: str) -> bool:
    return all(ch.isascii() or unicodedata.name(ch, "").startswith("LATIN") for ch in token)


@lru_cache(maxsize=TERM_CACHE_SIZE)
def _term(token: str) -> str:
    """The term of one lower-cased token that is not a stop word: Snowball-stemmed when it is
    Latin script, as it is otherwise, cut to 64 characters.

    Memoised: the pure-Python stemmer costs about 10 us a word, and words repeat (a SciFact
    abstract analyzed in 3.7 ms, most of it stemming).
    """
    stemmed = _stemmer().stemWord(token) if _is_latin(token) else token
    return str(stemmed)[:_MAX_TERM_CHARS]


def analyze(text: str) -> list[str]:
    """Terms of ``text`` in order (with repeats). Pure and deterministic."""
    normalized = unicodedata.normalize("NFKC", text).lower()
    return [_term(t) for t in _TOKEN.findall(normalized) if t not in STOP_WORDS]


def term_frequencies(text: str) -> Counter[str]:
    return Counter(analyze(text))


def query_terms(text: str) -> list[str]:
    """Distinct query terms, first occurrence order."""
    return list(dict.fromkeys(analyze(text)))
