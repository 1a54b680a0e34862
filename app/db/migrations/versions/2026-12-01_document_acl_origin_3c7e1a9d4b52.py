"""document acl origin: where a document's access rule came from

Revision ID: 3c7e1a9d4b52
Revises: 8d3e6f0a2b17
Create Date: 2026-12-01 21:40:00.000000

``acl_origin`` says who set ``acl_override`` (``source``: none, the source default applies;
``file``: a folder file's sidecar or front matter; ``admin``: an explicit override), and
``file_acl`` is the file's own rule as last seen by a folder sync, so a sync re-applies the
file's rule only when that rule changes and never undoes an admin's override.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "3c7e1a9d4b52"
down_revision: str | None = "8d3e6f0a2b17"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "documents",
        sa.Column("acl_origin", sa.String(length=16), server_default="source", nullable=False),
    )
    op.add_column(
        "documents",
        sa.Column("file_acl", postgresql.ARRAY(sa.String(length=64)), nullable=True),
    )
    op.create_check_constraint(
        op.f("ck_documents_acl_origin"),
        "documents",
        "acl_origin IN ('source','file','admin')",
    )
    # Until now a folder sync always wrote the file's rule into acl_override, so for folder
    # documents it is the file's rule; on uploads an override can only come from an admin.
    op.execute(
        """
        UPDATE documents d
        SET acl_origin = CASE WHEN s.kind = 'folder' THEN 'file' ELSE 'admin' END,
            file_acl = CASE WHEN s.kind = 'folder' THEN d.acl_override END
        FROM sources s
        WHERE s.id = d.source_id AND d.acl_override IS NOT NULL
        """
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_documents_acl_origin"), "documents", type_="check")
    op.drop_column("documents", "file_acl")
    op.drop_column("documents", "acl_origin")
