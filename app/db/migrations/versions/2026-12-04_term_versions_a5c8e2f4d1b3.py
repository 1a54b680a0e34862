"""term versions: term_stats.version changes whenever a term's postings change

Revision ID: a5c8e2f4d1b3
Revises: b6f1d3a8c2e7
Create Date: 2026-12-04 15:00:00.000000

A serving process keeps a copy of the postings of recently queried terms and scores BM25 in
memory (``retrieval.postings_cache``); a copy is current only while it names the term's
version. Values come from a sequence, so none repeats, even after the tables are truncated.
Existing rows each get a fresh value.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a5c8e2f4d1b3"
down_revision: str | None = "b6f1d3a8c2e7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(sa.schema.CreateSequence(sa.Sequence("term_stats_version")))
    op.add_column(
        "term_stats",
        sa.Column(
            "version",
            sa.BigInteger(),
            server_default=sa.text("nextval('term_stats_version'::regclass)"),
            nullable=False,
        ),
    )


def downgrade() -> None:
    op.drop_column("term_stats", "version")
    op.execute(sa.schema.DropSequence(sa.Sequence("term_stats_version")))
