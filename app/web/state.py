"""What the web layer holds for the life of the process (built by ``app.main``)."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.chat.service import ChatDeps
from app.settings import Settings
from app.web.metrics import Metrics
from app.web.ratelimit import RateLimiter
from ingestion.queue import IngestionQueue
from ingestion.verified import VerifiedAnswers


@dataclass
class WebState:
    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    chat: ChatDeps
    queue: IngestionQueue | None
    metrics: Metrics
    limiter: RateLimiter
    verified: VerifiedAnswers
