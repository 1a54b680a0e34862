"""Engine and session factories. Built by the composition roots, never at import time."""

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def make_engine(url: str, *, pool_size: int = 5, echo: bool = False) -> AsyncEngine:
    """An asyncpg engine whose connections use custom plans and iterative HNSW scans.

    ``plan_cache_mode=force_custom_plan``: asyncpg prepares statements, and a generic plan
    for a filtered vector query was measured 10x slower (stack notes, trap 4).
    """
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_timeout=5,
        echo=echo,
        connect_args={
            "timeout": 5,
            "command_timeout": 60,
            "server_settings": {
                "plan_cache_mode": "force_custom_plan",
                "application_name": "groundwork",
            },
        },
    )


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
