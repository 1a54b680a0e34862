"""``groundwork bench latency``: end-to-end latency under concurrency through the real HTTP
server, and the resident memory of the web and worker processes.

The demo knowledge base is loaded into the ``demo`` eval workspace; ``groundwork serve`` and
``groundwork worker`` then run as subprocesses against it, and 1, 8 and 32 concurrent
clients send the demo golden questions to ``/api/v1/chat`` and ``/api/v1/search``.
"""

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

from app.arguments import integer, levels
from app.auth.accounts import create_api_key
from app.embedded import EmbeddedRedis
from app.settings import Settings
from evals.bench.machine import describe_machine
from evals.golden import demo_cases
from evals.metrics import latency_summary
from evals.suites.demo import demo_corpus
from evals.workspace import Workspace, corpus_fingerprint, open_workspace

# ``.../chat (SSE first token)`` streams the answer and times the first ``token`` event.
SSE_STREAM = "/api/v1/chat (SSE first token)"
# The same, for each question's first asking in this server: the composer embeds sentences of
# passages no earlier answer quoted (its vector cache is per process). Measured once, with one
# client, before every other level, which then run warm: the questions repeat.
SSE_FIRST_ASKING = "/api/v1/chat (SSE first token, first asking)"
ENDPOINTS = ("/api/v1/search", "/api/v1/chat", SSE_STREAM)
READY_TIMEOUT_SECONDS = 180
WARMUP_REQUESTS = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--clients", type=levels, default=[1, 8, 32], help="concurrency levels, comma-separated"
    )
    parser.add_argument(
        "--requests", type=integer(1), default=48, help="requests per level and endpoint"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("bench-results"), help="JSON output folder"
    )


def run(settings: Settings, args: argparse.Namespace) -> int:
    report = asyncio.run(_bench(settings, args.clients, args.requests))
    print_table(report)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"latency-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written: {path}")
    return 0 if all(r["errors"] == 0 for r in report["levels"]) else 1


async def _bench(settings: Settings, levels: Sequence[int], requests: int) -> dict[str, Any]:
    files = demo_corpus()
    questions = [c.question for c in demo_cases() if not c.history]
    async with open_workspace(settings, "demo", fingerprint=corpus_fingerprint(files)) as ws:
        await ws.load_corpus("demo", files)
        key = await _api_key(ws)
        redis = EmbeddedRedis(ws.settings.data_dir / "bench-redis")
        env = _child_env(ws, redis.start())
        port = _free_port()
        web = _spawn(["serve", "--port", str(port)], env, ws.settings.data_dir / "bench-web.log")
        worker = _spawn(["worker"], env, ws.settings.data_dir / "bench-worker.log")
        try:
            base = f"http://127.0.0.1:{port}"
            await _wait_ready(base, web)
            memory = {"web_rss_mb_idle": _rss_mb(web)}
            results = []
            headers = {"Authorization": f"Bearer {key}"}
            async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as client:
                for endpoint in ENDPOINTS:  # warm-up: first-request costs are not latency
                    await _level(client, endpoint, 1, WARMUP_REQUESTS, questions)
                unseen = questions[WARMUP_REQUESTS:]
                first_asking = await _level(client, SSE_STREAM, 1, len(unseen), unseen)
                results.append({**first_asking, "endpoint": SSE_FIRST_ASKING})
                for endpoint in ENDPOINTS:
                    for clients in levels:
                        results.append(await _level(client, endpoint, clients, requests, questions))
            memory["web_rss_mb_after_load"] = _rss_mb(web)
            _wait_for_line(ws.settings.data_dir / "bench-worker.log", "worker.started", 120)
            memory["worker_rss_mb"] = _rss_mb(worker)
        finally:
            for process in (web, worker):
                _stop(process)
            redis.stop()
    return {
        "created_at": datetime.now(UTC).isoformat(),
        "cpus": os.cpu_count(),
        "machine": describe_machine(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "corpus": "demo knowledge base (20 documents)",
        "levels": results,
        "memory": memory,
    }


async def _level(
    client: httpx.AsyncClient, endpoint: str, clients: int, total: int, questions: Sequence[str]
) -> dict[str, Any]:
    """``total`` requests from ``clients`` concurrent loops; latency of each, errors counted."""
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    counter = iter(range(total))

    async def loop() -> None:
        for n in counter:
            question = questions[n % len(questions)]
            body: dict[str, object] = (
                {"query": question, "k": 8}
                if endpoint.endswith("search")
                else {"message": question}
            )
            started = time.perf_counter()
            first: float | None = None
            try:
                if endpoint == SSE_STREAM:
                    outcome, first = await _first_token(client, body)
                else:
                    outcome = str((await client.post(endpoint, json=body)).status_code)
            except httpx.HTTPError as exc:
                outcome = type(exc).__name__
            latencies.append(((first or time.perf_counter()) - started) * 1000)
            outcomes[outcome] += 1

    started = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    return {
        "endpoint": endpoint,
        "clients": clients,
        "requests": len(latencies),
        "errors": len(latencies) - outcomes["200"],
        "outcomes": dict(outcomes),
        "throughput_rps": round(len(latencies) / elapsed, 2),
        **latency_summary(latencies),
    }


async def _first_token(
    client: httpx.AsyncClient, body: dict[str, object]
) -> tuple[str, float | None]:
    """Stream one whole answer: (outcome, ``perf_counter`` when the first token event arrived)."""
    headers = {"Accept": "text/event-stream"}
    first: float | None = None
    outcome = "no-final-event"
    async with client.stream("POST", "/api/v1/chat", json=body, headers=headers) as response:
        if response.status_code != 200:
            return str(response.status_code), None
        async for line in response.aiter_lines():
            event = line.removeprefix("event:").strip() if line.startswith("event:") else ""
            if event == "token" and first is None:
                first = time.perf_counter()
            elif event == "error":
                outcome = "stream-error"
            elif event == "final" and outcome != "stream-error":
                outcome = "200" if first is not None else "no-token"
    return outcome, first


def print_table(report: dict[str, Any]) -> None:
    print(
        f"\n{'endpoint':46} {'clients':>7} {'req':>5} {'err':>4} {'rps':>7} "
        f"{'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9}"
    )
    for r in report["levels"]:
        print(
            f"{r['endpoint']:46} {r['clients']:>7} {r['requests']:>5} {r['errors']:>4} "
            f"{r['throughput_rps']:>7} {r['latency_p50_ms']:>9.1f} {r['latency_p95_ms']:>9.1f} "
            f"{r['latency_p99_ms']:>9.1f}"
        )
    for r in report["levels"]:
        if r["errors"]:
            print(f"  {r['endpoint']} x{r['clients']}: outcomes {r['outcomes']}")
    print("memory (RSS, MB): " + ", ".join(f"{k}={v}" for k, v in report["memory"].items()))
    print(f"cpus={report['cpus']} load_average_1m={report['load_average_1m']}")


async def _api_key(ws: Workspace) -> str:
    await ws.user("bench", ("hr", "finance", "engineering"))
    async with ws.session_factory.begin() as session:
        return await create_api_key(session, "bench", name=f"bench-{time.time_ns()}")


def _child_env(ws: Workspace, redis_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=ws.settings.database_url or "",
        REDIS_URL=redis_url,
        GROUNDWORK_DATA_DIR=str(ws.settings.data_dir),
        GROUNDWORK_WEB__RATE_LIMIT_PER_MINUTE="100000",
    )
    return env


def _spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as handle:
        return subprocess.Popen(  # noqa: S603  (our own CLI, no shell)
            [sys.executable, "-m", "app.cli", *command],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


async def _wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    async with httpx.AsyncClient(base_url=base, timeout=2) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError("the web server exited during start-up (see bench-web.log)")
            try:
                if (await client.get("/health/ready")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
    raise RuntimeError("the web server did not become ready in time")


def _wait_for_line(log: Path, marker: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if log.exists() and marker in log.read_text(errors="replace"):
            return
        time.sleep(0.5)


def _rss_mb(process: subprocess.Popen[bytes]) -> float:
    try:
        return round(psutil.Process(process.pid).memory_info().rss / 2**20, 1)
    except psutil.Error:
        return 0.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
