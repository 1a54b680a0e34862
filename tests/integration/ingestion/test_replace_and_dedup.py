"""Replacing, deleting and de-duplicating documents: readers never see half a document."""

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.settings import Settings
from ingestion.chunking import embedding_text
from ingestion.pipeline import PipelineDeps, ingest_document
from ingestion.sources import delete_document, register_document
from ingestion.vectors import sentence_texts
from retrieval.quotable import sentence_key
from tests.integration.ingestion.conftest import chunk_texts, new_source, upload

pytestmark = pytest.mark.integration


def _document(marker: str, paragraphs: int = 80) -> bytes:
    body = "\n\n".join(
        f"Paragraph {i} of the {marker} edition. "
        + " ".join(f"{marker}word{i}x{j}" for j in range(40))
        for i in range(paragraphs)
    )
    return f"# Manual\n\n{body}\n".encode()


async def _index_is_consistent(session: AsyncSession) -> None:
    row = (
        await session.execute(
            text(
                "SELECT (SELECT count(*) FROM chunks), (SELECT chunk_count FROM corpus_stats),"
                " (SELECT count(*) FROM chunk_terms), (SELECT COALESCE(sum(df), 0) FROM term_stats)"
            )
        )
    ).one()
    assert row[0] == row[1], row
    assert row[2] == row[3], row


@pytest.mark.parametrize("bulk", [False, True], ids=["insert", "copy"])
async def test_concurrent_reader_sees_old_or_new_never_a_mix(
    db_session: AsyncSession,
    settings: Settings,
    deps: PipelineDeps,
    engine: AsyncEngine,
    bulk: bool,
) -> None:
    if bulk:
        deps = PipelineDeps(
            **{
                **deps.__dict__,
                "settings": deps.settings.model_copy(update={"bulk_threshold_chunks": 1}),
            }
        )
    source_id = await new_source(db_session)
    doc_id = await upload(db_session, settings, source_id, "manual.md", _document("first"))
    assert (await ingest_document(deps, doc_id)).status == "ready"
    old_count = len(await chunk_texts(db_session, doc_id))
    await upload(db_session, settings, source_id, "manual.md", _document("second", 60))

    snapshots: list[tuple[int, int, int]] = []
    done = asyncio.Event()

    async def read() -> None:
        async with engine.connect() as conn:
            while not done.is_set():
                row = (
                    await conn.execute(
                        text(
                            "SELECT count(*) FILTER (WHERE text LIKE '%firstword%'),"
                            " count(*) FILTER (WHERE text LIKE '%secondword%'), count(*)"
                            " FROM chunks WHERE document_id = :d"
                        ),
                        {"d": doc_id},
                    )
                ).one()
                snapshots.append((row[0], row[1], row[2]))
                await conn.rollback()
                await asyncio.sleep(0)

    reader = asyncio.create_task(read())
    outcome = await ingest_document(deps, doc_id)
    done.set()
    await reader
    assert outcome.status == "ready"
    new_count = outcome.chunks
    assert len(snapshots) > 5
    assert set(snapshots) <= {(old_count, 0, old_count), (0, new_count, new_count)}, set(snapshots)
    assert snapshots[-1] == (0, new_count, new_count)
    assert (old_count, 0, old_count) in snapshots
    await _index_is_consistent(db_session)


async def test_deleted_document_is_unretrievable_at_commit(
    db_session: AsyncSession, settings: Settings, deps: PipelineDeps, engine: AsyncEngine
) -> None:
    source_id = await new_source(db_session)
    doc_id = await upload(db_session, settings, source_id, "manual.md", _document("only", 5))
    await ingest_document(deps, doc_id)
    async with AsyncSession(engine) as other:
        await delete_document(other, doc_id)
        # Not yet committed: still visible to others; committed: gone everywhere at once.
        assert await chunk_texts(db_session, doc_id)
        await db_session.rollback()
        await other.commit()
    assert await chunk_texts(db_session, doc_id) == []
    hits = await db_session.execute(
        text("SELECT count(*) FROM chunk_terms WHERE term = 'onlyword1x1'")
    )
    assert hits.scalar_one() == 0
    await _index_is_consistent(db_session)
    # A job still queued for the deleted document finds nothing to do.
    assert (await ingest_document(deps, doc_id)).status == "deleted"


async def test_same_bytes_are_not_indexed_twice(
    db_session: AsyncSession, settings: Settings, deps: PipelineDeps
) -> None:
    source_id = await new_source(db_session)
    data = _document("dup", 3)
    first = await upload(db_session, settings, source_id, "a.md", data)
    again = await register_document(
        db_session,
        source_id=source_id,
        filename="a.md",
        data=data,
        uploads_dir=settings.uploads_dir,
        max_bytes=settings.ingestion.max_upload_bytes,
    )
    twin = await register_document(
        db_session,
        source_id=source_id,
        filename="copy-of-a.md",
        data=data,
        uploads_dir=settings.uploads_dir,
        max_bytes=settings.ingestion.max_upload_bytes,
    )
    await db_session.commit()
    assert (again.outcome, again.id) == ("unchanged", first)
    assert (twin.outcome, twin.duplicate_of) == ("duplicate", first)
    await ingest_document(deps, first)
    count = (await db_session.execute(text("SELECT count(*) FROM documents"))).scalar_one()
    assert count == 1
    # Running the job again (at-least-once delivery) changes nothing.
    before = await chunk_texts(db_session, first)
    assert (await ingest_document(deps, first)).skipped
    assert await chunk_texts(db_session, first) == before
    await _index_is_consistent(db_session)


async def test_unchanged_chunks_reuse_their_embeddings(
    db_session: AsyncSession, settings: Settings, deps: PipelineDeps
) -> None:
    """Chunk and sentence vectors both: only the edited chunk goes to the model again."""
    calls: list[list[str]] = []
    embedder = deps.embedder
    settings_on = deps.settings.model_copy(update={"sentence_vectors": True})

    class CountingEmbedder:
        name, dimension = embedder.name, embedder.dimension

        def embed(self, texts: list[str]):  # type: ignore[no-untyped-def]
            calls.append(list(texts))
            return embedder.embed(texts)

    deps = PipelineDeps(
        **{**deps.__dict__, "embedder": CountingEmbedder(), "settings": settings_on}
    )
    source_id = await new_source(db_session)
    doc_id = await upload(db_session, settings, source_id, "m.md", _document("same", 30))
    first = await ingest_document(deps, doc_id)
    embedded = [t for call in calls for t in call]
    assert sum(t.startswith("Manual") for t in embedded) == first.chunks  # chunk texts
    stored = await db_session.execute(
        text(
            "SELECT count(*) FROM chunk_sentences s JOIN chunks c ON c.id = s.chunk_id "
            "WHERE c.document_id = :d"
        ),
        {"d": doc_id},
    )
    assert stored.scalar_one() == len(embedded) - first.chunks > 0  # sentence vectors
    calls.clear()
    changed = _document("same", 30).replace(b"Paragraph 29 of", b"Paragraph 29 (edited) of")
    await upload(db_session, settings, source_id, "m.md", changed)
    second = await ingest_document(deps, doc_id)
    assert first.chunks == second.chunks
    again = [t for call in calls for t in call]
    edited = [t for t in await chunk_texts(db_session, doc_id) if "(edited)" in t]
    assert 0 < sum(t.startswith("Manual") for t in again) <= 2  # only the edited chunk(s)
    # ... and only their sentences.
    assert all(t.startswith("Manual") or any(t in e for e in edited) for t in again)


async def test_sentence_vectors_follow_the_setting(
    db_session: AsyncSession, settings: Settings, deps: PipelineDeps
) -> None:
    """On by default. Off: none are stored. Turned on, a re-sync embeds again the chunks stored
    without them (chunk and sentences), so every chunk gets its sentence vectors, each with the
    digest of the quotable sentence it embeds."""
    calls: list[list[str]] = []
    embedder = deps.embedder

    class CountingEmbedder:
        name, dimension = embedder.name, embedder.dimension

        def embed(self, texts: list[str]):  # type: ignore[no-untyped-def]
            calls.append(list(texts))
            return embedder.embed(texts)

    assert deps.settings.sentence_vectors is True
    off = PipelineDeps(
        **{
            **deps.__dict__,
            "embedder": CountingEmbedder(),
            "settings": deps.settings.model_copy(update={"sentence_vectors": False}),
        }
    )
    source_id = await new_source(db_session)
    doc_id = await upload(db_session, settings, source_id, "m.md", _document("same", 12))
    first = await ingest_document(off, doc_id)
    count = text("SELECT count(*) FROM chunk_sentences")
    assert (await db_session.execute(count)).scalar_one() == 0
    assert sum(len(call) for call in calls) == first.chunks  # chunk texts only
    calls.clear()
    on = PipelineDeps(
        **{
            **off.__dict__,
            "settings": deps.settings.model_copy(update={"sentence_vectors": True}),
        }
    )
    changed = _document("same", 12).replace(b"Paragraph 3 of", b"Paragraph 3 (edited) of")
    await upload(db_session, settings, source_id, "m.md", changed)
    second = await ingest_document(on, doc_id)
    assert (await db_session.execute(count)).scalar_one() > 0
    embedded = [t for call in calls for t in call]
    assert any(not t.startswith("Manual") for t in embedded)  # chunks and their sentences
    rows = await db_session.execute(
        text(
            "SELECT c.title, c.heading_path, c.text, "
            "array_remove(array_agg(s.text_hash ORDER BY s.position), NULL) "
            "FROM chunks c LEFT JOIN chunk_sentences s ON s.chunk_id = c.id "
            "WHERE c.document_id = :d GROUP BY c.id"
        ),
        {"d": doc_id},
    )
    chunks = list(rows)
    assert len(chunks) == second.chunks
    for title, heading_path, body, digests in chunks:
        quotable = sentence_texts(body, title, heading_path)
        assert [bytes(d) for d in digests] == [sentence_key(q) for q in quotable]


async def test_duplicate_passages_within_a_document_are_stored_once(
    db_session: AsyncSession, settings: Settings, deps: PipelineDeps
) -> None:
    source_id = await new_source(db_session)
    block = "## Notice\n\nThis paragraph is repeated verbatim in the file.\n\n"
    doc_id = await upload(db_session, settings, source_id, "r.md", ("# R\n\n" + block * 4).encode())
    await ingest_document(deps, doc_id)
    texts = await chunk_texts(db_session, doc_id)
    assert len(texts) == len(set(texts))


async def test_failed_new_version_removes_the_old_chunks(
    db_session: AsyncSession, settings: Settings, deps: PipelineDeps
) -> None:
    source_id = await new_source(db_session)
    doc_id = await upload(db_session, settings, source_id, "n.txt", b"old but valid text\n")
    await ingest_document(deps, doc_id)
    await upload(db_session, settings, source_id, "n.txt", bytes(range(256)) * 40)
    assert (await ingest_document(deps, doc_id)).status == "failed"
    assert await chunk_texts(db_session, doc_id) == []
    await _index_is_consistent(db_session)


async def test_stored_chunks_carry_title_and_headings_and_fit_the_model(
    db_session: AsyncSession, settings: Settings, deps: PipelineDeps
) -> None:
    source_id = await new_source(db_session)
    body = "# Staff Handbook\n\n## Leave\n\n### Parental leave\n\n" + " ".join(
        f"Parents of child {i} get sixteen weeks." for i in range(400)
    )
    doc = await upload(db_session, settings, source_id, "handbook.md", body.encode())
    await ingest_document(deps, doc)
    rows = (
        await db_session.execute(
            text("SELECT title, heading_path, text FROM chunks WHERE document_id = :d"), {"d": doc}
        )
    ).all()
    assert len(rows) > 5
    assert {(r[0], r[1]) for r in rows} == {
        ("Staff Handbook", "Staff Handbook > Leave > Parental leave")
    }
    for title, heading, body_text in rows:
        assert deps.tokens.count(embedding_text(title, heading, body_text)) <= 256


async def test_reuploading_a_failed_document_retries_it(
    db_session: AsyncSession, settings: Settings, deps: PipelineDeps
) -> None:
    source_id = await new_source(db_session, pii_policy="block")  # no detector loaded: fails
    doc = await upload(db_session, settings, source_id, "a.txt", b"plain words\n")
    assert (await ingest_document(deps, doc)).status == "failed"
    await db_session.execute(
        text("UPDATE sources SET pii_policy = 'keep' WHERE id = :s"), {"s": source_id}
    )
    again = await register_document(
        db_session,
        source_id=source_id,
        filename="a.txt",
        data=b"plain words\n",
        uploads_dir=settings.uploads_dir,
        max_bytes=settings.ingestion.max_upload_bytes,
    )
    await db_session.commit()
    assert (again.id, again.outcome) == (doc, "queued")
    assert (await ingest_document(deps, doc)).status == "ready"
