"""Zip archives read in place: each member through the loader it would get unzipped."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest

from ingest.loaders import loader_for
from ingest.loaders.archive import ZipArchiveLoader
from ingest.loaders.base import LoadContext, LoadResult
from ingest.sync import IngestJob
from knowledge.errors import InputError
from knowledge.records import compact_name
from knowledge.settings import GloveboxSettings
from tests.conftest import shared_data
from tests.fakes import HashEmbedder
from tests.ingest.test_sync import make_job

INDEX_HEADER = '"NHTSA ID","DOCUMENT NAME","MAKE","MODEL","MODEL YEAR","SUMMARY"\r\n'
NOTE = (
    "---\nid: note\nkind: owner_manual\naudience: public\ntitle: Note\n---\n"
    "## Wipers\n\nReplace the blades every year.\n"
)


def index_rows(count: int) -> str:
    """Rows of the recall-document index layout: two documents per campaign and model."""
    return "".join(
        f'"24V{number:03d}","RCONL-24V{number:03d}-{document}.pdf","ACME","ROADSTER","2023",'
        f'"Acme is recalling certain 2023 Roadster vehicles; letter {document}."\r\n'
        for number in range(count)
        for document in (1, 2)
    )


def write_zip(path: Path, members: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def load(path: Path, max_file_mb: float = 50.0) -> LoadResult:
    loader = loader_for(path)
    assert isinstance(loader, ZipArchiveLoader)
    return loader.load(path, LoadContext(path.name, None, max_file_mb))


def test_each_member_is_read_by_the_loader_it_would_get_unzipped(tmp_path: Path) -> None:
    path = write_zip(
        tmp_path / "export.zip",
        {"RCL_FROM_2024.csv": INDEX_HEADER + index_rows(3), "docs/note.md": NOTE},
    )

    result = load(path)

    assert result.skipped_parts == []
    kinds = sorted(parsed.document.kind.value for parsed in result.documents)
    assert kinds == ["owner_manual", "recall_notice", "recall_notice", "recall_notice"]
    sources = {parsed.document.provenance.source_file for parsed in result.documents}
    assert sources == {"export.zip!RCL_FROM_2024.csv", "export.zip!docs/note.md"}


def test_the_size_limit_is_the_archives_and_a_member_may_unpack_past_it(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "index.zip", {"index.csv": INDEX_HEADER + index_rows(4000)})
    assert path.stat().st_size < 0.1 * 1024 * 1024 < zipfile.ZipFile(path).infolist()[0].file_size

    assert len(load(path, max_file_mb=0.1).documents) == 4000
    with pytest.raises(InputError, match=r"over the 0\.01 MB limit"):
        load(path, max_file_mb=0.01)


def test_bad_members_are_skipped_by_name_and_the_rest_is_read(tmp_path: Path) -> None:
    inner = write_zip(tmp_path / "inner.zip", {"note.md": NOTE})
    path = write_zip(
        tmp_path / "mixed.zip",
        {
            "good.csv": INDEX_HEADER + index_rows(1),
            "notes.docx": b"PK\x03\x04 not text",
            "layout.csv": "a,b\n1,2\n",
            "nested.zip": inner.read_bytes(),
            "bomb.csv": INDEX_HEADER + " " * 2_000_000,
            "__MACOSX/._good.csv": b"\x00\x05",
        },
    )

    result = load(path)

    assert len(result.documents) == 1
    problems = {error.source: error.problem for error in result.skipped_parts}
    assert set(problems) == {
        "mixed.zip!notes.docx", "mixed.zip!layout.csv", "mixed.zip!nested.zip", "mixed.zip!bomb.csv"
    }  # fmt: skip
    assert "file type .docx is not read" in problems["mixed.zip!notes.docx"]
    assert "unknown CSV layout" in problems["mixed.zip!layout.csv"]
    assert "a zip inside a zip" in problems["mixed.zip!nested.zip"]
    assert "times its packed size" in problems["mixed.zip!bomb.csv"]


def test_a_file_that_is_not_a_zip_says_so(tmp_path: Path) -> None:
    path = tmp_path / "broken.zip"
    path.write_bytes(b"this is not an archive at all")

    with pytest.raises(InputError, match="not a readable zip archive") as caught:
        load(path)
    assert caught.value.source == "broken.zip"


def test_an_archive_of_nothing_is_refused(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "empty.zip", {"folder/": b"", ".hidden.md": NOTE})

    with pytest.raises(InputError, match="holds no files"):
        load(path)


def test_an_ingested_archive_syncs_like_a_file(settings: GloveboxSettings, tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    write_zip(folder / "recalls.zip", {"index.csv": INDEX_HEADER + index_rows(5)})
    job: IngestJob = make_job(settings, HashEmbedder())

    first = job.run([folder])
    again = make_job(settings, HashEmbedder()).run([folder])
    (folder / "recalls.zip").unlink()
    gone = make_job(settings, HashEmbedder()).run([folder])

    assert (first.documents_added, first.skipped) == (5, [])
    assert again.chunks_unchanged == first.chunks_total and again.chunks_embedded == 0
    assert gone.documents_removed == 5


def index_groups(path: Path) -> tuple[int, set[tuple[str, str, str]]]:
    """Rows of a zipped recall-document index, and its (campaign, make, model) groups."""
    with zipfile.ZipFile(path) as archive, archive.open(archive.namelist()[0]) as member:
        rows = list(csv.DictReader(io.TextIOWrapper(member, encoding="utf-8")))
    groups = {
        (row["NHTSA ID"], compact_name(row["MAKE"]), compact_name(row["MODEL"])) for row in rows
    }
    return len(rows), groups


def test_the_real_recall_document_index_is_planned_from_its_zip(
    settings: GloveboxSettings,
) -> None:
    folder = shared_data("nhtsa/recall_documents_2020_2026")
    recent = folder / "RCL_FROM_2025_2026.zip"
    assert {type(loader_for(path)) for path in folder.glob("*.zip")} == {ZipArchiveLoader}

    report = make_job(settings, HashEmbedder()).run([recent], dry_run=True)

    rows, groups = index_groups(recent)
    assert rows == 4739 and report.skipped == []
    assert report.documents == report.documents_added == len(groups) == 527
    assert report.chunks_total >= report.documents
