"""chunk sentences: one vector per sentence of a chunk, for the sentence leg

Revision ID: b6f1d3a8c2e7
Revises: 4d8a6c2e1b95
Create Date: 2026-12-03 13:00:00.000000

Retrieval scores each candidate chunk by its best sentence's cosine (a third fused leg):
a chunk whose one sentence answers the query is not diluted by the rest of its text.
Rows are looked up by chunk id only (the primary key), so no vector index is built.
Chunks indexed before this revision have no rows; the leg then uses the chunk's own vector.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector

revision: str = "b6f1d3a8c2e7"
down_revision: str | None = "4d8a6c2e1b95"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chunk_sentences",
        sa.Column("chunk_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("embedding", Vector(384), nullable=False),
        sa.ForeignKeyConstraint(["chunk_id"], ["chunks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("chunk_id", "position"),
    )


def downgrade() -> None:
    op.drop_table("chunk_sentences")
