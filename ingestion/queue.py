"""The ingestion queue: the only module (with ``ingestion.worker``) that knows arq.

Job ids are derived from the document id and its content hash, so enqueueing the same
version twice is a no-op while the first is queued or running (at-least-once, no dupes).
"""

import uuid
from dataclasses import dataclass
from typing import Any

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings

JOB_INGEST_DOCUMENT = "ingest_document"
QUEUE_NAME = "groundwork:ingestion"


def redis_settings(url: str) -> RedisSettings:
    settings: RedisSettings = RedisSettings.from_dsn(url)
    settings.conn_timeout = 2
    settings.conn_retries = 2
    return settings


def ingest_job_id(document_id: uuid.UUID, content_hash: str) -> str:
    return f"ingest:{document_id}:{content_hash[:16]}"


@dataclass
class IngestionQueue:
    redis: ArqRedis

    async def enqueue_ingest(self, document_id: uuid.UUID, content_hash: str) -> bool:
        """True if a new job was queued; False if this version is already queued or running."""
        job: Any = await self.redis.enqueue_job(
            JOB_INGEST_DOCUMENT,
            str(document_id),
            _job_id=ingest_job_id(document_id, content_hash),
            _queue_name=QUEUE_NAME,
        )
        return job is not None

    async def ping(self) -> bool:
        return bool(await self.redis.ping())

    async def depth(self) -> int:
        return int(await self.redis.zcard(QUEUE_NAME))

    async def close(self) -> None:
        await self.redis.aclose()


async def connect_queue(url: str) -> IngestionQueue:
    pool = await create_pool(redis_settings(url), default_queue_name=QUEUE_NAME)
    return IngestionQueue(redis=pool)
