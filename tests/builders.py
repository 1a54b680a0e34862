"""Builders for test data and test apps: users with API keys, light models, a burst worker."""

from dataclasses import dataclass

from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.auth.accounts import create_api_key, create_group, create_user
from app.db.session import make_session_factory
from app.main import create_app
from app.resources import Models, build_pipeline_deps
from app.settings import Settings
from ingestion.worker import build_worker
from retrieval.tokens import WordpieceTokenizer, packaged_model_dir
from tests.fakes import HashingEmbedder


@dataclass(frozen=True)
class ApiUser:
    username: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def light_models() -> Models:
    """Real tokenizer, hashing embedder, no Presidio or injection model: fast and deterministic."""
    return Models(
        embedder=HashingEmbedder(name="all-MiniLM-L6-v2"),
        tokenizer=WordpieceTokenizer.from_model_dir(packaged_model_dir()),
        redactor=None,
        detector=None,
    )


def presidio_models() -> Models:
    """``light_models`` with the real Presidio redactor (slow to load: share it per module)."""
    from guardrails.pii import build_presidio_redactor

    light = light_models()
    return Models(
        embedder=light.embedder,
        tokenizer=light.tokenizer,
        redactor=build_presidio_redactor(),
        detector=None,
    )


async def make_user(
    session: AsyncSession, username: str, *, role: str = "user", groups: tuple[str, ...] = ()
) -> ApiUser:
    await create_user(session, username, password="correct horse battery", role=role, groups=groups)
    key = await create_api_key(session, username)
    await session.commit()
    return ApiUser(username=username, key=key)


async def make_groups(session: AsyncSession, *names: str) -> None:
    for name in names:
        await create_group(session, name)
    await session.commit()


def make_app(settings: Settings, models: Models | None = None) -> Litestar:
    return create_app(settings, models=models or light_models())


async def run_worker_until_idle(settings: Settings, engine: AsyncEngine, models: Models) -> None:
    """Process every queued ingestion job with a burst worker, then return."""
    pipeline = build_pipeline_deps(settings, make_session_factory(engine), models)
    worker = build_worker(settings, pipeline, engine, burst=True)
    try:
        await worker.async_run()
    finally:
        await worker.close()
