"""The one rule-based sentence splitter, shared by chunking (cut points) and answer
composition (quotable units); no model needed.

Knows common abbreviations ("e.g.", "Dr."), initials ("J. Smith"), and leaves decimals
("3.5") and lower-case continuations ("etc. and so on") alone.
"""

import re

_ABBREVIATIONS = frozenset(
    {
        *("e.g", "i.e", "etc", "vs", "cf", "al", "approx", "ca", "incl", "excl", "resp", "viz"),
        *("dr", "mr", "mrs", "ms", "prof", "st", "jr", "sr", "rev", "hon", "gen", "col", "capt"),
        *("inc", "ltd", "co", "corp", "dept", "univ", "assn", "bros", "est"),
        *("no", "nos", "nr", "vol", "fig", "figs", "p", "pp", "ch", "sec", "art", "para", "eq"),
        *("jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"),
        *("mon", "tue", "wed", "thu", "fri", "sat", "sun", "min", "max", "tel", "ext", "ref"),
        *("a.m", "p.m", "u.s", "u.k", "e.u", "ph.d", "b.sc", "m.sc"),
    }
)
_CANDIDATE = re.compile(r"(?:\.{1,3}|[!?…]+)[\"'”’)\]]*\s+|[。！？]+\s*")
_DOTTED_INITIALS = re.compile(r"(?:[a-z]\.)+[a-z]")


def split_sentences(text: str) -> list[str]:
    """Split one line or paragraph into stripped, non-empty sentences, in order."""
    sentences: list[str] = []
    start = 0
    for match in _CANDIDATE.finditer(text):
        end = match.end()
        if end >= len(text):
            break
        if text[end].islower():
            continue
        if match.group().startswith(".") and _is_abbreviation(text, match.start()):
            continue
        sentence = text[start:end].strip()
        if sentence:
            sentences.append(sentence)
        start = end
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def _is_abbreviation(text: str, period: int) -> bool:
    """True when the word ending at ``period`` (a '.') is an abbreviation or an initial."""
    word_start = period
    while word_start > 0 and not text[word_start - 1].isspace():
        word_start -= 1
    word = text[word_start:period].lstrip("([\"'“‘").lower()
    if not word:
        return False
    if len(word) == 1 and word.isalpha():
        return True
    return word in _ABBREVIATIONS or _DOTTED_INITIALS.fullmatch(word) is not None


_BLOCK_BREAK = re.compile(r"\n\s*\n|\n(?=\s*(?:[-*•]|\d+[.)])\s)")


def split_passage(text: str) -> list[str]:
    """Sentences of a multi-paragraph passage: blank lines and list items also end a sentence,
    and whitespace inside each sentence is collapsed (for quoting, not for chunk offsets)."""
    sentences: list[str] = []
    for block in _BLOCK_BREAK.split(text):
        collapsed = " ".join(block.split())
        if collapsed:
            sentences.extend(split_sentences(collapsed))
    return sentences
