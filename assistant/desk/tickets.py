"""Escalation tickets: opened by the assistant, worked and resolved by agents.

tickets = SqlTicketStore(Database(url, stage="desk", create_tables=upgrade_to_head))
ticket = tickets.open_ticket(draft)  # the session is now waiting_for_human
tickets.assign(ticket.id, "Ana")
"""

from __future__ import annotations

from sqlalchemy import Text, case, func, or_, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from assistant.desk.database import Database, record_from_row, utc_now
from assistant.desk.sessions import append_turn, as_json, session_row
from assistant.desk.tables import (
    CsatRow,
    SessionRow,
    TicketRow,
    TurnRow,
    vehicle_columns,
    vehicle_of,
)
from assistant.records import (
    Channel,
    CsatRating,
    EscalationState,
    Severity,
    Ticket,
    TicketDraft,
    TooManyOpenTickets,
    Turn,
    ticket_number,
    ticket_reference,
)
from knowledge.errors import InputError

TICKET_TRANSITIONS: dict[EscalationState, frozenset[EscalationState]] = {
    EscalationState.WAITING_FOR_HUMAN: frozenset({EscalationState.HUMAN}),
    # human -> human is a hand-over from one agent to another.
    EscalationState.HUMAN: frozenset({EscalationState.HUMAN, EscalationState.RESOLVED}),
    EscalationState.RESOLVED: frozenset(),
}

SEVERITY_RANK = {
    Severity.CRITICAL: 0,
    Severity.HIGH: 1,
    Severity.MEDIUM: 2,
    Severity.LOW: 3,
}


DEFAULT_MAX_OPEN_PER_CLIENT = 5
"""Open tickets one driver address may have at once (see `SqlTicketStore`)."""


class SqlTicketStore:
    """`TicketStore` on SQLAlchemy: a session has one open ticket at a time, and the sessions
    of one client (a driver's address) at most `max_open_per_client` between them, so a script
    cannot fill the agents' queue."""

    def __init__(
        self, database: Database, *, max_open_per_client: int = DEFAULT_MAX_OPEN_PER_CLIENT
    ) -> None:
        self._db = database
        self.max_open_per_client = max_open_per_client

    def open_ticket(self, draft: TicketDraft, *, reuse_open: bool = False) -> Ticket:
        transcript = as_json(list(draft.transcript), "ticket transcript")
        passages = as_json(list(draft.passages), "ticket passages")
        if not draft.reason.strip():
            raise InputError(source="ticket reason", problem="is empty; give a code like 'safety'")
        now = utc_now()
        with self._db.transaction(write=True) as db:
            session = session_row(db, draft.session_id)
            already_open = db.scalar(
                select(func.max(TicketRow.id)).where(
                    TicketRow.session_id == draft.session_id,
                    TicketRow.state != EscalationState.RESOLVED,
                )
            )
            if already_open is not None and reuse_open:
                return ticket_from_row(db.get_one(TicketRow, already_open))
            if already_open is not None:
                raise InputError(
                    source="ticket",
                    problem=(
                        f"session {draft.session_id} already has open ticket "
                        f"{ticket_reference(already_open)}; the asker's new turns reach it "
                        "through the session, or resolve it before opening another"
                    ),
                )
            self._check_client_cap(db, session.client_key)
            row = TicketRow(
                session_id=draft.session_id,
                channel=Channel(draft.channel),
                reason=draft.reason.strip(),
                severity=Severity(draft.severity),
                summary=draft.summary,
                assistant_said=draft.assistant_said,
                **vehicle_columns(draft.vehicle),
                transcript=transcript,
                passages=passages,
                state=EscalationState.WAITING_FOR_HUMAN,
                created_at=now,
                updated_at=now,
            )
            db.add(row)
            session.state = EscalationState.WAITING_FOR_HUMAN
            # The failures that led here have been escalated; count afresh from now on.
            session.failed_answers = 0
            session.updated_at = now
            db.flush()
            return ticket_from_row(row)

    def _check_client_cap(self, db: Session, client_key: str | None) -> None:
        """Raises TooManyOpenTickets when the client's sessions hold the most open tickets
        allowed; checked in the transaction that opens the ticket."""
        if client_key is None:
            return
        open_ids = db.scalars(
            select(TicketRow.id)
            .join(SessionRow, SessionRow.id == TicketRow.session_id)
            .where(
                SessionRow.client_key == client_key,
                TicketRow.state != EscalationState.RESOLVED,
            )
            .order_by(TicketRow.id)
        ).all()
        if len(open_ids) >= self.max_open_per_client:
            raise TooManyOpenTickets([ticket_reference(ticket_id) for ticket_id in open_ids])

    def get_ticket(self, ticket_id: int) -> Ticket | None:
        with self._db.transaction(write=False) as db:
            row = db.get(TicketRow, ticket_id)
            return None if row is None else ticket_from_row(row)

    def list_tickets(self, state: EscalationState | None = None, limit: int = 100) -> list[Ticket]:
        if limit < 1:
            raise InputError(source="limit", problem=f"must be at least 1, not {limit}")
        severity_rank = case(
            *((TicketRow.severity == severity, rank) for severity, rank in SEVERITY_RANK.items()),
            else_=len(SEVERITY_RANK),
        )
        query = select(TicketRow).order_by(severity_rank, TicketRow.created_at, TicketRow.id)
        if state is not None:
            query = query.where(TicketRow.state == EscalationState(state))
        with self._db.transaction(write=False) as db:
            return [ticket_from_row(row) for row in db.scalars(query.limit(limit))]

    def search_tickets(self, text: str, limit: int = 50) -> list[Ticket]:
        text = text.strip()
        if not text:
            raise InputError(source="search", problem="is empty; type a reference, VIN or words")
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        said = select(TurnRow.session_id).where(TurnRow.text.ilike(pattern, escape="\\"))
        matches = [
            TicketRow.summary.ilike(pattern, escape="\\"),
            TicketRow.resolution_note.ilike(pattern, escape="\\"),
            sql_cast(TicketRow.notes, Text).ilike(pattern, escape="\\"),
            TicketRow.vehicle_vin == text.upper(),
            TicketRow.session_id.in_(said),
        ]
        named = ticket_number(text)
        if named is not None:
            matches.append(TicketRow.id == named)
        query = select(TicketRow).where(or_(*matches))
        with self._db.transaction(write=False) as db:
            rows = db.scalars(query.order_by(TicketRow.created_at.desc()).limit(limit))
            return [ticket_from_row(row) for row in rows]

    def earlier_tickets(self, ticket: Ticket, limit: int = 5) -> list[Ticket]:
        same_case = [TicketRow.session_id == ticket.session_id]
        if ticket.vehicle is not None and ticket.vehicle.vin:
            same_case.append(TicketRow.vehicle_vin == ticket.vehicle.vin)
        query = (
            select(TicketRow)
            .where(or_(*same_case), TicketRow.id != ticket.id,
                   TicketRow.created_at <= ticket.created_at)
            .order_by(TicketRow.created_at.desc(), TicketRow.id.desc())
            .limit(limit)
        )  # fmt: skip
        with self._db.transaction(write=False) as db:
            return [ticket_from_row(row) for row in db.scalars(query)]

    def assign(self, ticket_id: int, agent_name: str) -> Ticket:
        if not agent_name.strip():
            raise InputError(source="agent_name", problem="is empty; say who takes the ticket")
        with self._db.transaction(write=True) as db:
            row = self._move_ticket(db, ticket_id, EscalationState.HUMAN)
            row.assignee = agent_name.strip()
            return ticket_from_row(row)

    def resolve(self, ticket_id: int, resolution_note: str) -> Ticket:
        if not resolution_note.strip():
            raise InputError(
                source="resolution_note", problem="is empty; say how the ticket was resolved"
            )
        with self._db.transaction(write=True) as db:
            row = self._move_ticket(db, ticket_id, EscalationState.RESOLVED)
            row.resolution_note = resolution_note.strip()
            return ticket_from_row(row)

    def _move_ticket(self, db: Session, ticket_id: int, state: EscalationState) -> TicketRow:
        """A checked state change of the ticket; its session follows it."""
        row = self._ticket_row(db, ticket_id)
        _check_transition(row, state)
        now = utc_now()
        row.state = state
        row.updated_at = now
        session = session_row(db, row.session_id)
        session.state = state
        session.updated_at = now
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
            return ticket_from_row(row)

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
            return append_turn(db, session_row(db, row.session_id), "agent", text, None)

    def note_asker_message(self, ticket_id: int, *, urgent: bool = False) -> Ticket:
        with self._db.transaction(write=True) as db:
            row = self._ticket_row(db, ticket_id)
            now = utc_now()
            row.asker_waiting_since = row.asker_waiting_since or now
            row.updated_at = now
            if urgent:
                row.severity = Severity.CRITICAL
            return ticket_from_row(row)

    @staticmethod
    def _ticket_row(db: Session, ticket_id: int) -> TicketRow:
        row = db.get(TicketRow, ticket_id, with_for_update=True)
        if row is None:
            raise InputError(source="ticket", problem=f"no ticket {ticket_reference(ticket_id)}")
        return row


def ticket_from_row(row: TicketRow) -> Ticket:
    return record_from_row(
        Ticket,
        row,
        vehicle=vehicle_of(row),
        transcript=list(row.transcript),
        passages=list(row.passages),
        notes=list(row.notes or []),
        csat=None if row.csat is None else csat_from_row(row.csat),
    )


def csat_from_row(row: CsatRow) -> CsatRating:
    return record_from_row(CsatRating, row)


def _check_transition(row: TicketRow, target: EscalationState) -> None:
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
