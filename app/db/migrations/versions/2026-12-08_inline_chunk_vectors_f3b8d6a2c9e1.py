"""inline chunk vectors: a chunk's embedding stays inside its row

Revision ID: f3b8d6a2c9e1
Revises: e7a2c4b9d1f6
Create Date: 2026-12-08 01:00:00.000000

pgvector declares ``vector`` with EXTERNAL storage, so PostgreSQL moves the 1,544-byte vector
of a 384-dimension chunk out of line into the TOAST table whenever the row passes about 2 kB:
on the 100,000-chunk bench more than half the vectors lived there, and every cosine computed
from a heap row (the exact path of small readable sets, the filtered HNSW scan's re-check, the
similarity it returns) first fetched the vector through the TOAST index. MAIN storage keeps the
vector in the row (the text and other compressible columns leave it first); on that corpus an
exact search over 1 % of the chunks went 10-12 -> 3.1-3.6 ms and a filtered HNSW search over
10 % 55-57 -> 21-22 ms. Rows stored before are rewritten here (the ALTER TYPE forces the
rewrite, which also rebuilds the table's indexes: about 7 minutes per 100,000 chunks on 2
cores, under an exclusive lock).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "f3b8d6a2c9e1"
down_revision: str | None = "e7a2c4b9d1f6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # One statement: the storage change is in place when the USING expression rewrites the rows.
    op.execute(
        "ALTER TABLE chunks ALTER COLUMN embedding SET STORAGE MAIN, "
        "ALTER COLUMN embedding TYPE vector(384) USING (embedding::real[])::vector(384)"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE chunks ALTER COLUMN embedding SET STORAGE EXTERNAL")
