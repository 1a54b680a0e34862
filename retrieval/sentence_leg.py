"""The sentence leg: each candidate chunk scored by its best sentence's cosine to the query.

A chunk vector averages everything the chunk says; a query that one sentence answers matches
that sentence better than the whole. The vectors are written at ingestion
(``ingestion.vectors``), so this costs one statement over the fused candidates, not a model
pass. A chunk stored without sentence vectors (indexed before they existed) scores with its
own vector. Access is re-checked in the same statement, like every other leg.
"""

import uuid
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from retrieval.search import vector_scores_of
from retrieval.types import Hit

_SENTENCES_OF = text(
    """
    SELECT c.id, COALESCE(
        (SELECT max(1 - (s.embedding <=> CAST(:query AS vector)))
         FROM chunk_sentences s WHERE s.chunk_id = c.id),
        1 - (c.embedding <=> CAST(:query AS vector))
    )
    FROM chunks c
    WHERE c.id = ANY(:ids) AND c.access && CAST(:groups AS varchar[])
    """
)


async def sentence_scores(
    session: AsyncSession,
    query_vector: Sequence[float],
    chunk_ids: Sequence[uuid.UUID],
    *,
    groups: Sequence[str],
) -> list[Hit]:
    """Best-sentence cosine of the given chunks that ``groups`` may read, best first."""
    hits = await vector_scores_of(session, _SENTENCES_OF, query_vector, chunk_ids, groups=groups)
    return sorted(hits, key=lambda hit: (-hit.score, str(hit.chunk_id)))
