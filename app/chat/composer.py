"""The extractive composer: the default, offline answerer.

It quotes the retrieved passages' sentences that best answer the question, each followed by
the ``[n]`` citation of its passage. It never writes text of its own, so it cannot invent facts
or obey instructions hidden in a passage: passages are only ever quoted.

Speed: every sentence is scored lexically (cached per chunk); only the best
``embed_candidates`` are embedded (vectors cached per sentence), in one batch.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.chat.sentence_pool import PreparedSentence, SentencePool
from retrieval.analyzer import query_terms
from retrieval.embeddings import Embedder
from retrieval.types import RetrievedChunk


@dataclass(frozen=True)
class ComposerConfig:
    """Scoring and selection knobs; stored inside an assistant version."""

    max_sentences: int = 3
    min_sentence_score: float = 0.30
    # Later sentences must score at least this share of the best one.
    relative_floor: float = 0.75
    semantic_weight: float = 0.55
    lexical_weight: float = 0.45
    context_weight: float = 0.25  # heading/title terms count this much of a sentence term
    rank_decay: float = 0.02
    same_passage_penalty: float = 0.04
    embed_candidates: int = 24
    per_passage_candidates: int = 2


@dataclass(frozen=True)
class Selected:
    sentence: str
    chunk_index: int
    score: float
    semantic: float = 0.0
    lexical: float = 0.0


@dataclass(frozen=True)
class Composition:
    """``used`` holds indices into the passage list, in citation order (citation n = used[n-1]).

    ``support`` (0..1) says how well the best quoted sentence answers the question;
    ``coverage`` is the IDF-weighted share of question terms found in the cited passages.
    """

    answer: str
    used: list[int]
    sentences: list[Selected]
    support: float
    coverage: float = 0.0
    embedded: int = 0


@dataclass(frozen=True)
class _Candidate:
    chunk_index: int
    sentence: PreparedSentence
    lexical: float


EMPTY = Composition(answer="", used=[], sentences=[], support=0.0)


def _idf(question: Sequence[str], pool: Sequence[PreparedSentence]) -> dict[str, float]:
    """Inverse sentence frequency within the pool; a term no sentence has weighs the most."""
    n = max(1, len(pool))
    return {t: math.log(1.0 + n / (1.0 + sum(1 for s in pool if t in s.terms))) for t in question}


def _lexical(idf: dict[str, float], sentence: PreparedSentence, context_weight: float) -> float:
    total = sum(idf.values())
    if total <= 0:
        return 0.0
    hit = 0.0
    for term, weight in idf.items():
        if term in sentence.terms:
            hit += weight
        elif term in sentence.context_terms:
            hit += weight * context_weight
    return hit / total


def _shortlist(candidates: list[_Candidate], config: ComposerConfig) -> list[_Candidate]:
    """Best lexical sentences overall plus the best few of every passage (for paraphrases)."""
    ranked = sorted(candidates, key=lambda c: (-c.lexical, c.chunk_index, c.sentence.position))
    chosen: dict[tuple[int, int], _Candidate] = {}
    per_passage: dict[int, int] = {}
    for c in ranked:
        if per_passage.get(c.chunk_index, 0) < config.per_passage_candidates:
            per_passage[c.chunk_index] = per_passage.get(c.chunk_index, 0) + 1
            chosen[(c.chunk_index, c.sentence.position)] = c
    for c in ranked:
        if len(chosen) >= config.embed_candidates:
            break
        chosen.setdefault((c.chunk_index, c.sentence.position), c)
    return list(chosen.values())[: max(config.embed_candidates, len(per_passage))]


def compose(
    question: str,
    passages: Sequence[RetrievedChunk],
    embedder: Embedder,
    config: ComposerConfig,
    pool: SentencePool | None = None,
) -> Composition:
    """Select up to ``max_sentences`` answering sentences; empty answer if none qualifies.

    Invariant: every sentence of ``answer`` is a verbatim sentence of a passage followed by
    ``[n]``, where ``n`` numbers that passage in ``used``.
    """
    pool = pool or SentencePool(chunk_capacity=64, vector_capacity=256)
    terms = query_terms(question)
    candidates_raw = [(i, s) for i, p in enumerate(passages) for s in pool.sentences(p)]
    if not candidates_raw:
        return EMPTY
    idf = _idf(terms, [s for _, s in candidates_raw])
    candidates = [
        _Candidate(i, s, _lexical(idf, s, config.context_weight)) for i, s in candidates_raw
    ]
    shortlist = _shortlist(candidates, config)
    vectors, embedded = pool.vectors(embedder, [question] + [c.sentence.text for c in shortlist])
    similarity = np.asarray(vectors[1:] @ vectors[0]).tolist()
    scored = sorted(
        (
            Selected(
                sentence=c.sentence.text,
                chunk_index=c.chunk_index,
                score=config.semantic_weight * float(sim)
                + config.lexical_weight * c.lexical
                - config.rank_decay * c.chunk_index,
                semantic=float(sim),
                lexical=c.lexical,
            )
            for c, sim in zip(shortlist, similarity, strict=True)
        ),
        key=lambda s: -s.score,
    )
    chosen = _select(scored, config)
    support = _squash(scored[0].score) if scored else 0.0
    if not chosen:
        return Composition(answer="", used=[], sentences=[], support=support, embedded=embedded)
    used: list[int] = []
    parts: list[str] = []
    for item in chosen:
        if item.chunk_index not in used:
            used.append(item.chunk_index)
        parts.append(f"{item.sentence} [{used.index(item.chunk_index) + 1}]")
    cited_terms = frozenset().union(
        *(s.terms | s.context_terms for i, s in candidates_raw if i in used)
    )
    total = sum(idf.values())
    coverage = sum(w for t, w in idf.items() if t in cited_terms) / total if total else 0.0
    return Composition(
        answer=" ".join(parts),
        used=used,
        sentences=chosen,
        support=_squash(chosen[0].score),
        coverage=coverage,
        embedded=embedded,
    )


def _select(scored: list[Selected], config: ComposerConfig) -> list[Selected]:
    """Greedy pick: best first, then near-as-good sentences that add something new."""
    chosen: list[Selected] = []
    if not scored or scored[0].score < config.min_sentence_score:
        return chosen
    floor = max(config.min_sentence_score, config.relative_floor * scored[0].score)
    remaining = list(scored)
    while remaining and len(chosen) < config.max_sentences:

        def adjusted(item: Selected) -> float:
            same = sum(1 for c in chosen if c.chunk_index == item.chunk_index)
            return item.score - config.same_passage_penalty * same

        best = max(remaining, key=adjusted)
        remaining.remove(best)
        if chosen and adjusted(best) < floor:
            break
        if any(_near_duplicate(best.sentence, c.sentence) for c in chosen):
            continue
        chosen.append(best)
    return chosen


def _near_duplicate(a: str, b: str) -> bool:
    sa, sb = set(a.lower().split()), set(b.lower().split())
    return len(sa & sb) / max(1, len(sa | sb)) > 0.8


def _squash(score: float) -> float:
    """Map a sentence score to 0..1 (midpoint 0.4) for use in the answer confidence."""
    return 1.0 / (1.0 + math.exp(-10.0 * (score - 0.4)))
