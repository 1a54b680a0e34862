"""A large corpus for the filtered-recall/latency bench, built from public text with COPY.

Texts are SciFact sentence windows (1-3 sentences). Vectors are NOT model outputs: each is a
normalised noisy combination of two real MiniLM chunk embeddings (its source abstract's and
a random one), so 100k vectors cost seconds instead of ~80 minutes of embedding.
"""

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import numpy as np
from pgvector.asyncpg import register_vector

from app.db.base import BM25_INDEX_SQL, HNSW_INDEX_SQL
from ingestion.access_statistics import REBUILD_SET_STATISTICS
from ingestion.chunking import content_hash
from retrieval.analyzer import term_frequencies

SELECTIVITY_GROUPS = {0.001: "sel_0_1pct", 0.01: "sel_1pct", 0.1: "sel_10pct", 0.5: "sel_50pct"}
EVERYONE = "everyone"


@dataclass(frozen=True)
class SyntheticCorpus:
    chunks: int
    load_seconds: float
    index_seconds: float


def make_vectors(base: np.ndarray, owners: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``0.75 * base[owner] + 0.25 * base[random] + noise``, L2-normalised, float32."""
    other = base[rng.integers(0, len(base), size=len(owners))]
    noise = rng.normal(0.0, 0.02, size=(len(owners), base.shape[1]))
    mixed = 0.75 * base[owners] + 0.25 * other + noise
    normalised: np.ndarray = (mixed / np.linalg.norm(mixed, axis=1, keepdims=True)).astype(
        np.float32
    )
    return normalised


def access_lists(count: int, rng: np.random.Generator) -> list[list[str]]:
    """Exact selectivities: group ``g`` is on exactly ``round(count * share)`` chunks."""
    access: list[list[str]] = [[EVERYONE] for _ in range(count)]
    for share, group in SELECTIVITY_GROUPS.items():
        for index in rng.permutation(count)[: round(count * share)]:
            access[int(index)].append(group)
    return access


async def load_synthetic(
    dsn: str,
    texts: Sequence[str],
    owners: np.ndarray,
    base: np.ndarray,
    *,
    seed: int = 7,
    docs: int = 10_000,
) -> SyntheticCorpus:
    """Replace the corpus with ``len(texts)`` chunks and build the indexes after loading."""
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    vectors = make_vectors(base, owners, rng)
    access = access_lists(len(texts), rng)
    conn = await asyncpg.connect(dsn)
    try:
        await register_vector(conn)
        await conn.execute(
            "TRUNCATE sources, chunks, chunk_terms, term_stats, term_set_stats, access_set_stats CASCADE"
        )
        await conn.execute("DROP INDEX IF EXISTS ix_chunks_embedding_hnsw")
        await conn.execute("DROP INDEX IF EXISTS ix_chunk_terms_term_covering")
        source_id = uuid.uuid4()
        await conn.execute(
            "INSERT INTO sources (id, name, kind, groups, pii_policy) "
            "VALUES ($1, 'synthetic', 'upload', ARRAY['everyone'], 'keep')",
            source_id,
        )
        doc_ids = [uuid.uuid4() for _ in range(docs)]
        await _copy_documents(conn, doc_ids, source_id)
        access_ids = await _access_sets(conn, access)
        chunk_rows: list[tuple[object, ...]] = []
        posting_rows: list[tuple[object, ...]] = []
        total_terms = 0
        for i, body in enumerate(texts):
            chunk_id = uuid.uuid4()
            freq = term_frequencies(body)
            length = sum(freq.values())
            total_terms += length
            chunk_rows.append(
                (
                    chunk_id,
                    doc_ids[i % docs],
                    i // docs,
                    "",
                    "",
                    body,
                    content_hash(body),
                    64,
                    length,
                    access[i],
                    vectors[i],
                    0.0,
                )
            )
            posting_rows.extend(
                (term, chunk_id, tf, length, access_ids[tuple(access[i])])
                for term, tf in freq.items()
            )
        await conn.copy_records_to_table(
            "chunks",
            records=chunk_rows,
            columns=[
                "id",
                "document_id",
                "position",
                "title",
                "heading_path",
                "text",
                "content_hash",
                "token_count",
                "term_count",
                "access",
                "embedding",
                "injection_score",
            ],
        )
        await conn.copy_records_to_table(
            "chunk_terms",
            records=posting_rows,
            columns=["term", "chunk_id", "tf", "dl", "access_set"],
        )
        await conn.execute(
            "INSERT INTO term_stats (term, df) SELECT term, count(*) FROM chunk_terms GROUP BY term"
        )
        for statement in REBUILD_SET_STATISTICS:
            await conn.execute(statement)
        await conn.execute(
            "UPDATE corpus_stats SET chunk_count = $1, term_total = $2 WHERE id = 1",
            len(texts),
            total_terms,
        )
        loaded = time.perf_counter()
        await conn.execute("SET maintenance_work_mem = '2GB'")
        await conn.execute("SET max_parallel_maintenance_workers = 2")
        await conn.execute(HNSW_INDEX_SQL, timeout=3600)
        await conn.execute(BM25_INDEX_SQL)
        indexed = time.perf_counter()
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return SyntheticCorpus(len(texts), loaded - started, indexed - loaded)


async def _access_sets(conn: asyncpg.Connection, access: Sequence[list[str]]) -> dict[Any, int]:
    """Each distinct access list's ``access_sets`` id (postings carry it), keyed as listed."""
    await conn.execute("TRUNCATE access_sets")
    distinct = sorted({tuple(a) for a in access})
    await conn.executemany(
        "INSERT INTO access_sets (access) VALUES ($1) ON CONFLICT (key) DO NOTHING",
        [(list(a),) for a in distinct],
    )
    rows = await conn.fetch("SELECT id, access FROM access_sets")
    return {tuple(r["access"]): int(r["id"]) for r in rows}


async def _copy_documents(
    conn: asyncpg.Connection, doc_ids: list[uuid.UUID], source_id: uuid.UUID
) -> None:
    await conn.executemany(
        "INSERT INTO documents (id, source_id, uri, title, file_path, size_bytes, content_hash, "
        "status, chunks_done, chunks_total, attempts, flags) "
        "VALUES ($1, $2, $3, $3, '', 0, 'h', 'ready', 0, 0, 0, '{}')",
        [(d, source_id, f"doc-{i}") for i, d in enumerate(doc_ids)],
    )
