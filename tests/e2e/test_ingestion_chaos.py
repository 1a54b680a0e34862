"""Chaos: kill -9 a real worker process 20 times and restart Redis twice during a 200-document
ingestion. Afterwards every document is ready with exactly a clean run's chunks, no duplicates.

Real models in the worker (embedder, Presidio, injection detector), real Redis server with no
persistence (a restart loses the queue; the sweeper must recover), embedded PostgreSQL.
"""

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.settings import Settings
from ingestion.chunking import chunk_document, content_hash, embedding_text
from ingestion.parsers import parse_bytes
from ingestion.queue import connect_queue
from ingestion.sources import create_source, register_document
from retrieval.tokens import WordpieceTokenizer, packaged_model_dir

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DOCUMENTS = 200
KILLS = 20
REDIS_RESTARTS_AT = {7, 14}
ROOT = Path(__file__).resolve().parents[2]
WORDS = (
    "policy",
    "budget",
    "travel",
    "leave",
    "payroll",
    "office",
    "laptop",
    "security",
    "vendor",
    "invoice",
    "contract",
    "audit",
    "training",
    "benefit",
    "pension",
    "holiday",
    "expense",
)


def _document(i: int) -> bytes:
    rng = random.Random(i)
    paragraphs = [
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 120))) + f" ref{i}x{p}."
        for p in range(rng.randint(2, 5))
    ]
    return (f"# Memo {i}\n\n## Details\n\n" + "\n\n".join(paragraphs) + "\n").encode()


def _expected_chunks(data: bytes, name: str, tokens: WordpieceTokenizer, settings: Settings) -> int:
    drafts = chunk_document(
        parse_bytes(data, filename=name),
        tokens,
        max_tokens=settings.ingestion.chunk_tokens,
        overlap_tokens=settings.ingestion.chunk_overlap_tokens,
    )
    return len({content_hash(embedding_text(d.title, d.heading_path, d.text)) for d in drafts})


class RedisServer:
    """A redis-server without persistence that can be restarted on the same port."""

    def __init__(self, directory: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "/usr/bin/redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


def _worker(settings: Settings, redis: RedisServer, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": settings.database_url or "",
            "REDIS_URL": redis.url,
            "GROUNDWORK_DATA_DIR": str(settings.data_dir),
            "GROUNDWORK_ENVIRONMENT": "test",
            # Short timings so that recovery happens within the test, not the production values.
            "GROUNDWORK_INGESTION__JOB_TIMEOUT_SECONDS": "15",
            "GROUNDWORK_INGESTION__STUCK_AFTER_SECONDS": "10",
            "GROUNDWORK_INGESTION__SWEEP_INTERVAL_SECONDS": "5",
            "GROUNDWORK_INGESTION__JOB_TRIES": "25",
        }
    )
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker"], cwd=ROOT, env=env, stdout=out, stderr=out
        )


async def _progress(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(text("SELECT status, count(*) FROM documents GROUP BY status"))
    await session.rollback()
    return dict(rows.all())


class Supervisor:
    """Two worker replicas (like a deployment), restarted when they die; killed in turn, so one
    loads its models while the other works."""

    def __init__(self, settings: Settings, redis: RedisServer, directory: Path) -> None:
        self.settings, self.redis = settings, redis
        self.logs = [directory / f"worker{i}.log" for i in range(2)]
        self.workers = [_worker(settings, redis, log) for log in self.logs]
        self.finished_at_start = [0, 0]

    def start(self, i: int) -> None:
        self.workers[i] = _worker(self.settings, self.redis, self.logs[i])
        self.finished_at_start[i] = _finished(self.logs[i])

    def restart_dead(self) -> None:
        for i, worker in enumerate(self.workers):
            if worker.poll() is not None:  # died on its own (Redis gone): restart, as k8s would
                self.start(i)

    def has_worked(self, i: int) -> bool:
        return _finished(self.logs[i]) > self.finished_at_start[i]

    def kill(self, i: int) -> None:
        self.workers[i].send_signal(signal.SIGKILL)
        self.workers[i].wait(10)

    def stop(self) -> None:
        for i in range(len(self.workers)):
            self.kill(i)


def _finished(log: Path) -> int:
    """Jobs this worker's log reports finished (ready), across its lives."""
    return log.read_bytes().count(b"ingestion.ready") if log.exists() else 0


@pytest.mark.timeout(1200)
async def test_worker_kills_and_redis_restarts_lose_and_duplicate_nothing(
    settings: Settings, db_session: AsyncSession, tmp_path: Path
) -> None:
    redis = RedisServer(tmp_path)
    redis.start()
    live = settings.model_copy(update={"redis_url": redis.url})
    tokens = WordpieceTokenizer.from_model_dir(packaged_model_dir())
    source_id = await create_source(db_session, name="kb", groups=["everyone"], pii_policy="keep")
    expected: dict[str, int] = {}
    registered = []
    for i in range(DOCUMENTS):
        name, data = f"memo{i:03}.md", _document(i)
        expected[name] = _expected_chunks(data, name, tokens, settings)
        registered.append(
            await register_document(
                db_session,
                source_id=source_id,
                filename=name,
                data=data,
                uploads_dir=live.uploads_dir,
                max_bytes=live.ingestion.max_upload_bytes,
            )
        )
    await db_session.commit()
    queue = await connect_queue(redis.url)
    for doc in registered:
        await queue.enqueue_ingest(doc.id, doc.content_hash)
    await queue.close()

    rng = random.Random(20261122)
    # Kills are scheduled by progress, not by the clock, so that all of them land while work is
    # left however fast the machine embeds: kill k waits until a random number of documents is
    # ready (distinct, rising, leaving the last 20 documents for the final kills' interruptions).
    kill_at = sorted(rng.sample(range(4, DOCUMENTS - 20), KILLS))
    supervisor = Supervisor(live, redis, tmp_path)
    kills = 0
    deadline = time.monotonic() + 1100
    try:
        while kills < KILLS and time.monotonic() < deadline:
            ready = (await _progress(db_session)).get("ready", 0)
            if ready == DOCUMENTS:
                break  # ran out of work before all kills: the assertion below reports it
            supervisor.restart_dead()
            # The victim must have finished a job in this life (so it is mid-work, not loading
            # models); in turn where possible, else the other replica.
            victims = [i for i in (kills % 2, 1 - kills % 2) if supervisor.has_worked(i)]
            if ready < kill_at[kills] or not victims:
                await asyncio.sleep(0.1)
                continue
            await asyncio.sleep(rng.uniform(0.0, 0.5))
            supervisor.kill(victims[0])
            kills += 1
            if kills in REDIS_RESTARTS_AT:
                redis.stop()
                redis.start()
            supervisor.start(victims[0])
        while time.monotonic() < deadline:
            if (await _progress(db_session)).get("ready", 0) == DOCUMENTS:
                break
            supervisor.restart_dead()
            await asyncio.sleep(0.5)
    finally:
        supervisor.stop()
        redis.stop()

    assert kills == KILLS
    assert await _progress(db_session) == {"ready": DOCUMENTS}, supervisor.logs[0].read_text()[
        -3000:
    ]
    rows = await db_session.execute(
        text(
            "SELECT d.uri, count(c.id), count(DISTINCT c.content_hash), max(d.attempts) FROM documents d "
            "LEFT JOIN chunks c ON c.document_id = d.id GROUP BY d.uri"
        )
    )
    stored = {uri: (n, distinct) for uri, n, distinct, _ in rows}
    assert {uri: n for uri, (n, _) in stored.items()} == expected
    assert all(n == distinct for n, distinct in stored.values())  # no duplicate chunk
    stats = await db_session.execute(
        text(
            "SELECT (SELECT count(*) FROM chunks) = (SELECT chunk_count FROM corpus_stats),"
            " (SELECT count(*) FROM chunk_terms) = (SELECT sum(df) FROM term_stats)"
        )
    )
    assert tuple(stats.one()) == (True, True)
