"""``groundwork eval reject ID``: drop a queued candidate from the review queue."""

import argparse

from sqlalchemy.ext.asyncio import AsyncSession

from app.settings import Settings
from evals.candidates import Candidate, reject
from evals.deployment import in_transaction


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", help="candidate id or a unique prefix")


def run(settings: Settings, args: argparse.Namespace) -> int:
    async def work(session: AsyncSession) -> Candidate:
        return await reject(session, args.id)

    candidate = in_transaction(settings, work)
    print(f"rejected {candidate.id}")
    return 0
