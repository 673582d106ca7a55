"""Answer feedback (thumbs up or down on one reply) and CSAT (a driver's 1-5 rating of how a
person resolved their ticket), kept in the desk's SQL database.

    feedback = open_desk(url).feedback
    feedback.add_feedback(session_id, turn_index=1, helpful=False, comment="wrong model year")
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from assistant.desk.database import Database, record_from_row, utc_now
from assistant.desk.sessions import session_row
from assistant.desk.tables import CsatRow, FeedbackRow, TicketRow, TurnRow
from assistant.desk.tickets import csat_from_row
from assistant.records import CsatRating, EscalationState, ticket_reference
from knowledge.errors import InputError

CSAT_LOWEST = 1
CSAT_HIGHEST = 5
"""A driver rates how a resolved ticket was handled from 1 (poor) to 5 (great)."""


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


class SqlFeedbackStore:
    """Feedback and CSAT on SQLAlchemy; both are kept with the turn or ticket they rate."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def add_feedback(
        self,
        session_id: str,
        turn_index: int,
        helpful: bool,
        comment: str | None = None,
        suggestion: str | None = None,
    ) -> Feedback:
        with self._db.transaction(write=True) as db:
            session_row(db, session_id)
            turn_row = (
                db.scalars(
                    select(TurnRow)
                    .where(TurnRow.session_id == session_id)
                    .order_by(TurnRow.id)
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
            row = FeedbackRow(
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
            select(FeedbackRow, TurnRow)
            .join(TurnRow, TurnRow.id == FeedbackRow.turn_id)
            .order_by(FeedbackRow.created_at.desc(), FeedbackRow.id.desc())
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
            session_row(db, session_id)
            ticket_row = db.get(TicketRow, ticket_id, with_for_update=True)
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
            row = CsatRow(
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
            return csat_from_row(row)

    def list_csat(self, limit: int = 100) -> list[CsatRating]:
        if limit < 1:
            raise InputError(source="limit", problem=f"must be at least 1, not {limit}")
        query = select(CsatRow).order_by(CsatRow.created_at.desc(), CsatRow.id.desc()).limit(limit)
        with self._db.transaction(write=False) as db:
            return [csat_from_row(row) for row in db.scalars(query)]

    @staticmethod
    def _question_before(db: Session, turn_row: TurnRow) -> str:
        question = db.scalar(
            select(TurnRow.text)
            .where(
                TurnRow.session_id == turn_row.session_id,
                TurnRow.id < turn_row.id,
                TurnRow.role == "user",
            )
            .order_by(TurnRow.id.desc())
            .limit(1)
        )
        return question or ""


def _feedback(row: FeedbackRow, turn_row: TurnRow, question: str) -> Feedback:
    return record_from_row(
        Feedback,
        row,
        reply_text=turn_row.text,
        question=question,
        citations=list((turn_row.payload or {}).get("citations", [])),
    )
