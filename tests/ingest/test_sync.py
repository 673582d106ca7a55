"""The ingest job's sync logic on real Chroma with a deterministic embedder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from ingest.chunking import Chunker
from ingest.sync import IngestJob, IngestReport, RunMarker
from knowledge.errors import ConfigurationError
from knowledge.filters import Equals
from knowledge.settings import GloveboxSettings
from knowledge.store import ChromaKnowledgeStore, ChunkWrite, make_chroma_client
from tests.fakes import HashEmbedder
from tests.ingest.corpus import BULLETIN_NEW, MANUAL, write_corpus


def make_job(settings: GloveboxSettings, embedder: HashEmbedder, kb: str = "test") -> IngestJob:
    store = ChromaKnowledgeStore.open(
        make_chroma_client(settings),
        kb,
        model_name=embedder.model_name,
        dimension=embedder.dimension,
    )
    chunker = Chunker(embedder.count_tokens, max_tokens=128, overlap_tokens=16)
    return IngestJob(store, embedder, chunker, state_dir=settings.kb_state_dir(kb))


def stored_documents(job: IngestJob) -> dict[str, set[str]]:
    documents: dict[str, set[str]] = {}
    for chunk in job._store.iter_chunks():
        documents.setdefault(chunk.document_id, set()).add(chunk.id)
    return documents


def test_first_ingest_adds_every_document(settings: GloveboxSettings, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "kb")
    embedder = HashEmbedder()
    report = make_job(settings, embedder).run([corpus])
    assert report.skipped == []
    assert report.documents == 4
    assert report.chunks_added == report.chunks_total == len(embedder.embedded_texts)
    assert report.chunks_updated == report.chunks_removed == report.chunks_unchanged == 0
    assert set(stored_documents(make_job(settings, embedder))) == {
        "test-tessel-manual", "faq-roadside", "faq-warranty", "tsb-hv-22-003",
    }  # fmt: skip


def test_unchanged_corpus_embeds_nothing(settings: GloveboxSettings, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "kb")
    first = make_job(settings, HashEmbedder()).run([corpus])
    embedder = HashEmbedder()
    second = make_job(settings, embedder).run([corpus])
    assert embedder.embedded_texts == []
    assert second.chunks_embedded == 0
    assert second.chunks_unchanged == first.chunks_total
    assert second.chunks_added == second.chunks_updated == second.chunks_removed == 0


def re_ingest_with_manual_edit(
    settings: GloveboxSettings, tmp_path: Path, old: str, new: str
) -> tuple[IngestReport, HashEmbedder]:
    """Ingest the corpus, replace `old` with `new` in its manual, ingest again: that report,
    and the embedder the second run used."""
    corpus = write_corpus(tmp_path / "kb")
    make_job(settings, HashEmbedder()).run([corpus])
    (corpus / "manuals" / "tessel.md").write_text(MANUAL.replace(old, new))
    embedder = HashEmbedder()
    return make_job(settings, embedder).run([corpus]), embedder


def test_editing_one_section_re_embeds_only_its_chunks(
    settings: GloveboxSettings, tmp_path: Path
) -> None:
    report, embedder = re_ingest_with_manual_edit(
        settings, tmp_path, "Drive for 20 minutes", "Drive for 25 minutes"
    )
    assert report.chunks_updated == 1
    assert report.chunks_added == report.chunks_removed == 0
    assert len(embedder.embedded_texts) == 1
    assert "Drive for 25 minutes" in embedder.embedded_texts[0]
    texts = make_job(settings, HashEmbedder())._store.get_texts(
        [c.id for c in make_job(settings, HashEmbedder())._store.iter_chunks()]
    )
    assert any("25 minutes" in text for text in texts.values())
    assert not any("20 minutes" in text for text in texts.values())


def test_deleting_a_file_removes_its_chunks(settings: GloveboxSettings, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "kb")
    make_job(settings, HashEmbedder()).run([corpus])
    (corpus / "faq" / "care.faq.yaml").unlink()
    report = make_job(settings, HashEmbedder()).run([corpus])
    assert report.documents_removed == 2
    assert report.chunks_removed == 2
    assert "faq-roadside" not in stored_documents(make_job(settings, HashEmbedder()))


def test_syncing_one_folder_leaves_other_folders_alone(
    settings: GloveboxSettings, tmp_path: Path
) -> None:
    corpus = write_corpus(tmp_path / "kb")
    make_job(settings, HashEmbedder()).run([corpus])
    report = make_job(settings, HashEmbedder()).run([corpus / "faq"])
    assert report.chunks_removed == 0
    assert "test-tessel-manual" in stored_documents(make_job(settings, HashEmbedder()))


def test_superseded_bulletin_is_removed(settings: GloveboxSettings, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "kb")
    make_job(settings, HashEmbedder()).run([corpus])
    (corpus / "bulletins" / "tsb-hv-23-011.md").write_text(BULLETIN_NEW)
    report = make_job(settings, HashEmbedder()).run([corpus])
    assert report.documents_superseded == ["tsb-hv-22-003"]
    documents = stored_documents(make_job(settings, HashEmbedder()))
    assert "tsb-hv-22-003" not in documents
    assert "tsb-hv-23-011" in documents


def test_a_file_that_breaks_keeps_its_previous_version(
    settings: GloveboxSettings, tmp_path: Path
) -> None:
    corpus = write_corpus(tmp_path / "kb")
    make_job(settings, HashEmbedder()).run([corpus])
    (corpus / "faq" / "care.faq.yaml").write_text("faqs: [unclosed\n")
    report = make_job(settings, HashEmbedder()).run([corpus])
    assert [s.path for s in report.skipped] == [str(corpus / "faq" / "care.faq.yaml")]
    assert report.chunks_removed == 0
    assert {"faq-roadside", "faq-warranty"} <= set(
        stored_documents(make_job(settings, HashEmbedder()))
    )


def test_dry_run_plans_but_changes_nothing(settings: GloveboxSettings, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "kb")
    embedder = HashEmbedder()
    report = make_job(settings, embedder).run([corpus], dry_run=True)
    assert report.chunks_added == report.chunks_total > 0
    assert {plan.action for plan in report.plan} == {"add"}
    assert embedder.embedded_texts == []
    assert make_job(settings, embedder)._store.count() == 0


def test_metadata_change_relabels_without_re_embedding(
    settings: GloveboxSettings, tmp_path: Path
) -> None:
    report, embedder = re_ingest_with_manual_edit(
        settings, tmp_path, 'version: "1.0"', 'version: "1.1"'
    )
    assert embedder.embedded_texts == []
    versions = {
        chunk.metadata["version"]
        for chunk in make_job(settings, embedder)._store.iter_chunks(
            where=Equals("document_id", "test-tessel-manual")
        )
    }
    assert versions == {"1.1"}
    assert report.documents_updated == 1


def test_store_refuses_another_embedding_model(settings: GloveboxSettings, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "kb")
    make_job(settings, HashEmbedder()).run([corpus])
    with pytest.raises(ConfigurationError, match="re-ingest into a new knowledge base"):
        make_job(settings, HashEmbedder(dimension=32, name="other-model"))


def test_a_live_ingest_blocks_a_second_one(settings: GloveboxSettings, tmp_path: Path) -> None:
    import subprocess
    import sys

    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        marker = RunMarker(settings.kb_state_dir("test"))
        marker.path.parent.mkdir(parents=True)
        marker.path.write_text(f'{{"pid": {sleeper.pid}, "committed_documents": 0}}')
        with pytest.raises(ConfigurationError, match="another ingest"):
            make_job(settings, HashEmbedder()).run([write_corpus(tmp_path / "kb")])
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_dead_run_marker_means_repair(settings: GloveboxSettings, tmp_path: Path) -> None:
    marker = RunMarker(settings.kb_state_dir("test"))
    marker.path.parent.mkdir(parents=True)
    marker.path.write_text('{"pid": 999999, "committed_documents": 3}')
    report = make_job(settings, HashEmbedder()).run([write_corpus(tmp_path / "kb")])
    assert report.repaired_interrupted_run
    assert not marker.path.exists()


PASSAGE = (
    "If the brake warning light comes on while you drive, slow down carefully and stop in a safe "
    "place away from traffic. Check the brake fluid level in the reservoir under the hood and "
    "have the vehicle towed to a dealer when the level is below the MIN mark."
)


def write_note(folder: Path, document_id: str, passage: str = PASSAGE) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{document_id}.md"
    path.write_text(
        f"---\nid: {document_id}\nkind: owner_manual\naudience: public\ntitle: {document_id}\n"
        f"---\n## Brakes\n\n{passage}\n",
        encoding="utf-8",
    )
    return path


def near_duplicate_labels(job: IngestJob) -> dict[str, object]:
    return {
        chunk.document_id: chunk.metadata.get("near_duplicate_of")
        for chunk in job.store.iter_chunks()
    }


def test_a_copy_in_another_folder_repeats_the_chunk_already_stored(
    settings: GloveboxSettings, tmp_path: Path
) -> None:
    write_note(tmp_path / "later", "a-copy")
    write_note(tmp_path / "first", "z-original")
    make_job(settings, HashEmbedder()).run([tmp_path / "first"])

    report = make_job(settings, HashEmbedder()).run([tmp_path / "later"])

    [original] = [c.id for c in make_job(settings, HashEmbedder()).store.iter_chunks()
                  if c.document_id == "z-original"]  # fmt: skip
    assert [(d.chunk_id.split("::")[0], d.duplicate_of) for d in report.near_duplicates] == [
        ("a-copy", original)
    ]
    assert near_duplicate_labels(make_job(settings, HashEmbedder())) == {
        "z-original": None,
        "a-copy": original,
    }


def test_when_the_original_is_deleted_its_copy_loses_the_label(
    settings: GloveboxSettings, tmp_path: Path
) -> None:
    write_note(tmp_path / "kb", "a-original")
    write_note(tmp_path / "kb", "b-copy")
    first = make_job(settings, HashEmbedder()).run([tmp_path / "kb"])
    assert len(first.near_duplicates) == 1
    (tmp_path / "kb" / "a-original.md").unlink()

    report = make_job(settings, HashEmbedder()).run([tmp_path / "kb"])
    again = make_job(settings, HashEmbedder()).run([tmp_path / "kb"])

    assert report.near_duplicates == [] and report.documents_updated == 1
    assert near_duplicate_labels(make_job(settings, HashEmbedder())) == {"b-copy": None}
    assert again.documents_updated == 0  # the label was cleared, not left to relabel forever


def test_an_unchanged_re_ingest_reports_the_same_near_duplicates(
    settings: GloveboxSettings, tmp_path: Path
) -> None:
    for document_id in ("a-original", "b-copy", "c-copy"):
        write_note(tmp_path / "kb", document_id)
    first = make_job(settings, HashEmbedder()).run([tmp_path / "kb"])

    again = make_job(settings, HashEmbedder()).run([tmp_path / "kb"])

    assert len(first.near_duplicates) == 2
    assert again.near_duplicates == first.near_duplicates
    assert again.to_json()["plan"] == []


def test_a_dry_run_of_a_first_ingest_leaves_no_near_duplicate_index(
    settings: GloveboxSettings, tmp_path: Path
) -> None:
    write_note(tmp_path / "kb", "a-original")
    write_note(tmp_path / "kb", "b-copy")

    report = make_job(settings, HashEmbedder()).run([tmp_path / "kb"], dry_run=True)

    assert len(report.near_duplicates) == 1
    assert list(settings.kb_state_dir("test").glob("near_duplicates*")) == []


def test_the_report_says_whether_the_model_was_loaded(
    settings: GloveboxSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads = [0]
    monkeypatch.setattr("ingest.sync.embedding_model_loads", lambda: loads[0])

    class LoadingEmbedder(HashEmbedder):
        """Loads its model on the first text it embeds, as the real one does."""

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            loads[0] = 1
            return super().embed_documents(texts)

    corpus = write_corpus(tmp_path / "kb")
    first = make_job(settings, LoadingEmbedder()).run([corpus])
    again = make_job(settings, LoadingEmbedder()).run([corpus])

    assert (first.to_json()["model_loaded"], again.to_json()["model_loaded"]) == (True, False)


def test_relabelling_many_documents_writes_in_windows(
    settings: GloveboxSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for number in range(12):
        write_note(tmp_path / "kb", f"note-{number:02d}", f"{PASSAGE} Note {number}.")
    make_job(settings, HashEmbedder()).run([tmp_path / "kb"])
    for path in (tmp_path / "kb").glob("*.md"):
        path.write_text(path.read_text().replace("audience: public", "audience: internal"))
    job = IngestJob(
        make_job(settings, HashEmbedder()).store,
        HashEmbedder(),
        Chunker(HashEmbedder().count_tokens, max_tokens=128, overlap_tokens=16),
        state_dir=settings.kb_state_dir("test"),
        write_batch_chunks=5,
    )
    batches: list[int] = []
    real_write = job.store.write

    def counted_write(chunks: Sequence[ChunkWrite]) -> None:
        batches.append(len(chunks))
        real_write(chunks)

    monkeypatch.setattr(job.store, "write", counted_write)

    report = job.run([tmp_path / "kb"])

    assert report.documents_updated == 12 and report.chunks_embedded == 0
    assert sum(batches) == 12 and max(batches) == 5  # not one write of every chunk
