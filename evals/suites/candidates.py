"""``groundwork eval candidates``: queue new thumbs-down answers and resolved hand-offs, and
list the review queue (accept with ``groundwork eval accept ID``, drop with ``eval reject ID``).
"""

import argparse

from sqlalchemy.ext.asyncio import AsyncSession

from app.settings import Settings
from evals.candidates import Candidate, collect, list_candidates
from evals.deployment import in_transaction


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--status", choices=("pending", "accepted", "rejected", "all"), default="pending"
    )


def run(settings: Settings, args: argparse.Namespace) -> int:
    status = None if args.status == "all" else args.status

    async def work(session: AsyncSession) -> tuple[int, list[Candidate]]:
        return await collect(session), await list_candidates(session, status)

    added, candidates = in_transaction(settings, work)
    print(f"{added} new candidate(s) queued; {len(candidates)} {args.status}")
    for c in candidates:
        groups = ",".join(c.groups) or "-"
        print(f"\n{str(c.id)[:8]}  {c.kind:8} {c.status:8} groups={groups}  {c.note}")
        for earlier in c.history:
            print(f"    earlier: {earlier}")
        print(f"    question: {c.question}")
        print(f"    answer:   {c.answer[:300]}")
        if c.case_id:
            print(f"    case:     {c.case_id}")
    return 0
