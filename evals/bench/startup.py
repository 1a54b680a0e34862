"""``groundwork bench startup``: ``groundwork run`` as a new user meets it, timed.

Starts the real command in a fresh data directory (embedded PostgreSQL and Redis, first-run
demo knowledge base through the worker), signs in through the browser form with a printed demo
password, and measures: time to the ready banner, time to the first answer with citations,
time until every demo document is ``ready``; then a user outside ``hr`` asks the hr-only
questions of the golden set through chat, search and the conversation endpoint, and nothing of
an hr document may appear (an hr reader asking the same must see it, or the check proves
nothing). SIGTERM must stop every process it started. A second start on the same data is timed
the same way. Prints a table and writes JSON.
"""

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

from app.arguments import integer
from app.demo import manifest
from app.settings import Settings
from evals.bench.machine import describe_machine
from evals.golden import demo_cases

QUESTION = "How many days of paid annual leave do employees get?"
TIMEOUT_SECONDS = 600
USER_LINE = re.compile(r"^\s+(\w+)\s+(\S+)\s+(user|agent|admin), (.*)$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=integer(0, 65535), default=0, help="0: a free port")
    parser.add_argument(
        "--out", type=Path, default=Path("bench-results"), help="JSON output folder"
    )


@dataclass
class Run:
    process: subprocess.Popen[str]
    started: float
    lines: list[str] = field(default_factory=list)
    ready_seconds: float = 0.0


def run(settings: Settings, args: argparse.Namespace) -> int:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    data_dir = settings.data_dir / "bench-startup" / stamp
    port = args.port or _free_port()
    report = _bench(data_dir, port)
    _print_table(report)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"startup-{stamp}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written: {path}")
    ok = report["hr_leaks"] == [] and report["hr_control_cited"] and not report["orphans"]
    return 0 if ok else 1


def _bench(data_dir: Path, port: int) -> dict[str, Any]:
    base = f"http://127.0.0.1:{port}"
    report: dict[str, Any] = {
        "machine": describe_machine(),
        "data_dir": str(data_dir),
        "orphans": [],
    }
    with _running(data_dir, port) as first:
        users = _demo_users(first.lines)
        reader = next(u for u, (_, groups) in users.items() if groups == "no restricted groups")
        hr_reader = next(u for u, (_, groups) in users.items() if groups == "hr")
        report["first_ready_s"] = first.ready_seconds
        with _signed_in(base, reader, users[reader][0]) as alex:
            report["first_answer_s"] = _first_cited_answer(alex, first.started)
        with _signed_in(base, "admin", users["admin"][0]) as admin:
            report["all_documents_ready_s"] = _all_ready(admin, first.started)
        with (
            _signed_in(base, hr_reader, users[hr_reader][0]) as hana,
            _signed_in(base, reader, users[reader][0]) as alex,
        ):
            report["hr_control_cited"], report["hr_leaks"], report["hr_questions"] = _hr_check(
                hana, alex
            )
        report["orphans"] += _stop(first, data_dir)
    with _running(data_dir, port) as second:
        report["second_ready_s"] = second.ready_seconds
        with _signed_in(base, reader, users[reader][0]) as alex:
            report["second_answer_s"] = _first_cited_answer(alex, second.started)
        report["orphans"] += _stop(second, data_dir)
    return report


@contextmanager
def _running(data_dir: Path, port: int) -> Iterator[Run]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    command = [sys.executable, "-m", "app.cli", "--data-dir", str(data_dir), "run"]
    started = time.monotonic()
    process = subprocess.Popen(  # noqa: S603  (our own CLI, no shell)
        [*command, "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    current = Run(process, started)
    if process.stdout is None:
        raise RuntimeError("no stdout pipe")
    stream = process.stdout
    try:
        while True:
            line = stream.readline()
            if not line and process.poll() is not None:
                raise RuntimeError("groundwork run exited early:\n" + "".join(current.lines))
            current.lines.append(line)
            if "Press Ctrl-C to stop." in line:
                current.ready_seconds = time.monotonic() - started
                break
            if time.monotonic() - started > TIMEOUT_SECONDS:
                raise RuntimeError("no ready banner in time:\n" + "".join(current.lines))
        drain = threading.Thread(target=lambda: current.lines.extend(stream), daemon=True)
        drain.start()
        yield current
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(60)
        stream.close()


def _stop(current: Run, data_dir: Path) -> list[str]:
    """SIGTERM; the names of processes of this run still alive a second later."""
    procs = _processes_of(data_dir, current.process.pid)
    current.process.send_signal(signal.SIGTERM)
    current.process.wait(60)
    time.sleep(1)
    alive = [p for p in procs if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    return [p.name() for p in alive]


def _processes_of(data_dir: Path, pid: int) -> list[psutil.Process]:
    found = {p.pid: p for p in psutil.Process(pid).children(recursive=True)}
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if str(data_dir) in " ".join(proc.info["cmdline"] or []) and proc.pid != pid:
                found[proc.pid] = proc
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return list(found.values())


def _demo_users(lines: list[str]) -> dict[str, tuple[str, str]]:
    """user name -> (password, groups text) from the first-start banner."""
    users = {}
    for line in lines:
        if match := USER_LINE.match(line.rstrip("\n")):
            users[match[1]] = (match[2], match[4].strip())
    if not users:
        raise RuntimeError("the first start printed no demo users:\n" + "".join(lines))
    return users


@contextmanager
def _signed_in(base: str, username: str, password: str) -> Iterator[httpx.Client]:
    """A browser-like client: form sign-in, then the page's CSRF token on every POST."""
    with httpx.Client(base_url=base, timeout=60, follow_redirects=True) as client:
        signed = client.post("/login", data={"username": username, "password": password})
        signed.raise_for_status()
        page = client.get("/")
        token = re.search(r'data-csrf="([^"]+)"', page.text)
        if token is None:
            raise RuntimeError(f"no CSRF token on the chat page for {username}")
        client.headers["X-CSRF-Token"] = token[1]
        yield client


def _first_cited_answer(client: httpx.Client, started: float) -> float:
    while time.monotonic() - started < TIMEOUT_SECONDS:
        answer = client.post("/api/v1/chat", json={"message": QUESTION})
        if answer.status_code == 200 and answer.json()["citations"]:
            return time.monotonic() - started
        time.sleep(0.5)
    raise RuntimeError("no cited answer in time")


def _all_ready(admin: httpx.Client, started: float) -> float:
    expected = len(manifest())
    while time.monotonic() - started < TIMEOUT_SECONDS:
        documents = admin.get("/api/v1/documents").json()["documents"]
        if len(documents) >= expected and all(d["status"] == "ready" for d in documents):
            return time.monotonic() - started
        time.sleep(1)
    raise RuntimeError("the demo documents were not all ready in time")


def _hr_check(hr_reader: httpx.Client, outsider: httpx.Client) -> tuple[bool, list[str], int]:
    """(did the hr reader get hr citations, every hr marker the outsider saw, questions)."""
    hr_docs = [d for d in manifest() if d["groups"] == ["hr"]]
    markers = [str(d["title"]) for d in hr_docs] + [str(d["file"]) for d in hr_docs]
    hr_files = {str(d["file"]) for d in hr_docs}
    questions = [c.question for c in demo_cases() if c.groups == ("hr",) and not c.history]
    control = False
    leaks: list[str] = []
    for question in questions:
        shown = hr_reader.post("/api/v1/chat", json={"message": question}).json()
        control |= any(c["source"] in hr_files for c in shown["citations"])
        answer = outsider.post("/api/v1/chat", json={"message": question})
        search = outsider.post("/api/v1/search", json={"query": question, "k": 50})
        conversation = outsider.get(f"/api/v1/conversations/{answer.json()['conversation_id']}")
        seen = answer.text + search.text + conversation.text
        leaks += [f"{question!r}: {m}" for m in markers if m in seen]
    return control, leaks, len(questions)


def _print_table(report: dict[str, Any]) -> None:
    print(f"machine: {report['machine']}")
    rows = [
        ("first start: ready banner", report.get("first_ready_s")),
        ("first start: first cited answer", report.get("first_answer_s")),
        ("first start: all demo documents ready", report.get("all_documents_ready_s")),
        ("second start: ready banner", report.get("second_ready_s")),
        ("second start: first cited answer", report.get("second_answer_s")),
    ]
    for label, seconds in rows:
        print(f"  {label:40} {seconds:7.1f} s")
    print(
        f"  hr-only questions asked by a non-hr user: {report['hr_questions']}, "
        f"leaks: {len(report['hr_leaks'])}, hr reader cited hr: {report['hr_control_cited']}"
    )
    print(f"  processes left after SIGTERM: {report['orphans'] or 'none'}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
