"""The ingestion queue: the only module (with ``ingestion.worker``) that knows arq.

Job ids are derived from the document id and its content hash, so enqueueing the same
version twice is a no-op while the first is queued or running (at-least-once, no dupes).
Many documents at once go as bulk jobs (one per batch, id from the batch's ids and hashes).
"""

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from arq.jobs import Job

JOB_INGEST_DOCUMENT = "ingest_document"
JOB_INGEST_BULK = "ingest_bulk"
QUEUE_NAME = "groundwork:ingestion"


def redis_settings(url: str) -> RedisSettings:
    settings: RedisSettings = RedisSettings.from_dsn(url)
    settings.conn_timeout = 2
    settings.conn_retries = 2
    return settings


def ingest_job_id(document_id: uuid.UUID, content_hash: str) -> str:
    return f"ingest:{document_id}:{content_hash[:16]}"


def bulk_job_id(documents: Sequence[tuple[uuid.UUID, str]]) -> str:
    versions = "\n".join(sorted(f"{doc}:{digest}" for doc, digest in documents))
    return f"bulk:{hashlib.sha256(versions.encode()).hexdigest()[:32]}"


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

    async def enqueue_bulk(self, documents: Sequence[tuple[uuid.UUID, str]]) -> bool:
        """One bulk job for these (document id, content hash) versions; False if already queued."""
        job: Any = await self.redis.enqueue_job(
            JOB_INGEST_BULK,
            [str(doc) for doc, _ in documents],
            _job_id=bulk_job_id(documents),
            _queue_name=QUEUE_NAME,
        )
        return job is not None

    async def enqueue_many(
        self,
        documents: Sequence[tuple[uuid.UUID, str]],
        *,
        bulk_threshold: int,
        batch_size: int,
    ) -> int:
        """Queue documents one job each, or, from ``bulk_threshold`` documents on, as bulk jobs
        of at most ``batch_size``; returns how many documents were newly queued."""
        if len(documents) < bulk_threshold:
            return sum([await self.enqueue_ingest(doc, digest) for doc, digest in documents])
        queued = 0
        for start in range(0, len(documents), batch_size):
            batch = documents[start : start + batch_size]
            if await self.enqueue_bulk(batch):
                queued += len(batch)
        return queued

    async def pending_bulk_documents(self) -> set[uuid.UUID]:
        """Documents of bulk jobs still queued, deferred or running (arq keeps a job in the
        queue until it finishes)."""
        job_ids = [raw.decode() for raw in await self.redis.zrange(QUEUE_NAME, 0, -1)]
        pending: set[uuid.UUID] = set()
        for job_id in job_ids:
            if not job_id.startswith("bulk:"):
                continue
            info = await Job(job_id, self.redis, _queue_name=QUEUE_NAME).info()
            if info is not None and info.args:
                pending.update(uuid.UUID(str(doc)) for doc in info.args[0])
        return pending

    async def ping(self) -> bool:
        return bool(await self.redis.ping())

    async def depth(self) -> int:
        return int(await self.redis.zcard(QUEUE_NAME))

    async def close(self) -> None:
        await self.redis.aclose()


async def connect_queue(url: str) -> IngestionQueue:
    pool = await create_pool(redis_settings(url), default_queue_name=QUEUE_NAME)
    return IngestionQueue(redis=pool)
