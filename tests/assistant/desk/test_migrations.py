"""The desk schema under Alembic: new databases, databases made before Alembic, and the models
and the migrations agreeing, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, text

from assistant.desk.database import Database
from assistant.desk.migrations import desk_metadata, head_revision, upgrade_to_head
from assistant.desk.stores import open_desk
from assistant.records import Channel
from knowledge.errors import StageError

# What Glovebox's create_all made before Alembic (its DDL, from the code of that time), as an
# earlier version left it: no tickets.notes, no feedback.suggestion, no csat_ratings table.
PRE_ALEMBIC_DDL = [
    """CREATE TABLE conversation_sessions (id VARCHAR(32) NOT NULL, channel VARCHAR(32) NOT NULL,
    created_at {timestamp} NOT NULL, updated_at {timestamp} NOT NULL, state VARCHAR(32) NOT NULL,
    failed_answers INTEGER NOT NULL, vehicle_make VARCHAR(80), vehicle_model VARCHAR(80),
    vehicle_year INTEGER, vehicle_vin VARCHAR(32), PRIMARY KEY (id))""",
    """CREATE TABLE conversation_turns (id {serial} NOT NULL, session_id VARCHAR(32) NOT NULL,
    role VARCHAR(16) NOT NULL, text TEXT NOT NULL, payload JSON, created_at {timestamp} NOT NULL,
    PRIMARY KEY (id), FOREIGN KEY(session_id) REFERENCES conversation_sessions (id))""",
    "CREATE INDEX ix_conversation_turns_session_id ON conversation_turns (session_id)",
    """CREATE TABLE tickets (id {serial} NOT NULL, session_id VARCHAR(32) NOT NULL,
    channel VARCHAR(32) NOT NULL, reason VARCHAR(64) NOT NULL, severity VARCHAR(32) NOT NULL,
    summary TEXT NOT NULL, assistant_said TEXT NOT NULL, vehicle_make VARCHAR(80),
    vehicle_model VARCHAR(80), vehicle_year INTEGER, vehicle_vin VARCHAR(32),
    transcript JSON NOT NULL, passages JSON NOT NULL, state VARCHAR(32) NOT NULL,
    assignee VARCHAR(120), resolution_note TEXT, asker_waiting_since {timestamp},
    created_at {timestamp} NOT NULL, updated_at {timestamp} NOT NULL, PRIMARY KEY (id),
    FOREIGN KEY(session_id) REFERENCES conversation_sessions (id))""",
    "CREATE INDEX ix_tickets_vehicle_vin ON tickets (vehicle_vin)",
    "CREATE INDEX ix_tickets_session_id ON tickets (session_id)",
    "CREATE INDEX ix_tickets_state ON tickets (state)",
    """CREATE TABLE feedback (id {serial} NOT NULL, session_id VARCHAR(32) NOT NULL,
    turn_id INTEGER NOT NULL, turn_index INTEGER NOT NULL, helpful BOOLEAN NOT NULL,
    comment TEXT, created_at {timestamp} NOT NULL, PRIMARY KEY (id),
    FOREIGN KEY(session_id) REFERENCES conversation_sessions (id),
    FOREIGN KEY(turn_id) REFERENCES conversation_turns (id))""",
    "CREATE INDEX ix_feedback_session_id ON feedback (session_id)",
    """CREATE TABLE agent_accounts (id {serial} NOT NULL, username VARCHAR(64) NOT NULL,
    display_name VARCHAR(120), password_hash VARCHAR(255) NOT NULL, active BOOLEAN NOT NULL,
    created_at {timestamp} NOT NULL, last_sign_in_at {timestamp}, PRIMARY KEY (id),
    UNIQUE (username))""",
    """CREATE TABLE agent_sessions (token_sha256 VARCHAR(64) NOT NULL,
    account_id INTEGER NOT NULL, created_at {timestamp} NOT NULL,
    expires_at {timestamp} NOT NULL, revoked_at {timestamp}, PRIMARY KEY (token_sha256),
    FOREIGN KEY(account_id) REFERENCES agent_accounts (id))""",
    "CREATE INDEX ix_agent_sessions_account_id ON agent_sessions (account_id)",
    "CREATE INDEX ix_agent_sessions_expires_at ON agent_sessions (expires_at)",
]
SESSION = "a" * 32
PASSWORD = "correct horse battery"


def make_pre_alembic_database(database_url: str) -> None:
    """A database as an earlier Glovebox left it, holding a conversation, a ticket, an agent."""
    engine = create_engine(database_url)
    postgres = engine.dialect.name == "postgresql"
    types = {"serial": "SERIAL" if postgres else "INTEGER",
             "timestamp": "TIMESTAMP WITHOUT TIME ZONE" if postgres else "DATETIME"}  # fmt: skip
    when = datetime(2025, 3, 1, 9, 0)
    with engine.begin() as connection:
        for statement in PRE_ALEMBIC_DDL:
            connection.execute(text(statement.format(**types)))
        connection.execute(
            text("INSERT INTO conversation_sessions VALUES (:id, 'driver', :at, :at, "
                 "'waiting_for_human', 0, NULL, NULL, NULL, NULL)"),
            {"id": SESSION, "at": when},
        )  # fmt: skip
        connection.execute(
            text("INSERT INTO conversation_turns (session_id, role, text, created_at) "
                 "VALUES (:id, 'user', 'My brake pedal sinks', :at)"),
            {"id": SESSION, "at": when},
        )  # fmt: skip
        connection.execute(
            text("INSERT INTO tickets (session_id, channel, reason, severity, summary, "
                 "assistant_said, transcript, passages, state, created_at, updated_at) VALUES "
                 "(:id, 'driver', 'safety', 'high', 'Brake pedal sinks.', 'Stop driving.', "
                 "'[]', '[]', 'waiting_for_human', :at, :at)"),
            {"id": SESSION, "at": when},
        )  # fmt: skip
        connection.execute(
            text("INSERT INTO agent_accounts (username, password_hash, active, created_at) "
                 "VALUES ('dana', :hash, :active, :at)"),
            {"hash": PasswordHasher().hash(PASSWORD), "active": True, "at": when},
        )  # fmt: skip
    engine.dispose()


def test_a_database_made_before_alembic_keeps_its_rows_and_gains_what_it_lacked(
    database_url: str,
) -> None:
    make_pre_alembic_database(database_url)

    desk = open_desk(database_url)
    try:
        [ticket] = desk.tickets.list_tickets()
        assert ticket.summary == "Brake pedal sinks." and ticket.notes == []
        session = desk.sessions.get_session(SESSION)
        assert session is not None and session.turns[0].text == "My brake pedal sinks"
        assert desk.accounts.authenticate("dana", PASSWORD) is not None
        assert desk.tickets.add_note(ticket.id, "dana", "called back").notes[0]["author"] == "dana"
        desk.tickets.assign(ticket.id, "Dana")
        desk.tickets.resolve(ticket.id, "Bled the brakes.")
        assert desk.feedback.add_csat(SESSION, ticket.id, 5).rating == 5  # the new table
        reply = desk.sessions.add_turn(SESSION, "assistant", "Glad to help.")
        desk.feedback.add_feedback(SESSION, reply.index, helpful=True, suggestion="Say more.")
        assert stored_revision(database_url) == head_revision()
    finally:
        desk.close()


def stored_revision(database_url: str) -> str:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return str(connection.execute(text("SELECT version_num FROM alembic_version")).one()[0])
    finally:
        engine.dispose()


def test_the_models_and_the_migrations_agree(database_url: str) -> None:
    """A new revision is missing when this fails: see assistant/desk/migrations/__init__.py."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            upgrade_to_head(connection)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, desk_metadata()) == []
    finally:
        engine.dispose()


def test_workers_starting_at_once_migrate_once_and_all_work(database_url: str) -> None:
    """Without the migration lock, PostgreSQL's second CREATE TABLE fails on its catalogue."""
    desks = [open_desk(database_url) for _ in range(4)]
    failures: list[BaseException] = []
    start = threading.Barrier(len(desks))

    def first_use(index: int) -> None:
        try:
            start.wait()
            desks[index].sessions.create_session(Channel.DRIVER)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=first_use, args=(index,)) for index in range(len(desks))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert failures == []
        assert len(desks[0].sessions.list_sessions()) == len(desks)
        assert stored_revision(database_url) == head_revision()
    finally:
        for desk in desks:
            desk.close()


def test_a_database_from_a_newer_glovebox_is_refused_and_left_alone(database_url: str) -> None:
    open_desk(database_url).sessions.create_session(Channel.DRIVER)
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    engine.dispose()

    desk = Database(database_url, stage="tickets", create_tables=upgrade_to_head)
    with (
        pytest.raises(StageError, match=r"9999_from_the_future.*a newer version migrated it"),
        desk.transaction(write=False),
    ):
        pass
    assert stored_revision(database_url) == "9999_from_the_future"
