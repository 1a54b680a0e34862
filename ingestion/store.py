"""SQL for ingestion: document status, and replacing a document's chunks in one transaction.

Chunks, their BM25 postings and the corpus statistics change together, so a reader
sees a document's old chunks or its new ones, never a mix, and BM25's statistics always
describe exactly the chunks that exist.

BM25's statistics are kept per access list as well (``term_set_stats``: df per term and list;
``access_set_stats``: chunks and terms per list), so a search computes idf, N and avgdl over the
chunks its caller may read: no score, ranking or confidence depends on a chunk the caller
cannot see. Writers lock statistics rows in one order (``term_set_stats``, ``term_stats``,
``access_set_stats``, ``corpus_stats``; each by key), so concurrent writers cannot deadlock.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from ingestion.access_sets import register_access_sets
from ingestion.access_statistics import (
    CHUNKS_OF_DOCUMENTS,
    CHUNKS_OF_IDS,
    POSTINGS_OF_CHUNKS,
    POSTINGS_OF_DOCUMENTS,
    add_set_sizes,
    move_term_set_stats,
    set_sizes,
    term_set_delta,
)
from ingestion.sentence_rows import SentenceRow, insert_sentence_rows
from ingestion.vectors import ChunkVectors
from retrieval.analyzer import term_frequencies
from retrieval.search import vector_literal


@dataclass(frozen=True)
class StoredChunk:
    position: int
    text: str
    title: str
    heading_path: str
    page: int | None
    content_hash: str
    token_count: int
    embedding: Sequence[float]
    injection_score: float = 0.0
    sentence_embeddings: Sequence[Sequence[float]] = ()
    sentence_keys: Sequence[bytes] = ()  # the digest of each embedded sentence, same order


@dataclass(frozen=True)
class DocumentChunks:
    """One document's new chunks and who may read them."""

    document_id: uuid.UUID
    chunks: Sequence[StoredChunk]
    access: Sequence[str]


@dataclass(frozen=True)
class DocumentJob:
    """What the pipeline needs to know about a document, read under a row lock."""

    id: uuid.UUID
    source_id: uuid.UUID
    uri: str
    file_path: str
    content_hash: str
    indexed_hash: str | None
    status: str
    access: list[str]
    pii_policy: str
    attempts: int


async def lock_document(session: AsyncSession, document_id: uuid.UUID) -> DocumentJob | None:
    row = (
        (
            await session.execute(
                text(
                    """
                SELECT d.id, d.source_id, d.uri, d.file_path, d.content_hash, d.indexed_hash,
                       d.status, COALESCE(d.acl_override, s.groups) AS access, s.pii_policy,
                       d.attempts
                FROM documents d JOIN sources s ON s.id = d.source_id
                WHERE d.id = :id
                FOR UPDATE OF d
                """
                ),
                {"id": document_id},
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    return DocumentJob(**{key: row[key] for key in row.keys()})  # noqa: SIM118


async def set_status(
    session: AsyncSession,
    document_id: uuid.UUID,
    status: str,
    *,
    error: str | None = None,
    chunks_done: int | None = None,
    chunks_total: int | None = None,
    bump_attempts: bool = False,
) -> None:
    await session.execute(
        text(
            """
            UPDATE documents SET status = :status, error = :error,
                   chunks_done = COALESCE(:done, chunks_done),
                   chunks_total = COALESCE(:total, chunks_total),
                   attempts = attempts + CASE WHEN :bump THEN 1 ELSE 0 END,
                   updated_at = now()
            WHERE id = :id
            """
        ),
        {
            "id": document_id,
            "status": status,
            "error": error,
            "done": chunks_done,
            "total": chunks_total,
            "bump": bump_attempts,
        },
    )


async def mark_indexed(session: AsyncSession, document_id: uuid.UUID, indexed_hash: str) -> None:
    await session.execute(
        text("UPDATE documents SET indexed_hash = :hash WHERE id = :id"),
        {"id": document_id, "hash": indexed_hash},
    )


async def mark_ready_many(
    session: AsyncSession,
    document_ids: Sequence[uuid.UUID],
    counts: Sequence[int],
    hashes: Sequence[str],
) -> None:
    """``ready`` + indexed hash for many documents in one statement (the bulk path)."""
    await session.execute(
        text(
            """
            UPDATE documents d SET status = 'ready', error = NULL, chunks_done = u.n,
                   chunks_total = u.n, indexed_hash = u.hash, updated_at = now()
            FROM unnest(CAST(:ids AS uuid[]), CAST(:counts AS int[]), CAST(:hashes AS varchar[]))
                 AS u(id, n, hash)
            WHERE d.id = u.id
            """
        ),
        {"ids": list(document_ids), "counts": list(counts), "hashes": list(hashes)},
    )


async def set_warnings(
    session: AsyncSession, warnings: Sequence[tuple[uuid.UUID, Sequence[str]]]
) -> None:
    """Show what ingestion repaired next to a ``ready`` status (in ``error``: the status
    reason shown by the API and the admin UI); documents without warnings are left alone."""
    found = [(doc, "; ".join(notes)) for doc, notes in warnings if notes]
    if not found:
        return
    await session.execute(
        text(
            """
            UPDATE documents d SET error = 'ready with a warning: ' || u.note
            FROM unnest(CAST(:ids AS uuid[]), CAST(:notes AS text[])) AS u(id, note)
            WHERE d.id = u.id AND d.status = 'ready'
            """
        ),
        {"ids": [doc for doc, _ in found], "notes": [note for _, note in found]},
    )


async def clear_indexed(session: AsyncSession, document_id: uuid.UUID) -> None:
    await session.execute(
        text("UPDATE documents SET indexed_hash = NULL WHERE id = :id"), {"id": document_id}
    )


async def set_progress(
    session: AsyncSession, document_id: uuid.UUID, done: int, total: int
) -> None:
    """Record progress; also the job's heartbeat (the sweeper treats an old ``updated_at``
    of a ``processing`` document as a crashed job)."""
    await session.execute(
        text(
            "UPDATE documents SET chunks_done = :done, chunks_total = :total, updated_at = now() "
            "WHERE id = :id"
        ),
        {"id": document_id, "done": done, "total": total},
    )


async def existing_embeddings(
    session: AsyncSession, hashes: Sequence[str], *, sentences: bool
) -> dict[str, ChunkVectors]:
    """Vectors already stored for identical chunk texts (with ``sentences``, also their
    sentence vectors, if stored): re-syncs embed only what changed."""
    if not hashes:
        return {}
    if not sentences:
        rows = await session.execute(
            text(
                "SELECT DISTINCT ON (content_hash) content_hash, embedding::text "
                "FROM chunks WHERE content_hash = ANY(:hashes)"
            ),
            {"hashes": list(set(hashes))},
        )
        return {key: ChunkVectors(_parse_vector(chunk), [], []) for key, chunk in rows}
    # Sentence rows without a digest (stored before digests existed) are left out, so their
    # chunks are embedded again rather than reused without a way to match their sentences.
    rows = await session.execute(
        text(
            """
            SELECT DISTINCT ON (c.content_hash) c.content_hash, c.embedding::text,
                   COALESCE(array_agg(s.embedding::text ORDER BY s.position)
                            FILTER (WHERE s.chunk_id IS NOT NULL), '{}'),
                   COALESCE(array_agg(s.text_hash ORDER BY s.position)
                            FILTER (WHERE s.chunk_id IS NOT NULL), '{}')
            FROM chunks c
            LEFT JOIN chunk_sentences s ON s.chunk_id = c.id AND s.text_hash IS NOT NULL
            WHERE c.content_hash = ANY(:hashes)
            GROUP BY c.content_hash, c.id
            ORDER BY c.content_hash, count(s.chunk_id) DESC, c.id
            """
        ),
        {"hashes": list(set(hashes))},
    )
    return {
        key: ChunkVectors(
            _parse_vector(chunk), [_parse_vector(v) for v in stored], [bytes(k) for k in digests]
        )
        for key, chunk, stored, digests in rows
    }


def _parse_vector(literal: str) -> list[float]:
    return [float(x) for x in literal.strip("[]").split(",")]


# Row locks on the ``term_stats`` rows of the terms in CTE ``gone``, taken in term order (the
# order every writer uses) before an UPDATE changes them: an UPDATE ... FROM locks rows in
# whatever order its join yields, and two writers meeting on shared words deadlocked.
_LOCK_TERM_STATS = (
    "SELECT ts.term FROM term_stats ts WHERE ts.term IN (SELECT term FROM gone) "
    "ORDER BY ts.term FOR UPDATE"
)


async def delete_chunks(session: AsyncSession, document_id: uuid.UUID) -> None:
    """Remove a document's chunks and subtract their terms from the BM25 statistics."""
    await delete_documents_chunks(session, [document_id])


async def delete_documents_chunks(session: AsyncSession, document_ids: Sequence[uuid.UUID]) -> None:
    """Remove several documents' chunks, subtracting them from the statistics in one pass (one
    lock order for the batch, as for a single document)."""
    if not document_ids:
        return
    of_documents = {"docs": list(document_ids)}
    await term_set_delta(session, POSTINGS_OF_DOCUMENTS, of_documents, sign=-1)
    await session.execute(
        text(
            f"""
            WITH gone AS (
                SELECT p.term, count(*) AS df
                FROM chunk_terms p {POSTINGS_OF_DOCUMENTS} GROUP BY p.term
            ),
            locked AS MATERIALIZED ({_LOCK_TERM_STATS})
            UPDATE term_stats ts SET df = ts.df - gone.df, version = nextval('term_stats_version')
            FROM gone JOIN locked ON locked.term = gone.term WHERE ts.term = gone.term
            """
        ),
        of_documents,
    )
    gone = await set_sizes(session, CHUNKS_OF_DOCUMENTS, of_documents)
    await add_set_sizes(session, {key: (-n, -terms) for key, (n, terms) in gone.items()})
    await session.execute(
        text(
            f"""
            WITH gone AS (
                SELECT count(*) AS n, COALESCE(sum(term_count), 0) AS terms
                FROM chunks c WHERE {CHUNKS_OF_DOCUMENTS}
            )
            UPDATE corpus_stats SET chunk_count = chunk_count - gone.n,
                                    term_total = term_total - gone.terms
            FROM gone WHERE id = 1
            """
        ),
        of_documents,
    )
    await session.execute(text(f"DELETE FROM chunks c WHERE {CHUNKS_OF_DOCUMENTS}"), of_documents)


async def insert_chunks(
    session: AsyncSession,
    document_id: uuid.UUID,
    chunks: Sequence[StoredChunk],
    *,
    access: Sequence[str],
) -> None:
    """Insert chunks with postings and statistics, using array parameters (one round trip each)."""
    await insert_documents_chunks(session, [DocumentChunks(document_id, chunks, access)])


async def insert_documents_chunks(
    session: AsyncSession, documents: Sequence[DocumentChunks]
) -> None:
    """Several documents' chunks, then all their postings and statistics in one pass: a batch
    locks statistics rows in one order, as a single document does, so two batches writing
    shared words cannot deadlock."""
    ids: list[uuid.UUID] = []
    freqs: list[dict[str, int]] = []
    lengths: list[int] = []
    for doc in documents:
        if not doc.chunks:
            continue
        doc_ids = [uuid.uuid4() for _ in doc.chunks]
        doc_freqs = [term_frequencies(f"{c.title} {c.heading_path} {c.text}") for c in doc.chunks]
        doc_lengths = [sum(f.values()) for f in doc_freqs]
        await _insert_chunk_rows(session, doc, doc_ids, doc_lengths)
        await _insert_sentences(session, doc_ids, doc.chunks)
        ids.extend(doc_ids)
        freqs.extend(doc_freqs)
        lengths.extend(doc_lengths)
    if ids:
        await _insert_postings(session, ids, freqs, lengths)


async def _insert_chunk_rows(
    session: AsyncSession,
    doc: DocumentChunks,
    ids: Sequence[uuid.UUID],
    lengths: Sequence[int],
) -> None:
    chunks = doc.chunks
    await session.execute(
        text(
            """
            INSERT INTO chunks (id, document_id, position, page, title, heading_path, text,
                                content_hash, token_count, term_count, access, embedding,
                                injection_score)
            SELECT u.id, :doc, u.position, u.page, u.title, u.heading_path, u.text, u.hash,
                   u.tokens, u.terms, CAST(:access AS varchar[]), CAST(u.embedding AS vector),
                   u.injection
            FROM unnest(CAST(:ids AS uuid[]), CAST(:positions AS int[]), CAST(:pages AS int[]),
                        CAST(:titles AS text[]), CAST(:headings AS text[]), CAST(:texts AS text[]),
                        CAST(:hashes AS varchar[]), CAST(:tokens AS int[]), CAST(:terms AS int[]),
                        CAST(:embeddings AS text[]), CAST(:injections AS float8[]))
                 AS u(id, position, page, title, heading_path, text, hash, tokens, terms,
                      embedding, injection)
            """
        ),
        {
            "doc": doc.document_id,
            "access": list(doc.access),
            "ids": list(ids),
            "positions": [c.position for c in chunks],
            "pages": [c.page for c in chunks],
            "titles": [c.title for c in chunks],
            "headings": [c.heading_path for c in chunks],
            "texts": [c.text for c in chunks],
            "hashes": [c.content_hash for c in chunks],
            "tokens": [c.token_count for c in chunks],
            "terms": list(lengths),
            "embeddings": [vector_literal(c.embedding) for c in chunks],
            "injections": [c.injection_score for c in chunks],
        },
    )


async def _insert_sentences(
    session: AsyncSession, ids: Sequence[uuid.UUID], chunks: Sequence[StoredChunk]
) -> None:
    await insert_sentence_rows(
        session,
        [
            SentenceRow(chunk_id, position, vector, key)
            for chunk_id, chunk in zip(ids, chunks, strict=True)
            for position, (vector, key) in enumerate(
                zip(chunk.sentence_embeddings, chunk.sentence_keys, strict=True)
            )
        ],
    )


async def _insert_postings(
    session: AsyncSession,
    ids: Sequence[uuid.UUID],
    freqs: Sequence[dict[str, int]],
    lengths: Sequence[int],
) -> None:
    columns: dict[str, list[Any]] = {"terms": [], "ids": [], "tfs": [], "dls": []}
    for chunk_id, freq, length in zip(ids, freqs, lengths, strict=True):
        for term, tf in freq.items():
            columns["terms"].append(term)
            columns["ids"].append(chunk_id)
            columns["tfs"].append(tf)
            columns["dls"].append(length)
    # Every chunk's access list gets its set, postings or not: the list's size counts it.
    await register_access_sets(session, ids)
    if columns["terms"]:
        await session.execute(
            text(
                """
                INSERT INTO chunk_terms (term, chunk_id, tf, dl, access_set)
                SELECT u.term, u.id, u.tf, u.dl, a.id
                FROM unnest(CAST(:terms AS varchar[]), CAST(:ids AS uuid[]),
                            CAST(:tfs AS int[]), CAST(:dls AS int[])) AS u(term, id, tf, dl)
                JOIN chunks c ON c.id = u.id
                JOIN access_sets a ON a.key = access_key(c.access)
                """
            ),
            columns,
        )
        await term_set_delta(session, POSTINGS_OF_CHUNKS, {"ids": list(ids)}, sign=1)
        # Sorted by term so concurrent writers lock term_stats rows in one order (no deadlock).
        await session.execute(
            text(
                """
                INSERT INTO term_stats (term, df)
                SELECT term, count(*) FROM unnest(CAST(:terms AS varchar[])) AS t(term)
                GROUP BY term ORDER BY term
                ON CONFLICT (term) DO UPDATE
                SET df = term_stats.df + EXCLUDED.df, version = nextval('term_stats_version')
                """
            ),
            {"terms": columns["terms"]},
        )
    await add_set_sizes(session, await set_sizes(session, CHUNKS_OF_IDS, {"ids": list(ids)}))
    await session.execute(
        text(
            "UPDATE corpus_stats SET chunk_count = chunk_count + :n, "
            "term_total = term_total + :terms WHERE id = 1"
        ),
        {"n": len(ids), "terms": sum(lengths)},
    )


async def update_document_access(
    session: AsyncSession, document_id: uuid.UUID, access: Sequence[str]
) -> None:
    """Change who may read a document's chunks, and their postings' copy of the rule, in the
    caller's transaction: immediate, no re-embedding. The per-list BM25 statistics move with
    them."""
    before = await set_sizes(session, CHUNKS_OF_DOCUMENTS, {"docs": [document_id]})
    changed = await session.execute(
        text(
            "UPDATE chunks SET access = CAST(:access AS varchar[]) WHERE document_id = :doc "
            "RETURNING id"
        ),
        {"doc": document_id, "access": list(access)},
    )
    await register_access_sets(session, changed.scalars().all())
    # Before the postings move: each moving posting leaves its old list's df for its new one.
    await move_term_set_stats(session, document_id)
    await session.execute(
        text(
            f"""
            WITH moved AS (
                UPDATE chunk_terms p SET access_set = a.id
                FROM chunks c JOIN access_sets a ON a.key = access_key(c.access)
                WHERE c.document_id = :doc AND p.chunk_id = c.id AND p.access_set <> a.id
                RETURNING p.term
            ),
            gone AS (SELECT DISTINCT term FROM moved),
            locked AS MATERIALIZED ({_LOCK_TERM_STATS})
            UPDATE term_stats ts SET version = nextval('term_stats_version')
            FROM locked WHERE ts.term = locked.term
            """
        ),
        {"doc": document_id},
    )
    after = await set_sizes(session, CHUNKS_OF_DOCUMENTS, {"docs": [document_id]})
    moved = dict(after)
    for key, (n, terms) in before.items():
        now_n, now_terms = moved.get(key, (0, 0))
        moved[key] = (now_n - n, now_terms - terms)
    await add_set_sizes(session, moved)
