"""`glovebox bench reading`: the same PDF-derived file read both ways, measured."""

from __future__ import annotations

from pathlib import Path

from ingest.reading_bench import compare_readings, is_real_title, is_whole
from tests.ingest.test_pdf_text import CONVERTED


def count_words(texts: list[str]) -> list[int]:
    return [len(text.split()) for text in texts]


def test_the_pdf_reader_gives_real_titles_and_whole_sentences(tmp_path: Path) -> None:
    path = tmp_path / "manual.md"
    path.write_text(CONVERTED, encoding="utf-8")
    comparison = compare_readings(path, count_words, probes=["Search for your home"])
    before, after = comparison.before, comparison.after
    assert after.titled / len(after.sections) > before.titled / len(before.sections)
    assert after.whole_share > before.whole_share
    text = comparison.describe()
    assert "as authored Markdown" in text and "PDF text reader" in text
    assert "--- the chunk holding 'Search for your home'" in text


def test_what_counts_as_a_title_and_a_whole_sentence() -> None:
    assert is_real_title("Registering home (12.3-inch display model)")
    assert not is_real_title("Navigation system (12.3-")
    assert not is_real_title("ing a Bluetooth device")
    assert is_whole("Press the “MAP” button.") and not is_whole("the route to it is found with")
