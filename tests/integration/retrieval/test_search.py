"""Both legs and the hybrid entry point on real Postgres + pgvector, under access filters."""

import math
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ingestion import store
from retrieval.analyzer import query_terms, term_frequencies
from retrieval.keyword import Bm25, keyword_scores, keyword_search
from retrieval.parallel import ParallelLegs
from retrieval.process_state import ProcessState
from retrieval.readable import ReadableCounts
from retrieval.retriever import complete_legs, retrieve
from retrieval.search import (
    count_readable,
    dense_scores,
    vector_search,
)
from retrieval.types import Readable, RetrievalConfig
from tests.integration.retrieval.documents import EMBEDDER, insert_document

pytestmark = pytest.mark.integration


async def test_vector_search_returns_min_k_readable_under_a_narrow_filter(
    db_session: AsyncSession,
) -> None:
    await insert_document(
        db_session, [f"public note number {i} about lunch" for i in range(60)], ["everyone"]
    )
    secret = await insert_document(
        db_session, ["payroll secret alpha", "payroll secret beta"], ["hr"]
    )
    await db_session.commit()
    query = EMBEDDER.embed(["lunch note"])[0].tolist()
    for exact in (False, True):
        hits = await vector_search(db_session, query, groups=["hr"], k=10, exact=exact)
        assert len(hits) == 2
        ids = {
            row[0]
            for row in await db_session.execute(
                text("SELECT id FROM chunks WHERE document_id = :d"), {"d": secret}
            )
        }
        assert {h.chunk_id for h in hits} == ids
        await db_session.rollback()
    assert len(await vector_search(db_session, query, groups=["everyone"], k=10)) == 10
    assert await vector_search(db_session, query, groups=["nobody"], k=10) == []


async def test_keyword_search_is_okapi_bm25_and_respects_access(db_session: AsyncSession) -> None:
    texts = [
        "apples and pears grow here",
        "apples apples apples",
        "pears only",
        "stone fruit: plums",
    ]
    await insert_document(db_session, texts, ["everyone"])
    await insert_document(db_session, ["apples for hr eyes only"], ["hr"])
    await db_session.commit()
    hits = await keyword_search(
        db_session,
        query_terms("apples"),
        groups=["everyone"],
        k=10,
        bm25=Bm25(k1=1.2, b=0.75, max_df_ratio=1.0),
    )
    # idf, N and avgdl over what the caller may read: the hr chunk does not count.
    freqs = [term_frequencies(f"T  {t}") for t in texts]
    avgdl = sum(sum(f.values()) for f in freqs) / len(freqs)
    df, n = sum(1 for f in freqs if "appl" in f), len(freqs)
    idf = math.log(1 + (n - df + 0.5) / (df + 0.5))

    def bm25(f: Counter[str]) -> float:
        tf, dl = f["appl"], sum(f.values())
        return idf * tf * 2.2 / (tf + 1.2 * (1 - 0.75 + 0.75 * dl / avgdl))

    expected = sorted((bm25(f) for f in freqs if f["appl"]), reverse=True)
    assert [h.score for h in hits] == pytest.approx(expected)
    only_hr = await keyword_search(db_session, ["appl"], groups=["hr"], k=10, scan_cap=1)
    assert len(only_hr) == 1


async def test_given_chunks_score_as_the_legs_score_them_and_only_if_readable(
    db_session: AsyncSession,
) -> None:
    """Fill-in scores equal what each leg's own search gives, 0 BM25 without a query term,
    and nothing for a chunk the caller may not read."""
    texts = ["rotterdam parking permit", "rotterdam canteen menu", "annual leave rules"]
    await insert_document(db_session, texts, ["everyone"])
    secret = await insert_document(db_session, ["rotterdam parking for hr"], ["hr"])
    await db_session.commit()
    rows = (await db_session.execute(text("SELECT id, document_id FROM chunks"))).all()
    everyone = [r[0] for r in rows if r[1] != secret]
    hidden = [r[0] for r in rows if r[1] == secret]
    query = "rotterdam parking"
    vector = EMBEDDER.embed([query])[0].tolist()
    knobs: dict[str, Any] = {"bm25": Bm25(k1=1.2, b=0.5, max_terms=4, max_df_ratio=1.0)}
    searched = await keyword_search(
        db_session, query_terms(query), groups=["everyone"], k=10, **knobs
    )
    given = await keyword_scores(
        db_session, query_terms(query), [*everyone, *hidden], groups=["everyone"], **knobs
    )
    by_id = {h.chunk_id: h.score for h in given}
    assert set(by_id) == set(everyone)
    assert {h.chunk_id: pytest.approx(h.score) for h in searched} == {
        k: v for k, v in by_id.items() if v > 0
    }
    assert sorted(by_id.values()).count(0.0) == 1  # "annual leave rules" has no query term
    dense = await vector_search(db_session, vector, groups=["everyone"], k=10, exact=True)
    cosines = await dense_scores(db_session, vector, [*everyone, *hidden], groups=["everyone"])
    assert {h.chunk_id: pytest.approx(h.score) for h in dense} == {
        h.chunk_id: h.score for h in cosines
    }
    assert await dense_scores(db_session, vector, hidden, groups=["everyone"]) == []
    assert await keyword_scores(db_session, [], hidden, groups=["everyone"], **knobs) == []
    # Each leg ends up over the union of candidates, best first, with its exact scores.
    config = RetrievalConfig(bm25_k1=1.2, bm25_b=0.5, max_df_ratio=1.0)
    full_dense, full_keyword = await complete_legs(
        db_session, vector, query, dense[:1], searched[:1], groups=["everyone"], config=config
    )
    union = {dense[0].chunk_id, searched[0].chunk_id}
    for leg, exact in ((full_dense, cosines), (full_keyword, given)):
        assert {h.chunk_id for h in leg} == union
        assert [h.score for h in leg] == sorted((h.score for h in leg), reverse=True)
        scores = {h.chunk_id: h.score for h in exact}
        assert all(h.score == pytest.approx(scores[h.chunk_id]) for h in leg)


async def test_every_keyword_path_returns_the_same_exact_ranking(db_session: AsyncSession) -> None:
    """Small-set scoring, capped (with or without the access-list restriction), widened cap and
    the exact pass agree under any filter, even when ``every_set`` is wrongly claimed."""
    for i in range(30):
        group = "rare" if i % 7 == 0 else "common"
        await insert_document(
            db_session, [f"rotterdam office {'parking ' * (i % 4)}note {i}"], [group]
        )
    await db_session.commit()
    terms = query_terms("rotterdam parking")
    for groups in (["rare"], ["common"], ["rare", "common"]):
        runs = [
            await keyword_search(
                db_session,
                terms,
                groups=groups,
                k=5,
                scan_cap=cap,
                few_readable=few,
                every_set=every,
            )
            for cap, few, every in (
                (1, False, False),
                (2, False, False),
                (2, False, True),  # stale for ["rare"] and ["common"]: the access check holds
                (400, False, True),
                (400, False, False),
                (400, True, False),
            )
        ]
        assert all(len(run) == 5 for run in runs)
        readable = await count_readable(db_session, groups=groups, limit=1)
        assert readable.every_set == (len(groups) == 2)
        scores = [[round(h.score, 9) for h in run] for run in runs]
        assert scores[1:] == scores[:-1], groups
        ids = [[h.chunk_id for h in run] for run in runs[3:]]  # uncapped: ties break by id
        assert ids[0] == ids[1] == ids[2]


@pytest.mark.parametrize("complete_scores", [False, True])
async def test_retrieve_collapses_near_duplicates_and_hides_unreadable(
    db_session: AsyncSession, complete_scores: bool
) -> None:
    body = "The Rotterdam office is open from 07:30 to 19:00 on working days for all staff"
    await insert_document(
        db_session, [body, body + " members", "Parking is free on Sundays"], ["everyone"]
    )
    await insert_document(db_session, ["The Rotterdam office safe code is 4711"], ["security"])
    await db_session.commit()
    result = await retrieve(
        db_session,
        EMBEDDER,
        "When is the Rotterdam office open?",
        groups=["everyone"],
        config=RetrievalConfig(k=5, complete_scores=complete_scores),
    )
    texts = [c.text for c in result.chunks]
    assert texts[0].startswith("The Rotterdam office is open")
    assert sum(t.startswith("The Rotterdam office is open") for t in texts) == 1
    assert not any("4711" in t for t in texts)
    assert 0.0 <= result.confidence <= 1.0
    assert ("complete_ms" in result.timings_ms) == complete_scores
    if complete_scores:  # every candidate carries both legs' scores
        assert all(c.dense_score is not None for c in result.chunks)
        assert all(c.keyword_score is not None for c in result.chunks)


async def test_readable_count_reaches_the_broad_share_and_picks_the_hnsw_breadth(
    db_session: AsyncSession,
) -> None:
    await insert_document(db_session, [f"shared memo {i}" for i in range(8)], ["everyone"])
    await insert_document(db_session, ["hr memo one", "hr memo two"], ["hr"])
    await db_session.commit()
    config = RetrievalConfig(exact_below=1, ef_search=400, ef_search_broad=120, broad_share=0.5)
    # The count stops at the larger of the limit and half of the corpus (5 of 10 chunks).
    everyone = await count_readable(db_session, groups=["everyone"], limit=2, share=0.5)
    assert everyone == Readable(count=5, corpus=10)
    hr = await count_readable(db_session, groups=["hr"], limit=2, share=0.5)
    assert hr == Readable(count=2, corpus=10)
    assert not everyone.few(config) and not hr.few(config)
    assert everyone.ef_search(config) == 120
    assert hr.ef_search(config) == 400
    # Through the index the dense leg takes fewer candidates; exact scans keep them all.
    config = RetrievalConfig(exact_below=1, dense_candidates=50, indexed_dense_candidates=30)
    assert everyone.dense_candidates(config) == 30
    assert Readable(count=1, corpus=10).dense_candidates(config) == 50
    assert await count_readable(db_session, groups=[], limit=2, share=0.5) == Readable(0, 0)
    # An empty corpus is never broad.
    assert Readable(count=0, corpus=0).ef_search(config) == 400


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_readable_counts_are_cached_per_groups_and_expire(db_session: AsyncSession) -> None:
    await insert_document(db_session, ["hr note one", "hr note two"], ["hr"])
    await db_session.commit()
    clock = _Clock()
    counts = ReadableCounts(ttl_seconds=30, clock=clock)

    async def count(groups: list[str], limit: int) -> int:
        return (await counts.count(db_session, groups=groups, limit=limit)).count

    assert await count(["hr", "everyone"], 100) == 2
    await insert_document(db_session, ["hr note three"], ["hr"])
    await db_session.commit()
    # Within the TTL the same group set (in any order) is answered from the cache...
    assert await count(["everyone", "hr"], 100) == 2
    # ... another set or limit is counted, and after the TTL the count is fresh.
    assert await count(["hr"], 2) == 2
    assert await count(["hr"], 100) == 3
    clock.now = 31.0
    assert await count(["everyone", "hr"], 100) == 3
    with pytest.raises(ValueError, match="ttl_seconds"):
        ReadableCounts(ttl_seconds=-1)


async def test_a_stale_readable_count_changes_the_path_never_the_results(
    db_session: AsyncSession,
) -> None:
    config = RetrievalConfig(k=5, exact_below=10)
    query = "parking rules"
    counts = ReadableCounts(ttl_seconds=3600)
    # Counted while "a" had few chunks and "b" many; then "a" grows and "b" shrinks.
    await insert_document(db_session, ["parking rules for staff", "staff parking map"], ["a"])
    crowd = await insert_document(
        db_session, [f"memo {i} on parking rules" for i in range(30)], ["b"]
    )
    await insert_document(
        db_session, ["parking rules for visitors", "visitor parking permit"], ["b"]
    )
    await db_session.commit()
    for groups in (["a"], ["b"]):
        await counts.count(db_session, groups=groups, limit=config.exact_below + 1)
    await insert_document(
        db_session, [f"staff memo {i} about parking rules" for i in range(30)], ["a"]
    )
    await store.delete_chunks(db_session, crowd)
    await db_session.commit()
    for groups in (["a"], ["b"]):
        fresh = await retrieve(db_session, EMBEDDER, query, groups=groups, config=config)
        stale = await retrieve(
            db_session,
            EMBEDDER,
            query,
            groups=groups,
            config=config,
            state=ProcessState(readable=counts),
        )
        assert [c.chunk_id for c in stale.chunks] == [c.chunk_id for c in fresh.chunks]
        assert len(stale.chunks) == (5 if groups == ["a"] else 2)


async def test_legs_on_two_connections_return_what_one_connection_returns(
    db_session: AsyncSession, engine: AsyncEngine
) -> None:
    await insert_document(
        db_session, [f"badge office note {i} on lost badges" for i in range(12)], ["a"]
    )
    await insert_document(db_session, ["lost badges are replaced at the badge office"], ["b"])
    await db_session.commit()
    parallel = ParallelLegs(async_sessionmaker(engine, expire_on_commit=False), max_in_flight=1)
    for exact_below in (0, 1000):  # the index path and the exact path
        config = RetrievalConfig(k=6, exact_below=exact_below)
        for groups in (["a"], ["b"], ["a", "b"]):
            one = await retrieve(db_session, EMBEDDER, "lost badge", groups=groups, config=config)
            two = await retrieve(
                db_session,
                EMBEDDER,
                "lost badge",
                groups=groups,
                config=config,
                state=ProcessState(parallel=parallel),
            )
            assert [c.chunk_id for c in two.chunks] == [c.chunk_id for c in one.chunks]
            readable = {"a": 12, "b": 1}
            assert len(two.chunks) == min(6, sum(readable[g] for g in groups))
            assert {"keyword_ms", "dense_ms", "legs_ms", "load_ms"} <= set(two.timings_ms)
    assert parallel.in_flight == 0


async def test_a_second_connection_is_lent_only_while_few_retrievals_run(
    engine: AsyncEngine,
) -> None:
    parallel = ParallelLegs(async_sessionmaker(engine), max_in_flight=2)
    async with parallel.lend() as first, parallel.lend() as second, parallel.lend() as third:
        assert first is not None and second is not None and first is not second
        assert third is None  # a third concurrent retrieval runs its legs in turn
        assert parallel.in_flight == 3
    assert parallel.in_flight == 0
    with pytest.raises(RuntimeError):
        async with parallel.lend():
            raise RuntimeError("a failing retrieval still returns its slot")
    assert parallel.in_flight == 0
    async with ParallelLegs(async_sessionmaker(engine), max_in_flight=0).lend() as never:
        assert never is None
    with pytest.raises(ValueError, match="max_in_flight"):
        ParallelLegs(async_sessionmaker(engine), max_in_flight=-1)
