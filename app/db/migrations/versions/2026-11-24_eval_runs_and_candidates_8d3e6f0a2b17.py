"""eval runs and eval candidates

Revision ID: 8d3e6f0a2b17
Revises: 5f2a9c1d7e40
Create Date: 2026-11-24 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "8d3e6f0a2b17"
down_revision: str | None = "5f2a9c1d7e40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "eval_runs",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("run_id", sa.String(length=96), nullable=False),
        sa.Column("suite", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("metrics", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("results_path", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eval_runs")),
        sa.UniqueConstraint("run_id", name=op.f("uq_eval_runs_run_id")),
    )
    op.create_index(op.f("ix_eval_runs_suite"), "eval_runs", ["suite"], unique=False)
    op.create_index(op.f("ix_eval_runs_version"), "eval_runs", ["version"], unique=False)
    op.create_table(
        "eval_candidates",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("feedback_id", sa.UUID(), nullable=True),
        sa.Column("handoff_id", sa.UUID(), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("history", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("groups", postgresql.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('feedback','handoff')", name=op.f("ck_eval_candidates_kind")),
        sa.CheckConstraint(
            "status IN ('pending','accepted','rejected')", name=op.f("ck_eval_candidates_status")
        ),
        sa.ForeignKeyConstraint(
            ["feedback_id"],
            ["feedback.id"],
            name=op.f("fk_eval_candidates_feedback_id_feedback"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["handoff_id"],
            ["handoffs.id"],
            name=op.f("fk_eval_candidates_handoff_id_handoffs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eval_candidates")),
        sa.UniqueConstraint("feedback_id", name=op.f("uq_eval_candidates_feedback_id")),
        sa.UniqueConstraint("handoff_id", name=op.f("uq_eval_candidates_handoff_id")),
    )
    op.create_index(op.f("ix_eval_candidates_status"), "eval_candidates", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_eval_candidates_status"), table_name="eval_candidates")
    op.drop_table("eval_candidates")
    op.drop_index(op.f("ix_eval_runs_version"), table_name="eval_runs")
    op.drop_index(op.f("ix_eval_runs_suite"), table_name="eval_runs")
    op.drop_table("eval_runs")
