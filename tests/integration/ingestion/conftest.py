"""Ingestion fixtures: pipeline dependencies over the per-test database with light models."""

import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.db.session import make_session_factory
from app.resources import build_pipeline_deps
from app.settings import Settings
from ingestion.pipeline import PipelineDeps
from ingestion.sources import RegisteredDocument, create_source, register_document
from tests.builders import light_models

pytestmark = pytest.mark.integration


@pytest.fixture
def deps(settings: Settings, engine: AsyncEngine) -> PipelineDeps:
    return build_pipeline_deps(settings, make_session_factory(engine), light_models())


async def new_source(
    session: AsyncSession, name: str = "kb", *, groups: tuple[str, ...] = ("everyone",), **kw: str
) -> uuid.UUID:
    source_id = await create_source(session, name=name, groups=list(groups), **kw)  # type: ignore[arg-type]
    await session.commit()
    return source_id


async def register(
    session: AsyncSession, settings: Settings, source_id: uuid.UUID, name: str, data: bytes
) -> RegisteredDocument:
    """An upload in the caller's transaction (not committed)."""
    return await register_document(
        session,
        source_id=source_id,
        filename=name,
        data=data,
        uploads_dir=settings.uploads_dir,
        max_bytes=settings.ingestion.max_upload_bytes,
    )


async def upload(
    session: AsyncSession, settings: Settings, source_id: uuid.UUID, name: str, data: bytes
) -> uuid.UUID:
    registered = await register(session, settings, source_id, name, data)
    await session.commit()
    return registered.id


async def chunk_texts(session: AsyncSession, document_id: uuid.UUID) -> list[str]:
    rows = await session.execute(
        text("SELECT text FROM chunks WHERE document_id = :d ORDER BY position"), {"d": document_id}
    )
    return list(rows.scalars())


async def status_of(session: AsyncSession, document_id: uuid.UUID) -> tuple[str, str | None]:
    row = (
        await session.execute(
            text("SELECT status, error FROM documents WHERE id = :d"), {"d": document_id}
        )
    ).one()
    return str(row[0]), row[1]


def write(folder: Path, name: str, body: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body.encode() if isinstance(body, str) else body)
    return path
