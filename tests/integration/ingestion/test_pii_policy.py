"""The source's PII policy runs before chunks are stored (real Presidio: slow)."""

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.db.session import make_session_factory
from app.resources import Models, build_pipeline_deps
from app.settings import Settings
from ingestion.pipeline import PipelineDeps, ingest_document
from tests.integration.ingestion.conftest import chunk_texts, new_source, status_of, upload

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MEMO = b"# Contacts\n\nFor payroll questions write to jane.doe@example.com before Friday.\n"


@pytest.fixture
def pii_deps(settings: Settings, engine: AsyncEngine, presidio_models: Models) -> PipelineDeps:
    return build_pipeline_deps(settings, make_session_factory(engine), presidio_models)


async def test_redact_removes_the_email_from_stored_chunks(
    db_session: AsyncSession, settings: Settings, pii_deps: PipelineDeps
) -> None:
    source_id = await new_source(db_session, pii_policy="redact")
    doc = await upload(db_session, settings, source_id, "memo.md", MEMO)
    assert (await ingest_document(pii_deps, doc)).status == "ready"
    stored = " ".join(await chunk_texts(db_session, doc))
    assert "jane.doe@example.com" not in stored
    assert "<EMAIL_ADDRESS>" in stored
    assert "payroll questions" in stored


async def test_block_fails_the_document_with_a_reason(
    db_session: AsyncSession, settings: Settings, pii_deps: PipelineDeps
) -> None:
    source_id = await new_source(db_session, pii_policy="block")
    doc = await upload(db_session, settings, source_id, "memo.md", MEMO)
    assert (await ingest_document(pii_deps, doc)).status == "failed"
    status, error = await status_of(db_session, doc)
    assert status == "failed"
    assert error is not None
    assert "EMAIL_ADDRESS" in error
    assert "policy is block" in error
    assert await chunk_texts(db_session, doc) == []


async def test_keep_stores_the_text_unchanged(
    db_session: AsyncSession, settings: Settings, pii_deps: PipelineDeps
) -> None:
    source_id = await new_source(db_session, pii_policy="keep")
    doc = await upload(db_session, settings, source_id, "memo.md", MEMO)
    await ingest_document(pii_deps, doc)
    assert "jane.doe@example.com" in " ".join(await chunk_texts(db_session, doc))


async def test_names_and_places_are_kept_unless_the_deployment_covers_them(
    db_session: AsyncSession, settings: Settings, engine: AsyncEngine, presidio_models: Models
) -> None:
    memo = (
        "# Visit {}\n\nMaria Svensson hosts the visit in Trondheim. Write to maria@example.org.\n"
    )
    source_id = await new_source(db_session, pii_policy="redact")
    for covered in (False, True):
        deployment = settings.model_copy(
            update={"pii": settings.pii.model_copy(update={"document_names_and_places": covered})}
        )
        deps = build_pipeline_deps(deployment, make_session_factory(engine), presidio_models)
        body = memo.format(int(covered)).encode()  # distinct content: no duplicate skip
        doc = await upload(db_session, settings, source_id, f"visit-{covered}.md", body)
        assert (await ingest_document(deps, doc)).status == "ready"
        stored = " ".join(await chunk_texts(db_session, doc))
        assert "maria@example.org" not in stored
        assert ("Maria Svensson" in stored) is not covered
        assert ("Trondheim" in stored) is not covered
