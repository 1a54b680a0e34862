"""Typed values that cross the retrieval boundary: its configuration and its results."""

import uuid
from dataclasses import dataclass, field
from typing import Literal

Fusion = Literal["rrf", "zscore", "minmax"]


@dataclass(frozen=True)
class RetrievalConfig:
    """Every knob of retrieval. Stored inside an assistant version, so it is versioned.

    Fusion: ``rrf`` adds ``weight / (rrf_k + rank)`` per leg; ``zscore`` and ``minmax``
    add ``weight * normalised score`` (a convex combination when the weights sum to 1).
    """

    k: int = 8
    # Candidates per leg before fusion. Through the HNSW index (large readable sets) the dense
    # leg takes at most ``indexed_dense_candidates``: at a 10 % readable share of 100k chunks
    # the filtered scan for 30 took 8.8 ms instead of 15.5 for 50 (fewer iterative-scan rounds),
    # and the SciFact hybrid (about 10k chunks, index path) measured the same with 30 dense + 50
    # keyword as with 50 + 50 (nDCG@10 0.735; held-out half 0.715 vs 0.713). Exact scans (small
    # readable sets) cost the same for any k and keep 50: with 30 there, the fused scores' scale
    # moved two near-threshold demo hand-offs (hand-off recall 0.740 -> 0.712, gate 0.72). The
    # keyword leg's cost does not depend on k (it aggregates every posting of the query terms).
    dense_candidates: int = 50
    indexed_dense_candidates: int = 30
    keyword_candidates: int = 50
    fusion: Fusion = "zscore"
    # ``complete_scores``: before fusion, each leg also scores the other leg's candidates
    # exactly (cosine; BM25, 0 without a query term) instead of leaving them at the leg's floor.
    # It ranks better: SciFact train (809 queries, 30 dense + 50 keyword candidates) tuned
    # hybrid nDCG@10 0.735 -> 0.741, min-max 0.50:0.50 0.734 -> 0.740, RRF 0.711 -> 0.720;
    # Contoso citation match 0.60 -> 0.64. But better passages for questions the knowledge base
    # cannot answer raise their answer confidence (near-domain questions by 0.01-0.07), so at
    # this version's threshold near-domain declines fell 0.765 -> 0.706 and demo hand-off recall
    # 0.740 -> 0.699 (gate 0.72). No answer threshold fits both: at 0.55 instead of 0.53,
    # near-domain declines return to 0.765 and demo hand-off recall to 0.753, but answerable
    # SQuAD questions declined rise 0.05 -> 0.083 (limit 0.05). Off until the answer
    # confidence is re-fitted for it.
    complete_scores: bool = False
    rrf_k: int = 60
    # The SciFact figures in these comments fuse the legs per document (a document by its best
    # chunk in each leg), as the quality bench's reference rows do. ``retrieve()`` fuses per
    # chunk: measured that way (the bench's "deployed as served" row since 2026-12-07) the
    # weights below score nDCG@10 0.730 on train (held-out half 0.709), not 0.736.
    dense_weight: float = 0.45
    keyword_weight: float = 0.55
    # The sentence leg (``retrieval.sentence_leg``): every candidate of both legs scored by its
    # best sentence's cosine, z-scored and added with ``sentence_weight``; 0 skips the statement.
    # SciFact train (809 queries, 30 dense + 50 keyword candidates): 0.45:0.55 without it scores
    # nDCG@10 0.735 (held-out half 0.715); with it, tuned on the other half, 0.25:0.45:0.30
    # scores 0.742 (held-out 0.717; a grid over all queries peaks at 0.745), and Contoso citation
    # match rose 0.60 -> 0.64. Off by default for the same reason as ``complete_scores``: better
    # passages for unanswerable questions raise their answer confidence. At this version's
    # threshold, demo hand-off recall fell 0.740 -> 0.699 (gate 0.72), near-domain declines
    # 0.765 -> 0.706, answerable SQuAD declined rose 0.05 -> 0.067 (limit 0.05) and SQuAD's first
    # cited sentence 0.752 -> 0.744 (measured with the older sentence split; the stored
    # sentences are now the composer's quotable ones). It uses the vectors
    # ``ingestion.sentence_vectors`` stores (on by default; a chunk stored without them scores
    # with its own cosine).
    sentence_weight: float = 0.0
    # Dense leg: HNSW breadth, and the readable-set size at or below which search is exact.
    # ef_search 400 on the m=24 graph: at 200 the dense leg was 35-40 % faster but recall@10
    # vs exact fell to 0.981 at a 10 % readable share of 100k chunks (200 queries), under 0.99.
    # When at least ``broad_share`` of the corpus is readable the filter rejects few graph
    # neighbours, and ``ef_search_broad`` 200 kept recall@10 at 0.9955 (50 %) and 0.997 (100 %)
    # while saving about 3.5 ms of 8 per query.
    ef_search: int = 400
    ef_search_broad: int = 200
    broad_share: float = 0.5
    exact_below: int = 2000
    # Keyword leg: Okapi BM25 parameters, plus speed guards that keep results exact for the
    # terms that matter. With more than ``max_query_terms`` terms, terms beyond the rarest ones
    # are skipped once found in more than ``max_df_ratio`` of chunks, or once the kept terms'
    # postings (what the leg reads, about 0.35 ms per thousand) would exceed ``max_postings``:
    # on the 100k bench a long SciFact claim kept up to 20 terms and 108k postings (39 ms). The
    # same cut relative to corpus size (half the chunks: 5k postings on SciFact's 10k chunks)
    # left SciFact train nDCG@10 as it was (BM25 0.702 -> 0.703, hybrid 0.735 -> 0.734; at 0.3
    # of the corpus 0.700 / 0.730); as an absolute budget it leaves small knowledge bases alone.
    # ``keyword_scan_cap`` bounds the candidates (scored from readable postings) checked
    # against ``chunks.access``; an exact pass over every posting follows if short. 3000 -> 100
    # saved 1.5 ms at 100 % readable.
    bm25_k1: float = 1.2
    bm25_b: float = 0.5
    max_query_terms: int = 4
    max_df_ratio: float = 0.25
    max_postings: int = 50_000
    keyword_scan_cap: int = 100
    # Chunks whose texts overlap at least this much (word-shingle Jaccard) collapse to one.
    near_duplicate_jaccard: float = 0.9
    # Confidence = logistic(slope * (top cosine - midpoint) + agreement_bonus if legs agree).
    # These values serve the answer stage, whose weights and threshold were fitted with them;
    # they are not a calibration for every corpus. On SciFact (P(top document relevant), held-out
    # half) they score ECE 0.292, where the bench's own fit (midpoint 0.705, slope 2.73, bonus
    # 1.69) scores 0.058; adopting a fit moves every answer gate, so it goes with a refit of
    # the answer confidence (``evals.fit_answer_confidence``).
    confidence_midpoint: float = 0.45
    confidence_slope: float = 12.0
    confidence_agreement_bonus: float = 0.8

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> "RetrievalConfig":
        """Build from stored JSON; unknown keys are an error, missing keys take the defaults."""
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown retrieval settings: {', '.join(sorted(unknown))}")
        config = cls(**data)  # type: ignore[arg-type]
        if config.fusion not in ("rrf", "zscore", "minmax"):
            raise ValueError(f"unknown fusion {config.fusion!r}")
        positive = (
            "k",
            "dense_candidates",
            "indexed_dense_candidates",
            "keyword_candidates",
            "ef_search",
            "ef_search_broad",
        )
        for name in positive:
            if getattr(config, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if not isinstance(config.complete_scores, bool):
            raise ValueError("complete_scores must be true or false")
        for name in ("dense_weight", "keyword_weight", "sentence_weight", "max_postings"):
            if not getattr(config, name) >= 0:
                raise ValueError(f"{name} must be at least 0")
        if not 0.0 < config.broad_share <= 1.0:
            raise ValueError("broad_share must be above 0 and at most 1")
        return config


@dataclass(frozen=True)
class Readable:
    """How many chunks a caller may read (``count``, counted only up to a limit) of ``corpus``."""

    count: int
    corpus: int
    every_set: bool = False  # every access list in the corpus is readable

    def few(self, config: RetrievalConfig) -> bool:
        """Few enough for exact scans (the GIN index finds them)."""
        return self.count <= config.exact_below

    def dense_candidates(self, config: RetrievalConfig) -> int:
        """Dense candidates: fewer through the index, where each one costs scan rounds."""
        if self.few(config):
            return config.dense_candidates
        return min(config.dense_candidates, config.indexed_dense_candidates)

    def ef_search(self, config: RetrievalConfig) -> int:
        """HNSW breadth: narrower when most of the corpus is readable."""
        broad = self.corpus > 0 and self.count >= config.broad_share * self.corpus
        return config.ef_search_broad if broad else config.ef_search


@dataclass(frozen=True)
class Hit:
    """One leg's result: a chunk id and that leg's raw score (higher is better)."""

    chunk_id: uuid.UUID
    score: float


@dataclass(frozen=True)
class RetrievedChunk:
    chunk_id: uuid.UUID
    document_id: uuid.UUID
    title: str
    source: str
    page: int | None
    heading_path: str
    text: str
    content_hash: str
    score: float
    dense_score: float | None = None
    keyword_score: float | None = None
    injection_score: float = 0.0


@dataclass(frozen=True)
class RetrievalResult:
    chunks: list[RetrievedChunk]
    confidence: float
    timings_ms: dict[str, float] = field(default_factory=dict)
