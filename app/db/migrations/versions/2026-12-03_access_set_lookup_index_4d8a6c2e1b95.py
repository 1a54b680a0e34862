"""access set lookup index: GIN on access_sets.access

Revision ID: 4d8a6c2e1b95
Revises: 9e4c2b7a1f08
Create Date: 2026-12-03 10:40:00.000000

Every keyword search first finds the access sets the caller's groups may read
(``access && groups``); with the GIN index that stays an index lookup however many distinct
access lists the knowledge base has (per-document ACLs create one per document). Unused sets
are now pruned (``ingestion.access_sets.prune_access_sets``), so the table holds only live lists.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "4d8a6c2e1b95"
down_revision: str | None = "9e4c2b7a1f08"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_access_sets_access", "access_sets", ["access"], unique=False, postgresql_using="gin"
    )


def downgrade() -> None:
    op.drop_index("ix_access_sets_access", table_name="access_sets", postgresql_using="gin")
