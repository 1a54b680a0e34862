"""`groundwork run` as a user starts it: embedded services or external URLs, clean shutdown.

These start the real command in a subprocess (real models), so they are marked slow.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil
import pytest

from tests.e2e.test_browser_chat import _free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
READY_TIMEOUT = 180


@contextmanager
def running(
    data_dir: Path, port: int, env: dict[str, str]
) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    lines: list[str] = []
    drain: threading.Thread | None = None
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "--data-dir", str(data_dir), "run", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        assert process.stdout is not None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                raise AssertionError("groundwork run exited early:\n" + "".join(lines))
            lines.append(line)
            if "Press Ctrl-C to stop." in line:
                break
        else:
            raise AssertionError("not ready in time:\n" + "".join(lines))
        # Keep draining output so a chatty process never blocks on a full pipe.
        stream = process.stdout
        drain = threading.Thread(target=lambda: lines.extend(stream), daemon=True)
        drain.start()
        yield process, lines
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(60)
        if drain is not None:
            drain.join(10)
        if process.stdout is not None:
            process.stdout.close()


def _processes_of(data_dir: Path, pid: int) -> dict[psutil.Process, str]:
    """The command's children plus daemons (postgres, redis) running from its data dir, by name.

    Short-lived helpers (initdb, pg_ctl, postgres -C) can exit between being listed and being
    read; those are left out rather than failing the test.
    """
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    candidates = {p.pid: p for p in children}
    for proc in psutil.process_iter(["cmdline", "cwd"]):
        try:
            text = " ".join(proc.info["cmdline"] or []) + " " + str(proc.info["cwd"] or "")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if str(data_dir.resolve()) in text and proc.pid != pid:
            candidates[proc.pid] = proc
    found: dict[psutil.Process, str] = {}
    for proc in candidates.values():
        try:
            found[proc] = proc.name()
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return found


def _alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    return [p for p in procs if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.pop("XDG_RUNTIME_DIR", None)
    return env


def _wait_for_chunks(base: str, key: str, question: str) -> dict[str, object]:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        answer = httpx.post(
            f"{base}/api/v1/chat",
            json={"message": question},
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        ).json()
        if answer["citations"]:
            return dict(answer)
        time.sleep(2)
    raise AssertionError("the demo knowledge base never answered")


def _create_key(data_dir: Path, username: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "--data-dir", str(data_dir), "keys", "create", username],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return result.stdout.strip().splitlines()[-1]


def test_embedded_run_answers_stops_cleanly_and_restarts_on_its_data(tmp_path: Path) -> None:
    env = _clean_env()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    data_dir = tmp_path / "gw"
    with running(data_dir, port, env) as (process, lines):
        output = "".join(lines)
        assert f"Groundwork is ready at {base}" in output
        assert "admin " in output and "admin/admin" not in output
        names = set(_processes_of(data_dir, process.pid).values())
        assert "postgres" in names and "redis-server" in names
        key = _create_key(data_dir, "alex", env)
        answer = _wait_for_chunks(base, key, "How many days of paid annual leave do employees get?")
        assert "[1]" in str(answer["answer"])
        procs = list(_processes_of(data_dir, process.pid))
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0
    time.sleep(1)
    assert _alive(procs) == []

    # A second start reuses the data (start-up time is measured by `groundwork bench`, not here).
    with running(data_dir, port, env) as (_, lines):
        assert "Demo users" not in "".join(lines)  # passwords are shown only once
        assert httpx.get(f"{base}/health/ready", timeout=5).status_code == 200
        key = _create_key(data_dir, "alex", env)
        assert _wait_for_chunks(base, key, "How many days of paid annual leave do employees get?")


def test_external_urls_start_no_embedded_service(
    tmp_path: Path, database_url: str, redis_url: str
) -> None:
    env = {**_clean_env(), "DATABASE_URL": database_url, "REDIS_URL": redis_url}
    port = _free_port()
    with running(tmp_path / "gw", port, env) as (process, _):
        names = set(_processes_of(tmp_path / "gw", process.pid).values())
        assert "postgres" not in names and "redis-server" not in names
        ready = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=5)
        assert ready.status_code == 200 and ready.json()["components"]["queue"] == "ok"
    assert not (tmp_path / "gw" / "pgdata").exists() and not (tmp_path / "gw" / "redis").exists()


def test_sigterm_stops_an_eval_and_the_postgres_it_started(tmp_path: Path) -> None:
    """Any command, not only ``run``: an eval's embedded PostgreSQL stops with it on SIGTERM."""
    data_dir = tmp_path / "gw"
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "--data-dir", str(data_dir), "eval", "demo"],
        env=_clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    started: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while not started:
            assert process.poll() is None, "the eval ended before its database started"
            assert time.monotonic() < deadline, "no embedded PostgreSQL started"
            time.sleep(0.2)
            if list(data_dir.glob("**/postmaster.pid")):
                found = _processes_of(data_dir, process.pid)
                started = [p for p, name in found.items() if "postgres" in name]
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 128 + signal.SIGTERM
        _, alive = psutil.wait_procs(started, timeout=30)
        assert not alive, [p.pid for p in alive]
        assert not list(data_dir.glob("**/postmaster.pid"))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)
            for leftover in _processes_of(data_dir, process.pid):
                leftover.kill()
