"""The sentences of a chunk that an answer may quote, one rule for every place that needs them.

The composer scores and quotes them; ingestion stores a vector for each (``chunk_sentences``),
so the first question about a passage does not wait for its sentences to be embedded. The split
separates headings that PDF or markdown parsing glued to the first sentence ("Annual leave
Full-time employees receive ...", also after a section number: "4. Annual leave"), drops running
page headers and footers ("Handbook - page 2 of 4"), and reference marks such as "[3]" or
"[citation needed]" (square brackets inside a quote would be read as ``[n]`` citations, which
broke validation of every sentence carrying one).
"""

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from retrieval.analyzer import analyze
from retrieval.sentences import split_passage

MIN_WORDS = 4
MAX_SENTENCE_CHARS = 600
# A line this short, without closing punctuation, followed by a capitalised line is a heading.
HEADING_MAX_WORDS = 10
_HEADING_END = re.compile(r"[.!?:;,)\]\"']$")
# A section number before a heading ("4. Annual leave", "2.3 Approval").
_SECTION_NUMBER = re.compile(r"^(?:\d{1,2}(?:\.\d{1,2})*\.?|[IVX]{1,4}\.)\s+(?=\S)")
# A running page header or footer ("Marrowfield Systems Handbook - page 2 of 4"): never quoted.
_PAGE_MARK = re.compile(r"\bpage\s+\d+\s*(?:of|/)\s*\d+\s*$", re.IGNORECASE)
PAGE_MARK_MAX_WORDS = 16
# Reference and editorial marks ("[3]", "[c]", "[note 1]", "[citation needed]"): not part of the
# sentence, and square brackets in a quote would read as ``[n]`` citations, so they are dropped.
_FOOTNOTE = re.compile(
    r"\[(?:\d{1,3}|[a-z]{1,2}|(?:note|n) ?\d{1,3}|[a-z ]{0,30}\bneeded|[a-z ]{0,30}\?"
    r"|vague|update|dubious|not in citation given|sic)\]",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class PreparedSentence:
    """A sentence as quoted (``text``), its analyzer terms, and its position in the passage."""

    text: str
    terms: frozenset[str]
    position: int
    context_terms: frozenset[str]  # terms of the headings above it (scored, never quoted)


def _heading_prefixes(title: str, heading_path: str) -> list[str]:
    parts = [p.strip() for p in heading_path.split(">") if p.strip()]
    candidates = [title.strip(), *parts, *reversed(parts)]
    return sorted({c for c in candidates if c}, key=len, reverse=True)


def strip_heading(sentence: str, prefixes: Sequence[str]) -> tuple[str, str]:
    """``(heading, rest)`` when ``sentence`` starts with one of ``prefixes`` glued to a sentence.

    Only a prefix followed by a capitalised word (or a digit) is stripped, so a sentence that
    merely begins with the same words as a heading keeps them.
    """
    for prefix in prefixes:
        if len(sentence) > len(prefix) + 1 and sentence[: len(prefix)].lower() == prefix.lower():
            rest = sentence[len(prefix) :].lstrip(" :—-–")
            if rest[:1].isupper() or rest[:1].isdigit():
                return prefix, rest
    return "", sentence


def _lines_with_headings(text: str) -> list[tuple[str, str]]:
    """Split text into ``(heading, body)`` blocks at heading-like lines.

    A heading may carry a section number ("4. Annual leave"), which is dropped; a numbered line
    next to another numbered line is a list item, not a heading. Running page headers and
    footers are dropped.
    """
    blocks: list[tuple[str, str]] = []
    heading, body = "", list[str]()
    lines = text.splitlines()
    for i, line in enumerate(lines):
        stripped = line.strip()
        if _PAGE_MARK.search(stripped) and len(stripped.split()) <= PAGE_MARK_MAX_WORDS:
            continue
        following = lines[i + 1].strip() if i + 1 < len(lines) else ""
        previous = lines[i - 1].strip() if i > 0 else ""
        numbered = _SECTION_NUMBER.match(stripped)
        title = stripped[numbered.end() :] if numbered else stripped.lstrip("#").strip()
        words = title.split()
        looks_like_heading = (
            0 < len(words) <= HEADING_MAX_WORDS
            and not _HEADING_END.search(stripped)
            and title[:1].isupper()
            and (following[:1].isupper() or following.startswith(("-", "*", "•")))
            and not (
                numbered and (_SECTION_NUMBER.match(following) or _SECTION_NUMBER.match(previous))
            )
        )
        if looks_like_heading:
            if body:
                blocks.append((heading, "\n".join(body)))
                body = []
            heading = title
        else:
            body.append(line)
    if body:
        blocks.append((heading, "\n".join(body)))
    return blocks


def quotable_sentences(title: str, heading_path: str, text: str) -> list[PreparedSentence]:
    """The sentences of a chunk's ``text`` that an answer may quote, in order (see the module
    docstring); ``title`` and ``heading_path`` are the chunk's, whose words glued to a first
    sentence are stripped and count as context."""
    prefixes = _heading_prefixes(title, heading_path)
    base_context = frozenset(analyze(f"{title} {heading_path}"))
    out: list[PreparedSentence] = []
    for heading, body in _lines_with_headings(text):
        context = base_context | frozenset(analyze(heading))
        for raw in split_passage(_FOOTNOTE.sub("", body)):
            glued, sentence = strip_heading(raw, prefixes)
            if len(sentence.split()) < MIN_WORDS or len(sentence) > MAX_SENTENCE_CHARS:
                continue
            if "[" in sentence or "]" in sentence:
                continue  # other bracketed text cannot be quoted unambiguously before ``[n]``
            out.append(
                PreparedSentence(
                    text=sentence,
                    terms=frozenset(analyze(sentence)),
                    position=len(out),
                    context_terms=context | frozenset(analyze(glued)),
                )
            )
    return out


def sentence_key(text: str) -> bytes:
    """A sentence's 16-byte digest: how a stored vector is matched to the sentence it embeds."""
    return hashlib.blake2b(text.encode(), digest_size=16).digest()
