"""The dense leg as explicit SQL (pgvector HNSW), the readable count that picks each leg's
path, and the loading of chunks; the keyword leg (BM25) is ``retrieval.keyword``.

Access control is inside each statement (``access && :groups``), never applied
afterwards, so a caller can never see a row, a count or a score of a chunk they may not
read. Scores are "higher is better": cosine similarity here, BM25 in the keyword leg.
"""

import uuid
from collections.abc import Sequence

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.session import HNSW_INFO_KEY
from retrieval.types import Hit, Readable, RetrievedChunk

# How many readable chunks, counted up to a limit (the GIN index on ``access`` answers
# this quickly when the set is small; when it is large, the scan stops at the limit), how
# many chunks the corpus holds (the limit is ``:limit`` or ``:share`` of the corpus if larger),
# and whether every access list is readable (then postings need no access-set restriction).
_READABLE = text(
    """
    WITH corpus AS (SELECT COALESCE(max(chunk_count), 0) AS n FROM corpus_stats WHERE id = 1)
    SELECT (
        SELECT count(*) FROM (
            SELECT 1 FROM chunks WHERE access && CAST(:groups AS varchar[])
            LIMIT (
                SELECT GREATEST(CAST(:limit AS bigint), CAST(ceil(CAST(:share AS float8) * n) AS bigint))
                FROM corpus
            )
        ) AS readable
    ), (SELECT n FROM corpus),
    COALESCE((SELECT bool_and(access && CAST(:groups AS varchar[])) FROM access_sets), false)
    """
)

# Connections of ``app.db.session.make_engine`` start with iterative scans and the broad
# ef_search, and record it; a search wanting other settings sets them for its transaction.
_SCAN_SETTINGS = text(
    "SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true), "
    "set_config('hnsw.ef_search', :ef, true)"
)

# relaxed_order may return rows slightly out of order: re-sort the materialised candidates.
_DENSE = text(
    """
    WITH candidates AS MATERIALIZED (
        SELECT id, embedding <=> CAST(:query AS vector) AS distance
        FROM chunks
        WHERE access && CAST(:groups AS varchar[])
        ORDER BY distance
        LIMIT :k
    )
    SELECT id, 1 - distance AS similarity FROM candidates ORDER BY distance, id
    """
)

# The same query with the HNSW index made unusable (``+ 0``): exact search over the
# readable rows, which the GIN index on ``access`` finds quickly when they are few.
_DENSE_EXACT = text(
    """
    SELECT id, 1 - (embedding <=> CAST(:query AS vector)) AS similarity
    FROM chunks
    WHERE access && CAST(:groups AS varchar[])
    ORDER BY (embedding <=> CAST(:query AS vector)) + 0, id
    LIMIT :k
    """
)

# Exact scores of given chunks (the other leg's candidates), each re-checked for access.
_DENSE_OF = text(
    """
    SELECT id, 1 - (embedding <=> CAST(:query AS vector)) AS similarity
    FROM chunks
    WHERE id = ANY(:ids) AND access && CAST(:groups AS varchar[])
    """
)


def vector_literal(vector: Sequence[float]) -> str:
    """pgvector's text form; bound as a string and CAST in SQL (no asyncpg codec needed).

    Nine significant digits, so every float32 reads back exactly, as through the bulk path's
    binary ``real[]`` COPY (seven, used before, moved a stored component by up to 5e-8)."""
    return "[" + ",".join(f"{float(x):.9g}" for x in vector) + "]"


async def count_readable(
    session: AsyncSession, *, groups: Sequence[str], limit: int, share: float = 0.0
) -> Readable:
    """Readable chunks for ``groups``, counted up to ``limit`` or ``share`` of the corpus
    (whichever is larger, so the count is cheap when many are readable), and the corpus size."""
    if not groups:
        return Readable(count=0, corpus=0)
    params = {"groups": list(groups), "limit": limit, "share": float(share)}
    row = (await session.execute(_READABLE, params)).one()
    return Readable(count=int(row[0]), corpus=int(row[1]), every_set=bool(row[2]))


async def vector_search(
    session: AsyncSession,
    query_vector: Sequence[float],
    *,
    groups: Sequence[str],
    k: int,
    ef_search: int = 400,
    exact: bool = False,
) -> list[Hit]:
    """Top-``k`` readable chunks by cosine similarity; never fewer than min(k, readable).

    ``exact`` skips the index (callers pass it when few chunks are readable). Otherwise HNSW
    with iterative scans (relaxed order, re-sorted) answers, and if it still returns fewer
    than ``k`` rows the exact query answers instead.
    """
    if not groups or k <= 0:
        return []
    params = {"query": vector_literal(query_vector), "groups": list(groups), "k": k}
    rows: Sequence[Sequence[object]] = []
    if not exact:
        ef = str(max(int(ef_search), k))
        started_with = (await session.connection()).info.get(HNSW_INFO_KEY, {})
        if started_with != {"hnsw.iterative_scan": "relaxed_order", "hnsw.ef_search": ef}:
            await session.execute(_SCAN_SETTINGS, {"ef": ef})  # this transaction only
        rows = (await session.execute(_DENSE, params)).all()
    if len(rows) < k:
        rows = (await session.execute(_DENSE_EXACT, params)).all()
    return [Hit(chunk_id=row[0], score=float(row[1])) for row in rows]  # type: ignore[arg-type]


async def dense_scores(
    session: AsyncSession,
    query_vector: Sequence[float],
    chunk_ids: Sequence[uuid.UUID],
    *,
    groups: Sequence[str],
) -> list[Hit]:
    """Exact cosine similarity of the given chunks that ``groups`` may read (any order)."""
    return await vector_scores_of(session, _DENSE_OF, query_vector, chunk_ids, groups=groups)


async def vector_scores_of(
    session: AsyncSession,
    statement: TextClause,
    query_vector: Sequence[float],
    chunk_ids: Sequence[uuid.UUID],
    *,
    groups: Sequence[str],
) -> list[Hit]:
    """``(id, score)`` rows of ``statement`` (binding ``:query``, ``:ids``, ``:groups``) as hits."""
    if not groups or not chunk_ids:
        return []
    params = {"query": vector_literal(query_vector), "ids": list(chunk_ids), "groups": list(groups)}
    rows = (await session.execute(statement, params)).all()
    return [Hit(chunk_id=row[0], score=float(row[1])) for row in rows]


async def load_chunks(
    session: AsyncSession, chunk_ids: Sequence[uuid.UUID], *, groups: Sequence[str]
) -> dict[uuid.UUID, dict[str, object]]:
    """Chunk text and document facts for the given ids, re-checking access in the same SQL."""
    if not chunk_ids:
        return {}
    rows = (
        await session.execute(
            text(
                """
                SELECT c.id, c.document_id, c.title, d.uri, c.page, c.heading_path, c.text,
                       c.content_hash, c.injection_score
                FROM chunks c JOIN documents d ON d.id = c.document_id
                WHERE c.id = ANY(:ids) AND c.access && CAST(:groups AS varchar[])
                """
            ),
            {"ids": list(chunk_ids), "groups": list(groups)},
        )
    ).mappings()
    return {row["id"]: dict(row) for row in rows}


def retrieved_chunk(
    chunk_id: uuid.UUID,
    row: dict[str, object],
    *,
    score: float,
    dense_score: float | None = None,
    keyword_score: float | None = None,
) -> RetrievedChunk:
    """A ``load_chunks`` row as the chunk retrieval hands on, with its scores."""
    return RetrievedChunk(
        chunk_id=chunk_id,
        document_id=row["document_id"],  # type: ignore[arg-type]
        title=str(row["title"]),
        source=str(row["uri"]),
        page=row["page"],  # type: ignore[arg-type]
        heading_path=str(row["heading_path"]),
        text=str(row["text"]),
        content_hash=str(row["content_hash"]),
        score=score,
        dense_score=dense_score,
        keyword_score=keyword_score,
        injection_score=float(row["injection_score"]),  # type: ignore[arg-type]
    )
