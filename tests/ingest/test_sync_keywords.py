"""The ingest job keeps the persisted keyword index in step with the store, incrementally."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.records import Channel, RetrievalQuery
from assistant.retrieval import KeywordIndex
from ingest.chunking import Chunker
from ingest.sync import IngestJob
from knowledge.keywords import KeywordIndexFiles
from knowledge.settings import GloveboxSettings
from knowledge.store import ChromaKnowledgeStore, make_chroma_client
from tests.fakes import HashEmbedder
from tests.ingest.corpus import write_corpus


def keyword_job(settings: GloveboxSettings, kb: str = "test") -> IngestJob:
    embedder = HashEmbedder()
    store = ChromaKnowledgeStore.open(
        make_chroma_client(settings), kb, model_name=embedder.model_name,
        dimension=embedder.dimension,
    )  # fmt: skip
    chunker = Chunker(embedder.count_tokens, max_tokens=128, overlap_tokens=16)
    index = KeywordIndexFiles.open(settings.kb_state_dir(kb) / "keywords")
    return IngestJob(
        store, embedder, chunker, state_dir=settings.kb_state_dir(kb), keyword_index=index
    )


def opened_search(settings: GloveboxSettings, job: IngestJob) -> KeywordIndex:
    """Keyword search as a new process opens it: any read of the whole store fails the test."""
    store = job.store

    def no_full_read(*args: object, **kwargs: object) -> None:
        raise AssertionError("the keyword index was rebuilt from the store")

    store.iter_chunks_with_text = no_full_read  # type: ignore[method-assign]
    store.iter_chunks = no_full_read  # type: ignore[method-assign]
    return KeywordIndex(store, KeywordIndexFiles.open(settings.kb_state_dir("test") / "keywords"))


def found(search: KeywordIndex, text: str) -> list[str]:
    return [p.chunk_id for p in search.run(RetrievalQuery(text, Channel.AGENT), k=50)]


def test_an_ingest_writes_the_index_a_server_opens_without_reading_the_store(
    settings: GloveboxSettings, tmp_path: Path
) -> None:
    corpus = write_corpus(tmp_path / "kb")
    job = keyword_job(settings)
    report = job.run([corpus])
    search = opened_search(settings, job)
    assert report.chunks_total > 0
    assert found(search, "roadside assistance")
    index = KeywordIndexFiles.open(settings.kb_state_dir("test") / "keywords")
    assert index.count() == job.store.count()
    assert index.reflects(job.store.content_revision)


def test_a_changed_file_changes_only_its_chunks_in_the_index(
    settings: GloveboxSettings, tmp_path: Path
) -> None:
    corpus = write_corpus(tmp_path / "kb")
    keyword_job(settings).run([corpus])
    index = KeywordIndexFiles.open(settings.kb_state_dir("test") / "keywords")
    before = index.stored_hashes()
    bulletin = corpus / "bulletins" / "tsb-hv-22-003.md"
    bulletin.write_text(bulletin.read_text() + "\nThen zyxwvut the module once.\n")
    job = keyword_job(settings)
    job.run([corpus])
    after = index.stored_hashes()
    changed = {chunk_id for chunk_id in after if before.get(chunk_id) != after[chunk_id]}
    assert changed and len(changed) < len(after) / 2
    assert found(opened_search(settings, job), "zyxwvut")


def test_a_no_change_re_ingest_leaves_the_index_alone(
    settings: GloveboxSettings, tmp_path: Path
) -> None:
    corpus = write_corpus(tmp_path / "kb")
    keyword_job(settings).run([corpus])
    directory = settings.kb_state_dir("test") / "keywords"
    generation = KeywordIndexFiles.open(directory).generation
    keyword_job(settings).run([corpus])
    assert KeywordIndexFiles.open(directory).generation == generation


@pytest.mark.parametrize("missing", ["folder", "behind"])
def test_an_index_missing_or_behind_is_caught_up_from_the_store(
    settings: GloveboxSettings, tmp_path: Path, missing: str
) -> None:
    import shutil

    corpus = write_corpus(tmp_path / "kb")
    job = keyword_job(settings)
    job.run([corpus])
    directory = settings.kb_state_dir("test") / "keywords"
    if missing == "folder":
        shutil.rmtree(directory)
    else:
        job.store.mark_changed()  # as a restore or another machine's ingest would
    search = KeywordIndex(job.store, KeywordIndexFiles.open(directory))
    assert found(search, "roadside assistance")
    assert KeywordIndexFiles.open(directory).reflects(job.store.content_revision)


def test_a_run_cut_off_before_its_index_write_is_repaired_in_the_index_too(
    settings: GloveboxSettings, tmp_path: Path
) -> None:
    import json

    corpus = write_corpus(tmp_path / "kb")
    job = keyword_job(settings)
    job.run([corpus])
    directory = settings.kb_state_dir("test") / "keywords"
    index = KeywordIndexFiles.open(directory)
    lost = sorted(index.stored_hashes())[0]
    index.apply([], [lost])  # the window the cut-off run wrote to the store only
    marker = settings.kb_state_dir("test") / "ingest.running"
    marker.write_text(json.dumps({"pid": 999_999_999, "committed_documents": 1}))
    report = keyword_job(settings).run([corpus])
    assert report.repaired_interrupted_run
    assert lost in KeywordIndexFiles.open(directory).stored_hashes()
