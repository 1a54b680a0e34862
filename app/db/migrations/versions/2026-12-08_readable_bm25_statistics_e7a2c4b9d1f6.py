"""readable BM25 statistics: df, chunk count and term total per access list

Revision ID: e7a2c4b9d1f6
Revises: c3e9a1f5b7d2
Create Date: 2026-12-08 09:00:00.000000

BM25's idf, N and avgdl came from the whole corpus, so a caller's scores (and which query terms
were kept, and the retrieval confidence) moved when chunks they may not read were added or
removed: a count of unreadable chunks could be read back from a readable chunk's score. The
keyword leg now sums these per-list statistics over the lists its caller may read. Filled here
from the postings and chunks that exist; ``ingestion.store`` maintains them from then on.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e7a2c4b9d1f6"
down_revision: str | None = "c3e9a1f5b7d2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "term_set_stats",
        sa.Column("term", sa.String(length=64), nullable=False),
        sa.Column("access_set", sa.Integer(), nullable=False),
        sa.Column("df", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("term", "access_set", name=op.f("pk_term_set_stats")),
    )
    op.create_table(
        "access_set_stats",
        sa.Column("access_set", sa.Integer(), nullable=False),
        sa.Column("chunk_count", sa.BigInteger(), nullable=False),
        sa.Column("term_total", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("access_set", name=op.f("pk_access_set_stats")),
    )
    # Every chunk's list has its set from now on, postings or not (its size counts the chunk).
    op.execute(
        "INSERT INTO access_sets (access) SELECT DISTINCT access FROM chunks "
        "ON CONFLICT (key) DO NOTHING"
    )
    op.execute(
        "INSERT INTO term_set_stats (term, access_set, df) "
        "SELECT term, access_set, count(*) FROM chunk_terms GROUP BY term, access_set"
    )
    op.execute(
        """
        INSERT INTO access_set_stats (access_set, chunk_count, term_total)
        SELECT a.id, count(*), COALESCE(sum(c.term_count), 0)
        FROM chunks c JOIN access_sets a ON a.key = access_key(c.access)
        GROUP BY a.id
        """
    )


def downgrade() -> None:
    op.drop_table("access_set_stats")
    op.drop_table("term_set_stats")
