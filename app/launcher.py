"""Process orchestration for the CLI: local services, migrations, the web server, the worker.

``groundwork run`` = embedded Postgres/Redis (unless URLs are set) + migrations + demo
data on first start + a worker process + the web server, stopped together on Ctrl-C or
SIGTERM. Production runs ``groundwork serve`` and ``groundwork worker`` separately.
"""

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from app.db.migrate import upgrade
from app.embedded import EmbeddedPostgres, EmbeddedRedis, prepare_runtime_dir
from app.logging import configure_logging, get_logger
from app.settings import Settings

log = get_logger(__name__)
WORKER_STOP_SECONDS = 15


@contextmanager
def local_services(settings: Settings, *, need_redis: bool) -> Iterator[Settings]:
    """Yield settings whose URLs point at running servers, starting embedded ones if unset."""
    prepare_runtime_dir(settings.data_dir)
    postgres = redis = None
    try:
        if settings.database_url is None:
            postgres = EmbeddedPostgres(settings.data_dir.resolve() / "pgdata")
            settings = replace_urls(settings, database_url=postgres.start())
        if need_redis and settings.redis_url is None:
            redis = EmbeddedRedis(settings.data_dir.resolve() / "redis")
            settings = replace_urls(settings, redis_url=redis.start())
        yield settings
    finally:
        if redis is not None:
            redis.stop()
        if postgres is not None:
            postgres.stop()


def replace_urls(settings: Settings, **urls: str) -> Settings:
    return settings.model_copy(update=urls)


def migrate(settings: Settings) -> None:
    assert settings.database_url is not None  # noqa: S101  (local_services guarantees it)
    upgrade(settings.database_url)


def _child_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env["DATABASE_URL"] = settings.database_url or ""
    env["REDIS_URL"] = settings.redis_url or ""
    env["GROUNDWORK_DATA_DIR"] = str(settings.data_dir)
    return env


def start_worker_process(settings: Settings) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker"],
        env=_child_env(settings),
        start_new_session=True,  # Ctrl-C reaches only us; we stop the worker with SIGTERM
    )


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(WORKER_STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def serve(settings: Settings, *, on_ready: Callable[[], str] | None = None) -> None:
    """Run the web app under uvicorn until SIGINT/SIGTERM."""
    import uvicorn

    from app.main import create_app

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host=settings.web.host,
            port=settings.web.port,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=10,
        )
    )
    if on_ready:

        def announce() -> None:
            while not server.started and not server.should_exit:
                time.sleep(0.1)
            if server.started:
                print(on_ready(), flush=True)

        threading.Thread(target=announce, daemon=True).start()
    # uvicorn shuts down gracefully, then re-raises the signal it caught. Turning SIGTERM
    # into SystemExit lets the callers' ``finally`` blocks stop the worker and servers.
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        server.run()
    finally:
        signal.signal(signal.SIGTERM, previous)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


def run_worker(settings: Settings) -> None:
    """``groundwork worker``: load models, then process ingestion jobs until SIGTERM/SIGINT."""
    from app.db.session import make_engine, make_session_factory
    from app.resources import build_pipeline_deps, load_models
    from ingestion.worker import build_worker

    configure_logging(level=settings.log_level, json=settings.log_json)
    models = load_models(settings)

    async def main() -> None:
        engine = make_engine(settings.database_url or "", pool_size=3)
        pipeline = build_pipeline_deps(settings, make_session_factory(engine), models)
        worker = build_worker(settings, pipeline, engine)
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(worker.async_run())
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        log.info("worker.started")
        try:
            await task
        except asyncio.CancelledError:
            log.info("worker.stopping")
        finally:
            await worker.close()
            await engine.dispose()

    asyncio.run(main())


def settings_for_data_dir(settings: Settings, data_dir: Path | None) -> Settings:
    return settings if data_dir is None else settings.model_copy(update={"data_dir": data_dir})
