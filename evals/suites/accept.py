"""``groundwork eval accept ID``: make a queued candidate a golden case (``accepted.jsonl``).

A correct answer is described by ``--expected-sources`` (file names it must cite) and
``--expected-facts`` (strings it must contain); or the case is ``--must-handoff``.
"""

import argparse
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from app.settings import Settings
from evals.candidates import Expectation, accept
from evals.deployment import in_transaction
from evals.golden import ACCEPTED_FILE, GoldenCase


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", help="candidate id or a unique prefix")
    parser.add_argument("--expected-facts", nargs="*", default=[], metavar="FACT")
    parser.add_argument("--expected-sources", nargs="*", default=[], metavar="FILE")
    parser.add_argument("--expected-pages", nargs="*", default=[], metavar="FILE#page=N")
    parser.add_argument("--forbidden-facts", nargs="*", default=[], metavar="TEXT")
    parser.add_argument("--must-handoff", action="store_true")
    parser.add_argument("--golden-file", type=Path, default=ACCEPTED_FILE)


def run(settings: Settings, args: argparse.Namespace) -> int:
    expectation = Expectation(
        expected_facts=tuple(args.expected_facts),
        expected_sources=tuple(args.expected_sources),
        expected_pages=tuple(args.expected_pages),
        forbidden_facts=tuple(args.forbidden_facts),
        must_handoff=args.must_handoff,
    )

    async def work(session: AsyncSession) -> GoldenCase:
        return await accept(session, args.id, expectation, golden_file=args.golden_file)

    case = in_transaction(settings, work)
    print(f"accepted as {case.id} in {args.golden_file}")
    return 0
