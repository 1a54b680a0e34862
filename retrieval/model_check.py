"""Start-up guard: the embedding model must match the vectors already stored.

Mixing two models' vectors in one index silently ruins retrieval, so a mismatch of
name or dimension stops the process with a message that says what to do.
"""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.base import EMBEDDING_DIM
from app.errors import ConfigurationError


async def ensure_embedding_model(engine: AsyncEngine, *, name: str, dimension: int) -> None:
    """Record the model on first start; afterwards refuse any other name or dimension."""
    if dimension != EMBEDDING_DIM:
        raise ConfigurationError(
            f"the embedding model {name!r} produces {dimension}-dimensional vectors but the "
            f"database column holds vector({EMBEDDING_DIM}); add a migration for the new width"
        )
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO system_info (key, value) VALUES "
                "('embedding_model', :name), ('embedding_dimension', :dim) "
                "ON CONFLICT (key) DO NOTHING"
            ),
            {"name": name, "dim": str(dimension)},
        )
        stored: dict[str, str] = dict(
            (await conn.execute(text("SELECT key, value FROM system_info"))).all()
        )
    if stored.get("embedding_model") != name or stored.get("embedding_dimension") != str(dimension):
        raise ConfigurationError(
            f"the database holds vectors from {stored.get('embedding_model')!r} "
            f"(dimension {stored.get('embedding_dimension')}), but the configured model is "
            f"{name!r} (dimension {dimension}); re-embed with the stored model or start a new database"
        )
