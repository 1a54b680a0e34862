"""sentence digests: each chunk sentence vector names the sentence it embeds

Revision ID: c3e9a1f5b7d2
Revises: a5c8e2f4d1b3
Create Date: 2026-12-07 05:30:00.000000

The composer reads a retrieved passage's sentence vectors from ``chunk_sentences`` instead of
embedding them on the request path, and matches each vector to a sentence by this digest
(``retrieval.quotable.sentence_key``), never by position: a vector only ever serves the exact
text it was computed from. Existing rows keep NULL and are not used by the composer;
``groundwork index sentence-vectors`` replaces them (and fills chunks that have none) in place.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c3e9a1f5b7d2"
down_revision: str | None = "a5c8e2f4d1b3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("chunk_sentences", sa.Column("text_hash", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    op.drop_column("chunk_sentences", "text_hash")
