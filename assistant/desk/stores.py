"""The desk's stores on one SQL database: conversations, tickets, feedback and agent accounts.

desk = open_desk("sqlite:///.glovebox/glovebox.sqlite3")
session_id = desk.sessions.create_session(Channel.DRIVER)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from assistant.desk.accounts import SqlAccountStore
from assistant.desk.database import Database
from assistant.desk.feedback import SqlFeedbackStore
from assistant.desk.migrations import upgrade_to_head
from assistant.desk.sessions import SqlSessionStore
from assistant.desk.tickets import DEFAULT_MAX_OPEN_PER_CLIENT, SqlTicketStore


class DeskListings(Protocol):
    """The desk's stores, as `DeskStores` and the server's `Services` both hold them."""

    @property
    def sessions(self) -> SqlSessionStore: ...

    @property
    def tickets(self) -> SqlTicketStore: ...

    @property
    def feedback(self) -> SqlFeedbackStore: ...


@dataclass(frozen=True)
class DeskStores:
    sessions: SqlSessionStore
    tickets: SqlTicketStore
    feedback: SqlFeedbackStore
    accounts: SqlAccountStore
    database: Database

    def close(self) -> None:
        """Release the connections; the stores can still be used (they reconnect)."""
        self.database.close()
        self.accounts.close()


def open_desk(
    database_url: str, *, max_open_tickets_per_client: int = DEFAULT_MAX_OPEN_PER_CLIENT
) -> DeskStores:
    """The stores on `database_url`; its schema is migrated to this version's on first use."""
    database = Database(database_url, stage="tickets", create_tables=upgrade_to_head)
    return DeskStores(
        sessions=SqlSessionStore(database),
        tickets=SqlTicketStore(database, max_open_per_client=max_open_tickets_per_client),
        feedback=SqlFeedbackStore(database),
        accounts=SqlAccountStore(database_url),
        database=database,
    )
