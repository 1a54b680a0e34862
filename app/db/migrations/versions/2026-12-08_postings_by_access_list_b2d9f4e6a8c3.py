"""postings by access list: the covering index is keyed on (term, access_set)

Revision ID: b2d9f4e6a8c3
Revises: f3b8d6a2c9e1
Create Date: 2026-12-08 02:00:00.000000

The keyword leg restricts postings to the caller's readable access lists. With the list id only
carried in the index (INCLUDE), every posting of a query term was read and then filtered; keyed
on (term, access_set) the index hands over only the readable lists' postings, and a scan on the
term alone reads the same entries as before. Measured on 100,000 chunks (60 SciFact claims, the
capped statement, AVX2 EPYC): 1 % readable 9.4 -> 2.4 ms, 10 % 8.0 -> 4.8 ms, 50 % 20.5 -> 13.5
ms; every list readable (term only) 24.0 -> 24.5 ms.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "b2d9f4e6a8c3"
down_revision: str | None = "f3b8d6a2c9e1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _covering_index(keys: list[str], include: list[str]) -> None:
    op.drop_index("ix_chunk_terms_term_covering", table_name="chunk_terms")
    op.create_index("ix_chunk_terms_term_covering", "chunk_terms", keys, postgresql_include=include)


def upgrade() -> None:
    _covering_index(["term", "access_set"], ["chunk_id", "tf", "dl"])


def downgrade() -> None:
    _covering_index(["term"], ["chunk_id", "tf", "dl", "access_set"])
