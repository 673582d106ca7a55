"""Alembic's entry point: `upgrade_to_head` passes its connection; the `alembic` command line
opens GLOVEBOX_DATABASE_URL (or the default SQLite file)."""

from __future__ import annotations

from typing import Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection

from assistant.desk.database import UtcDateTime
from assistant.desk.migrations import desk_metadata


def render_item(kind: str, item: object, autogen_context: AutogenContext) -> str | Literal[False]:
    """Autogenerate writes our UtcDateTime as the plain DateTime it stores: revisions must not
    import product code that may change after them."""
    if kind == "type" and isinstance(item, UtcDateTime):
        return "sa.DateTime()"
    return False


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=desk_metadata(),
        render_as_batch=True,  # SQLite alters a table by copying it; batch mode does that
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


given = context.config.attributes.get("connection")
if given is not None:
    run_migrations(given)
else:
    from knowledge.settings import get_settings

    engine = create_engine(get_settings().resolved_database_url)
    with engine.begin() as connection:
        run_migrations(connection)
    engine.dispose()
