"""A damaged desk database is refused with the way back, and never recreated empty."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.desk.stores import DeskStores, open_desk
from assistant.records import Channel
from knowledge.errors import StageError
from tests.assistant.desk.test_stores import draft_for


def desk_with_a_ticket(path: Path) -> DeskStores:
    desk = open_desk(f"sqlite:///{path}")
    desk.accounts.add_agent("ana", "correct-horse-42")
    session_id = desk.sessions.create_session(Channel.DRIVER)
    desk.tickets.open_ticket(draft_for(desk, session_id))
    desk.close()  # the last connection checkpoints the write-ahead log into the file
    return desk


def assert_refused_with_the_way_back(error: pytest.ExceptionInfo[StageError], path: Path) -> None:
    message = str(error.value)
    assert str(path) in message
    assert "glovebox restore" in message and "move it aside" in message


def test_a_file_with_garbage_for_a_header_is_refused_with_the_way_back(tmp_path: Path) -> None:
    path = tmp_path / "glovebox.sqlite3"
    desk_with_a_ticket(path)
    with path.open("r+b") as database:
        database.write(b"this is no longer a database!")
    damaged = path.read_bytes()

    with pytest.raises(StageError) as error:
        open_desk(f"sqlite:///{path}").accounts.list_agents()

    assert_refused_with_the_way_back(error, path)
    assert path.read_bytes() == damaged


def test_an_emptied_file_is_refused_not_recreated(tmp_path: Path) -> None:
    path = tmp_path / "glovebox.sqlite3"
    desk_with_a_ticket(path)
    path.write_bytes(b"")

    with pytest.raises(StageError) as error:
        open_desk(f"sqlite:///{path}").sessions.create_session(Channel.DRIVER)

    assert_refused_with_the_way_back(error, path)
    assert "0 bytes" in str(error.value)
    assert path.stat().st_size == 0


def test_a_missing_file_whose_write_ahead_log_remains_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "glovebox.sqlite3"
    path.with_name(path.name + "-wal").write_bytes(b"\x37\x7f\x06\x82" + b"\0" * 60)

    with pytest.raises(StageError) as error:
        open_desk(f"sqlite:///{path}").accounts.list_agents()

    assert "glovebox.sqlite3-wal" in str(error.value)
    assert not path.exists()


def test_pages_damaged_behind_a_sound_header_are_a_stage_error_naming_the_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "glovebox.sqlite3"
    desk_with_a_ticket(path)
    content = bytearray(path.read_bytes())
    content[100:] = b"\xff" * (len(content) - 100)  # the header stays, every page is garbage
    path.write_bytes(bytes(content))

    with pytest.raises(StageError) as error:
        open_desk(f"sqlite:///{path}").tickets.list_tickets()

    assert_refused_with_the_way_back(error, path)


def test_a_missing_file_is_created_fresh(tmp_path: Path) -> None:
    path = tmp_path / "new" / "glovebox.sqlite3"
    desk = open_desk(f"sqlite:///{path}")

    assert desk.accounts.list_agents() == []
    assert path.read_bytes().startswith(b"SQLite format 3\x00")
