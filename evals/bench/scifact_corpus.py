"""Load SciFact into a scratch database through the ingestion store (real chunks, postings, stats).

Each abstract (title + text) is chunked by the project's chunker and embedded with the real
model (cached on disk); one ``documents`` row per abstract, ``uri`` = the SciFact doc id.
"""

import hashlib
import itertools
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.db.models import EVERYONE
from evals.datasets_scifact import SciFact, chunk_scifact
from evals.embedding_cache import embed_cached
from ingestion import store
from ingestion.chunking import content_hash, embedding_text
from ingestion.vectors import sentence_texts
from retrieval.embeddings import Embedder
from retrieval.quotable import sentence_key
from retrieval.tokens import WordpieceTokenizer


@dataclass(frozen=True)
class LoadedCorpus:
    chunk_doc: dict[uuid.UUID, str]
    """chunk id -> SciFact doc id."""
    chunks: int
    load_seconds: float


async def load_scifact_corpus(
    engine: AsyncEngine,
    data: SciFact,
    embedder: Embedder,
    tokenizer: WordpieceTokenizer,
    *,
    data_dir: Path,
) -> LoadedCorpus:
    """Ingest the corpus unless this database already holds it; return the chunk -> doc map."""
    started = time.perf_counter()
    drafts = chunk_scifact(data.docs, tokenizer)
    fingerprint = hashlib.sha256(
        "|".join(f"{d}:{c.text}" for d, c in drafts).encode()
        + embedder.name.encode()
        + b"+quotable-sentences"
    ).hexdigest()[:32]
    async with AsyncSession(engine) as session:
        stored = (
            await session.execute(text("SELECT value FROM system_info WHERE key = 'bench_corpus'"))
        ).scalar()
    if stored != fingerprint:
        texts = [embedding_text(c.title, c.heading_path, c.text) for _, c in drafts]
        vectors = embed_cached(
            embedder, texts, data_dir=data_dir, progress=_progress("embedding scifact chunks")
        )
        per_chunk = [sentence_texts(c.text, c.title, c.heading_path) for _, c in drafts]
        flat = embed_cached(
            embedder,
            [s for sentences in per_chunk for s in sentences],
            data_dir=data_dir,
            progress=_progress("embedding scifact sentences"),
        )
        ends = list(itertools.accumulate(len(s) for s in per_chunk))
        by_doc: dict[str, list[store.StoredChunk]] = {}
        for (doc_id, draft), vector, end, sentences in zip(
            drafts, vectors, ends, per_chunk, strict=True
        ):
            chunks = by_doc.setdefault(doc_id, [])
            chunks.append(
                store.StoredChunk(
                    position=len(chunks),
                    text=draft.text,
                    title=draft.title,
                    heading_path=draft.heading_path,
                    page=None,
                    content_hash=content_hash(draft.text),
                    token_count=draft.token_count,
                    embedding=vector.tolist(),
                    sentence_embeddings=flat[end - len(sentences) : end].tolist(),
                    sentence_keys=[sentence_key(t) for t in sentences],
                )
            )
        await _ingest(engine, by_doc, fingerprint)
    async with AsyncSession(engine) as session:
        rows = await session.execute(
            text("SELECT c.id, d.uri FROM chunks c JOIN documents d ON d.id = c.document_id")
        )
        chunk_doc = {row[0]: str(row[1]) for row in rows}
    return LoadedCorpus(chunk_doc, len(chunk_doc), time.perf_counter() - started)


async def _ingest(
    engine: AsyncEngine, by_doc: dict[str, list[store.StoredChunk]], mark: str
) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "TRUNCATE sources, chunks, chunk_terms, term_stats, term_set_stats, access_set_stats CASCADE"
            )
        )
        await conn.execute(text("UPDATE corpus_stats SET chunk_count = 0, term_total = 0"))
    source_id = uuid.uuid4()
    async with AsyncSession(engine) as session, session.begin():
        await session.execute(
            text(
                "INSERT INTO sources (id, name, kind, groups, pii_policy) "
                "VALUES (:id, 'scifact', 'upload', CAST(:g AS varchar[]), 'keep')"
            ),
            {"id": source_id, "g": [EVERYONE]},
        )
    items = list(by_doc.items())
    for start in range(0, len(items), 250):
        async with AsyncSession(engine) as session, session.begin():
            for doc_id, chunks in items[start : start + 250]:
                document_id = uuid.uuid4()
                await session.execute(
                    text(
                        "INSERT INTO documents (id, source_id, uri, title, file_path, size_bytes, "
                        "content_hash, indexed_hash, status, chunks_done, chunks_total, "
                        "attempts, flags) VALUES (:id, :src, :uri, :title, '', 0, :h, :h, "
                        "'ready', :n, :n, 0, '{}')"
                    ),
                    {
                        "id": document_id,
                        "src": source_id,
                        "uri": doc_id,
                        "title": chunks[0].title,
                        "h": doc_id,
                        "n": len(chunks),
                    },
                )
                await store.insert_chunks(session, document_id, chunks, access=[EVERYONE])
        _progress("storing scifact documents")(min(start + 250, len(items)), len(items))
    async with engine.connect() as raw:
        conn = await raw.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE"))
        await conn.execute(
            text(
                "INSERT INTO system_info (key, value) VALUES ('bench_corpus', :v) "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
            ),
            {"v": mark},
        )


def _progress(label: str) -> "ProgressPrinter":
    return ProgressPrinter(label)


class ProgressPrinter:
    """Prints ``label done/total`` at most every 10 %."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._last = -1

    def __call__(self, done: int, total: int) -> None:
        step = int(10 * done / max(total, 1))
        if step != self._last:
            self._last = step
            print(f"  {self._label}: {done}/{total}", flush=True)
