"""Conversation sessions and their turns, kept in the desk's SQL database.

sessions = SqlSessionStore(Database(url, stage="desk", create_tables=upgrade_to_head))
session_id = sessions.create_session(Channel.DRIVER)
sessions.add_turn(session_id, "user", "How do I reset the TPMS light?")
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assistant.desk.database import Database, record_from_row, utc_now
from assistant.desk.tables import (
    SessionRow,
    TicketRow,
    TurnRow,
    vehicle_columns,
    vehicle_of,
)
from assistant.records import (
    TURN_ROLES,
    Channel,
    ConversationSession,
    EscalationState,
    Turn,
    TurnRole,
    Vehicle,
)
from knowledge.errors import InputError


class SqlSessionStore:
    """`SessionStore` on SQLAlchemy: what the assistant remembers of each conversation."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def create_session(self, channel: Channel, *, client_key: str | None = None) -> str:
        """A new conversation; `client_key` names who opened it (see `SessionRow.client_key`)."""
        now = utc_now()
        session_id = uuid.uuid4().hex
        with self._db.transaction(write=True) as db:
            db.add(
                SessionRow(
                    id=session_id,
                    channel=Channel(channel),
                    created_at=now,
                    updated_at=now,
                    state=EscalationState.AI,
                    failed_answers=0,
                    client_key=client_key,
                )
            )
        return session_id

    def get_session(self, session_id: str) -> ConversationSession | None:
        with self._db.transaction(write=False) as db:
            row = db.get(SessionRow, session_id)
            return None if row is None else _session(db, row)

    def add_turn(
        self,
        session_id: str,
        role: TurnRole,
        text: str,
        payload: dict[str, Any] | None = None,
        *,
        vehicle: Vehicle | None = None,
        answered: bool | None = None,
    ) -> Turn:
        if role not in TURN_ROLES:
            raise InputError(
                source="turn", problem=f"role must be one of {', '.join(TURN_ROLES)}, not {role!r}"
            )
        stored_payload = None if payload is None else as_json(payload, "turn payload")
        with self._db.transaction(write=True) as db:
            row = session_row(db, session_id)
            if vehicle is not None:
                _set_vehicle(row, vehicle)
            if answered is not None:
                _count_outcome(row, answered)
            return append_turn(db, row, role, text, stored_payload)

    def set_vehicle(self, session_id: str, vehicle: Vehicle) -> None:
        with self._db.transaction(write=True) as db:
            _set_vehicle(session_row(db, session_id), vehicle)

    def record_outcome(self, session_id: str, answered: bool) -> int:
        with self._db.transaction(write=True) as db:
            return _count_outcome(session_row(db, session_id), answered)

    def set_state(self, session_id: str, state: EscalationState) -> None:
        with self._db.transaction(write=True) as db:
            row = session_row(db, session_id)
            row.state = EscalationState(state)
            row.updated_at = utc_now()

    def list_sessions(
        self, since: datetime | None = None, limit: int = 5000
    ) -> list[ConversationSession]:
        """Sessions updated since `since` (all when None), newest first, with their turns."""
        query = select(SessionRow).order_by(SessionRow.updated_at.desc()).limit(limit)
        if since is not None:
            query = query.where(SessionRow.updated_at >= since)
        with self._db.transaction(write=False) as db:
            return [_session(db, row) for row in db.scalars(query)]


def session_row(db: Session, session_id: str) -> SessionRow:
    """The session's row, locked for the write; an InputError when there is none."""
    row = db.get(SessionRow, session_id, with_for_update=True)
    if row is None:
        raise InputError(
            source="session",
            problem=f"no session {session_id}; leave it out to start a new conversation",
        )
    return row


def _set_vehicle(row: SessionRow, vehicle: Vehicle) -> None:
    for column, value in vehicle_columns(vehicle).items():
        setattr(row, column, value)
    row.updated_at = utc_now()


def _count_outcome(row: SessionRow, answered: bool) -> int:
    row.failed_answers = 0 if answered else row.failed_answers + 1
    row.updated_at = utc_now()
    return row.failed_answers


def append_turn(
    db: Session,
    row: SessionRow,
    role: TurnRole,
    text: str,
    payload: dict[str, Any] | None,
) -> Turn:
    """A turn at the end of the session (the asker's, the assistant's or an agent's)."""
    index = db.scalar(select(func.count()).select_from(TurnRow).where(TurnRow.session_id == row.id))
    now = utc_now()
    turn_row = TurnRow(session_id=row.id, role=role, text=text, payload=payload, created_at=now)
    db.add(turn_row)
    row.updated_at = now
    db.flush()
    return turn_from_row(index or 0, turn_row)


def turn_from_row(index: int, row: TurnRow) -> Turn:
    return record_from_row(Turn, row, index=index, role=cast(TurnRole, row.role))


def as_json(value: Any, source: str) -> Any:
    """A JSON-only copy: later changes to the caller's lists cannot reach the stored record."""
    try:
        return json.loads(json.dumps(value, default=_json_default, allow_nan=False))
    except (TypeError, ValueError) as error:
        raise InputError(source=source, problem=f"cannot be stored as JSON: {error}") from error


def _json_default(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _session(db: Session, row: SessionRow) -> ConversationSession:
    turn_rows = db.scalars(
        select(TurnRow).where(TurnRow.session_id == row.id).order_by(TurnRow.id)
    ).all()
    tickets = select(func.max(TicketRow.id)).where(TicketRow.session_id == row.id)
    return record_from_row(
        ConversationSession,
        row,
        vehicle=vehicle_of(row),
        turns=[turn_from_row(index, turn_row) for index, turn_row in enumerate(turn_rows)],
        open_ticket_id=db.scalar(tickets.where(TicketRow.state != EscalationState.RESOLVED)),
        last_ticket_id=db.scalar(tickets),
    )
