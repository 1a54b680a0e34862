"""Chat integration fixtures: a knowledge base in the per-test database, an LLM version, a
faked OpenAI-compatible endpoint (``httpx.MockTransport``) that records every request."""

import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.auth.accounts import create_user, load_principal
from app.auth.principal import Principal
from app.chat.composer import ComposerConfig
from app.chat.llm_answerer import default_prompts
from app.chat.versions import AnswerConfig, create_version
from app.db.session import make_session_factory
from app.resources import Models, build_pipeline_deps
from app.settings import LlmSettings, Settings
from ingestion.pipeline import ingest_document
from ingestion.sources import create_source, register_document
from retrieval.types import RetrievalConfig

Reply = Callable[[dict[str, Any]], Awaitable[httpx.Response]]


def stream_body(*pieces: str, usage: tuple[int, int] = (321, 17)) -> bytes:
    """An OpenAI-compatible server-sent event stream of ``pieces``, then usage and ``[DONE]``."""
    events: list[dict[str, object]] = [
        {"choices": [{"delta": {"content": p}, "finish_reason": None}]} for p in pieces
    ]
    events.append(
        {"choices": [], "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1]}}
    )
    return "".join([f"data: {json.dumps(e)}\n\n" for e in events] + ["data: [DONE]\n\n"]).encode()


@dataclass
class RecordingLlm:
    """A fake endpoint: every request body is kept (raw text and parsed) before ``reply`` runs."""

    reply: Reply
    bodies: list[str] = field(default_factory=list)

    @property
    def transport(self) -> httpx.MockTransport:
        async def handle(request: httpx.Request) -> httpx.Response:
            raw = (await request.aread()).decode()
            self.bodies.append(raw)
            return await self.reply(json.loads(raw))

        return httpx.MockTransport(handle)


def llm_settings(settings: Settings, *, llm_context: str = "keep", **overrides: Any) -> Settings:
    """``settings`` with the fake endpoint; light models have no PII detector, hence ``keep``."""
    values: dict[str, Any] = {
        "base_url": "http://llm.test/v1",
        "model": "fake-model",
        "timeout_seconds": 2.0,
        "first_token_timeout_seconds": 1.0,
        "max_retries": 0,
        "retry_backoff_seconds": 0.0,
    }
    llm = LlmSettings(**(values | overrides))
    pii = settings.pii.model_copy(update={"llm_context": llm_context})
    return settings.model_copy(update={"llm": llm, "pii": pii})


async def activate_version(
    session: AsyncSession, *, answerer: str = "llm", threshold: float = 0.05
) -> None:
    """Activate a version with this answerer and a low threshold (the fixtures' tiny corpora)."""
    config = {
        "retrieval": asdict(RetrievalConfig()),
        "composer": asdict(ComposerConfig()),
        "answer": asdict(AnswerConfig(answerer=answerer, confidence_threshold=threshold)),
        "prompts": default_prompts(),
    }
    await create_version(session, config, description=f"{answerer} test", activate=True)
    await session.commit()


async def make_principal(session: AsyncSession, username: str = "ann") -> Principal:
    user_id = await create_user(session, username, password=uuid.uuid4().hex)
    await session.commit()
    principal = await load_principal(session, user_id)
    assert principal is not None
    return principal


async def ingest(
    settings: Settings,
    engine: AsyncEngine,
    models: Models,
    session: AsyncSession,
    files: dict[str, str],
    *,
    pii_policy: str = "redact",
) -> None:
    """Ingest ``files`` (name -> markdown) into a new source readable by everyone."""
    source_id = await create_source(
        session, name=f"kb-{pii_policy}", groups=["everyone"], pii_policy=pii_policy
    )
    await session.commit()
    pipeline = build_pipeline_deps(settings, make_session_factory(engine), models)
    for name, body in files.items():
        registered = await register_document(
            session,
            source_id=source_id,
            filename=name,
            data=body.encode(),
            uploads_dir=settings.uploads_dir,
            max_bytes=settings.ingestion.max_upload_bytes,
        )
        await session.commit()
        assert (await ingest_document(pipeline, registered.id)).status == "ready"


async def persisted_trace(session: AsyncSession, message_id: uuid.UUID) -> dict[str, Any]:
    trace = (
        await session.execute(text("SELECT trace FROM messages WHERE id = :id"), {"id": message_id})
    ).scalar_one()
    assert isinstance(trace, dict)
    return trace
