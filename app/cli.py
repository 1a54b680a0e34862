"""The ``groundwork`` command line: run, serve, worker, migrate, users, groups, keys, ingest,
sources, index, versions.

Commands that need the database use ``DATABASE_URL`` or start (or share) the embedded
PostgreSQL in the data directory. Bad arguments exit with status 2 and a specific message;
domain errors exit with status 1 and their safe message.
"""

import argparse
import asyncio
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app import launcher
from app.arguments import integer
from app.errors import GroundworkError
from app.settings import Settings

T = TypeVar("T")


def _with_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one committed transaction against the configured (or embedded) database."""
    from app.db.session import make_engine, make_session_factory

    with launcher.local_services(settings, need_redis=False) as live:
        launcher.migrate(live)

        async def main() -> T:
            engine = make_engine(live.database_url or "", pool_size=1)
            try:
                async with make_session_factory(engine).begin() as session:
                    return await work(session)
            finally:
                await engine.dispose()

        return asyncio.run(main())


def _groups(value: str | None) -> list[str]:
    return [g.strip() for g in (value or "").split(",") if g.strip()]


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    from app import bootstrap

    started = time.monotonic()
    settings = settings.model_copy(
        update={"web": settings.web.model_copy(update={"host": args.host, "port": args.port})}
    )
    with launcher.local_services(settings, need_redis=True) as live:
        launcher.migrate(live)
        first_users = asyncio.run(bootstrap.first_start(live))
        workers: list[subprocess.Popen[bytes]] = []

        def ready() -> str:
            # The worker starts once the web server is up: on a small machine the two
            # processes loading models at once would each take twice as long.
            workers.append(launcher.start_worker_process(live))
            return bootstrap.banner(live, first_users, seconds=time.monotonic() - started)

        try:
            launcher.serve(live, on_ready=ready)
        finally:
            for worker in workers:
                launcher.stop_process(worker)
            print("Groundwork stopped.", flush=True)
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    settings = settings.model_copy(
        update={"web": settings.web.model_copy(update={"host": args.host, "port": args.port})}
    )
    with launcher.local_services(settings, need_redis=False) as live:
        launcher.migrate(live)
        launcher.serve(
            live, on_ready=lambda: f"Groundwork is serving on http://{args.host}:{args.port}"
        )
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    if settings.redis_url is None or settings.database_url is None:
        print("groundwork worker needs DATABASE_URL and REDIS_URL", file=sys.stderr)
        return 2
    launcher.run_worker(settings)
    return 0


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from app.db.migrate import check

    if args.scratch:
        # A throw-away server: `make test` checks that migrations and models agree.
        scratch = Path(tempfile.mkdtemp(prefix="migrate-check-", dir=settings.data_dir.resolve()))
        settings = settings.model_copy(update={"data_dir": scratch, "database_url": None})
    try:
        with launcher.local_services(settings, need_redis=False) as live:
            launcher.migrate(live)
            if args.check:
                check(live.database_url or "")
                print("migrations are up to date with the models")
    finally:
        if args.scratch:
            shutil.rmtree(settings.data_dir, ignore_errors=True)
    return 0


def cmd_users_create(settings: Settings, args: argparse.Namespace) -> int:
    from app.auth.accounts import create_user

    user_id = _with_session(
        settings,
        lambda s: create_user(
            s, args.name, password=args.password, role=args.role, groups=_groups(args.groups)
        ),
    )
    print(f"created user {args.name} ({args.role}) id={user_id}")
    return 0


def cmd_groups_create(settings: Settings, args: argparse.Namespace) -> int:
    from app.auth.accounts import create_group

    group_id = _with_session(settings, lambda s: create_group(s, args.name))
    print(f"created group {args.name} id={group_id}")
    return 0


def cmd_versions_list(settings: Settings, args: argparse.Namespace) -> int:
    from app.chat.versions import list_versions

    for v in _with_session(settings, list_versions):
        mark = "*" if v.is_active else " "
        print(f"{mark} {v.number:>4}  {v.created_at:%Y-%m-%d %H:%M}  {v.description}")
    return 0


def _setting_changes(pairs: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``section.key=value`` pairs (values parsed as JSON, else kept as text) as version changes."""
    from app.errors import InvalidInput

    changes: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        section, dot, key = name.partition(".")
        if not sep or not dot or not section or not key:
            raise InvalidInput(f"--set wants section.key=value, got {pair!r}", field="set")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        changes.setdefault(section, {})[key] = value
    return changes


def cmd_versions_create(settings: Settings, args: argparse.Namespace) -> int:
    from app.chat.versions import create_from_active

    changes = _setting_changes(args.set)
    number = _with_session(
        settings,
        lambda s: create_from_active(
            s, changes, description=args.description, activate=args.activate
        ),
    )
    print(f"created version {number}" + (" (active)" if args.activate else ""))
    return 0


def cmd_versions_activate(settings: Settings, args: argparse.Namespace) -> int:
    from app.chat.versions import activate_version

    _with_session(settings, lambda s: activate_version(s, args.number))
    print(f"version {args.number} is active")
    return 0


def cmd_keys_create(settings: Settings, args: argparse.Namespace) -> int:
    from app.auth.accounts import create_api_key

    key = _with_session(settings, lambda s: create_api_key(s, args.name, name=args.key_name))
    print(key)
    return 0


def cmd_ingest(settings: Settings, args: argparse.Namespace) -> int:
    from app import bootstrap

    paths = [Path(p) for p in args.paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        print(f"no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    with launcher.local_services(settings, need_redis=False) as live:
        launcher.migrate(live)
        results = asyncio.run(
            bootstrap.ingest_paths(live, paths, source=args.source, groups=_groups(args.groups))
        )
    failed = 0
    for name, status, detail in results:
        print(f"{status:10} {name}{'  ' + detail if detail else ''}")
        failed += status == "failed"
    return 1 if failed else 0


def cmd_sources_add_folder(settings: Settings, args: argparse.Namespace) -> int:
    from app import bootstrap

    with launcher.local_services(settings, need_redis=False) as live:
        launcher.migrate(live)
        source_id = asyncio.run(
            bootstrap.create_folder_source(
                live,
                name=args.name,
                path=str(Path(args.path).resolve()),
                groups=_groups(args.groups),
                pii_policy=args.pii_policy or settings.pii.default_policy,
            )
        )
    print(
        f"created folder source {args.name} id={source_id}; sync it: groundwork sources sync {args.name}"
    )
    return 0


def cmd_sources_sync(settings: Settings, args: argparse.Namespace) -> int:
    from app import bootstrap

    with launcher.local_services(settings, need_redis=False) as live:
        launcher.migrate(live)
        report, outcomes = asyncio.run(bootstrap.sync_source(live, args.name))
    summary = report.as_dict()
    print(
        f"added {summary['added']}, changed {summary['changed']}, unchanged {summary['unchanged']}, "
        f"deleted {summary['deleted']}, access changed {summary['acl_changed']}, "
        f"duplicates {summary['duplicates']}"
    )
    for name, reason in report.rejected:
        print(f"rejected   {name}  {reason}")
    failed = [o for o in outcomes if o.status == "failed"]
    if outcomes:
        print(f"ingested {len(outcomes) - len(failed)} documents, {len(failed)} failed")
    elif report.to_enqueue:
        print(f"queued {len(report.to_enqueue)} documents for the worker")
    return 1 if failed or report.rejected else 0


def cmd_index_sentence_vectors(settings: Settings, args: argparse.Namespace) -> int:
    from app import bootstrap

    with launcher.local_services(settings, need_redis=False) as live:
        launcher.migrate(live)
        report = asyncio.run(bootstrap.backfill_sentence_vectors(live, batch=args.batch))
    print(f"stored {report.sentences} sentence vectors for {report.chunks} chunks")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="groundwork", description=__doc__)
    parser.add_argument(
        "--data-dir", type=Path, help="where embedded data lives (default ./.groundwork)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    for name, handler, text in (
        ("run", cmd_run, "everything for local use: services, migrations, demo, worker, web"),
        ("serve", cmd_serve, "the web server only"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=integer(1, 65535), default=8000)
        p.set_defaults(handler=handler)
    sub.add_parser("worker", help="the ingestion worker").set_defaults(handler=cmd_worker)
    p = sub.add_parser("migrate", help="apply database migrations")
    p.add_argument("--check", action="store_true", help="fail if models and migrations differ")
    p.add_argument("--scratch", action="store_true", help="use a throw-away embedded database")
    p.set_defaults(handler=cmd_migrate)

    users = sub.add_parser("users").add_subparsers(dest="action", required=True)
    p = users.add_parser("create", help="create a local user")
    p.add_argument("name")
    p.add_argument("--password", required=True)
    p.add_argument("--groups", default="")
    p.add_argument("--role", choices=("user", "agent", "admin"), default="user")
    p.set_defaults(handler=cmd_users_create)

    groups = sub.add_parser("groups").add_subparsers(dest="action", required=True)
    p = groups.add_parser("create", help="create a group")
    p.add_argument("name")
    p.set_defaults(handler=cmd_groups_create)

    keys = sub.add_parser("keys").add_subparsers(dest="action", required=True)
    p = keys.add_parser("create", help="create an API key for a user and print it once")
    p.add_argument("name", help="the user the key acts as")
    p.add_argument("--key-name", default="default")
    p.set_defaults(handler=cmd_keys_create)

    p = sub.add_parser("ingest", help="ingest files or folders into a source")
    p.add_argument("paths", nargs="+")
    p.add_argument("--source", required=True)
    p.add_argument("--groups", default="", help="default access groups of a new source")
    p.set_defaults(handler=cmd_ingest)
    sources = sub.add_parser("sources").add_subparsers(dest="action", required=True)
    p = sources.add_parser("add-folder", help="create a source mirroring a server-side folder")
    p.add_argument("name")
    p.add_argument("path")
    p.add_argument("--groups", default="", help="default access groups")
    p.add_argument(
        "--pii-policy",
        choices=("redact", "keep", "block"),
        default=None,
        help="default: GROUNDWORK_PII__DEFAULT_POLICY",
    )
    p.set_defaults(handler=cmd_sources_add_folder)
    p = sources.add_parser("sync", help="sync a folder source now (added, changed, deleted files)")
    p.add_argument("name")
    p.set_defaults(handler=cmd_sources_sync)
    index = sub.add_parser("index", help="maintain the search index").add_subparsers(
        dest="action", required=True
    )
    p = index.add_parser(
        "sentence-vectors",
        help="store sentence vectors for chunks indexed without them (resumable)",
    )
    p.add_argument("--batch", type=integer(1), default=64, help="chunks per embedding call")
    p.set_defaults(handler=cmd_index_sentence_vectors)
    versions = sub.add_parser("versions", help="assistant versions").add_subparsers(
        dest="action", required=True
    )
    versions.add_parser("list", help="every version; * marks the active one").set_defaults(
        handler=cmd_versions_list
    )
    p = versions.add_parser("create", help="a new version: the active one with --set changes")
    p.add_argument("--description", required=True)
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    p.add_argument("--activate", action="store_true")
    p.set_defaults(handler=cmd_versions_create)
    p = versions.add_parser("activate", help="make a version active (an older one: rollback)")
    p.add_argument("number", type=integer(1))
    p.set_defaults(handler=cmd_versions_activate)
    _add_eval_commands(sub)
    return parser


def _add_eval_commands(sub: Any) -> None:
    from evals.cli import add_commands

    add_commands(sub)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"invalid settings:\n{exc}", file=sys.stderr)
        return 2
    if args.data_dir is not None:
        settings = settings.model_copy(update={"data_dir": args.data_dir})
    # SIGTERM (a service manager, ``kill``) ends a command as Ctrl-C does, through its
    # ``finally`` blocks: the embedded PostgreSQL and Redis an eval or bench started were left
    # running when the default handler killed the process outright.
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        code: int = args.handler(settings, args)
    except GroundworkError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    return code


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    sys.exit(main())
