"""`glovebox backup` and `restore` on a real SQLite database and a real embedded Chroma store."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from assistant.backup import restore_backup, take_backup
from assistant.backup.database import copy_tables, table_counts
from assistant.desk.stores import open_desk
from assistant.records import Channel
from ingest.sync import find_inconsistencies
from knowledge.errors import ConfigurationError, InputError, StageError
from knowledge.settings import GloveboxSettings
from knowledge.store import list_knowledge_bases, make_chroma_client
from knowledge.vector_index import check_vector_index
from tests.assistant.desk.test_stores import draft_for
from tests.conftest import PostgresCluster
from tests.knowledge.test_integrity import RECORDS, reopen, write_records

AGENT = ("ana", "correct-horse-42")


def serving_home(settings: GloveboxSettings) -> None:
    """A home as a server leaves it: an agent, a ticket and a knowledge base."""
    write_records(settings)
    desk = open_desk(settings.resolved_database_url)
    desk.accounts.add_agent(*AGENT)
    desk.tickets.open_ticket(draft_for(desk, desk.sessions.create_session(Channel.DRIVER)))
    desk.close()  # as the server stops: the write-ahead log is checkpointed into the file


def write_tickets_until(
    settings: GloveboxSettings, writing: threading.Event, stop: threading.Event
) -> None:
    desk = open_desk(settings.resolved_database_url)
    while not stop.is_set():
        desk.tickets.open_ticket(draft_for(desk, desk.sessions.create_session(Channel.DRIVER)))
        writing.set()


@pytest.fixture
def backup_while_writing(settings: GloveboxSettings, tmp_path: Path) -> tuple[Path, int]:
    """A backup taken while another thread opens tickets; the tickets it holds."""
    serving_home(settings)
    writing, stop = threading.Event(), threading.Event()
    writer = threading.Thread(target=write_tickets_until, args=(settings, writing, stop))
    writer.start()
    try:
        assert writing.wait(timeout=30)
        manifest = take_backup(settings, tmp_path / "backup")
    finally:
        stop.set()
        writer.join()
    assert open_desk(settings.resolved_database_url).tickets.list_tickets(limit=10_000)
    return tmp_path / "backup", manifest["database"]["tables"]["tickets"]


def test_a_backup_taken_while_tickets_are_written_restores_whole_into_a_new_home(
    backup_while_writing: tuple[Path, int], tmp_path: Path
) -> None:
    backup, tickets_backed_up = backup_while_writing
    fresh = GloveboxSettings(home=tmp_path / "fresh-home")

    report = restore_backup(fresh, backup, force=False)

    desk = open_desk(fresh.resolved_database_url)
    tickets = desk.tickets.list_tickets(limit=10_000)
    assert len(tickets) == tickets_backed_up == report.tables["tickets"] >= 2
    assert sorted(ticket.id for ticket in tickets) == list(range(1, tickets_backed_up + 1))
    assert desk.accounts.authenticate(*AGENT) is not None
    store = reopen(fresh)
    assert report.knowledge_bases == {"default": RECORDS} and store.count() == RECORDS
    assert check_vector_index(store, fresh.chroma_path).problems == []
    assert find_inconsistencies(store) == []


def test_restore_refuses_a_home_holding_data_unless_forced(
    backup_while_writing: tuple[Path, int], settings: GloveboxSettings
) -> None:
    backup, tickets_backed_up = backup_while_writing
    with pytest.raises(ConfigurationError, match=r"the database, default .* --force"):
        restore_backup(settings, backup, force=False)

    restore_backup(settings, backup, force=True)

    tickets = open_desk(settings.resolved_database_url).tickets.list_tickets(limit=10_000)
    assert len(tickets) == tickets_backed_up
    assert list(settings.home.glob("glovebox.sqlite3.replaced-*"))  # moved aside, not deleted


@pytest.mark.parametrize("damage", ["knowledge/default.jsonl", "database.sqlite3", "manifest.json"])
def test_an_incomplete_backup_is_refused_before_anything_changes(
    backup_while_writing: tuple[Path, int], tmp_path: Path, damage: str
) -> None:
    backup, _ = backup_while_writing
    damaged = backup / damage
    damaged.write_bytes(damaged.read_bytes()[: damaged.stat().st_size // 2])
    fresh = GloveboxSettings(home=tmp_path / "fresh-home")

    with pytest.raises(InputError, match=str(damaged)):
        restore_backup(fresh, backup, force=False)

    assert not (fresh.home / "glovebox.sqlite3").exists()
    assert list_knowledge_bases(make_chroma_client(fresh)) == []


def test_a_backup_goes_into_a_new_or_empty_folder_only(
    settings: GloveboxSettings, tmp_path: Path
) -> None:
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not empty"):
        take_backup(settings, tmp_path / "used")


def test_the_table_copy_for_other_engines_copies_every_row(
    settings: GloveboxSettings, tmp_path: Path
) -> None:
    """The path a PostgreSQL database takes (copy_tables through SQLAlchemy), run on SQLite."""
    serving_home(settings)
    copy = f"sqlite:///{tmp_path / 'copy.sqlite3'}"

    copy_tables(settings.resolved_database_url, copy)

    assert table_counts(copy) == table_counts(settings.resolved_database_url)
    assert open_desk(copy).accounts.authenticate(*AGENT) is not None


def test_a_home_never_served_backs_up_without_creating_its_database(
    settings: GloveboxSettings, tmp_path: Path
) -> None:
    write_records(settings)
    manifest = take_backup(settings, tmp_path / "backup")

    assert manifest["database"]["tables"] == {}
    assert not (settings.home / "glovebox.sqlite3").exists()
    restore_backup(GloveboxSettings(home=tmp_path / "fresh-home"), tmp_path / "backup", force=False)


def test_a_damaged_database_is_not_backed_up(settings: GloveboxSettings, tmp_path: Path) -> None:
    serving_home(settings)
    database = settings.home / "glovebox.sqlite3"
    database.write_bytes(b"")

    with pytest.raises(StageError, match="0 bytes"):
        take_backup(settings, tmp_path / "backup")


def test_a_postgresql_desk_backs_up_and_restores_into_another_postgresql_database(
    settings: GloveboxSettings, postgres_cluster: PostgresCluster, tmp_path: Path
) -> None:
    served = settings.model_copy(update={"database_url": postgres_cluster.new_database()})
    serving_home(served)
    manifest = take_backup(served, tmp_path / "backup")
    fresh = GloveboxSettings(
        home=tmp_path / "fresh-home", database_url=postgres_cluster.new_database()
    )

    report = restore_backup(fresh, tmp_path / "backup", force=False)

    assert report.tables == manifest["database"]["tables"] and report.tables["tickets"] == 1
    desk = open_desk(fresh.resolved_database_url)
    assert desk.accounts.authenticate(*AGENT) is not None
    # The id sequences moved past the restored rows: the next ticket is not a duplicate.
    opened = desk.tickets.open_ticket(draft_for(desk, desk.sessions.create_session(Channel.DRIVER)))
    assert opened.id == 2
    desk.close()
