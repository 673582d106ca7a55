"""Baseline: the desk's schema as Glovebox made it before Alembic (create_all).

Creates every table in a new database. A database made by that earlier code (tables, no
alembic_version) is adopted instead: tables it lacks are created and columns it lacks are
added as nullable, as that code's `_add_missing_columns` did, so every row stays.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BASELINE = sa.MetaData()
_STATE = ("ai", "waiting_for_human", "human", "resolved")


def _choice(name: str, values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=32)


sa.Table(
    "agent_accounts", BASELINE,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("display_name", sa.String(120)),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("active", sa.Boolean(), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("last_sign_in_at", sa.DateTime()),
)  # fmt: skip
sa.Table(
    "agent_sessions", BASELINE,
    sa.Column("token_sha256", sa.String(64), primary_key=True),
    sa.Column("account_id", sa.Integer(), sa.ForeignKey("agent_accounts.id"), nullable=False,
              index=True),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("expires_at", sa.DateTime(), nullable=False, index=True),
    sa.Column("revoked_at", sa.DateTime()),
)  # fmt: skip
sa.Table(
    "conversation_sessions", BASELINE,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("channel", _choice("channel", ("driver", "agent")), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
    sa.Column("state", _choice("escalationstate", _STATE), nullable=False),
    sa.Column("failed_answers", sa.Integer(), nullable=False),
    sa.Column("vehicle_make", sa.String(80)),
    sa.Column("vehicle_model", sa.String(80)),
    sa.Column("vehicle_year", sa.Integer()),
    sa.Column("vehicle_vin", sa.String(32)),
)  # fmt: skip
sa.Table(
    "conversation_turns", BASELINE,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("session_id", sa.String(32), sa.ForeignKey("conversation_sessions.id"),
              nullable=False, index=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("payload", sa.JSON(none_as_null=True)),
    sa.Column("created_at", sa.DateTime(), nullable=False),
)  # fmt: skip
sa.Table(
    "tickets", BASELINE,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("session_id", sa.String(32), sa.ForeignKey("conversation_sessions.id"),
              nullable=False, index=True),
    sa.Column("channel", _choice("channel", ("driver", "agent")), nullable=False),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("severity", _choice("severity", ("low", "medium", "high", "critical")),
              nullable=False),
    sa.Column("summary", sa.Text(), nullable=False),
    sa.Column("assistant_said", sa.Text(), nullable=False),
    sa.Column("vehicle_make", sa.String(80)),
    sa.Column("vehicle_model", sa.String(80)),
    sa.Column("vehicle_year", sa.Integer()),
    sa.Column("vehicle_vin", sa.String(32), index=True),
    sa.Column("transcript", sa.JSON(), nullable=False),
    sa.Column("passages", sa.JSON(), nullable=False),
    sa.Column("state", _choice("escalationstate", _STATE), nullable=False, index=True),
    sa.Column("assignee", sa.String(120)),
    sa.Column("resolution_note", sa.Text()),
    sa.Column("notes", sa.JSON(), nullable=False),
    sa.Column("asker_waiting_since", sa.DateTime()),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
)  # fmt: skip
sa.Table(
    "feedback", BASELINE,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("session_id", sa.String(32), sa.ForeignKey("conversation_sessions.id"),
              nullable=False, index=True),
    sa.Column("turn_id", sa.Integer(), sa.ForeignKey("conversation_turns.id"), nullable=False),
    sa.Column("turn_index", sa.Integer(), nullable=False),
    sa.Column("helpful", sa.Boolean(), nullable=False),
    sa.Column("comment", sa.Text()),
    sa.Column("suggestion", sa.Text()),
    sa.Column("created_at", sa.DateTime(), nullable=False),
)  # fmt: skip
sa.Table(
    "csat_ratings", BASELINE,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id"), nullable=False,
              unique=True),
    sa.Column("session_id", sa.String(32), sa.ForeignKey("conversation_sessions.id"),
              nullable=False, index=True),
    sa.Column("rating", sa.Integer(), nullable=False),
    sa.Column("comment", sa.Text()),
    sa.Column("created_at", sa.DateTime(), nullable=False, index=True),
)  # fmt: skip


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    existing = set(inspector.get_table_names())
    for table in BASELINE.sorted_tables:
        if table.name not in existing:
            table.create(bind)
            continue
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present:
                op.add_column(table.name, sa.Column(column.name, column.type, nullable=True))


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(BASELINE.sorted_tables):
        table.drop(bind, checkfirst=True)
