"""The desk database's schema, kept by Alembic and brought to head when a store is first used.

Every desk table (conversations, tickets, feedback, CSAT, agent accounts and sessions) is in
`DeskBase.metadata`; `versions/` holds its history, oldest first. To change a table:

1. edit its row class (`assistant/desk/tables.py`, `assistant/desk/accounts.py`);
2. from the project root, against a database at the current head (`glovebox db upgrade`):
   `alembic -c assistant/desk/migrations/alembic.ini revision --autogenerate -m "tickets: add X"`
   (or `revision -m ...` and write `upgrade()` by hand), and read what it wrote;
3. `pytest tests/assistant/desk/test_migrations.py`: the models and the migrations must agree
   on SQLite and PostgreSQL.

Only add nullable columns (or ones with a server default) to tables that hold rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection

from knowledge.errors import StageError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_FOLDER = Path(__file__).resolve().parent

MIGRATION_LOCK_KEY = 0x676C6F7665  # "glove": one fixed pg_advisory lock id for Glovebox's DDL
"""Two PostgreSQL processes starting at once: the second waits, then finds the schema at head."""


def desk_metadata() -> MetaData:
    """The metadata of every desk table, account tables included."""
    from assistant.desk.tables import DeskBase

    return DeskBase.metadata


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_FOLDER))
    return config


def head_revision() -> str:
    """The newest revision in versions/."""
    from alembic.script import ScriptDirectory

    return str(ScriptDirectory.from_config(alembic_config()).get_current_head())


def schema_revision(connection: Connection) -> str:
    """The revision the database is at ("none" before the first migration)."""
    from alembic.runtime.migration import MigrationContext

    heads = MigrationContext.configure(connection).get_current_heads()
    return ", ".join(heads) or "none"


def upgrade_to_head(connection: Connection) -> None:
    """Bring the database on `connection` (inside a write transaction) to the newest revision.

    Under a lock: PostgreSQL's advisory lock held to the end of the transaction; on SQLite the
    caller's BEGIN IMMEDIATE already holds the write lock. A database made before Alembic
    (tables, no alembic_version) is adopted by the first revision, which keeps its rows.
    """
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    config = alembic_config()
    script = ScriptDirectory.from_config(config)
    current = set(MigrationContext.configure(connection).get_current_heads())
    if current == set(script.get_heads()):
        return
    known = {revision.revision for revision in script.walk_revisions()}
    unknown = sorted(current - known)
    if unknown:
        raise StageError(
            "migrations",
            f"the database is at schema revision {', '.join(unknown)}, which this Glovebox does "
            "not know: a newer version migrated it; run that version, or restore a backup "
            "made before the upgrade",
        )
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
