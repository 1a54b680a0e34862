"""Multi-turn context carry-over for the composer: turn a follow-up into a standalone query.

A short or referential follow-up ("and for part-time staff?") is searched together with the
question it follows; when that question was itself a follow-up, the chain goes back to the
last self-contained question (at most ``MAX_CHAIN`` turns). Leading connectives ("and",
"what about") are dropped, so only content words are carried. A self-contained question is
searched as it is. (With an LLM, ``llm_answerer.condense_question`` rewrites instead.)
"""

import re

from retrieval.analyzer import query_terms

_REFERENTIAL = re.compile(
    r"^(and|but|also|what about|how about|same|then|so)\b|\b(it|its|they|them|their|that|this|"
    r"those|these|he|she|his|her|there)\b",
    re.IGNORECASE,
)
_LEADING_CONNECTIVE = re.compile(
    r"^\s*(?:and|but|also|so|then|ok(?:ay)?|what about|how about)\b[\s,]*", re.IGNORECASE
)
SHORT_QUESTION_TERMS = 4
MAX_CHAIN = 3


def is_follow_up(question: str) -> bool:
    return len(query_terms(question)) <= SHORT_QUESTION_TERMS or bool(_REFERENTIAL.search(question))


def strip_connective(question: str) -> str:
    stripped = _LEADING_CONNECTIVE.sub("", question).strip()
    return stripped or question


def retrieval_query(question: str, history: list[str]) -> str:
    """The text to retrieve with: the question, prefixed by the questions it follows up on.

    ``history`` holds earlier user questions of the conversation, oldest first.
    """
    if not history or not is_follow_up(question):
        return question
    chain: list[str] = []
    for earlier in reversed(history[-MAX_CHAIN:]):
        chain.insert(0, strip_connective(earlier))
        if not is_follow_up(earlier):
            break
    return " ".join([*chain, strip_connective(question)])
