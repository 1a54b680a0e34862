"""Sentence vectors stored at ingestion (``chunk_sentences``), read back for the composer.

The composer scores a retrieved passage's quotable sentences against the question; without
stored vectors the first question about a passage embeds them on the request path (about 24
sentences: the bulk of a cold answer's time to first token). Rows carry the digest of the
sentence they embed (``retrieval.quotable.sentence_key``), so a vector serves only the exact
sentence it was computed from; rows from older ingestions (no digest) are skipped.
"""

import uuid
from collections.abc import Sequence

import numpy as np
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from retrieval.embeddings import Vectors

# ``vector_send`` is pgvector's binary output: int16 dimension, int16 unused, then big-endian
# float4 values; it avoids formatting and parsing 384 decimals per row.
_STORED = text(
    """
    SELECT s.text_hash, vector_send(s.embedding)
    FROM chunk_sentences s
    WHERE s.chunk_id = ANY(:ids) AND s.text_hash IS NOT NULL
    """
)
_HEADER_BYTES = 4


async def stored_sentence_vectors(
    session: AsyncSession, chunk_ids: Sequence[uuid.UUID]
) -> dict[bytes, Vectors]:
    """The stored sentence vectors of ``chunk_ids``, by sentence digest.

    The ids come from a search that already applied the caller's access filter, and vectors are
    never shown to anyone, so no access check is repeated here."""
    if not chunk_ids:
        return {}
    rows = await session.execute(_STORED, {"ids": list(chunk_ids)})
    return {
        bytes(key): np.frombuffer(bytes(raw), dtype=">f4", offset=_HEADER_BYTES).astype(np.float32)
        for key, raw in rows
    }
