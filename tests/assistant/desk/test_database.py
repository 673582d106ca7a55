"""The one recipe both SQL stores open their database with."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection

from assistant.desk.database import Database
from knowledge.errors import StageError


def test_tables_are_created_once_on_first_use_and_sqlite_runs_in_wal(tmp_path: Path) -> None:
    created: list[int] = []

    def create_tables(connection: Connection) -> None:
        created.append(1)
        connection.execute(text("CREATE TABLE IF NOT EXISTS notes (body TEXT)"))

    database = Database(
        f"sqlite:///{tmp_path}/nested/glovebox.sqlite3", stage="notes", create_tables=create_tables
    )
    assert created == []
    with database.transaction(write=True) as session:
        session.execute(text("INSERT INTO notes VALUES ('kept')"))
    with database.transaction(write=False) as session:
        assert session.execute(text("SELECT body FROM notes")).scalar_one() == "kept"
        assert session.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
    assert created == [1]


def test_a_failed_write_is_rolled_back_and_named_for_its_stage(tmp_path: Path) -> None:
    database = Database(
        f"sqlite:///{tmp_path}/glovebox.sqlite3",
        stage="notes",
        create_tables=lambda connection: connection.execute(text("CREATE TABLE notes (b TEXT)")),
    )
    with pytest.raises(StageError, match="notes"), database.transaction(write=True) as session:
        session.execute(text("INSERT INTO notes VALUES ('lost')"))
        session.execute(text("INSERT INTO missing_table VALUES (1)"))
    with database.transaction(write=False) as session:
        assert session.execute(text("SELECT count(*) FROM notes")).scalar_one() == 0


def test_engines_opening_a_new_sqlite_file_at_once_all_get_it(tmp_path: Path) -> None:
    """Both switch the new file to WAL; SQLite refused the loser at once ("database is
    locked") about one round in twenty. Forty rounds of four."""
    import threading

    failures: list[BaseException] = []
    for round_number in range(40):
        url = f"sqlite:///{tmp_path}/round-{round_number}.sqlite3"
        databases = [
            Database(url, stage="notes", create_tables=lambda connection: connection.execute(
                text("CREATE TABLE IF NOT EXISTS notes (body TEXT)")))
            for _ in range(4)
        ]  # fmt: skip
        start = threading.Barrier(len(databases))

        def first_use(database: Database, start: threading.Barrier) -> None:
            try:
                start.wait()
                with database.transaction(write=True) as session:
                    session.execute(text("INSERT INTO notes VALUES ('here')"))
            except BaseException as error:
                failures.append(error)

        threads = [threading.Thread(target=first_use, args=(db, start)) for db in databases]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for database in databases:
            database.close()
    assert failures == []
