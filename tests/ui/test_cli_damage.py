"""Damaged state as a user meets it: one message naming the file and the way back, no traceback,
a non-zero exit from the CLI and a 503 in the one error shape from the server."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.desk.accounts import SqlAccountStore
from ingest.sync import build_ingest_job
from knowledge.settings import GloveboxSettings
from tests.ingest.corpus import write_corpus
from tests.ui.conftest import AGENT
from ui.cli import EXIT_FAILED, app


def damage_header(path: Path) -> None:
    with path.open("r+b") as damaged:
        damaged.write(b"garbage where the SQLite header was")


def database_with_an_agent(database_url: str) -> Path:
    accounts = SqlAccountStore(database_url)
    accounts.add_agent(*AGENT)
    accounts.close()
    return Path(database_url.removeprefix("sqlite:///"))


def assert_told_the_way_back(arguments: list[str], damaged_file: Path) -> None:
    result = CliRunner().invoke(app, arguments)

    assert result.exit_code == EXIT_FAILED, result.output
    assert isinstance(result.exception, SystemExit)  # not the DatabaseError itself
    assert "Traceback" not in result.output
    assert result.stderr.startswith("error: ")
    assert str(damaged_file) in result.stderr and "glovebox restore" in result.stderr


def test_agents_list_on_a_damaged_database_names_the_file(settings: GloveboxSettings) -> None:
    path = database_with_an_agent(settings.resolved_database_url)
    damage_header(path)

    assert_told_the_way_back(["agents", "list"], path)


def test_agents_list_refuses_an_emptied_database_and_leaves_it_empty(
    settings: GloveboxSettings,
) -> None:
    path = database_with_an_agent(settings.resolved_database_url)
    path.write_bytes(b"")

    assert_told_the_way_back(["agents", "list"], path)
    assert path.stat().st_size == 0


@pytest.mark.integration
def test_ask_and_serve_on_a_damaged_database_say_what_to_do(
    settings: GloveboxSettings,
    real_embedder,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    build_ingest_job(settings, "default", real_embedder).run([write_corpus(tmp_path / "kb")])
    path = database_with_an_agent(settings.resolved_database_url)
    damage_header(path)

    assert_told_the_way_back(["ask", "How long is the powertrain warranty?"], path)
    assert_told_the_way_back(["serve", "--port", "28611"], path)


@pytest.mark.integration
def test_sign_in_on_a_database_damaged_while_serving_is_a_503(
    sample_kb_home: GloveboxSettings, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient

    from ui.api.dependencies import STATE_ATTRIBUTE
    from ui.server import create_app

    database_url = f"sqlite:///{tmp_path / 'glovebox.sqlite3'}"
    path = database_with_an_agent(database_url)
    settings = sample_kb_home.model_copy(update={"database_url": database_url})
    client = TestClient(create_app(settings, "default", console=False))
    right = {"username": AGENT[0], "password": AGENT[1]}
    assert client.post("/v1/agent/sessions", json=right).status_code == 200

    path.write_bytes(b"\xff" * path.stat().st_size)
    # A connection keeps serving the pages it has cached; the next one reads the damage.
    getattr(client.app.state, STATE_ATTRIBUTE).services.accounts.close()
    refused = client.post("/v1/agent/sessions", json=right)

    assert refused.status_code == 503, refused.text
    assert set(refused.json()) == {"error"}
    assert str(path) in refused.json()["error"]["message"]


@pytest.fixture
def kb_for_the_cli(settings: GloveboxSettings, real_embedder) -> Path:  # type: ignore[no-untyped-def]
    """A knowledge base `kb check` opens with the configured embedder; its HNSW folder."""
    from tests.knowledge.test_integrity import reopen, segment_folder, write_records

    model, dimension = real_embedder.model_name, real_embedder.dimension
    write_records(settings, model=model, dimension=dimension)
    reopen(settings, model=model, dimension=dimension)  # Chroma forgets it, as a new process
    return segment_folder(settings)


@pytest.mark.integration
def test_kb_check_finds_a_truncated_hnsw_file_and_repair_says_what_to_do(
    kb_for_the_cli: Path,
) -> None:
    index_file = kb_for_the_cli / "data_level0.bin"
    index_file.write_bytes(index_file.read_bytes()[:1000])

    checked = CliRunner().invoke(app, ["kb", "check"])
    assert checked.exit_code == EXIT_FAILED, checked.output
    assert "vector index" in checked.stdout and "glovebox kb check --kb default --repair" in (
        checked.stdout
    )
    repaired = CliRunner().invoke(app, ["kb", "check", "--repair"])
    assert repaired.exit_code == EXIT_FAILED and "Traceback" not in repaired.output
    assert "glovebox restore" in repaired.stderr and "glovebox kb drop default" in repaired.stderr


@pytest.mark.integration
def test_kb_check_notices_a_deleted_hnsw_file(kb_for_the_cli: Path) -> None:
    (kb_for_the_cli / "data_level0.bin").unlink()

    checked = CliRunner().invoke(app, ["kb", "check"])
    assert checked.exit_code == EXIT_FAILED and "Traceback" not in checked.output
    assert f"{kb_for_the_cli / 'data_level0.bin'}: missing" in checked.stdout


@pytest.mark.integration
def test_kb_list_and_serve_on_a_damaged_chroma_sqlite3_name_it(settings: GloveboxSettings) -> None:
    from tests.knowledge.test_integrity import reopen, write_records

    write_records(settings)
    reopen(settings)
    path = settings.chroma_path / "chroma.sqlite3"
    damage_header(path)

    assert_told_the_way_back(["kb", "list"], path)
    assert_told_the_way_back(["serve", "--port", "28612"], path)
