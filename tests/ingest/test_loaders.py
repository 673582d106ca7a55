"""Which loader reads which file, and a carmaker's own format registered from outside."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import ingest.loaders as loaders
from ingest.loaders import LoadContext, LoadResult, loader_for, register_loader
from ingest.loaders.emanual import EmanualJsonLoader
from ingest.loaders.faq import FaqCsvLoader, FaqYamlLoader
from ingest.loaders.html import HtmlLoader
from ingest.loaders.markdown import MarkdownLoader
from ingest.loaders.nhtsa import FlatRecallLoader, FlatServiceBulletinLoader
from ingest.loaders.pdf import PdfLoader
from ingest.loaders.recall_exports import RecallCsvLoader, RecallJsonLoader
from ingest.metadata import build_document
from knowledge.errors import ConfigurationError
from knowledge.records import ParsedDocument, Section
from knowledge.settings import GloveboxSettings
from tests.fakes import HashEmbedder
from tests.ingest.test_sync import make_job

RECALL_ROW = "\t".join(["1", "24V210000", "ACME", "ROADSTER", "2022", *[""] * 24])
BULLETIN_ROW = "\t".join(["HV-22-003", "", "10203040", "20240101", *[""] * 6])

FIRST_LINES_BY_LOADER: dict[type, dict[str, str]] = {
    MarkdownLoader: {"manual.md": "# M", "MANUAL.MD": "# M", "a.markdown": "# M", "a.txt": "Notes"},
    HtmlLoader: {"page.html": "<h1>Page</h1>", "page.htm": "<h1>Page</h1>"},
    PdfLoader: {"manual.pdf": "%PDF-1.7"},
    FaqYamlLoader: {"faq.yaml": "entries:", "faq.yml": "entries:"},
    FlatRecallLoader: {"recalls.txt": RECALL_ROW, "FLAT_RCL_2024.txt": "", "2024.rcl.txt": ""},
    FlatServiceBulletinLoader: {"b.txt": BULLETIN_ROW, "FLAT_TSBS.txt": "", "2024.tsb.txt": ""},
    FaqCsvLoader: {"roadside.faq.csv": "id,text", "questions.csv": "Question, Answer"},
    RecallCsvLoader: {"recalls.csv": "campaign_number,make,model", "anything.csv": "a,b"},
    EmanualJsonLoader: {"s10_manual_corpus.json": "[]"},
    RecallJsonLoader: {"recalls.json": "[]"},
}
"""Every built-in format: file names (with their first line) and the loader that reads them."""
SELECTION = [
    (name, first_line, loader)
    for loader, files in FIRST_LINES_BY_LOADER.items()
    for name, first_line in files.items()
]


@pytest.mark.parametrize(("name", "first_line", "expected"), SELECTION)
def test_each_file_type_gets_its_loader(
    tmp_path: Path, name: str, first_line: str, expected: type
) -> None:
    path = tmp_path / name
    path.write_text(first_line + "\n", encoding="utf-8")
    assert type(loader_for(path)) is expected


@pytest.mark.parametrize("name", ["README", "photo.png", "notes.docx"])
def test_a_file_no_format_reads_gets_none(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("x", encoding="utf-8")
    assert loader_for(path) is None


class NoticeLoader:
    """A carmaker's own format: one 'TITLE: text' line per file."""

    def load(self, path: Path, context: LoadContext) -> LoadResult:
        title, _, text = path.read_text(encoding="utf-8").partition(":")
        document = build_document(
            {
                "id": f"notice-{path.stem}",
                "kind": "service_bulletin",
                "audience": "public",
                "title": title,
            },
            source=context.source,
        )
        section = Section(heading_path=[title], text=text.strip())
        return LoadResult([ParsedDocument(document=document, sections=[section])])


@pytest.fixture
def clean_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    suffixes = set(loaders.SUPPORTED_SUFFIXES)
    monkeypatch.setattr(loaders, "_registered", [])
    yield
    loaders.SUPPORTED_SUFFIXES.clear()
    loaders.SUPPORTED_SUFFIXES.update(suffixes)


@pytest.mark.usefixtures("clean_registry")
def test_a_registered_format_is_ingested(settings: GloveboxSettings, tmp_path: Path) -> None:
    register_loader("notices", {".notice"}, NoticeLoader)
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "wipers.notice").write_text("Winter wipers: fit them before the first frost.")

    report = make_job(settings, HashEmbedder()).run([folder])

    assert report.skipped == []
    assert report.documents == 1
    assert ".notice" in loaders.SUPPORTED_SUFFIXES
    chunks = list(make_job(settings, HashEmbedder())._store.iter_chunks_with_text())
    assert [(chunk.document_id, "first frost" in text) for chunk, text in chunks] == [
        ("notice-wipers", True)
    ]


@pytest.mark.usefixtures("clean_registry")
def test_a_registered_format_is_asked_before_the_built_in_ones(tmp_path: Path) -> None:
    register_loader(
        "dealer-csv", {"CSV"}, NoticeLoader, reads=lambda path: path.name.startswith("DLR_")
    )
    ours, theirs = tmp_path / "DLR_notes.csv", tmp_path / "recalls.csv"
    ours.write_text("a,b\n")
    theirs.write_text("a,b\n")
    assert isinstance(loader_for(ours), NoticeLoader)
    assert isinstance(loader_for(theirs), RecallCsvLoader)


@pytest.mark.usefixtures("clean_registry")
def test_a_format_without_a_suffix_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="give one like"):
        register_loader("nothing", [], NoticeLoader)
