"""Start-up refuses an embedding model that differs from the one the vectors came from."""

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.errors import ConfigurationError
from retrieval.model_check import ensure_embedding_model

pytestmark = pytest.mark.integration


async def test_first_start_records_the_model_and_later_starts_accept_it(
    engine: AsyncEngine,
) -> None:
    await ensure_embedding_model(engine, name="all-MiniLM-L6-v2", dimension=384)
    await ensure_embedding_model(engine, name="all-MiniLM-L6-v2", dimension=384)


async def test_another_model_name_fails_loudly(engine: AsyncEngine) -> None:
    await ensure_embedding_model(engine, name="all-MiniLM-L6-v2", dimension=384)
    with pytest.raises(ConfigurationError, match="bge-small"):
        await ensure_embedding_model(engine, name="bge-small-en-v1.5", dimension=384)


async def test_another_dimension_fails_before_touching_the_database(engine: AsyncEngine) -> None:
    with pytest.raises(ConfigurationError, match="768"):
        await ensure_embedding_model(engine, name="all-mpnet-base-v2", dimension=768)
