"""The desk's tables: conversations, their turns, tickets, feedback and CSAT ratings, agent
accounts and their sessions, and the rate-limit counters and trusted sign-in devices every
server process shares.

One declarative base for the lot; Alembic keeps its schema (`assistant.desk.migrations`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Enum, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from assistant.desk.database import UtcDateTime
from assistant.records import Channel, EscalationState, Severity, Vehicle

DISPLAY_NAME_MAX_CHARS = 120
"""An agent's name as people see it."""


def _string_enum(enum_class: type[Any]) -> Enum:
    return Enum(
        enum_class,
        native_enum=False,
        length=32,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class DeskBase(DeclarativeBase):
    pass


TICKET_ID = BigInteger().with_variant(Integer(), "sqlite")
"""64 bits on every engine: SQLite's INTEGER key already is (and BIGINT would not autoincrement
there); on PostgreSQL's 32-bit INTEGER a larger reference was an error, not "no such ticket"."""


class SessionRow(DeskBase):
    __tablename__ = "conversation_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[Channel] = mapped_column(_string_enum(Channel))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    state: Mapped[EscalationState] = mapped_column(_string_enum(EscalationState))
    failed_answers: Mapped[int] = mapped_column(Integer, default=0)
    vehicle_make: Mapped[str | None] = mapped_column(String(80))
    vehicle_model: Mapped[str | None] = mapped_column(String(80))
    vehicle_year: Mapped[int | None] = mapped_column(Integer)
    vehicle_vin: Mapped[str | None] = mapped_column(String(32))
    client_key: Mapped[str | None] = mapped_column(String(64), index=True)
    """Who opened the conversation, pseudonymously (a digest of the driver's address): open
    tickets are capped per client. None for agents' and the CLI's conversations."""


class TurnRow(DeskBase):
    __tablename__ = "conversation_turns"

    # The autoincrement id orders a session's turns: timestamps can tie.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey(SessionRow.id), index=True)
    role: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class TicketRow(DeskBase):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(TICKET_ID, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey(SessionRow.id), index=True)
    channel: Mapped[Channel] = mapped_column(_string_enum(Channel))
    reason: Mapped[str] = mapped_column(String(64))
    severity: Mapped[Severity] = mapped_column(_string_enum(Severity))
    summary: Mapped[str] = mapped_column(Text)
    assistant_said: Mapped[str] = mapped_column(Text)
    vehicle_make: Mapped[str | None] = mapped_column(String(80))
    vehicle_model: Mapped[str | None] = mapped_column(String(80))
    vehicle_year: Mapped[int | None] = mapped_column(Integer)
    vehicle_vin: Mapped[str | None] = mapped_column(String(32), index=True)
    transcript: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    passages: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    state: Mapped[EscalationState] = mapped_column(_string_enum(EscalationState), index=True)
    assignee: Mapped[str | None] = mapped_column(String(120))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    asker_waiting_since: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    csat: Mapped[CsatRow | None] = relationship(lazy="selectin")


class FeedbackRow(DeskBase):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey(SessionRow.id), index=True)
    turn_id: Mapped[int] = mapped_column(ForeignKey(TurnRow.id))
    turn_index: Mapped[int] = mapped_column(Integer)
    helpful: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str | None] = mapped_column(Text)
    suggestion: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CsatRow(DeskBase):
    __tablename__ = "csat_ratings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(TICKET_ID, ForeignKey(TicketRow.id), unique=True)
    session_id: Mapped[str] = mapped_column(ForeignKey(SessionRow.id), index=True)
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class RateLimitRow(DeskBase):
    """One key's counts in its current fixed window and the one before
    (`assistant.desk.limits`)."""

    __tablename__ = "rate_limit_counters"

    scope: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, index=True)
    """Unix seconds at which the window began (a multiple of the limiter's window)."""
    hits: Mapped[int] = mapped_column(Integer)
    previous_hits: Mapped[int] = mapped_column(Integer)
    """The count of the window before `window_start`."""


class TrustedDeviceRow(DeskBase):
    """A browser or API client that once signed in as `username`; its token is stored only as
    a digest (`assistant.desk.sign_in_throttle`)."""

    __tablename__ = "trusted_devices"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_used_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


# --- Agent accounts -------------------------------------------------------------------------------


class AccountRow(DeskBase):
    """An agent who signs in to the console and the agent API (`assistant.desk.accounts`)."""

    __tablename__ = "agent_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(DISPLAY_NAME_MAX_CHARS))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class AgentSessionRow(DeskBase):
    __tablename__ = "agent_sessions"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    """Hex SHA-256 of the token: the token is random, so a slow hash would add nothing."""
    account_id: Mapped[int] = mapped_column(ForeignKey(AccountRow.id), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


def vehicle_of(row: SessionRow | TicketRow) -> Vehicle | None:
    """The vehicle a session or ticket row names, or None when it names none."""
    vehicle = Vehicle(
        make=row.vehicle_make, model=row.vehicle_model, year=row.vehicle_year, vin=row.vehicle_vin
    )
    return None if vehicle == Vehicle() else vehicle


def vehicle_columns(vehicle: Vehicle | None) -> dict[str, Any]:
    """The vehicle as a session or ticket row stores it."""
    return {
        "vehicle_make": vehicle.make if vehicle else None,
        "vehicle_model": vehicle.model if vehicle else None,
        "vehicle_year": vehicle.year if vehicle else None,
        "vehicle_vin": vehicle.vin if vehicle else None,
    }
