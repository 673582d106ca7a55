"""Reading a source file: empty, binary, non-UTF-8 and oversize files are refused with a remedy."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.loaders.base import LoadContext
from ingest.loaders.markdown import MarkdownLoader
from ingest.reading import read_bytes, read_text
from knowledge.errors import InputError


def refused(path: Path, max_megabytes: float = 50.0) -> InputError:
    with pytest.raises(InputError) as caught:
        read_text(path, max_megabytes)
    assert caught.value.source == str(path)
    return caught.value


@pytest.mark.parametrize(
    ("name", "content", "said"),
    [
        ("empty.md", b"", "empty"),
        ("blank.md", b"  \n\t\n\r\n   \n", "whitespace"),
        (
            "manual.md",
            b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00word/document.xml",
            "binary",
        ),
    ],
    ids=["empty", "whitespace-only", "binary"],
)
def test_a_file_without_text_is_refused_saying_why(
    tmp_path: Path, name: str, content: bytes, said: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)

    assert said in refused(path).problem


def test_cp1252_text_says_utf8_and_gives_the_line(tmp_path: Path) -> None:
    path = tmp_path / "faq.md"
    path.write_bytes(
        b"# Caf\xc3\xa9 menu\n"  # UTF-8 so far
        b"Second line is fine.\n"
        b"The r\xe9sum\xe9 of the d\xe9p\xf4t visit.\n"  # Windows-1252 from here
    )
    error = refused(path)

    assert error.line == 3
    assert "UTF-8" in error.problem
    assert "0xe9" in error.problem
    assert str(error).startswith(f"{path}:3:")


def test_an_oversize_file_names_the_limit_and_the_setting(tmp_path: Path) -> None:
    path = tmp_path / "huge.md"
    path.write_text("# Huge\n" + "All work and no play. " * 200)  # about 4 KB

    for read in (read_text, read_bytes):
        with pytest.raises(InputError) as caught:
            read(path, 0.001)
        assert "0.001 MB limit" in caught.value.problem
        assert "GLOVEBOX_INGEST_MAX_FILE_MB" in caught.value.problem


def test_loaders_apply_the_size_limit_from_their_context(tmp_path: Path) -> None:
    path = tmp_path / "huge.md"
    path.write_text("---\nkind: owner_manual\naudience: public\n---\n# Huge\n" + "Text. " * 500)
    context = LoadContext(source="huge.md", max_file_mb=0.001)

    with pytest.raises(InputError, match="GLOVEBOX_INGEST_MAX_FILE_MB"):
        MarkdownLoader().load(path, context)
    assert MarkdownLoader().load(path, LoadContext(source="huge.md")).documents


def test_utf8_with_a_byte_order_mark_and_windows_line_ends_reads_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_bytes("\ufeff# Café\r\nÜber die Bremse.\r\nLast line\rold Mac end\n".encode())

    assert read_text(path, 50.0) == "# Café\nÜber die Bremse.\nLast line\nold Mac end\n"
