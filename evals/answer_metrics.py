"""Answer-level metrics shared by the answer suites: citations, cited sentences, token F1, abstention.

Pure functions over plain values (strings, lists, floats); no database, no models. Answers follow
the chat contract: sentences each followed by one or more ``[n]`` markers.
"""

import re
import string
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

_CITED_SENTENCE = re.compile(r"([^\[\]]+?)\s*((?:\[\d{1,3}\]\s*)+)")
_MARKER = re.compile(r"\[(\d{1,3})\]")
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """The official SQuAD normalisation: lower case, no punctuation, no articles, single spaces."""
    lowered = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", lowered).split())


def token_f1(prediction: str, gold: str) -> float:
    """SQuAD token-overlap F1 between two strings after ``normalize_answer``."""
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def best_f1(prediction: str, golds: Sequence[str]) -> float:
    return max((token_f1(prediction, g) for g in golds), default=0.0)


def cited_sentences(answer: str) -> list[tuple[str, list[int]]]:
    """The answer's sentences that carry citations, in order, each with its ``[n]`` indices."""
    out: list[tuple[str, list[int]]] = []
    for match in _CITED_SENTENCE.finditer(answer):
        sentence = match.group(1).strip()
        if sentence:
            out.append((sentence, [int(n) for n in _MARKER.findall(match.group(2))]))
    return out


def contains_answer(sentence: str, golds: Sequence[str]) -> bool:
    """True when a normalised gold answer occurs in the normalised sentence as whole words."""
    haystack = f" {normalize_answer(sentence)} "
    return any((needle := normalize_answer(g)) and f" {needle} " in haystack for g in golds)


def first_k_contain_answer(answer: str, golds: Sequence[str], k: int) -> bool:
    """True when one of the first ``k`` cited sentences contains a gold answer."""
    return any(contains_answer(s, golds) for s, _ in cited_sentences(answer)[:k])


# Where an answerable question's answer was lost, in pipeline order (see ``answer_loss``).
LOSSES = ("hit", "declined", "cut_by_floors", "ranked_low", "not_retrieved")


def answer_loss(
    golds: Sequence[str],
    passages: Sequence[str],
    draft: str,
    answered: bool,
    ranked: Sequence[str] = (),
    *,
    k: int = 3,
) -> str:
    """Which stage lost an answerable question's gold answer, one of ``LOSSES``.

    ``hit``: one of the first ``k`` cited sentences of the answer shown holds it. ``declined``:
    the draft's did, but the confidence was below the threshold. ``cut_by_floors``: the draft's
    did not, but one of the first ``k`` sentences of the composer's ranking (``ranked``) does:
    the selection floors kept it out. ``ranked_low``: a retrieved passage holds it, the
    ranking's first ``k`` sentences do not. ``not_retrieved``: no retrieved passage holds it.
    """
    if first_k_contain_answer(draft, golds, k):
        return "hit" if answered else "declined"
    if any(contains_answer(s, golds) for s in ranked[:k]):
        return "cut_by_floors"
    if any(contains_answer(p, golds) for p in passages):
        return "ranked_low"
    return "not_retrieved"


def distinct_cited_pages(citations: Sequence[tuple[str, int | None]]) -> list[str]:
    """``file#page=N`` keys of the citations, in citation order, duplicates removed."""
    out: list[str] = []
    for source, page in citations:
        key = f"{source}#page={page}" if page is not None else source
        if key not in out:
            out.append(key)
    return out


def citation_match(cited: Sequence[str], truth: Sequence[str], *, first: int = 3) -> bool:
    """True when one of the first ``first`` distinct cited pages is a ground-truth page."""
    return bool(set(cited[:first]) & set(truth))


@dataclass(frozen=True)
class CurvePoint:
    threshold: float
    answered_share: float  # of questions that should be answered (answerable / in scope)
    declined_share: float  # of questions that should be declined (unanswerable / out of scope)


def abstention_curve(
    answerable: Sequence[float], unanswerable: Sequence[float], *, points: int = 21
) -> list[CurvePoint]:
    """Shares answered / declined when answering iff confidence >= threshold, over 0..1."""
    curve = []
    for i in range(points):
        t = i / (points - 1)
        curve.append(
            CurvePoint(
                threshold=round(t, 4),
                answered_share=_share(answerable, partial(_at_least, t)),
                declined_share=_share(unanswerable, partial(_below, t)),
            )
        )
    return curve


def abstention_auc(answerable: Sequence[float], unanswerable: Sequence[float]) -> float:
    """ROC AUC of confidence separating answerable (positive) from unanswerable; ties count half."""
    if not answerable or not unanswerable:
        return float("nan")
    wins = 0.0
    for a in answerable:
        for u in unanswerable:
            wins += 1.0 if a > u else 0.5 if a == u else 0.0
    return wins / (len(answerable) * len(unanswerable))


def best_threshold(
    answerable: Sequence[float], unanswerable: Sequence[float], *, max_declined_answerable: float
) -> float:
    """The highest threshold that declines at most ``max_declined_answerable`` of answerable ones."""
    candidates = sorted({0.0, *answerable, *unanswerable})
    best = 0.0
    for t in candidates:
        if _share(answerable, partial(_below, t)) <= max_declined_answerable:
            best = t
    return best


def _at_least(threshold: float, value: float) -> bool:
    return value >= threshold


def _below(threshold: float, value: float) -> bool:
    return value < threshold


def _share(values: Sequence[float], keep: Callable[[float], bool]) -> float:
    if not values:
        return float("nan")
    return sum(1 for v in values if keep(v)) / len(values)
