"""BM25 statistics per access list, kept with the postings by ``ingestion.store``.

``term_set_stats`` holds df per term and access list, ``access_set_stats`` chunks and terms per
list, so a search computes idf, N and avgdl over the chunks its caller may read
(``retrieval.keyword``). Rows are changed in key order; see ``ingestion.store`` for the order of
tables every writer keeps.
"""

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# The per-access-list statistics computed afresh from the postings and chunks, for loads that
# copy rows in bulk (benchmark corpora) after emptying both tables.
REBUILD_SET_STATISTICS = (
    "INSERT INTO term_set_stats (term, access_set, df) "
    "SELECT term, access_set, count(*) FROM chunk_terms GROUP BY term, access_set",
    """
    INSERT INTO access_set_stats (access_set, chunk_count, term_total)
    SELECT a.id, count(*), COALESCE(sum(c.term_count), 0)
    FROM chunks c JOIN access_sets a ON a.key = access_key(c.access)
    GROUP BY a.id
    """,
)

# Which postings or chunks a statistics change counts (``:docs`` or ``:ids`` bound by the caller).
POSTINGS_OF_DOCUMENTS = (
    "JOIN chunks c ON c.id = p.chunk_id WHERE c.document_id = ANY(CAST(:docs AS uuid[]))"
)
POSTINGS_OF_CHUNKS = "WHERE p.chunk_id = ANY(CAST(:ids AS uuid[]))"
CHUNKS_OF_DOCUMENTS = "c.document_id = ANY(CAST(:docs AS uuid[]))"
CHUNKS_OF_IDS = "c.id = ANY(CAST(:ids AS uuid[]))"


async def term_set_delta(
    session: AsyncSession, postings: str, params: dict[str, Any], *, sign: int
) -> None:
    """Add (``sign`` 1) or subtract (-1) the ``postings`` to ``term_set_stats``: one per term
    and the access list the posting carries. Rows are locked in key order."""
    await session.execute(
        text(
            f"""
            INSERT INTO term_set_stats AS t (term, access_set, df)
            SELECT p.term, p.access_set, {int(sign)} * count(*) FROM chunk_terms p {postings}
            GROUP BY p.term, p.access_set ORDER BY p.term, p.access_set
            ON CONFLICT (term, access_set) DO UPDATE SET df = t.df + EXCLUDED.df
            """
        ),
        params,
    )


async def set_sizes(
    session: AsyncSession, chunks: str, params: dict[str, Any]
) -> dict[int, tuple[int, int]]:
    """The ``chunks`` and their terms per access list: ``{access_sets.id: (chunks, terms)}``."""
    rows = await session.execute(
        text(
            f"""
            SELECT a.id, count(*), COALESCE(sum(c.term_count), 0)
            FROM chunks c JOIN access_sets a ON a.key = access_key(c.access)
            WHERE {chunks} GROUP BY a.id
            """
        ),
        params,
    )
    return {int(key): (int(n), int(terms)) for key, n, terms in rows}


async def add_set_sizes(session: AsyncSession, deltas: dict[int, tuple[int, int]]) -> None:
    """Add ``{access_sets.id: (chunks, terms)}`` (negative to subtract) to the lists' sizes,
    locking their rows in id order."""
    changed = sorted((key, n, terms) for key, (n, terms) in deltas.items() if n or terms)
    if not changed:
        return
    await session.execute(
        text(
            """
            INSERT INTO access_set_stats AS s (access_set, chunk_count, term_total)
            SELECT u.id, u.n, u.terms
            FROM unnest(CAST(:ids AS int[]), CAST(:ns AS bigint[]), CAST(:terms AS bigint[]))
                 AS u(id, n, terms)
            ORDER BY u.id
            ON CONFLICT (access_set) DO UPDATE
            SET chunk_count = s.chunk_count + EXCLUDED.chunk_count,
                term_total = s.term_total + EXCLUDED.term_total
            """
        ),
        {
            "ids": [key for key, _, _ in changed],
            "ns": [n for _, n, _ in changed],
            "terms": [terms for _, _, terms in changed],
        },
    )


async def move_term_set_stats(session: AsyncSession, document_id: uuid.UUID) -> None:
    """Move the document's postings' df from their old access list to the one its chunks now
    name; call after the chunks' access changes and before the postings' copy of it does."""
    await session.execute(
        text(
            """
            WITH moving AS (
                SELECT p.term, p.access_set AS old_set, a.id AS new_set
                FROM chunk_terms p JOIN chunks c ON c.id = p.chunk_id
                JOIN access_sets a ON a.key = access_key(c.access)
                WHERE c.document_id = :doc AND p.access_set <> a.id
            ),
            deltas AS (
                SELECT term, old_set AS access_set, -1 AS delta FROM moving
                UNION ALL SELECT term, new_set, 1 FROM moving
            )
            INSERT INTO term_set_stats AS t (term, access_set, df)
            SELECT term, access_set, sum(delta) FROM deltas
            GROUP BY term, access_set ORDER BY term, access_set
            ON CONFLICT (term, access_set) DO UPDATE SET df = t.df + EXCLUDED.df
            """
        ),
        {"doc": document_id},
    )
