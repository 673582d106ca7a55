"""Conversation sessions, escalation tickets, answer feedback and CSAT, kept in a SQL database.

The console and the HTTP API run as separate processes and share one database: a SQLite file
by default (WAL journal, busy timeout, writes take the lock up front) or any SQLAlchemy URL.

    store = SqlTicketStore("sqlite:///.glovebox/glovebox.sqlite3")
    session_id = store.create_session(Channel.DRIVER)
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, Protocol, cast, get_args, runtime_checkable

from sqlalchemy import (
    JSON,
    Boolean,
    Enum,
    ForeignKey,
    Integer,
    String,
    Text,
    case,
    func,
    inspect,
    or_,
    select,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from assistant.database import Database, UtcDateTime, utc_now
from assistant.records import Channel, EscalationState, Passage, Severity, Vehicle
from knowledge.errors import InputError

TurnRole = Literal["user", "assistant", "agent"]
TURN_ROLES: tuple[str, ...] = get_args(TurnRole)

TICKET_PREFIX = "GBX-"
TICKET_REFERENCE = re.compile(r"^\s*(?:GBX-)?0*(\d+)\s*$", re.IGNORECASE)

TICKET_TRANSITIONS: dict[EscalationState, frozenset[EscalationState]] = {
    EscalationState.WAITING_FOR_HUMAN: frozenset({EscalationState.HUMAN}),
    # human -> human is a hand-over from one agent to another.
    EscalationState.HUMAN: frozenset({EscalationState.HUMAN, EscalationState.RESOLVED}),
    EscalationState.RESOLVED: frozenset(),
}

CSAT_LOWEST = 1
CSAT_HIGHEST = 5
"""A driver rates how a resolved ticket was handled from 1 (poor) to 5 (great)."""

SEVERITY_RANK = {
    Severity.CRITICAL: 0,
    Severity.HIGH: 1,
    Severity.MEDIUM: 2,
    Severity.LOW: 3,
}


# --- What callers get back: plain values, never ORM rows ------------------------------------


@dataclass(frozen=True)
class Turn:
    """One message in a conversation; `index` is its 0-based position in the session."""

    index: int
    role: TurnRole
    text: str
    created_at: datetime
    payload: dict[str, Any] | None = None
    """For assistant turns: citations, confidence, abstained."""

    def transcript_entry(self) -> dict[str, str]:
        return {"role": self.role, "text": self.text, "created_at": self.created_at.isoformat()}


@dataclass(frozen=True)
class ConversationSession:
    """A conversation with one asker, as the assistant and the agent console see it."""

    id: str
    channel: Channel
    created_at: datetime
    updated_at: datetime
    vehicle: Vehicle | None
    state: EscalationState
    failed_answers: int
    """Consecutive turns the assistant could not answer (or abstained on)."""
    turns: list[Turn]
    open_ticket_id: int | None = None
    """The ticket a human has not resolved yet, if the session has one."""
    last_ticket_id: int | None = None
    """The session's newest ticket, open or resolved."""

    def transcript(self) -> list[dict[str, str]]:
        """The turns as `TicketDraft.transcript` expects them."""
        return [turn.transcript_entry() for turn in self.turns]


@dataclass(frozen=True)
class TicketDraft:
    """What the assistant hands a human when it escalates.

    `reason` is a short code: safety, do_not_drive_recall, human_requested, legal_threat,
    frustration, repeated_failures, low_confidence, unsupported.
    """

    session_id: str
    channel: Channel
    reason: str
    severity: Severity
    summary: str
    assistant_said: str
    """What the asker has already been told, so the agent does not contradict it."""
    vehicle: Vehicle | None = None
    transcript: list[dict[str, Any]] = field(default_factory=list)
    """{role, text, created_at} per turn; see `ConversationSession.transcript()`."""
    passages: list[dict[str, Any]] = field(default_factory=list)
    """{chunk_id, document_id, title, section, quote, score}; see `passage_evidence()`."""


@dataclass(frozen=True)
class Ticket:
    """An escalation waiting for, or handled by, a human agent."""

    id: int
    session_id: str
    channel: Channel
    reason: str
    severity: Severity
    summary: str
    assistant_said: str
    vehicle: Vehicle | None
    transcript: list[dict[str, Any]]
    passages: list[dict[str, Any]]
    state: EscalationState
    assignee: str | None
    resolution_note: str | None
    created_at: datetime
    updated_at: datetime
    notes: list[dict[str, Any]] = field(default_factory=list)
    """Agents' internal notes, {author, text, created_at}; never shown to the asker."""
    asker_waiting_since: datetime | None = None
    """When the asker wrote with no agent reply since: the queue shows it as a new message."""
    csat: CsatRating | None = None
    """The asker's rating once the ticket was resolved, if they gave one."""

    @property
    def reference(self) -> str:
        return ticket_reference(self.id)


@dataclass(frozen=True)
class CsatRating:
    """A driver's rating (1-5, with an optional comment) of how a person resolved a ticket."""

    id: int
    ticket_id: int
    session_id: str
    rating: int
    comment: str | None
    created_at: datetime

    @property
    def ticket_reference(self) -> str:
        return ticket_reference(self.ticket_id)


@dataclass(frozen=True)
class Feedback:
    """An asker's thumbs up or down on one reply."""

    id: int
    session_id: str
    turn_index: int
    helpful: bool
    comment: str | None
    reply_text: str
    created_at: datetime
    suggestion: str | None = None
    """A better answer, as the rater would have given it."""
    question: str = ""
    """The asker's message the rated reply answered."""
    citations: list[dict[str, Any]] = field(default_factory=list)
    """The rated reply's citations, as the assistant stored them with the turn."""


def ticket_reference(ticket_id: int) -> str:
    """`GBX-000123`: how people name a ticket."""
    return f"{TICKET_PREFIX}{ticket_id:06d}"


def ticket_id_from_reference(reference: str) -> int:
    """The ticket id in `GBX-000123` (or in plain `123`)."""
    match = TICKET_REFERENCE.match(reference)
    if not match:
        raise InputError(
            source="ticket",
            problem=f"{reference!r} is not a ticket reference; write it like GBX-000123",
        )
    return int(match.group(1))


def passage_evidence(passage: Passage, quote: str | None = None) -> dict[str, Any]:
    """A passage as `TicketDraft.passages` stores it; `quote` defaults to the passage text."""
    return {
        "chunk_id": passage.chunk_id,
        "document_id": passage.document_id,
        "title": passage.title,
        "section": passage.section,
        "quote": passage.text if quote is None else quote,
        "score": passage.score,
    }


@runtime_checkable
class TicketStore(Protocol):
    """Where conversations, escalation tickets and feedback live between requests."""

    def create_session(self, channel: Channel) -> str: ...

    def get_session(self, session_id: str) -> ConversationSession | None: ...

    def add_turn(
        self, session_id: str, role: TurnRole, text: str, payload: dict[str, Any] | None = None
    ) -> Turn: ...

    def set_vehicle(self, session_id: str, vehicle: Vehicle) -> None: ...

    def record_outcome(self, session_id: str, answered: bool) -> int:
        """Reset (answered) or count (not answered) failed turns; returns the new count."""
        ...

    def set_state(self, session_id: str, state: EscalationState) -> None: ...

    def open_ticket(self, draft: TicketDraft, *, reuse_open: bool = False) -> Ticket:
        """Store the escalation and move the session to waiting_for_human.

        A session has one open ticket at a time: opening another is an InputError, or with
        `reuse_open` gives back the open one (two requests at once then share it).
        """
        ...

    def get_ticket(self, ticket_id: int) -> Ticket | None: ...

    def list_tickets(self, state: EscalationState | None = None, limit: int = 100) -> list[Ticket]:
        """Most severe first; within a severity, longest waiting first."""
        ...

    def search_tickets(self, text: str, limit: int = 50) -> list[Ticket]:
        """Tickets whose reference or VIN is `text`, or whose summary, notes, resolution or
        conversation contains it; newest first."""
        ...

    def earlier_tickets(self, ticket: Ticket, limit: int = 5) -> list[Ticket]:
        """The case history: tickets opened before this one in its conversation or for its
        VIN, newest first."""
        ...

    def assign(self, ticket_id: int, agent_name: str) -> Ticket: ...

    def resolve(self, ticket_id: int, resolution_note: str) -> Ticket: ...

    def add_note(self, ticket_id: int, author: str, text: str) -> Ticket: ...

    def add_agent_message(self, ticket_id: int, text: str) -> Turn: ...

    def note_asker_message(self, ticket_id: int, *, urgent: bool = False) -> Ticket:
        """The asker wrote to the person on the case: flagged in the queue until an agent
        replies; `urgent` (a safety message) raises the ticket to critical."""
        ...

    def add_feedback(
        self,
        session_id: str,
        turn_index: int,
        helpful: bool,
        comment: str | None = None,
        suggestion: str | None = None,
    ) -> Feedback: ...

    def list_feedback(self, limit: int = 100) -> list[Feedback]:
        """Newest first."""
        ...

    def add_csat(
        self, session_id: str, ticket_id: int, rating: int, comment: str | None = None
    ) -> CsatRating:
        """The asker rates their resolved ticket, once; anything else is an InputError."""
        ...

    def list_csat(self, limit: int = 100) -> list[CsatRating]:
        """Newest first."""
        ...


# --- Tables ------------------------------------------------------------------------------------


def _string_enum(enum_class: type[Any]) -> Enum:
    return Enum(
        enum_class,
        native_enum=False,
        length=32,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class _Base(DeclarativeBase):
    pass


class _SessionRow(_Base):
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


class _TurnRow(_Base):
    __tablename__ = "conversation_turns"

    # The autoincrement id orders a session's turns: timestamps can tie.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey(_SessionRow.id), index=True)
    role: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class _TicketRow(_Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey(_SessionRow.id), index=True)
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
    csat: Mapped[_CsatRow | None] = relationship(lazy="selectin")


class _FeedbackRow(_Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey(_SessionRow.id), index=True)
    turn_id: Mapped[int] = mapped_column(ForeignKey(_TurnRow.id))
    turn_index: Mapped[int] = mapped_column(Integer)
    helpful: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str | None] = mapped_column(Text)
    suggestion: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class _CsatRow(_Base):
    # A table of its own, not columns on tickets: create_all adds it to an older database.
    __tablename__ = "csat_ratings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey(_TicketRow.id), unique=True)
    session_id: Mapped[str] = mapped_column(ForeignKey(_SessionRow.id), index=True)
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


# --- The store ---------------------------------------------------------------------------------


class SqlTicketStore:
    """`TicketStore` on SQLAlchemy. Tables are created on first use.

    store = SqlTicketStore(f"sqlite:///{settings.home}/glovebox.sqlite3")
    ticket = store.open_ticket(draft)  # the session is now waiting_for_human
    """

    def __init__(self, database_url: str) -> None:
        self._db = Database(database_url, stage="tickets", create_tables=_create_tables)

    def close(self) -> None:
        """Release the connections; the store can still be used (it reconnects)."""
        self._db.close()

    # Sessions

    def create_session(self, channel: Channel) -> str:
        now = utc_now()
        session_id = uuid.uuid4().hex
        with self._db.transaction(write=True) as db:
            db.add(
                _SessionRow(
                    id=session_id,
                    channel=Channel(channel),
                    created_at=now,
                    updated_at=now,
                    state=EscalationState.AI,
                    failed_answers=0,
                )
            )
        return session_id

    def get_session(self, session_id: str) -> ConversationSession | None:
        with self._db.transaction(write=False) as db:
            row = db.get(_SessionRow, session_id)
            if row is None:
                return None
            turn_rows = db.scalars(
                select(_TurnRow).where(_TurnRow.session_id == session_id).order_by(_TurnRow.id)
            ).all()
            open_ticket_id = db.scalar(
                select(func.max(_TicketRow.id)).where(
                    _TicketRow.session_id == session_id,
                    _TicketRow.state != EscalationState.RESOLVED,
                )
            )
            last_ticket_id = db.scalar(
                select(func.max(_TicketRow.id)).where(_TicketRow.session_id == session_id)
            )
            return ConversationSession(
                id=row.id,
                channel=row.channel,
                created_at=row.created_at,
                updated_at=row.updated_at,
                vehicle=_vehicle(
                    row.vehicle_make, row.vehicle_model, row.vehicle_year, row.vehicle_vin
                ),
                state=row.state,
                failed_answers=row.failed_answers,
                turns=[_turn(index, turn_row) for index, turn_row in enumerate(turn_rows)],
                open_ticket_id=open_ticket_id,
                last_ticket_id=last_ticket_id,
            )

    def add_turn(
        self, session_id: str, role: TurnRole, text: str, payload: dict[str, Any] | None = None
    ) -> Turn:
        if role not in TURN_ROLES:
            raise InputError(
                source="turn", problem=f"role must be one of {', '.join(TURN_ROLES)}, not {role!r}"
            )
        stored_payload = None if payload is None else _as_json(payload, "turn payload")
        with self._db.transaction(write=True) as db:
            session_row = self._session_row(db, session_id)
            return self._append_turn(db, session_row, role, text, stored_payload)

    def set_vehicle(self, session_id: str, vehicle: Vehicle) -> None:
        with self._db.transaction(write=True) as db:
            row = self._session_row(db, session_id)
            row.vehicle_make = vehicle.make
            row.vehicle_model = vehicle.model
            row.vehicle_year = vehicle.year
            row.vehicle_vin = vehicle.vin
            row.updated_at = utc_now()

    def record_outcome(self, session_id: str, answered: bool) -> int:
        with self._db.transaction(write=True) as db:
            row = self._session_row(db, session_id)
            row.failed_answers = 0 if answered else row.failed_answers + 1
            row.updated_at = utc_now()
            return row.failed_answers

    def set_state(self, session_id: str, state: EscalationState) -> None:
        with self._db.transaction(write=True) as db:
            row = self._session_row(db, session_id)
            row.state = EscalationState(state)
            row.updated_at = utc_now()

    # Tickets

    def open_ticket(self, draft: TicketDraft, *, reuse_open: bool = False) -> Ticket:
        transcript = _as_json(list(draft.transcript), "ticket transcript")
        passages = _as_json(list(draft.passages), "ticket passages")
        if not draft.reason.strip():
            raise InputError(source="ticket reason", problem="is empty; give a code like 'safety'")
        now = utc_now()
        with self._db.transaction(write=True) as db:
            session_row = self._session_row(db, draft.session_id)
            already_open = db.scalar(
                select(func.max(_TicketRow.id)).where(
                    _TicketRow.session_id == draft.session_id,
                    _TicketRow.state != EscalationState.RESOLVED,
                )
            )
            if already_open is not None and reuse_open:
                return _ticket(db.get_one(_TicketRow, already_open))
            if already_open is not None:
                raise InputError(
                    source="ticket",
                    problem=(
                        f"session {draft.session_id} already has open ticket "
                        f"{ticket_reference(already_open)}; the asker's new turns reach it "
                        "through the session, or resolve it before opening another"
                    ),
                )
            vehicle = draft.vehicle
            row = _TicketRow(
                session_id=draft.session_id,
                channel=Channel(draft.channel),
                reason=draft.reason.strip(),
                severity=Severity(draft.severity),
                summary=draft.summary,
                assistant_said=draft.assistant_said,
                vehicle_make=vehicle.make if vehicle else None,
                vehicle_model=vehicle.model if vehicle else None,
                vehicle_year=vehicle.year if vehicle else None,
                vehicle_vin=vehicle.vin if vehicle else None,
                transcript=transcript,
                passages=passages,
                state=EscalationState.WAITING_FOR_HUMAN,
                created_at=now,
                updated_at=now,
            )
            db.add(row)
            session_row.state = EscalationState.WAITING_FOR_HUMAN
            # The failures that led here have been escalated; count afresh from now on.
            session_row.failed_answers = 0
            session_row.updated_at = now
            db.flush()
            return _ticket(row)

    def get_ticket(self, ticket_id: int) -> Ticket | None:
        with self._db.transaction(write=False) as db:
            row = db.get(_TicketRow, ticket_id)
            return None if row is None else _ticket(row)

    def list_tickets(self, state: EscalationState | None = None, limit: int = 100) -> list[Ticket]:
        if limit < 1:
            raise InputError(source="limit", problem=f"must be at least 1, not {limit}")
        severity_rank = case(
            *((_TicketRow.severity == severity, rank) for severity, rank in SEVERITY_RANK.items()),
            else_=len(SEVERITY_RANK),
        )
        query = select(_TicketRow).order_by(severity_rank, _TicketRow.created_at, _TicketRow.id)
        if state is not None:
            query = query.where(_TicketRow.state == EscalationState(state))
        with self._db.transaction(write=False) as db:
            return [_ticket(row) for row in db.scalars(query.limit(limit))]

    def search_tickets(self, text: str, limit: int = 50) -> list[Ticket]:
        text = text.strip()
        if not text:
            raise InputError(source="search", problem="is empty; type a reference, VIN or words")
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        said = select(_TurnRow.session_id).where(_TurnRow.text.ilike(pattern, escape="\\"))
        matches = [
            _TicketRow.summary.ilike(pattern, escape="\\"),
            _TicketRow.resolution_note.ilike(pattern, escape="\\"),
            sql_cast(_TicketRow.notes, Text).ilike(pattern, escape="\\"),
            _TicketRow.vehicle_vin == text.upper(),
            _TicketRow.session_id.in_(said),
        ]
        reference = TICKET_REFERENCE.match(text)
        if reference and len(reference.group(1)) < 19:  # past 2^63 it names no ticket
            matches.append(_TicketRow.id == int(reference.group(1)))
        query = select(_TicketRow).where(or_(*matches))
        with self._db.transaction(write=False) as db:
            rows = db.scalars(query.order_by(_TicketRow.created_at.desc()).limit(limit))
            return [_ticket(row) for row in rows]

    def earlier_tickets(self, ticket: Ticket, limit: int = 5) -> list[Ticket]:
        same_case = [_TicketRow.session_id == ticket.session_id]
        if ticket.vehicle is not None and ticket.vehicle.vin:
            same_case.append(_TicketRow.vehicle_vin == ticket.vehicle.vin)
        query = (
            select(_TicketRow)
            .where(or_(*same_case), _TicketRow.id != ticket.id,
                   _TicketRow.created_at <= ticket.created_at)
            .order_by(_TicketRow.created_at.desc(), _TicketRow.id.desc())
            .limit(limit)
        )  # fmt: skip
        with self._db.transaction(write=False) as db:
            return [_ticket(row) for row in db.scalars(query)]

    def assign(self, ticket_id: int, agent_name: str) -> Ticket:
        if not agent_name.strip():
            raise InputError(source="agent_name", problem="is empty; say who takes the ticket")
        with self._db.transaction(write=True) as db:
            row = self._move_ticket(db, ticket_id, EscalationState.HUMAN)
            row.assignee = agent_name.strip()
            return _ticket(row)

    def resolve(self, ticket_id: int, resolution_note: str) -> Ticket:
        if not resolution_note.strip():
            raise InputError(
                source="resolution_note", problem="is empty; say how the ticket was resolved"
            )
        with self._db.transaction(write=True) as db:
            row = self._move_ticket(db, ticket_id, EscalationState.RESOLVED)
            row.resolution_note = resolution_note.strip()
            return _ticket(row)

    def _move_ticket(self, db: Session, ticket_id: int, state: EscalationState) -> _TicketRow:
        """A checked state change of the ticket; its session follows it."""
        row = self._ticket_row(db, ticket_id)
        _check_transition(row, state)
        now = utc_now()
        row.state = state
        row.updated_at = now
        session_row = self._session_row(db, row.session_id)
        session_row.state = state
        session_row.updated_at = now
        return row

    def add_note(self, ticket_id: int, author: str, text: str) -> Ticket:
        """An internal note on the ticket, for agents only."""
        if not text.strip():
            raise InputError(source="note", problem="is empty; write the note")
        with self._db.transaction(write=True) as db:
            row = self._ticket_row(db, ticket_id)
            now = utc_now()
            entry = {"author": author.strip(), "text": text.strip(), "created_at": now.isoformat()}
            row.notes = [*(row.notes or []), entry]
            row.updated_at = now
            return _ticket(row)

    def add_agent_message(self, ticket_id: int, text: str) -> Turn:
        with self._db.transaction(write=True) as db:
            row = self._ticket_row(db, ticket_id)
            if row.state is EscalationState.RESOLVED:
                raise InputError(
                    source="ticket",
                    problem=f"{ticket_reference(row.id)} is resolved; the asker has moved on",
                )
            row.updated_at = utc_now()
            row.asker_waiting_since = None
            session_row = self._session_row(db, row.session_id)
            return self._append_turn(db, session_row, "agent", text, None)

    def note_asker_message(self, ticket_id: int, *, urgent: bool = False) -> Ticket:
        with self._db.transaction(write=True) as db:
            row = self._ticket_row(db, ticket_id)
            now = utc_now()
            row.asker_waiting_since = row.asker_waiting_since or now
            row.updated_at = now
            if urgent:
                row.severity = Severity.CRITICAL
            return _ticket(row)

    # Feedback

    def add_feedback(
        self,
        session_id: str,
        turn_index: int,
        helpful: bool,
        comment: str | None = None,
        suggestion: str | None = None,
    ) -> Feedback:
        with self._db.transaction(write=True) as db:
            self._session_row(db, session_id)
            turn_row = (
                db.scalars(
                    select(_TurnRow)
                    .where(_TurnRow.session_id == session_id)
                    .order_by(_TurnRow.id)
                    .offset(turn_index)
                    .limit(1)
                ).first()
                if turn_index >= 0
                else None
            )
            if turn_row is None:
                raise InputError(
                    source="feedback",
                    problem=f"session {session_id} has no turn {turn_index} (turns count from 0)",
                )
            if turn_row.role == "user":
                raise InputError(
                    source="feedback",
                    problem=f"turn {turn_index} is the asker's own message; rate a reply",
                )
            row = _FeedbackRow(
                session_id=session_id,
                turn_id=turn_row.id,
                turn_index=turn_index,
                helpful=helpful,
                comment=(comment or "").strip() or None,
                suggestion=(suggestion or "").strip() or None,
                created_at=utc_now(),
            )
            db.add(row)
            db.flush()
            return _feedback(row, turn_row, self._question_before(db, turn_row))

    def list_feedback(self, limit: int = 100) -> list[Feedback]:
        if limit < 1:
            raise InputError(source="limit", problem=f"must be at least 1, not {limit}")
        query = (
            select(_FeedbackRow, _TurnRow)
            .join(_TurnRow, _TurnRow.id == _FeedbackRow.turn_id)
            .order_by(_FeedbackRow.created_at.desc(), _FeedbackRow.id.desc())
            .limit(limit)
        )
        with self._db.transaction(write=False) as db:
            return [
                _feedback(row, turn_row, self._question_before(db, turn_row))
                for row, turn_row in db.execute(query).all()
            ]

    # CSAT

    def add_csat(
        self, session_id: str, ticket_id: int, rating: int, comment: str | None = None
    ) -> CsatRating:
        if not CSAT_LOWEST <= rating <= CSAT_HIGHEST:
            raise InputError(
                source="rating",
                problem=f"must be a whole number from {CSAT_LOWEST} to {CSAT_HIGHEST}, "
                f"not {rating}",
            )
        with self._db.transaction(write=True) as db:
            self._session_row(db, session_id)
            ticket_row = db.get(_TicketRow, ticket_id, with_for_update=True)
            reference = ticket_reference(ticket_id)
            if ticket_row is None or ticket_row.session_id != session_id:
                raise InputError(
                    source="ticket", problem=f"session {session_id} has no ticket {reference}"
                )
            if ticket_row.state is not EscalationState.RESOLVED:
                raise InputError(
                    source="ticket",
                    problem=f"{reference} is {ticket_row.state}; it can be rated once resolved",
                )
            if ticket_row.csat is not None:
                raise InputError(
                    source="ticket", problem=f"{reference} is already rated; a ticket is rated once"
                )
            row = _CsatRow(
                ticket_id=ticket_id,
                session_id=session_id,
                rating=rating,
                comment=(comment or "").strip() or None,
                created_at=utc_now(),
            )
            db.add(row)
            try:
                db.flush()
            except IntegrityError as error:  # another request rated it in between
                raise InputError(
                    source="ticket", problem=f"{reference} is already rated; a ticket is rated once"
                ) from error
            return _csat(row)

    def list_csat(self, limit: int = 100) -> list[CsatRating]:
        if limit < 1:
            raise InputError(source="limit", problem=f"must be at least 1, not {limit}")
        query = (
            select(_CsatRow).order_by(_CsatRow.created_at.desc(), _CsatRow.id.desc()).limit(limit)
        )
        with self._db.transaction(write=False) as db:
            return [_csat(row) for row in db.scalars(query)]

    @staticmethod
    def _question_before(db: Session, turn_row: _TurnRow) -> str:
        question = db.scalar(
            select(_TurnRow.text)
            .where(
                _TurnRow.session_id == turn_row.session_id,
                _TurnRow.id < turn_row.id,
                _TurnRow.role == "user",
            )
            .order_by(_TurnRow.id.desc())
            .limit(1)
        )
        return question or ""

    def list_sessions(
        self, since: datetime | None = None, limit: int = 5000
    ) -> list[ConversationSession]:
        """Sessions updated since `since` (all when None), newest first, with their turns."""
        query = select(_SessionRow.id).order_by(_SessionRow.updated_at.desc()).limit(limit)
        if since is not None:
            query = query.where(_SessionRow.updated_at >= since)
        with self._db.transaction(write=False) as db:
            session_ids = list(db.scalars(query))
        sessions = [self.get_session(session_id) for session_id in session_ids]
        return [session for session in sessions if session is not None]

    # Plumbing

    @staticmethod
    def _session_row(db: Session, session_id: str) -> _SessionRow:
        row = db.get(_SessionRow, session_id, with_for_update=True)
        if row is None:
            raise InputError(
                source="session",
                problem=f"no session {session_id}; start a new one without --session",
            )
        return row

    @staticmethod
    def _ticket_row(db: Session, ticket_id: int) -> _TicketRow:
        row = db.get(_TicketRow, ticket_id, with_for_update=True)
        if row is None:
            raise InputError(source="ticket", problem=f"no ticket {ticket_reference(ticket_id)}")
        return row

    @staticmethod
    def _append_turn(
        db: Session,
        session_row: _SessionRow,
        role: TurnRole,
        text: str,
        payload: dict[str, Any] | None,
    ) -> Turn:
        index = db.scalar(
            select(func.count()).select_from(_TurnRow).where(_TurnRow.session_id == session_row.id)
        )
        now = utc_now()
        row = _TurnRow(
            session_id=session_row.id, role=role, text=text, payload=payload, created_at=now
        )
        db.add(row)
        session_row.updated_at = now
        db.flush()
        return _turn(index or 0, row)


def _create_tables(connection: Connection) -> None:
    _Base.metadata.create_all(connection)
    _add_missing_columns(connection)


def _add_missing_columns(connection: Connection) -> None:
    """Columns added in later versions, added to a database an earlier version created.

    Only nullable (or JSON-defaulted) columns are ever added, so old rows stay valid.
    """
    inspector = inspect(connection)
    for table in _Base.metadata.sorted_tables:
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            kind = column.type.compile(dialect=connection.dialect)
            connection.exec_driver_sql(
                f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}'
            )


def _json_default(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _as_json(value: Any, source: str) -> Any:
    """A JSON-only copy: later changes to the caller's lists cannot reach the stored record."""
    try:
        return json.loads(json.dumps(value, default=_json_default, allow_nan=False))
    except (TypeError, ValueError) as error:
        raise InputError(source=source, problem=f"cannot be stored as JSON: {error}") from error


def _check_transition(row: _TicketRow, target: EscalationState) -> None:
    if target in TICKET_TRANSITIONS[row.state]:
        return
    allowed = ", ".join(
        f"{source} -> {destination}"
        for source, destinations in TICKET_TRANSITIONS.items()
        for destination in sorted(destinations)
    )
    raise InputError(
        source="ticket",
        problem=(
            f"{ticket_reference(row.id)} is {row.state} and cannot move to {target}; "
            f"allowed transitions: {allowed}"
        ),
    )


def _vehicle(
    make: str | None, model: str | None, year: int | None, vin: str | None
) -> Vehicle | None:
    if make is None and model is None and year is None and vin is None:
        return None
    return Vehicle(make=make, model=model, year=year, vin=vin)


def _turn(index: int, row: _TurnRow) -> Turn:
    return Turn(
        index=index,
        role=cast(TurnRole, row.role),
        text=row.text,
        created_at=row.created_at,
        payload=row.payload,
    )


def _ticket(row: _TicketRow) -> Ticket:
    return Ticket(
        id=row.id,
        session_id=row.session_id,
        channel=row.channel,
        reason=row.reason,
        severity=row.severity,
        summary=row.summary,
        assistant_said=row.assistant_said,
        vehicle=_vehicle(row.vehicle_make, row.vehicle_model, row.vehicle_year, row.vehicle_vin),
        transcript=list(row.transcript),
        passages=list(row.passages),
        state=row.state,
        assignee=row.assignee,
        resolution_note=row.resolution_note,
        created_at=row.created_at,
        updated_at=row.updated_at,
        notes=list(row.notes or []),
        asker_waiting_since=row.asker_waiting_since,
        csat=None if row.csat is None else _csat(row.csat),
    )


def _csat(row: _CsatRow) -> CsatRating:
    return CsatRating(
        id=row.id,
        ticket_id=row.ticket_id,
        session_id=row.session_id,
        rating=row.rating,
        comment=row.comment,
        created_at=row.created_at,
    )


def _feedback(row: _FeedbackRow, turn_row: _TurnRow, question: str) -> Feedback:
    return Feedback(
        id=row.id,
        session_id=row.session_id,
        turn_index=row.turn_index,
        helpful=row.helpful,
        comment=row.comment,
        reply_text=turn_row.text,
        created_at=row.created_at,
        suggestion=row.suggestion,
        question=question,
        citations=list((turn_row.payload or {}).get("citations", [])),
    )
