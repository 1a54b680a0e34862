"""The keyword leg as explicit SQL: Okapi BM25 over the postings in ``chunk_terms``.

Access control is inside each statement (``access && :groups``; postings carry their chunk's
access list as an ``access_sets`` id), never applied afterwards, so a caller can never see a
row, a count or a score of a chunk they may not read.
"""

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from retrieval.postings_cache import PostingsCache, QueryTerm, TermPostings
from retrieval.types import Hit, RetrievalConfig


@dataclass(frozen=True)
class Bm25:
    """The keyword leg's stored settings: Okapi BM25's k1 and b, and the term selection
    (``select_terms``) that bounds what a query reads."""

    k1: float = 1.2
    b: float = 0.5
    max_terms: int = 4
    max_df_ratio: float = 0.25
    max_postings: float = math.inf

    @classmethod
    def of(cls, config: RetrievalConfig) -> "Bm25":
        return cls(
            k1=config.bm25_k1,
            b=config.bm25_b,
            max_terms=config.max_query_terms,
            max_df_ratio=config.max_df_ratio,
            max_postings=config.max_postings,
        )


# The access lists that ``:groups`` may read; postings name theirs (``access_set``).
_READABLE_SETS = """
    sets AS MATERIALIZED (
        SELECT id FROM access_sets WHERE access && CAST(:groups AS varchar[])
    ),"""

# The query terms' df, N and avgdl over the chunks ``:groups`` may read: sums of the per-access-
# list statistics (``term_set_stats``, ``access_set_stats``) over the readable lists, so no
# score, kept term or confidence depends on a chunk the caller cannot see. A term no readable
# chunk holds is left out. ``version`` names the term's postings for the postings cache.
_TERMS = text(
    "WITH"
    + _READABLE_SETS
    + """
    size AS MATERIALIZED (
        SELECT COALESCE(sum(chunk_count), 0) AS n, COALESCE(sum(term_total), 0) AS total
        FROM access_set_stats WHERE access_set IN (SELECT id FROM sets)
    ),
    readable AS (
        SELECT term, sum(df) AS df FROM term_set_stats
        WHERE term = ANY(CAST(:terms AS varchar[])) AND access_set IN (SELECT id FROM sets)
        GROUP BY term HAVING sum(df) > 0
    )
    SELECT r.term, r.df, ts.version, size.n,
           GREATEST(size.total::float8 / GREATEST(size.n, 1), 1.0) AS avgdl
    FROM readable r JOIN term_stats ts ON ts.term = r.term CROSS JOIN size
    """
)

# Parameters are CAST: an untyped ``:k1 + 1`` would be inferred as integer and truncated.
# BM25 per chunk from the covering index (term) INCLUDE (chunk_id, tf, dl); idf is
# computed once per term in Python and passed in with its term. ``{restrict}`` optionally
# limits the postings to the readable chunks (the small-readable-set path).
# One query term's BM25 contribution of posting ``p`` (term ``q``, parameters ``prm``), shared
# by every statement that scores, so a filled-in score is the leg's own.
_BM25_TERM = (
    "q.idf * p.tf * (prm.k1 + 1) / (p.tf + prm.k1 * (1 - prm.b + prm.b * p.dl / prm.avgdl))"
)
_QUERY_TERMS = """unnest(CAST(:terms AS varchar[]), CAST(:idfs AS float8[])) AS q(term, idf)
        CROSS JOIN (SELECT CAST(:k1 AS float8) AS k1, CAST(:b AS float8) AS b,
                           CAST(:avgdl AS float8) AS avgdl) AS prm"""

_SCORED = (
    """
    scored AS (
        SELECT p.chunk_id, SUM("""
    + _BM25_TERM
    + """) AS score
        FROM """
    + _QUERY_TERMS
    + """
        JOIN chunk_terms p ON p.term = q.term{restrict}
        GROUP BY p.chunk_id
    )
"""
)


# Only the postings of readable access lists are scored (the covering index is keyed on
# (term, access_set), so it reads only those), the best ``cap`` chunks are access-checked
# against ``chunks`` itself (``scanned`` tells the caller whether the cap was reached). At a
# 10 % readable share on 100,000 chunks this scores a tenth of the postings: 9.7 -> 3.4 ms per
# query, same ranking. Small readable sets take it too: at 1 % it replaced scoring the
# postings of the readable chunks' ids (all of the terms' postings read, then hash-joined to
# ids found through the GIN index): 11.0 -> 2.0 ms, identical results. When every access list
# is readable the restriction is left out: at 100 % it cost 10.4 -> 8.9 ms.
def _keyword_capped(restrict: str) -> TextClause:
    return text(
        "WITH"
        + _READABLE_SETS
        + _SCORED.format(restrict=restrict)
        + """,
    top AS MATERIALIZED (SELECT chunk_id, score FROM scored ORDER BY score DESC LIMIT :cap)
    SELECT t.chunk_id, t.score, (SELECT count(*) FROM top) AS scanned
    FROM top t JOIN chunks c ON c.id = t.chunk_id
    WHERE c.access && CAST(:groups AS varchar[])
    ORDER BY t.score DESC, t.chunk_id
    LIMIT :k
    """
    )


_KEYWORD_CAPPED = _keyword_capped(" AND p.access_set IN (SELECT id FROM sets)")
_KEYWORD_CAPPED_ALL = _keyword_capped("")


# Exact filtered path over every matching posting, whatever their copy of the access rule says:
# the last resort when even the widened cap found fewer than ``k`` readable chunks.
_KEYWORD_FILTERED = text(
    "WITH"
    + _SCORED.format(restrict="")
    + """
    SELECT s.chunk_id, s.score, 0 AS scanned
    FROM scored s JOIN chunks c ON c.id = s.chunk_id
    WHERE c.access && CAST(:groups AS varchar[])
    ORDER BY s.score DESC, s.chunk_id
    LIMIT :k
    """
)

# BM25 of given chunks by primary-key probes, one per (chunk, query term): the LATERAL ... LIMIT 1
# keeps the planner from scanning every posting of the terms and hash-joining them (measured at
# 100k chunks, 80 chunks and the 4 commonest terms: 10.1 -> 2.0 ms, identical scores).
_KEYWORD_OF = text(
    """
    WITH given AS MATERIALIZED (
        SELECT id FROM chunks WHERE id = ANY(:ids) AND access && CAST(:groups AS varchar[])
    ),
    scored AS (
        SELECT g.id AS chunk_id, SUM("""
    + _BM25_TERM
    + """) AS score
        FROM given g
        CROSS JOIN """
    + _QUERY_TERMS
    + """
        CROSS JOIN LATERAL (
            SELECT c.tf, c.dl FROM chunk_terms c
            WHERE c.term = q.term AND c.chunk_id = g.id
            LIMIT 1
        ) AS p
        GROUP BY g.id
    )
    SELECT g.id, COALESCE(s.score, 0) FROM given g LEFT JOIN scored s ON s.chunk_id = g.id
    """
)

# The in-memory capped pass (``retrieval.postings_cache``): the access lists ``:groups`` may
# read, and which of the ranked candidates they may read, checked against ``chunks`` itself.
_READABLE_SET_IDS = text("SELECT id FROM access_sets WHERE access && CAST(:groups AS varchar[])")
_READABLE_OF = text(
    "SELECT id FROM chunks WHERE id = ANY(CAST(:ids AS uuid[])) "
    "AND access && CAST(:groups AS varchar[])"
)

# A capped pass that comes back short widens its cap this many times before the exact pass.
_CAP_WIDENING = 10


def _idf(df: int, n: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def select_terms(
    stats: Sequence[tuple[str, int]],
    n: int,
    *,
    max_terms: int,
    max_df_ratio: float,
    max_postings: float = math.inf,
) -> list[tuple[str, float]]:
    """``(term, idf)`` to score: with more than ``max_terms`` terms, very common ones go.

    The rarest ``max_terms`` terms are always kept, so a query never loses all its terms. Beyond
    them, a term is kept while its df is at most ``max_df_ratio`` of the corpus and the kept
    terms' postings (the sum of their df, what the leg reads) stay within ``max_postings``:
    rarest first, so what goes is the least informative.
    """
    ranked = sorted(stats, key=lambda item: (item[1], item[0]))
    kept: list[tuple[str, int]] = []
    postings = 0
    for i, (term, df) in enumerate(ranked):
        within = df <= max_df_ratio * n and postings + df <= max_postings
        if i >= max_terms and not within:
            break  # ranked by df: every later term is commoner still
        kept.append((term, df))
        postings += df
    return [(term, _idf(df, n)) for term, df in kept]


@dataclass(frozen=True)
class _Chosen:
    """The terms to score with their idf (``params``, bound by every scoring statement) and
    the version of each term's postings, which the postings cache checks its copy against."""

    params: dict[str, object]
    versions: dict[str, int]

    def query_terms(self) -> list[QueryTerm]:
        terms, idfs = self.params["terms"], self.params["idfs"]
        return [
            QueryTerm(term=t, version=self.versions[t], idf=idf)
            for t, idf in zip(terms, idfs, strict=True)  # type: ignore[call-overload]
        ]


async def _bm25_params(
    session: AsyncSession, terms: Sequence[str], groups: Sequence[str], bm25: Bm25
) -> _Chosen | None:
    """The chosen terms with their idf, avgdl, k1 and b over what ``groups`` may read; None
    when no readable chunk holds any of the terms."""
    rows = (await session.execute(_TERMS, {"terms": list(terms), "groups": list(groups)})).all()
    if not rows:
        return None
    n, avgdl = int(rows[0][3]), float(rows[0][4])
    chosen = select_terms(
        [(str(r[0]), int(r[1])) for r in rows],
        n,
        max_terms=bm25.max_terms,
        max_df_ratio=bm25.max_df_ratio,
        max_postings=bm25.max_postings,
    )
    params: dict[str, object] = {
        "terms": [t for t, _ in chosen],
        "idfs": [idf for _, idf in chosen],
        "avgdl": avgdl,
        "k1": bm25.k1,
        "b": bm25.b,
    }
    return _Chosen(params=params, versions={str(r[0]): int(r[2]) for r in rows})


async def keyword_search(  # noqa: PLR0913 - each knob is a stored retrieval setting
    session: AsyncSession,
    terms: Sequence[str],
    *,
    groups: Sequence[str],
    k: int,
    bm25: Bm25 = Bm25(),
    scan_cap: int = 400,
    few_readable: bool = False,
    every_set: bool = False,
    postings: PostingsCache | None = None,
) -> list[Hit]:
    """Top-``k`` readable chunks by Okapi BM25 over the postings in ``chunk_terms``.

    ``terms`` must come from ``retrieval.analyzer.query_terms`` (the indexing analyzer).
    The postings of readable access lists are scored and their best ``scan_cap`` chunks
    access-checked, then ten times as many, then every match of the corpus, until ``k``
    readable are found or none is left. Every path is exact. ``few_readable`` (the caller
    counted a small readable set) scores in SQL, in one statement, without the postings copy.
    ``every_set`` (the caller's count found every access list readable) drops the access-list
    restriction from the capped pass; if that is stale, the access check of the capped
    candidates still holds. ``postings`` (the process's copy of recently queried terms) scores
    the capped passes in memory when it holds every chosen term at its current version; the
    access check stays in SQL.
    """
    if not groups or not terms or k <= 0:
        return []
    chosen = await _bm25_params(session, terms, groups, bm25)
    if chosen is None:
        return []
    params = {**chosen.params, "groups": list(groups), "k": k, "cap": max(scan_cap, k)}
    first_cap = max(scan_cap, k)
    query_terms = chosen.query_terms()
    # A small readable set's postings are few: SQL scores them in one statement, where the
    # copy would add two (the readable lists, the access check).
    cached = postings.lookup(query_terms) if postings is not None and not few_readable else None
    if postings is not None and cached is not None:
        hits = await _capped_in_memory(
            session,
            postings,
            query_terms,
            cached,
            bm25,
            avgdl=float(chosen.params["avgdl"]),  # type: ignore[arg-type]
            groups=list(groups),
            k=k,
            first_cap=first_cap,
            every_set=every_set,
        )
        if hits is not None:
            return hits
    else:
        for cap in (first_cap, first_cap * _CAP_WIDENING):
            capped = _KEYWORD_CAPPED_ALL if every_set else _KEYWORD_CAPPED
            found = (await session.execute(capped, {**params, "cap": cap})).all()
            # Fewer than ``k`` readable among the capped candidates is final only if the cap
            # was not reached (every matching chunk was considered).
            if len(found) >= k or (found and int(found[0][2]) < cap):
                return [Hit(chunk_id=row[0], score=float(row[1])) for row in found]
    found = (await session.execute(_KEYWORD_FILTERED, params)).all()
    return [Hit(chunk_id=row[0], score=float(row[1])) for row in found]


async def _capped_in_memory(  # noqa: PLR0913 - the capped pass's inputs
    session: AsyncSession,
    cache: PostingsCache,
    query_terms: Sequence[QueryTerm],
    cached: Sequence[TermPostings],
    bm25: Bm25,
    *,
    avgdl: float,
    groups: list[str],
    k: int,
    first_cap: int,
    every_set: bool,
) -> list[Hit] | None:
    """The capped passes scored from the process's copy of the postings, each candidate
    access-checked in SQL; None if even the widened cap found fewer than ``k`` readable."""
    readable_sets = None
    if not every_set:
        found = await session.execute(_READABLE_SET_IDS, {"groups": groups})
        readable_sets = [int(set_id) for set_id in found.scalars()]
    for cap in (first_cap, first_cap * _CAP_WIDENING):
        ids, scores, candidates = cache.rank(
            query_terms,
            cached,
            k1=bm25.k1,
            b=bm25.b,
            avgdl=avgdl,
            readable_sets=readable_sets,
            limit=cap,
        )
        readable = set(
            (await session.execute(_READABLE_OF, {"ids": ids, "groups": groups})).scalars()
        )
        hits = [
            Hit(chunk_id=chunk_id, score=score)
            for chunk_id, score in zip(ids, scores, strict=True)
            if chunk_id in readable
        ]
        if len(hits) >= k or candidates <= cap:
            return hits[:k]
    return None


async def keyword_scores(
    session: AsyncSession,
    terms: Sequence[str],
    chunk_ids: Sequence[uuid.UUID],
    *,
    groups: Sequence[str],
    bm25: Bm25,
) -> list[Hit]:
    """Exact BM25 of the given chunks that ``groups`` may read, as ``keyword_search`` scores
    them (any order); a readable chunk without any query term scores 0."""
    if not groups or not chunk_ids:
        return []
    chosen = await _bm25_params(session, terms, groups, bm25) if terms else None
    scoring = (
        chosen.params
        if chosen is not None
        # no readable chunk holds a query term: every readable chunk scores 0
        else {"terms": [], "idfs": [], "avgdl": 1.0, "k1": bm25.k1, "b": bm25.b}
    )
    params = {**scoring, "ids": list(chunk_ids), "groups": list(groups)}
    rows = (await session.execute(_KEYWORD_OF, params)).all()
    return [Hit(chunk_id=row[0], score=float(row[1])) for row in rows]
