"""The extractive composer: the default, offline answerer.

It quotes the retrieved passages' sentences that best answer the question, each followed by
the ``[n]`` citation of its passage. It never writes text of its own, so it cannot invent facts
or obey instructions hidden in a passage: passages are only ever quoted.

Ranking: a sentence's ``match`` (dense similarity to the question plus IDF-weighted, stemmed
term overlap) decides whether it qualifies and feeds the answer support. Four cues may then
reorder the candidates: the best cosine of any candidate sentence of the same passage, the
passage's retrieval standing (off by default), holding the kind of value the question asks for
(a number, a date, a name), and the question terms the sentence before it adds (the subject is
often named one sentence before the answer). Each is a penalty relative to the question's best
candidate, so a score never exceeds its ``match`` and the selection floors keep their meaning.
The cues choose the quotes, never the confidence: support and coverage judge the sentences a
cue-free ranking selects.
``evals/fit_sentence_ranking.py`` fits their weights on SQuAD 2.0 questions no eval asks.

Selection: the best sentence, then sentences nearly as good. When the best sentence is unsure
(``hedge_below``), weaker sentences may join (``cited_passage_floor``, ``hedge_floor``) and,
with ``follow_on``, a free slot takes the sentence that follows it in its passage: the answer
often comes right after the sentence naming the subject. Sentences that join only because of
the hedge are context, not evidence: they never raise the support or the coverage.

Speed: every sentence is scored lexically (cached per chunk); only the best
``embed_candidates`` are embedded (vectors cached per sentence), in one batch.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from app.chat.answer_cues import answer_cue, preceding_gain, question_kind
from app.chat.confidence import logistic
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
    # When the best sentence is unsure (see ``hedge_below``), a later sentence needs only
    # ``cited_passage_floor`` of it when its passage is already cited, ``hedge_floor`` otherwise.
    # At 0.0 the cited-passage floor raised SQuAD's one-of-three from 0.844 to 0.872, but demo
    # answers grew to three sentences and their token F1 fell from 0.17 to 0.11 (gate: 0.16).
    # Hedged sentences are context: they add nothing to the coverage (nor the support), so the
    # confidence and every decline rate stay those of the sure selection. Both at 0.65 (with
    # ``hedge_below`` 0.55 and no ``follow_on``): SQuAD one-of-three at the version threshold
    # 0.808 -> 0.816, first sentence unchanged at 0.752, demo token F1 0.171 -> 0.168.
    # The ceiling of selection alone (2026-12-07, the same retrieved passages re-composed; ``eval
    # squad`` reports it as ``top_three_ranked_hold_answer``): with every floor at 0, three
    # sentences always, SQuAD one-of-three without a threshold rises 0.856 -> 0.884 (questions
    # no suite asks: 0.890 -> 0.923) while the answers' token F1 against the gold answers halves
    # (0.171 -> 0.083). Other settings moved it by at most 0.016: relative_floor 0.6-0.65,
    # follow_on, same_passage_penalty 0 (<= 0.008); both hedge floors 0 with hedge_below 0.55
    # to 0.7: 0.868-0.872, demo answers' token F1 against their facts 0.172 -> 0.152-0.117.
    cited_passage_floor: float = 0.65
    hedge_floor: float = 0.65
    semantic_weight: float = 0.55
    lexical_weight: float = 0.45
    context_weight: float = 0.25  # heading/title terms count this much of a sentence term
    rank_decay: float = 0.02
    # Ranking cues, each weighted against how far the sentence falls short of the question's
    # best candidate on it (see the module docstring); 0 turns a cue off. They reorder the
    # quotes only: the confidence judges the cue-free selection, so declines never move.
    # Weights fitted by ``evals.fit_sentence_ranking --without standing`` on 1,500 SQuAD 2.0
    # questions no suite asks (passage match 0.33, answer type 0.12, preceding 0.25); held out
    # by article (5-fold CV) the ranking's top-1 holds an answer for 0.788 instead of 0.777 by
    # ``match`` alone and its top-3 for 0.908 instead of 0.894 (passage match and answer type
    # alone: 0.776 / 0.897, so the preceding sentence carries the gain). On the suites against
    # weights 0 (this CPU, int8 questions): SQuAD first cited sentence 0.748 -> 0.760 at the
    # threshold, one-of-three 0.816 either way; demo gate passes (token F1 0.180 -> 0.181 against
    # the older two cues); Contoso citation match 0.60 -> 0.56 (one question of 25 cites page 9
    # instead of page 4 second). Standing is left off: with it Contoso fell further.
    # The passage's retrieval score, min-max normalised within the retrieved set.
    passage_weight: float = 0.0
    # Holding a number, date, person or place when the question asks for one.
    cue_weight: float = 0.12
    # The best cosine to the question of any candidate sentence of the same passage.
    passage_match_weight: float = 0.33
    # The IDF-weighted share of question terms that the sentence before it (same passage) adds:
    # an answer often comes right after the sentence naming its subject ("The treaty was signed
    # in Rome. It took effect in 1958.").
    preceding_weight: float = 0.25
    same_passage_penalty: float = 0.04
    embed_candidates: int = 24
    # Quote the sentence after the best one (same passage) in a free slot; see ``_follow_on``.
    # Off by default: with the hedge floors above it added no SQuAD hit at the threshold
    # (0.816 either way) and cost demo token F1 (0.168 -> 0.162).
    follow_on: bool = False
    # The hedge floors and ``follow_on`` apply only when the best sentence's ``match`` is below
    # this: a sure answer stands alone (short answers keep the demo token F1), an unsure one
    # brings the context that may hold the answer. 0.6 failed the demo citation precision gate.
    hedge_below: float = 0.55
    per_passage_candidates: int = 2


@dataclass(frozen=True)
class Selected:
    sentence: str
    chunk_index: int
    score: float
    semantic: float = 0.0
    lexical: float = 0.0
    match: float = 0.0  # semantic and lexical evidence alone (``score`` less the cue penalties)
    position: int = -1  # the sentence's position in its passage


@dataclass(frozen=True)
class Composition:
    """``used`` holds indices into the passage list, in citation order (citation n = used[n-1]).

    ``support`` (0..1) says how well the best quoted sentence answers the question;
    ``coverage`` is the IDF-weighted share of question terms found in the passages a sure,
    cue-free selection cites (with the ranking cues off, the cited passages).
    """

    answer: str
    used: list[int]
    sentences: list[Selected]
    support: float
    coverage: float = 0.0
    embedded: int = 0
    semantic: float = 0.0  # the cosine to the question of the quoted sentence behind ``support``


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


@dataclass(frozen=True)
class Evidence:
    """What one shortlisted sentence offers: its ``match`` and the three ranking cues."""

    chunk_index: int
    sentence: PreparedSentence
    semantic: float  # cosine to the question
    lexical: float
    match: float
    standing: float  # its passage's retrieval standing, 0..1 within the retrieved set
    cue: float  # 1.0 when it holds the kind of value the question asks for
    passage_best: float  # the best cosine of any shortlisted sentence of its passage
    preceding: float = 0.0  # question-term share (IDF) the sentence before it adds


@dataclass(frozen=True)
class Shortlist:
    evidence: list[Evidence]
    sentences: list[tuple[int, PreparedSentence]]  # every sentence, by passage index
    idf: dict[str, float]
    embedded: int


def gather_evidence(
    question: str,
    passages: Sequence[RetrievedChunk],
    embedder: Embedder,
    config: ComposerConfig,
    pool: SentencePool,
) -> Shortlist | None:
    """Score every sentence lexically, embed the shortlist, and measure its evidence; None
    when the passages hold no quotable sentence."""
    terms = query_terms(question)
    sentences = [(i, s) for i, p in enumerate(passages) for s in pool.sentences(p)]
    if not sentences:
        return None
    idf = _idf(terms, [s for _, s in sentences])
    candidates = [_Candidate(i, s, _lexical(idf, s, config.context_weight)) for i, s in sentences]
    shortlist = _shortlist(candidates, config)
    standing = _standing(passages)
    kind = question_kind(question)
    preceding = preceding_gain(idf, [(c.chunk_index, c.sentence) for c in shortlist], sentences)
    vectors, embedded = pool.vectors(embedder, [question] + [c.sentence.text for c in shortlist])
    similarity = [float(x) for x in np.asarray(vectors[1:] @ vectors[0]).tolist()]
    passage_best: dict[int, float] = {}
    for c, sim in zip(shortlist, similarity, strict=True):
        passage_best[c.chunk_index] = max(passage_best.get(c.chunk_index, -1.0), sim)
    evidence = [
        Evidence(
            chunk_index=c.chunk_index,
            sentence=c.sentence,
            semantic=sim,
            lexical=c.lexical,
            match=config.semantic_weight * sim
            + config.lexical_weight * c.lexical
            - config.rank_decay * c.chunk_index,
            standing=standing[c.chunk_index],
            cue=answer_cue(kind, c.sentence.text, terms),
            passage_best=passage_best[c.chunk_index],
            preceding=gain,
        )
        for c, sim, gain in zip(shortlist, similarity, preceding, strict=True)
    ]
    return Shortlist(evidence=evidence, sentences=sentences, idf=idf, embedded=embedded)


def rank(evidence: Sequence[Evidence], config: ComposerConfig) -> list[Selected]:
    """Best first: ``match`` less each cue's shortfall against the best candidate's cues."""
    cues = [
        config.passage_weight * e.standing
        + config.cue_weight * e.cue
        + config.passage_match_weight * e.passage_best
        + config.preceding_weight * e.preceding
        for e in evidence
    ]
    best_cue = max(cues, default=0.0)
    scored = [
        Selected(
            sentence=e.sentence.text,
            chunk_index=e.chunk_index,
            score=e.match - (best_cue - cue),
            semantic=e.semantic,
            lexical=e.lexical,
            match=e.match,
            position=e.sentence.position,
        )
        for e, cue in zip(evidence, cues, strict=True)
    ]
    return sorted(scored, key=lambda s: -s.score)


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
    found = gather_evidence(question, passages, embedder, config, pool)
    if found is None:
        return EMPTY
    scored = rank(found.evidence, config)
    idf, embedded = found.idf, found.embedded
    # Which sentences a cue-free ranking would select is the evidence the confidence judges:
    # the cues choose the quotes, never how sure the answer is. (Judging the re-ranked quotes
    # instead lowered the coverage and declined in-scope questions once the cues were on.)
    plain = rank(found.evidence, _cue_free(config)) if _has_cues(config) else scored
    hedge = _hedges(plain, config)
    chosen = _select(scored, config, hedge=hedge)
    if config.follow_on and chosen and hedge:
        chosen = _follow_on(chosen, passages, pool, config)
    # Support measures how well a sentence answers (``match``), never the ranking cues.
    support = _squash(max(s.match for s in scored)) if scored else 0.0
    if not chosen:
        return Composition(answer="", used=[], sentences=[], support=support, embedded=embedded)
    used: list[int] = []
    parts: list[str] = []
    for item in chosen:
        if item.chunk_index not in used:
            used.append(item.chunk_index)
        parts.append(f"{item.sentence} [{used.index(item.chunk_index) + 1}]")
    # The evidence is what a sure answer would cite. Sentences added only because the best one
    # is unsure are context, like a follow-on sentence: they add no coverage and no support.
    sure = _select(plain, config, hedge=False) if hedge or plain is not scored else chosen
    evidence_passages = {s.chunk_index for s in sure}
    cited_terms = frozenset().union(
        *(s.terms | s.context_terms for i, s in found.sentences if i in evidence_passages)
    )
    total = sum(idf.values())
    coverage = sum(w for t, w in idf.items() if t in cited_terms) / total if total else 0.0
    evidence_best = max(sure, key=lambda s: s.match)
    return Composition(
        answer=" ".join(parts),
        used=used,
        sentences=chosen,
        support=_squash(evidence_best.match),
        coverage=coverage,
        embedded=embedded,
        semantic=evidence_best.semantic,
    )


def _has_cues(config: ComposerConfig) -> bool:
    return bool(
        config.passage_weight
        or config.cue_weight
        or config.passage_match_weight
        or config.preceding_weight
    )


def _cue_free(config: ComposerConfig) -> ComposerConfig:
    return replace(
        config, passage_weight=0.0, cue_weight=0.0, passage_match_weight=0.0, preceding_weight=0.0
    )


def _select(
    scored: list[Selected], config: ComposerConfig, *, hedge: bool | None = None
) -> list[Selected]:
    """Greedy pick: best first, then near-as-good sentences that add something new.

    Only sentences whose own evidence (``match``) reaches ``min_sentence_score`` qualify. A later
    sentence must reach ``relative_floor`` of the best score; when the best sentence is unsure
    (``hedge``; by default ``_hedges``) only ``cited_passage_floor`` of it if its passage is
    already cited (an answer often continues in the passage that holds the best match), or
    ``hedge_floor`` if not.
    """
    chosen: list[Selected] = []
    remaining = [s for s in scored if s.match >= config.min_sentence_score]
    if not remaining:
        return chosen
    top = remaining[0].score
    if hedge is None:
        hedge = _hedges(remaining, config)

    def adjusted(item: Selected) -> float:
        same = sum(1 for c in chosen if c.chunk_index == item.chunk_index)
        return item.score - config.same_passage_penalty * same

    def eligible(item: Selected) -> bool:
        cited = any(c.chunk_index == item.chunk_index for c in chosen)
        hedged = config.cited_passage_floor if cited else config.hedge_floor
        share = hedged if hedge else config.relative_floor
        return not chosen or adjusted(item) >= share * top

    while len(chosen) < config.max_sentences:
        candidates = [s for s in remaining if eligible(s)]
        if not candidates:
            break
        best = max(candidates, key=adjusted)
        remaining.remove(best)
        if any(_near_duplicate(best.sentence, c.sentence) for c in chosen):
            continue
        chosen.append(best)
    return chosen


def _hedges(scored: Sequence[Selected], config: ComposerConfig) -> bool:
    """True when the best qualifying sentence is not a sure answer (``match`` < ``hedge_below``)."""
    best = next((s for s in scored if s.match >= config.min_sentence_score), None)
    return best is not None and best.match < config.hedge_below


def _follow_on(
    chosen: list[Selected],
    passages: Sequence[RetrievedChunk],
    pool: SentencePool,
    config: ComposerConfig,
) -> list[Selected]:
    """Add the sentence that follows the best one in its passage, if a slot is free.

    The best sentence often names the subject while the next one states the answer ("Only a
    few drops of the liquid were produced"), in words too different from the question to be
    matched on their own. It is quoted as it is, after the selected sentences, and adds nothing
    to the support.
    """
    if len(chosen) >= config.max_sentences:
        return chosen
    best = chosen[0]
    following = [
        s for s in pool.sentences(passages[best.chunk_index]) if s.position == best.position + 1
    ]
    if not following:
        return chosen
    text = following[0].text
    if any(c.sentence == text or _near_duplicate(text, c.sentence) for c in chosen):
        return chosen
    nxt = Selected(
        sentence=text, chunk_index=best.chunk_index, score=0.0, position=best.position + 1
    )
    return [*chosen, nxt]


def _near_duplicate(a: str, b: str) -> bool:
    sa, sb = set(a.lower().split()), set(b.lower().split())
    return len(sa & sb) / max(1, len(sa | sb)) > 0.8


def _squash(score: float) -> float:
    """Map a sentence score to 0..1 (midpoint 0.4) for use in the answer confidence."""
    return logistic(score, midpoint=0.4)


def _standing(passages: Sequence[RetrievedChunk]) -> list[float]:
    """Each passage's retrieval score min-max normalised to 0..1 within this result (1 if tied)."""
    scores = [p.score for p in passages]
    low, high = min(scores, default=0.0), max(scores, default=0.0)
    if high <= low:
        return [1.0 for _ in scores]
    return [(s - low) / (high - low) for s in scores]
