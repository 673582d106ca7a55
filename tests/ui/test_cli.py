"""The `glovebox` command as a user runs it: help, exit codes, the JSON report, the server."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import subprocess_env
from tests.ingest.bad_corpus import EXPECTED_SKIPS, write_bad_corpus
from tests.ingest.corpus import write_corpus

REPORT_KEYS = {"documents", "chunks_added", "chunks_updated", "chunks_removed", "chunks_unchanged",
               "skipped", "model_loaded"}  # fmt: skip


def glovebox(home: Path, *arguments: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ui.cli", *arguments],
        env=subprocess_env(home),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_help_imports_no_heavy_library() -> None:
    probe = (
        "import sys, ui.cli; heavy = {'torch', 'chromadb', 'sentence_transformers', 'gradio', "
        "'transformers', 'langchain'} & set(sys.modules); print(sorted(heavy))"
    )
    output = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert output.stdout.strip() == "[]", output.stderr


def _every_command() -> list[list[str]]:
    import typer

    from ui.cli import app

    def walk(command: Any, path: list[str]) -> Iterator[list[str]]:
        yield path
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            yield from walk(sub, [*path, name])

    return list(walk(typer.main.get_command(app), []))


@pytest.mark.parametrize("command", _every_command(), ids=" ".join)
def test_every_command_has_help(command: list[str]) -> None:
    from typer.testing import CliRunner

    from ui.cli import app

    result = CliRunner().invoke(app, [*command, "--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
    # Defaults are shown as the user would write them, never as this checkout's absolute path
    # cut to fit the help box.
    checkout = str(Path(__file__).resolve().parents[3])
    assert checkout not in result.output.replace("\n", "").replace("│", "").replace(" ", "")


def test_missing_path_is_a_usage_error(glovebox_home: Path, tmp_path: Path) -> None:
    result = glovebox(glovebox_home, "ingest", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert "nowhere" in result.stderr and "no such file" in result.stderr


def test_bad_knowledge_base_name_is_a_usage_error(glovebox_home: Path, tmp_path: Path) -> None:
    result = glovebox(
        glovebox_home, "ingest", str(write_corpus(tmp_path / "kb")), "--kb", "Bad Name"
    )
    assert result.returncode == 2
    assert "knowledge base name" in result.stderr


@pytest.mark.integration
def test_ingest_json_report_and_exit_code(glovebox_home: Path, tmp_path: Path) -> None:
    corpus = write_bad_corpus(tmp_path / "kb")
    result = glovebox(glovebox_home, "ingest", str(corpus), "--json")
    assert result.returncode == 3, result.stderr  # some input skipped
    report = json.loads(result.stdout)
    assert set(report) >= REPORT_KEYS
    assert report["documents"] == 6
    assert report["chunks_added"] > 0 and report["chunks_removed"] == 0
    skipped_paths = {str(Path(item["path"]).relative_to(corpus)) for item in report["skipped"]}
    assert skipped_paths == set(EXPECTED_SKIPS)

    (corpus / "bad").rename(tmp_path / "bad-moved-away")
    again = glovebox(glovebox_home, "ingest", str(corpus), "--json")
    assert again.returncode == 0, again.stderr
    repeat = json.loads(again.stdout)
    assert repeat["chunks_added"] == 0 and repeat["skipped"] == []
    assert repeat["chunks_removed"] == 2  # the good CSV row and flat-file row left with bad/

    check = glovebox(glovebox_home, "kb", "check")
    assert check.returncode == 0 and "0 problems" in check.stdout
    listing = glovebox(glovebox_home, "kb", "list")
    assert listing.stdout.startswith("default\t") and "all-MiniLM-L6-v2" in listing.stdout


@pytest.mark.integration
def test_a_file_without_front_matter_is_ingested_with_its_kind_on_the_command_line(
    glovebox_home: Path, tmp_path: Path
) -> None:
    manual = tmp_path / "venza-nav.md"
    manual.write_text("# Navigation\n\nPress MAP to see where you are.\n", encoding="utf-8")

    bare = glovebox(glovebox_home, "ingest", str(manual), "--dry-run", "--json")
    described = glovebox(
        glovebox_home, "ingest", str(manual), "--dry-run", "--json", "--kind", "owner_manual",
        "--vehicle", "Toyota Venza 2021-2024", "--title", "Venza navigation",
    )  # fmt: skip

    assert bare.returncode == 3 and "kind" in json.loads(bare.stdout)["skipped"][0]["reason"]
    assert described.returncode == 0, described.stderr
    assert json.loads(described.stdout)["skipped"] == []
    half = glovebox(glovebox_home, "ingest", str(manual), "--vehicle", "Toyota Venza 2021")
    assert half.returncode == 2 and "--kind" in half.stderr


@pytest.mark.integration
def test_dry_run_prints_the_plan_and_writes_nothing(glovebox_home: Path, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "kb")
    result = glovebox(glovebox_home, "ingest", str(corpus), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "add     test-tessel-manual" in result.stdout
    assert re.search(r"embedding model loaded\W+no\b", result.stdout)  # a plan needs none
    check = glovebox(glovebox_home, "kb", "check")
    assert "0 chunks checked" in check.stdout


@pytest.mark.integration
def test_bench_ingest_prints_both_figures(glovebox_home: Path, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "kb")
    result = glovebox(glovebox_home, "bench", "ingest", str(corpus), "--repeats", "1")
    assert result.returncode == 0, result.stderr
    ingest_line, encoder_line = (
        line for line in result.stdout.splitlines() if line.endswith("chunks/s")
    )
    assert ingest_line.startswith("ingest") and encoder_line.startswith("raw encoder")
    assert float(ingest_line.split()[-2]) > 0 and float(encoder_line.split()[-2]) > 0


ANSWER_KEYS = {"answer", "citations", "confidence", "escalation", "abstained", "timings_ms"}
CITATION_KEYS = {"n", "source_id", "title", "kind", "audience", "section", "quote"}


@pytest.mark.integration
def test_ask_json_and_batch(glovebox_home: Path, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "kb")
    assert glovebox(glovebox_home, "ingest", str(corpus)).returncode == 0

    result = glovebox(glovebox_home, "ask", "How long is the powertrain warranty?", "--json")
    assert result.returncode == 0, result.stderr
    reply = json.loads(result.stdout)
    assert set(reply) >= ANSWER_KEYS
    assert "5 years or 60,000 miles" in reply["answer"]
    assert set(reply["citations"][0]) >= CITATION_KEYS
    assert reply["citations"][0]["source_id"].startswith("faq-warranty::")
    assert reply["escalation"] is None and reply["abstained"] is False
    assert {"retrieve", "generate", "support", "total"} <= set(reply["timings_ms"])

    human = glovebox(glovebox_home, "ask", "Let me talk to a real person", "--json")
    assert human.returncode == 4
    escalation = json.loads(human.stdout)["escalation"]
    assert escalation["state"] == "waiting_for_human" and escalation["ticket_id"]

    batch = subprocess.run(
        [sys.executable, "-m", "ui.cli", "ask", "--file", "-"],
        input='How do I reach Roadside Assistance?\n{"question": "", "vehicle": null}\n',
        env=subprocess_env(glovebox_home),
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [json.loads(line) for line in batch.stdout.splitlines()]
    assert [line["line"] for line in lines] == [1, 2]
    assert "1-800-555-0199" in lines[0]["answer"]
    assert "question has no words" in lines[1]["error"]


def test_ask_with_a_bad_vin_says_what_is_wrong(glovebox_home: Path, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "kb")
    glovebox(glovebox_home, "ingest", str(corpus))
    result = glovebox(glovebox_home, "ask", "Any recalls?", "--vin", "7HVT1A2E")
    assert result.returncode == 2
    assert "17 characters" in result.stderr


def test_agent_accounts_are_added_listed_and_disabled(tmp_path: Path) -> None:
    def agents(*arguments: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ui.cli", "agents", *arguments],
            env=subprocess_env(tmp_path),
            input=password,
            capture_output=True,
            text=True,
            timeout=60,
        )

    added = agents(
        "add", "ana", "--display-name", "Ana", "--password-stdin", password="s3cret-pass\n"
    )
    assert added.returncode == 0 and "added ana" in added.stdout
    weak = agents("add", "bob", "--password-stdin", password="short\n")
    assert weak.returncode == 2 and "password" in weak.stderr and "10 characters" in weak.stderr
    assert agents("add", "ana", "--password-stdin", password="s3cret-pass\n").returncode == 2
    assert "ana" in agents("list").stdout and "active" in agents("list").stdout
    assert agents("disable", "ana").returncode == 0
    assert "disabled" in agents("list").stdout
    missing = agents("disable", "nobody")
    assert missing.returncode == 2 and "no agent 'nobody'" in missing.stderr
    assert agents("enable", "ana").returncode == 0
    assert "active" in agents("list").stdout
    renewed = agents("set-password", "ana", "--password-stdin", password="n3w-secret-pass\n")
    assert renewed.returncode == 0 and "new password set for ana" in renewed.stdout
    too_short = agents("set-password", "ana", "--password-stdin", password="short\n")
    assert too_short.returncode == 2 and "10 characters" in too_short.stderr


def test_serve_refuses_a_demo_origin_no_key_allows_before_any_slow_work(tmp_path: Path) -> None:
    env = subprocess_env(tmp_path) | {"GLOVEBOX_WIDGET_KEYS": '{"pk_site": ["https://a.example"]}'}
    refused = subprocess.run(
        [sys.executable, "-m", "ui.cli", "serve", "--port", "28600", "--demo-port", "28601"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert refused.returncode != 0
    assert "no widget key allows http://127.0.0.1:28601" in refused.stderr
    assert list(tmp_path.iterdir()) == []  # no database or index was opened


def test_serve_check_accepts_any_demo_port_on_loopback_with_the_shipped_keys(
    tmp_path: Path,
) -> None:
    checked = glovebox(tmp_path, "serve", "--check", "--port", "28600", "--demo-port", "28601")

    assert checked.returncode == 0, checked.stderr
    assert "settings checked" in checked.stdout


def test_db_upgrade_migrates_the_database_and_says_to_which_revision(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from assistant.desk.migrations import head_revision
    from knowledge.settings import get_settings
    from ui.cli import app

    monkeypatch.setenv("GLOVEBOX_DATABASE_URL", database_url)
    get_settings.cache_clear()
    first = CliRunner().invoke(app, ["db", "upgrade"])
    again = CliRunner().invoke(app, ["db", "upgrade"])

    assert first.exit_code == 0, first.output
    assert first.output.strip().endswith(f"schema at revision {head_revision()}")
    assert again.exit_code == 0 and again.output == first.output
