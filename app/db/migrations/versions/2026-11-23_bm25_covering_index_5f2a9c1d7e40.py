"""bm25 covering index on chunk_terms

Revision ID: 5f2a9c1d7e40
Revises: ce7b3b9b994e
Create Date: 2026-11-23 09:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5f2a9c1d7e40"
down_revision: str | None = "ce7b3b9b994e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # BM25 scoring reads every posting of a query term: (term) -> (chunk_id, tf, dl)
    # from the index alone (an index-only scan once the table is vacuumed).
    op.create_index(
        "ix_chunk_terms_term_covering",
        "chunk_terms",
        ["term"],
        unique=False,
        postgresql_include=["chunk_id", "tf", "dl"],
    )


def downgrade() -> None:
    op.drop_index("ix_chunk_terms_term_covering", table_name="chunk_terms")
