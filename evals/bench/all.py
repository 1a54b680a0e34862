"""``groundwork bench all``: every benchmark (ingest, retrieval, latency) with its defaults.

A benchmark whose module is not built yet is skipped with a note; the exit code is the
worst of the ones that ran.
"""

import argparse
import importlib

from app.arguments import names
from app.settings import Settings

BENCHMARKS = ("ingest", "retrieval", "latency")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--only",
        type=names(BENCHMARKS),
        default=list(BENCHMARKS),
        help="comma-separated subset to run",
    )


def default_args(module: object) -> argparse.Namespace:
    """The benchmark's own defaults, as if run with no options."""
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)  # type: ignore[attr-defined]
    return parser.parse_args([])


def run(settings: Settings, args: argparse.Namespace) -> int:
    code = 0
    for name in args.only:
        module_name = f"evals.bench.{name}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            print(f"== bench {name}: skipped (not built yet)")
            continue
        print(f"== bench {name}")
        code = max(code, int(module.run(settings, default_args(module))))
    return code
