"""Ticket ids are 64-bit on PostgreSQL, as they always were on SQLite.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite's INTEGER PRIMARY KEY is already 64-bit
    op.alter_column("tickets", "id", type_=sa.BigInteger(), existing_nullable=False)
    op.execute("ALTER SEQUENCE tickets_id_seq AS bigint")
    op.alter_column("csat_ratings", "ticket_id", type_=sa.BigInteger(), existing_nullable=False)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.alter_column("csat_ratings", "ticket_id", type_=sa.Integer(), existing_nullable=False)
    op.execute("ALTER SEQUENCE tickets_id_seq AS integer")
    op.alter_column("tickets", "id", type_=sa.Integer(), existing_nullable=False)
