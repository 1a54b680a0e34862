"""The composition root of the web process: ``create_app(settings, models=...)``.

Everything a request needs (engine, session factory, models, queue, metrics) is built in
the lifespan and kept on ``app.state.web``; nothing is created at import time. Tests pass
light models (a hashing embedder) and their own settings through the same function.
"""

import asyncio
import gc
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

from litestar import Litestar
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from redis.asyncio import Redis

from app.chat.versions import active_version, ensure_default_version
from app.db.session import make_engine, make_session_factory
from app.errors import ConfigurationError
from app.logging import configure_logging, get_logger
from app.resources import Models, build_chat_deps, build_pipeline_deps, load_models
from app.settings import Settings
from app.web.dependencies import DEPENDENCIES
from app.web.errors import EXCEPTION_HANDLERS
from app.web.metrics import Metrics
from app.web.ratelimit import RateLimiter, redis_counter
from app.web.routes import (
    admin,
    chat,
    documents,
    evals,
    handoffs,
    health,
    pages,
    session,
    sources,
    versions,
)
from app.web.state import WebState
from ingestion.queue import IngestionQueue, connect_queue
from ingestion.verified import VerifiedAnswers
from retrieval.model_check import ensure_embedding_model

WEB_DIR = Path(__file__).parent / "web"
log = get_logger(__name__)

ROUTES = [
    health.live,
    health.ready,
    health.metrics,
    session.login_page,
    session.login,
    session.logout,
    pages.chat_page,
    pages.document_page,
    pages.admin_page,
    chat.chat,
    chat.conversation,
    chat.feedback,
    chat.search,
    documents.document_status,
    documents.document_content,
    documents.documents_index,
    documents.create_source,
    documents.upload_document,
    documents.set_acl,
    documents.delete_document,
    admin.create_group,
    admin.create_user,
    admin.set_groups,
    sources.sources_index,
    sources.sync_source,
    evals.eval_runs_page,
    evals.eval_report,
    versions.list_versions,
    versions.create_version,
    versions.activate_version,
    versions.versions_page,
    handoffs.list_queue,
    handoffs.claim,
    handoffs.reply,
    handoffs.close,
]


def freeze_startup_objects() -> int:
    """Move everything alive after start-up (the models above all) out of the collector's reach.

    With the embedder, Presidio and spaCy loaded, about 630,000 objects are tracked and every
    full collection walked them all: 267-273 ms, during which the event loop serves nothing.
    Frozen, a full collection walks only what requests created since (0.0 ms right after
    start-up). ``gc.unfreeze`` at shutdown hands them back, so a process that builds many apps
    (the tests) still frees each one. Returns how many objects were frozen.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def create_app(settings: Settings | None = None, *, models: Models | None = None) -> Litestar:
    settings = settings or Settings()
    configure_logging(level=settings.log_level, json=settings.log_json)
    if settings.database_url is None:
        raise ConfigurationError("the web app needs DATABASE_URL (`groundwork run` provides one)")
    database_url = settings.database_url

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        loaded = models or load_models(settings, serving=True)
        engine = make_engine(database_url)
        await ensure_embedding_model(
            engine, name=loaded.embedder.name, dimension=loaded.embedder.dimension
        )
        session_factory = make_session_factory(engine)
        async with session_factory.begin() as db:
            await ensure_default_version(db)
            try:  # names, once, any settings of the active version this build ignores
                await active_version(db, warn=True)
            except ConfigurationError as error:
                log.error("web.active_version_unrunnable", reason=error.message)
        queue: IngestionQueue | None = None
        counters: Redis | None = None
        if settings.redis_url:
            queue = await connect_queue(settings.redis_url)
            counters = Redis.from_url(settings.redis_url)
        limiter = RateLimiter(
            settings.web.rate_limit_per_minute, redis_counter(counters) if counters else None
        )
        app.state.web = WebState(
            settings=settings,
            engine=engine,
            session_factory=session_factory,
            chat=build_chat_deps(settings, loaded, session_factory=session_factory),
            queue=queue,
            metrics=Metrics(),
            limiter=limiter,
            verified=VerifiedAnswers(
                build_pipeline_deps(settings, session_factory, loaded), settings.uploads_dir
            ),
        )
        frozen = freeze_startup_objects()
        log.info("web.started", embedded_redis=settings.uses_embedded_redis, gc_frozen=frozen)
        try:
            yield
        finally:
            gc.unfreeze()
            if queue is not None:
                with suppress(Exception):  # Redis may already be gone at shutdown
                    await asyncio.wait_for(queue.close(), 2)
            if counters is not None:
                with suppress(Exception):
                    await asyncio.wait_for(counters.aclose(), 2)
            if app.state.web.chat.llm is not None:
                await app.state.web.chat.llm.aclose()
            if app.state.web.chat.retrieval.postings is not None:
                await app.state.web.chat.retrieval.postings.close()
            await engine.dispose()

    secret = hashlib.sha256(settings.web.session_secret.get_secret_value().encode()).digest()
    return Litestar(
        route_handlers=[
            *ROUTES,
            create_static_files_router(path="/static", directories=[WEB_DIR / "static"]),
        ],
        lifespan=[lifespan],
        dependencies=DEPENDENCIES,
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[
            CookieBackendConfig(
                secret=secret,
                key="groundwork_session",
                max_age=settings.web.session_max_age_seconds,
                secure=settings.web.secure_cookies,
                httponly=True,
                samesite="lax",
            ).middleware
        ],
        template_config=TemplateConfig(directory=WEB_DIR / "templates", engine=JinjaTemplateEngine),
        request_max_body_size=settings.ingestion.max_upload_bytes + 64 * 1024,
        debug=False,
    )
