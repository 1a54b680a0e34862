"""A scratch deployment for evaluations and benchmarks: its own embedded PostgreSQL,
real models loaded once, and helpers to load a corpus and ask questions as a user.

Corpora are ingested through the real pipeline. A workspace directory is keyed by name;
``reuse=True`` keeps an already-loaded corpus between runs (the manifest hash decides).
"""

import asyncio
import fcntl
import hashlib
import json
import shutil
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.auth.accounts import create_group, create_user, load_principal
from app.auth.principal import Principal
from app.chat.service import ChatAnswer, ChatDeps, answer_question
from app.chat.versions import ensure_default_version
from app.db.migrate import upgrade
from app.db.session import make_engine, make_session_factory
from app.embedded import EmbeddedPostgres
from app.resources import Models, build_chat_deps, build_pipeline_deps, load_models
from app.settings import Settings
from ingestion.pipeline import PipelineDeps, ingest_document
from ingestion.sources import create_source, register_document, source_id_by_name
from retrieval.model_check import ensure_embedding_model


@dataclass(frozen=True)
class CorpusFile:
    name: str
    data: bytes
    groups: tuple[str, ...] = ("everyone",)


@dataclass
class Workspace:
    settings: Settings
    models: Models
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    pipeline: PipelineDeps
    chat: ChatDeps

    async def ensure_groups(self, names: Sequence[str]) -> None:
        async with self.session_factory.begin() as session:
            existing = set((await session.execute(text("SELECT name FROM groups"))).scalars())
            for name in names:
                if name != "everyone" and name not in existing:
                    await create_group(session, name)

    async def user(self, username: str, groups: Sequence[str] = ()) -> Principal:
        """A user with exactly these groups (created on first use)."""
        await self.ensure_groups(groups)
        async with self.session_factory.begin() as session:
            found = (
                await session.execute(
                    text("SELECT id FROM users WHERE username = :u"), {"u": username}
                )
            ).scalar_one_or_none()
            user_id = found or await create_user(
                session, username, password=uuid.uuid4().hex, groups=list(groups)
            )
            principal = await load_principal(session, user_id)
        assert principal is not None  # noqa: S101  (just created)
        return principal

    async def load_corpus(self, source: str, files: Sequence[CorpusFile]) -> dict[str, str]:
        """Ingest files into ``source`` (skipping unchanged ones). Returns file name -> status."""
        await self.ensure_groups(sorted({g for f in files for g in f.groups}))
        async with self.session_factory.begin() as session:
            source_id = await source_id_by_name(session, source) or await create_source(
                session, name=source, groups=["everyone"]
            )
        statuses: dict[str, str] = {}
        for file in files:
            async with self.session_factory.begin() as session:
                registered = await register_document(
                    session,
                    source_id=source_id,
                    filename=file.name,
                    data=file.data,
                    uploads_dir=self.settings.uploads_dir,
                    max_bytes=self.settings.ingestion.max_upload_bytes,
                    acl_override=None if file.groups == ("everyone",) else list(file.groups),
                )
            if registered.outcome in {"queued", "unchanged"}:
                # Idempotent: an already-ready document is skipped, a half-loaded one finished.
                statuses[file.name] = (await ingest_document(self.pipeline, registered.id)).status
            else:
                statuses[file.name] = registered.outcome
        return statuses

    async def ask(
        self, principal: Principal, question: str, conversation_id: uuid.UUID | None = None
    ) -> ChatAnswer:
        async with self.session_factory.begin() as session:
            return await answer_question(
                session, self.chat, principal, message=question, conversation_id=conversation_id
            )


def corpus_fingerprint(files: Sequence[CorpusFile]) -> str:
    digest = hashlib.sha256()
    for file in sorted(files, key=lambda f: f.name):
        digest.update(file.name.encode())
        digest.update(hashlib.sha256(file.data).digest())
        digest.update(",".join(file.groups).encode())
    return digest.hexdigest()[:16]


@asynccontextmanager
async def open_workspace(
    settings: Settings, name: str, *, fingerprint: str, models: Models | None = None
) -> AsyncIterator[Workspace]:
    """A workspace under ``<data_dir>/evals/<name>``; rebuilt when ``fingerprint`` (the
    corpus) or the ingestion settings (what is stored for it) change."""
    root = settings.data_dir.resolve() / "evals" / name
    fingerprint = stored_fingerprint(fingerprint, settings)
    root.parent.mkdir(parents=True, exist_ok=True)
    # One process at a time per workspace: a second run waits instead of wiping a load in progress.
    with (root.parent / f"{name}.lock").open("w") as lock:
        await asyncio.to_thread(fcntl.flock, lock, fcntl.LOCK_EX)
        async with _opened(settings, root, fingerprint, models) as workspace:
            yield workspace


def stored_fingerprint(corpus: str, settings: Settings) -> str:
    """The corpus fingerprint joined with the ingestion settings: turning on sentence vectors or
    changing the chunk size must rebuild a workspace, not reuse one stored the old way."""
    stored_as = json.dumps(settings.ingestion.model_dump(mode="json"), sort_keys=True)
    return f"{corpus}-{hashlib.sha256(stored_as.encode()).hexdigest()[:12]}"


def _prepare_root(root: Path, fingerprint: str) -> None:
    """Discard a workspace holding another corpus; mark this one's corpus from the start,
    so an interrupted load with the same fingerprint is resumed, never discarded."""
    marker = root / "fingerprint.json"
    if root.exists() and (not marker.exists() or json.loads(marker.read_text()) != fingerprint):
        EmbeddedPostgres(root / "pgdata").destroy()
        shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(fingerprint))


@asynccontextmanager
async def _opened(
    settings: Settings, root: Path, fingerprint: str, models: Models | None
) -> AsyncIterator[Workspace]:
    await asyncio.to_thread(_prepare_root, root, fingerprint)
    server = EmbeddedPostgres(root / "pgdata")
    url = server.start()
    try:
        await asyncio.to_thread(upgrade, url)  # Alembic runs its own event loop
        scoped = settings.model_copy(update={"database_url": url, "data_dir": root})
        # The unscoped settings: model exports stay in the data dir, shared by every workspace.
        loaded = models or load_models(settings, questions=True)
        engine = make_engine(url, pool_size=8)
        await ensure_embedding_model(
            engine, name=loaded.embedder.name, dimension=loaded.embedder.dimension
        )
        factory = make_session_factory(engine)
        async with factory.begin() as session:
            await ensure_default_version(session)
        try:
            yield Workspace(
                settings=scoped,
                models=loaded,
                engine=engine,
                session_factory=factory,
                pipeline=build_pipeline_deps(scoped, factory, loaded),
                chat=build_chat_deps(scoped, loaded, session_factory=factory),
            )
        finally:
            await engine.dispose()
    finally:
        server.stop()
