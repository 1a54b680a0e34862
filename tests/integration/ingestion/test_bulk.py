"""The bulk path (COPY, cross-document batches) stores exactly what the per-document path does."""

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.settings import Settings
from ingestion.bulk import ingest_many
from ingestion.bulk_store import create_vector_index, drop_vector_index, vector_index_exists
from ingestion.pipeline import PipelineDeps, ingest_document
from ingestion.timings import StageTimings
from tests.integration.ingestion.conftest import new_source, status_of, upload

pytestmark = pytest.mark.integration


def _files() -> dict[str, bytes]:
    files = {
        f"doc{i}.md": (
            f"# Document {i}\n\n## Part A\n\n"
            + f"Topic {i} sentence about item {i}. " * (20 + 15 * i)
        ).encode()
        for i in range(12)
    }
    files["broken.pdf"] = b"%PDF-1.7 truncated"
    return files


async def _stored(session: AsyncSession) -> list[tuple[str, int, str, str, int | None, int]]:
    rows = await session.execute(
        text(
            "SELECT d.uri, c.position, c.title, c.text, c.page,"
            " (SELECT count(*) FROM chunk_sentences s WHERE s.chunk_id = c.id) FROM chunks c "
            "JOIN documents d ON d.id = c.document_id ORDER BY d.uri, c.position"
        )
    )
    return [tuple(r) for r in rows]


async def _load(session: AsyncSession, settings: Settings, name: str) -> dict[str, object]:
    source_id = await new_source(session, name)
    return {n: await upload(session, settings, source_id, n, data) for n, data in _files().items()}


@pytest.mark.parametrize("threshold", [1, 100_000], ids=["copy", "insert"])
async def test_bulk_matches_one_by_one(
    db_session: AsyncSession, settings: Settings, deps: PipelineDeps, threshold: int
) -> None:
    with_sentences = deps.settings.model_copy(update={"sentence_vectors": True})
    deps = PipelineDeps(**{**deps.__dict__, "settings": with_sentences})
    ids = await _load(db_session, settings, "one")
    for doc in ids.values():
        await ingest_document(deps, doc)  # type: ignore[arg-type]
    one_by_one = await _stored(db_session)
    assert all(row[5] > 0 for row in one_by_one)  # every chunk has its sentence vectors
    await db_session.execute(text("DELETE FROM chunks"))
    await db_session.execute(text("DELETE FROM chunk_terms"))
    await db_session.execute(text("UPDATE documents SET status = 'queued', indexed_hash = NULL"))
    await db_session.execute(text("DELETE FROM term_stats"))
    await db_session.execute(text("UPDATE corpus_stats SET chunk_count = 0, term_total = 0"))
    await db_session.commit()

    bulk = PipelineDeps(
        **{
            **deps.__dict__,
            "settings": deps.settings.model_copy(update={"bulk_threshold_chunks": threshold}),
        }
    )
    timings = StageTimings()
    outcomes = await ingest_many(bulk, list(ids.values()), embed_batch=16, timings=timings)  # type: ignore[arg-type]
    assert sorted(o.status for o in outcomes) == ["failed"] + ["ready"] * 12
    assert await _stored(db_session) == one_by_one
    assert (await status_of(db_session, ids["broken.pdf"]))[1].startswith("the PDF is damaged")  # type: ignore[arg-type, union-attr]
    assert {"parse", "pii", "chunk", "embed", "store"} <= set(timings.seconds)
    stats = await db_session.execute(
        text(
            "SELECT (SELECT count(*) FROM chunks) = (SELECT chunk_count FROM corpus_stats),"
            " (SELECT count(*) FROM chunk_terms) = (SELECT sum(df) FROM term_stats)"
        )
    )
    assert tuple(stats.one()) == (True, True)
    # Running the same load again (at-least-once) changes nothing.
    again = await ingest_many(bulk, list(ids.values()))  # type: ignore[arg-type]
    assert all(o.skipped or o.status == "failed" for o in again)
    assert await _stored(db_session) == one_by_one


async def test_vector_index_can_be_deferred_and_rebuilt(db_session: AsyncSession) -> None:
    assert await vector_index_exists(db_session)
    await drop_vector_index(db_session)
    assert not await vector_index_exists(db_session)
    await create_vector_index(db_session)
    await db_session.commit()
    assert await vector_index_exists(db_session)
