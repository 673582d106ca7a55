"""`glovebox backup` and `glovebox restore` as an operator runs them, then `glovebox kb check`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.backup import MANIFEST
from knowledge.settings import GloveboxSettings, get_settings
from tests.assistant.test_backup import AGENT, serving_home
from ui.cli import EXIT_CONFIGURATION, EXIT_OK, app

pytestmark = pytest.mark.integration


def test_backup_then_restore_into_a_new_home_and_kb_check_is_clean(
    settings: GloveboxSettings,
    real_embedder,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.knowledge.test_integrity import write_records

    serving_home(settings)
    write_records(
        settings, "manuals", model=real_embedder.model_name, dimension=real_embedder.dimension
    )
    backed_up = CliRunner().invoke(app, ["backup", str(tmp_path / "backup")])
    assert backed_up.exit_code == EXIT_OK, backed_up.output
    assert "manuals (1100 chunks)" in backed_up.stdout
    manifest = json.loads((tmp_path / "backup" / MANIFEST).read_text())
    assert manifest["knowledge_bases"]["manuals"]["metadata"]["embedding_model"] == (
        real_embedder.model_name
    )
    assert set(manifest["versions"]) == {"glovebox", "chromadb", "SQLAlchemy"}

    refused = CliRunner().invoke(app, ["restore", str(tmp_path / "backup")])
    assert refused.exit_code == EXIT_CONFIGURATION and "--force" in refused.stderr

    monkeypatch.setenv("GLOVEBOX_HOME", str(tmp_path / "new-home"))
    get_settings.cache_clear()
    restored = CliRunner().invoke(app, ["restore", str(tmp_path / "backup")])
    assert restored.exit_code == EXIT_OK, restored.output
    assert "manuals (1100 chunks)" in restored.stdout
    checked = CliRunner().invoke(app, ["kb", "check", "--kb", "manuals"])
    assert checked.exit_code == EXIT_OK, checked.output
    assert "1100 chunks checked, 0 problems" in checked.stdout
    from assistant.desk.accounts import SqlAccountStore

    assert SqlAccountStore(get_settings().resolved_database_url).authenticate(*AGENT)
