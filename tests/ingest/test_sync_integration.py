"""Incremental sync on the real embedder and real Chroma, including killed and interrupted runs."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.sync import build_ingest_job, find_inconsistencies
from knowledge.settings import GloveboxSettings
from tests.conftest import subprocess_env
from tests.ingest.corpus import MANUAL, write_corpus

pytestmark = pytest.mark.integration


def test_unchanged_edited_and_deleted_sources(
    settings: GloveboxSettings, real_embedder, tmp_path: Path
) -> None:
    corpus = write_corpus(tmp_path / "kb")
    first = build_ingest_job(settings, "sync", real_embedder).run([corpus])
    assert first.chunks_embedded == first.chunks_total > 0

    second = build_ingest_job(settings, "sync", real_embedder).run([corpus])
    assert second.chunks_embedded == 0
    assert second.chunks_unchanged == first.chunks_total

    (corpus / "manuals" / "tessel.md").write_text(MANUAL.replace("48 A", "40 A"))
    edited = build_ingest_job(settings, "sync", real_embedder).run([corpus])
    assert (edited.chunks_embedded, edited.chunks_updated) == (1, 1)
    assert edited.chunks_unchanged == first.chunks_total - 1

    (corpus / "bulletins" / "tsb-hv-22-003.md").unlink()
    deleted = build_ingest_job(settings, "sync", real_embedder).run([corpus])
    assert deleted.chunks_removed == 1 and deleted.chunks_embedded == 0
    store = build_ingest_job(settings, "sync", real_embedder)._store
    assert "tsb-hv-22-003" not in {chunk.document_id for chunk in store.iter_chunks()}
    assert find_inconsistencies(store) == []

    hits = store.query(real_embedder.embed_query("how do I reset the tire pressure light"), k=1)
    assert hits[0][0].metadata["section"] == "Tire pressure > Resetting the TPMS"


def write_large_corpus(folder: Path, documents: int = 40, sections: int = 8) -> Path:
    folder.mkdir(parents=True)
    for number in range(documents):
        body = "\n".join(
            f"## Procedure {section}\n"
            + " ".join(
                f"Step {step}: check part HV-{number:03d}-{section:02d}-{step} and torque it to "
                f"{20 + step} N·m before the road test."
                for step in range(12)
            )
            for section in range(sections)
        )
        (folder / f"doc-{number:03d}.md").write_text(
            f"---\nid: doc-{number:03d}\nkind: service_manual\naudience: internal\n"
            f"title: Procedure book {number}\n---\n# Procedure book {number}\n{body}\n"
        )
    return folder


def start_ingest(corpus: Path, home: Path) -> subprocess.Popen[bytes]:
    env = subprocess_env(home)
    env["GLOVEBOX_INGEST_WRITE_BATCH_CHUNKS"] = "32"
    return subprocess.Popen(
        [sys.executable, "-m", "ui.cli", "ingest", str(corpus), "--kb", "crash", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # A test run started in the background has SIGINT ignored, and a child inherits that:
        # Ctrl-C must reach the ingest as it would from a terminal.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def wait_for_committed_documents(home: Path, process: subprocess.Popen[bytes]) -> int:
    marker = home / "kb" / "crash" / "ingest.running"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        if marker.exists():
            try:
                committed = json.loads(marker.read_text())["committed_documents"]
            except (ValueError, KeyError):
                committed = 0
            if committed >= 2:
                return int(committed)
        time.sleep(0.05)
    raise AssertionError(f"the ingest never committed documents (exit {process.poll()})")


@pytest.mark.slow
@pytest.mark.parametrize("stop_signal", [signal.SIGKILL, signal.SIGINT], ids=["kill", "ctrl-c"])
def test_cut_off_ingest_is_repaired_by_the_next_run(
    settings: GloveboxSettings, real_embedder, tmp_path: Path, stop_signal: signal.Signals
) -> None:
    corpus = write_large_corpus(tmp_path / "corpus")
    process = start_ingest(corpus, settings.home)
    wait_for_committed_documents(settings.home, process)
    process.send_signal(stop_signal)
    _, stderr = process.communicate(timeout=120)
    if stop_signal == signal.SIGINT:
        assert process.returncode == 130, stderr.decode()
        assert b"run the same command again" in stderr

    store = build_ingest_job(settings, "crash", real_embedder)._store
    stored_after_stop = store.count()
    assert find_inconsistencies(store) == []  # whole documents only, even mid-run

    repair = build_ingest_job(settings, "crash", real_embedder).run([corpus])
    assert repair.repaired_interrupted_run
    assert repair.chunks_unchanged == stored_after_stop
    assert repair.chunks_embedded == repair.chunks_total - stored_after_stop
    assert find_inconsistencies(store) == []
    assert store.count() == repair.chunks_total

    again = build_ingest_job(settings, "crash", real_embedder).run([corpus])
    assert again.chunks_embedded == 0 and not again.repaired_interrupted_run


def test_a_re_ingest_of_nothing_loads_no_model(
    settings: GloveboxSettings, real_embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = write_corpus(tmp_path / "kb")
    first = build_ingest_job(settings, "unchanged", real_embedder).run([corpus])

    def no_model(path: str, device: str) -> None:
        raise AssertionError("a re-ingest of nothing loaded the embedding model")

    monkeypatch.setattr("knowledge.embedder._load_model", no_model)
    again = build_ingest_job(settings, "unchanged").run([corpus])  # its own embedder, unloaded

    assert again.to_json()["model_loaded"] is False
    assert again.chunks_unchanged == first.chunks_total and again.chunks_embedded == 0
