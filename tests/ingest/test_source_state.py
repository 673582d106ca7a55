"""An ingest skips source files it has already ingested unchanged, and only when that is safe."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import ingest.sync
from ingest.chunking import Chunker
from ingest.loaders import loader_for
from ingest.source_state import STATE_FILE_NAME, SourceState
from ingest.sync import IngestJob, IngestReport, RunMarker
from knowledge.errors import ConfigurationError
from knowledge.filters import ChunkFilter
from knowledge.keywords import KeywordIndexFiles
from knowledge.settings import GloveboxSettings
from knowledge.store import ChromaKnowledgeStore, StoredChunk, make_chroma_client
from tests.fakes import HashEmbedder
from tests.ingest.corpus import BULLETIN_NEW, BULLETIN_OLD, write_corpus


class SpiedStore(ChromaKnowledgeStore):
    """Real Chroma that notes every full read and every text read."""

    full_reads = 0
    text_reads = 0

    def iter_chunks(self, where: ChunkFilter | None = None) -> Iterator[StoredChunk]:
        if where is None:
            type(self).full_reads += 1
        return super().iter_chunks(where)

    def iter_chunks_with_text(self) -> Iterator[tuple[StoredChunk, str]]:
        type(self).text_reads += 1
        return super().iter_chunks_with_text()

    def get_texts(self, ids: Any) -> dict[str, str]:
        type(self).text_reads += 1
        return super().get_texts(ids)


def make_job(
    settings: GloveboxSettings,
    *,
    embedder: HashEmbedder | None = None,
    overlap_tokens: int = 16,
    keywords: bool = True,
) -> IngestJob:
    embedder = embedder or HashEmbedder()
    store = SpiedStore.open(
        make_chroma_client(settings), "test", model_name=embedder.model_name,
        dimension=embedder.dimension,
    )  # fmt: skip
    chunker = Chunker(embedder.count_tokens, max_tokens=128, overlap_tokens=overlap_tokens)
    index = KeywordIndexFiles.open(settings.kb_state_dir("test") / "keywords") if keywords else None
    return IngestJob(
        store, embedder, chunker, state_dir=settings.kb_state_dir("test"), keyword_index=index
    )


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files the loaders parse."""
    names: list[str] = []

    def spying_loader_for(path: Path) -> Any:
        loader = loader_for(path)
        if loader is None:
            return None

        class Spy:
            def load(self, source: Path, context: Any) -> Any:
                names.append(source.name)
                return loader.load(source, context)

        return Spy()

    monkeypatch.setattr(ingest.sync, "loader_for", spying_loader_for)
    SpiedStore.full_reads = SpiedStore.text_reads = 0
    return names


def stored_documents(settings: GloveboxSettings) -> set[str]:
    return {chunk.document_id for chunk in make_job(settings).store.iter_chunks()}


def first_then_again(settings: GloveboxSettings, corpus: Path, parsed: list[str]) -> IngestReport:
    first = make_job(settings).run([corpus])
    parsed.clear()
    SpiedStore.full_reads = SpiedStore.text_reads = 0
    return first


def test_an_unchanged_corpus_is_neither_parsed_nor_read_back(
    settings: GloveboxSettings, tmp_path: Path, parsed: list[str]
) -> None:
    corpus = write_corpus(tmp_path / "kb")
    first = first_then_again(settings, corpus, parsed)
    embedder = HashEmbedder()

    again = make_job(settings, embedder=embedder).run([corpus])

    assert parsed == []
    assert (SpiedStore.full_reads, SpiedStore.text_reads, embedder.embedded_texts) == (0, 0, [])
    assert (again.files_seen, again.documents, again.chunks_total) == (
        first.files_seen,
        first.documents,
        first.chunks_total,
    )
    assert again.chunks_unchanged == first.chunks_total > 0
    assert again.to_json()["plan"] == [] and not again.model_loaded


def test_changing_one_file_re_parses_only_that_file(
    settings: GloveboxSettings, tmp_path: Path, parsed: list[str]
) -> None:
    corpus = write_corpus(tmp_path / "kb")
    first = first_then_again(settings, corpus, parsed)
    manual = corpus / "manuals" / "tessel.md"
    manual.write_text(manual.read_text().replace("38 psi", "39 psi"))

    again = make_job(settings).run([corpus])

    assert parsed == ["tessel.md"]
    assert again.documents_updated == 1 and again.chunks_updated == 1
    assert again.chunks_unchanged == first.chunks_total - 1
    assert SpiedStore.full_reads == 0


def test_without_a_keyword_index_the_plan_reads_the_store(
    settings: GloveboxSettings, tmp_path: Path, parsed: list[str]
) -> None:
    corpus = write_corpus(tmp_path / "kb")
    make_job(settings, keywords=False).run([corpus])
    parsed.clear()

    again = make_job(settings, keywords=False).run([corpus])

    assert parsed == [] and again.chunks_added == again.chunks_removed == 0


def every_file(corpus: Path) -> list[str]:
    return sorted(path.name for path in corpus.rglob("*") if path.is_file())


def test_a_run_after_an_interrupted_one_parses_everything(
    settings: GloveboxSettings, tmp_path: Path, parsed: list[str]
) -> None:
    corpus = write_corpus(tmp_path / "kb")
    first_then_again(settings, corpus, parsed)
    RunMarker(settings.kb_state_dir("test")).path.write_text('{"pid": 999999}')

    make_job(settings).run([corpus])

    assert sorted(parsed) == every_file(corpus)


def test_a_store_changed_by_something_else_means_parsing_everything(
    settings: GloveboxSettings, tmp_path: Path, parsed: list[str]
) -> None:
    corpus = write_corpus(tmp_path / "kb")
    first_then_again(settings, corpus, parsed)
    make_job(settings).store.mark_changed()  # as a restore or another machine's ingest would

    make_job(settings).run([corpus])
    after = len(parsed)
    make_job(settings).run([corpus])

    assert after == len(every_file(corpus)) and len(parsed) == after  # then skipping again


def test_a_missing_state_file_means_parsing_everything(
    settings: GloveboxSettings, tmp_path: Path, parsed: list[str]
) -> None:
    corpus = write_corpus(tmp_path / "kb")
    first_then_again(settings, corpus, parsed)
    (settings.kb_state_dir("test") / STATE_FILE_NAME).unlink()

    report = make_job(settings).run([corpus])

    assert sorted(parsed) == every_file(corpus) and report.chunks_added == 0


def test_a_damaged_state_file_is_named_not_replaced(
    settings: GloveboxSettings, tmp_path: Path
) -> None:
    corpus = write_corpus(tmp_path / "kb")
    make_job(settings).run([corpus])
    state = settings.kb_state_dir("test") / STATE_FILE_NAME
    state.write_bytes(b"this is not a database" * 100)

    with pytest.raises(ConfigurationError, match=STATE_FILE_NAME) as raised:
        make_job(settings).run([corpus])

    assert "delete the file" in str(raised.value)
    assert state.read_bytes().startswith(b"this is not")


def test_other_chunker_settings_mean_parsing_everything(
    settings: GloveboxSettings, tmp_path: Path, parsed: list[str]
) -> None:
    corpus = write_corpus(tmp_path / "kb")
    first_then_again(settings, corpus, parsed)

    make_job(settings, overlap_tokens=8).run([corpus])

    assert sorted(parsed) == every_file(corpus)


def test_a_manifest_change_re_parses_the_files_it_describes(
    settings: GloveboxSettings, tmp_path: Path, parsed: list[str]
) -> None:
    corpus = write_corpus(tmp_path / "kb")
    first_then_again(settings, corpus, parsed)
    (corpus / "faq" / "manifest.yaml").write_text(
        "documents:\n  - path: care.faq.yaml\n    market: CA\n", encoding="utf-8"
    )

    make_job(settings).run([corpus])

    assert parsed == ["care.faq.yaml"]


def test_a_dry_run_skips_too_and_records_nothing(
    settings: GloveboxSettings, tmp_path: Path, parsed: list[str]
) -> None:
    corpus = write_corpus(tmp_path / "kb")
    first_then_again(settings, corpus, parsed)
    state = settings.kb_state_dir("test") / STATE_FILE_NAME
    before = state.read_bytes()
    (corpus / "faq" / "care.faq.yaml").write_text(
        (corpus / "faq" / "care.faq.yaml").read_text().replace("any hour", "all hours")
    )

    report = make_job(settings).run([corpus], dry_run=True)

    assert parsed == ["care.faq.yaml"] and report.chunks_updated == 1
    assert state.read_bytes() == before


def test_a_deleted_file_still_removes_its_documents(
    settings: GloveboxSettings, tmp_path: Path, parsed: list[str]
) -> None:
    corpus = write_corpus(tmp_path / "kb")
    first_then_again(settings, corpus, parsed)
    make_job(settings).run([corpus])
    (corpus / "faq" / "care.faq.yaml").unlink()

    report = make_job(settings).run([corpus])

    assert report.documents_removed == 2 and parsed == []
    assert not {"faq-roadside", "faq-warranty"} & stored_documents(settings)


def test_a_new_bulletin_supersedes_a_document_of_a_skipped_file(
    settings: GloveboxSettings, tmp_path: Path, parsed: list[str]
) -> None:
    corpus = write_corpus(tmp_path / "kb")
    first_then_again(settings, corpus, parsed)
    (corpus / "bulletins" / "tsb-hv-23-011.md").write_text(BULLETIN_NEW)

    report = make_job(settings).run([corpus])
    again = make_job(settings).run([corpus])

    assert parsed == ["tsb-hv-23-011.md"]
    assert report.documents_superseded == again.documents_superseded == ["tsb-hv-22-003"]
    assert report.documents_removed == 1 and again.documents_removed == 0
    documents = stored_documents(settings)
    assert "tsb-hv-22-003" not in documents and "tsb-hv-23-011" in documents


def test_a_skipped_bulletin_supersedes_a_document_added_later(
    settings: GloveboxSettings, tmp_path: Path, parsed: list[str]
) -> None:
    corpus = write_corpus(tmp_path / "kb")
    (corpus / "bulletins" / "tsb-hv-22-003.md").unlink()
    (corpus / "bulletins" / "tsb-hv-23-011.md").write_text(BULLETIN_NEW)
    first_then_again(settings, corpus, parsed)
    (corpus / "bulletins" / "tsb-hv-22-003.md").write_text(BULLETIN_OLD)

    report = make_job(settings).run([corpus])

    assert parsed == ["tsb-hv-22-003.md"]
    assert report.documents_superseded == ["tsb-hv-22-003"]
    assert "tsb-hv-22-003" not in stored_documents(settings)


def test_a_superseded_document_comes_back_when_its_successor_goes(
    settings: GloveboxSettings, tmp_path: Path, parsed: list[str]
) -> None:
    corpus = write_corpus(tmp_path / "kb")
    (corpus / "bulletins" / "tsb-hv-23-011.md").write_text(BULLETIN_NEW)
    first_then_again(settings, corpus, parsed)
    (corpus / "bulletins" / "tsb-hv-23-011.md").unlink()

    report = make_job(settings).run([corpus])

    assert parsed == ["tsb-hv-22-003.md"]  # recorded as superseded: read again to add it
    assert report.documents_added == 1
    assert "tsb-hv-22-003" in stored_documents(settings)


def note(document_id: str) -> str:
    return f"---\nid: {document_id}\nkind: owner_manual\naudience: public\n---\n## Oil\n\nText.\n"


def test_an_id_clash_with_a_skipped_file_is_reported_on_the_newcomer(
    settings: GloveboxSettings, tmp_path: Path, parsed: list[str]
) -> None:
    corpus = tmp_path / "kb"
    corpus.mkdir()
    (corpus / "b.md").write_text(note("shared-id"))
    first_then_again(settings, corpus, parsed)
    (corpus / "c.md").write_text(note("shared-id"))

    report = make_job(settings).run([corpus])

    assert parsed == ["c.md"]
    assert [(s.path, s.reason) for s in report.skipped] == [
        (str(corpus / "c.md"), f"document id 'shared-id' is already used by {corpus / 'b.md'}; "
         "give one of them another id"),
    ]  # fmt: skip
    assert report.to_json()["plan"] == []


def test_an_earlier_file_taking_a_skipped_files_id_is_reported_as_today(
    settings: GloveboxSettings, tmp_path: Path, parsed: list[str]
) -> None:
    corpus = tmp_path / "kb"
    corpus.mkdir()
    (corpus / "b.md").write_text(note("shared-id"))
    first_then_again(settings, corpus, parsed)
    (corpus / "a.md").write_text(note("shared-id"))

    report = make_job(settings).run([corpus])
    (corpus / "a.md").unlink()
    after = make_job(settings).run([corpus])

    assert parsed[:2] == ["a.md", "b.md"]  # b.md parsed after all, so the clash reads as today
    assert [s.path for s in report.skipped] == [str(corpus / "b.md")]
    assert after.documents_updated == 1  # b.md's version back in place of a.md's
    [chunk] = list(make_job(settings).store.iter_chunks())
    assert chunk.metadata["source_file"] == str(corpus / "b.md")


def test_a_file_that_breaks_keeps_its_previous_version_and_is_read_until_fixed(
    settings: GloveboxSettings, tmp_path: Path, parsed: list[str]
) -> None:
    corpus = write_corpus(tmp_path / "kb")
    faq = corpus / "faq" / "care.faq.yaml"
    good = faq.read_text()
    first_then_again(settings, corpus, parsed)
    faq.write_text("faqs: [unclosed\n")

    broken = make_job(settings).run([corpus])
    faq.write_text(good)
    fixed = make_job(settings).run([corpus])

    assert [s.path for s in broken.skipped] == [str(faq)]
    assert broken.chunks_removed == 0 and parsed == ["care.faq.yaml", "care.faq.yaml"]
    assert {"faq-roadside", "faq-warranty"} <= stored_documents(settings)
    assert fixed.skipped == [] and fixed.to_json()["plan"] == []


def test_the_state_records_each_file_with_its_documents(
    settings: GloveboxSettings, tmp_path: Path
) -> None:
    corpus = write_corpus(tmp_path / "kb")
    make_job(settings).run([corpus])

    state = SourceState.open(settings.kb_state_dir("test") / STATE_FILE_NAME)
    files = state.files()
    faq = files[str((corpus / "faq" / "care.faq.yaml").resolve())]

    assert len(files) == 3
    assert [d.id for d in faq.documents] == ["faq-roadside", "faq-warranty"]
    assert faq.documents[0].source_file == str(corpus / "faq" / "care.faq.yaml")
    assert faq.size == (corpus / "faq" / "care.faq.yaml").stat().st_size
    assert state.revision == make_job(settings).store.content_revision


PASSAGE = (
    "If the brake warning light comes on while you drive, slow down carefully and stop in a safe "
    "place away from traffic. Check the brake fluid level in the reservoir under the hood."
)


def test_a_skipped_copy_loses_its_near_duplicate_label_when_the_original_goes(
    settings: GloveboxSettings, tmp_path: Path, parsed: list[str]
) -> None:
    corpus = tmp_path / "kb"
    corpus.mkdir()
    for name in ("a-original", "b-copy"):
        (corpus / f"{name}.md").write_text(
            f"---\nid: {name}\nkind: owner_manual\naudience: public\n---\n## Brakes\n\n{PASSAGE}\n"
        )
    first = first_then_again(settings, corpus, parsed)
    (corpus / "a-original.md").unlink()

    report = make_job(settings).run([corpus])
    again = make_job(settings).run([corpus])

    assert len(first.near_duplicates) == 1 and report.near_duplicates == []
    assert parsed == ["b-copy.md"]  # unchanged, but read to clear its label; then skipped
    labels = {c.document_id: c.metadata.get("near_duplicate_of")
              for c in make_job(settings).store.iter_chunks()}  # fmt: skip
    assert labels == {"b-copy": None}
    assert report.documents_updated == 1 and again.to_json()["plan"] == []
