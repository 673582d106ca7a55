"""Every kind of bad input is reported with its file, line and what to do; nothing else is lost."""

from __future__ import annotations

from pathlib import Path

from ingest.sync import find_inconsistencies
from knowledge.settings import GloveboxSettings
from tests.fakes import HashEmbedder
from tests.ingest.bad_corpus import EXPECTED_SKIPS, write_bad_corpus
from tests.ingest.test_sync import make_job


def test_bad_inputs_are_reported_and_the_rest_is_ingested(
    settings: GloveboxSettings, tmp_path: Path
) -> None:
    corpus = write_bad_corpus(tmp_path / "kb")
    job = make_job(settings, HashEmbedder())
    report = job.run([corpus])

    reported = {str(Path(s.path).relative_to(corpus)): s for s in report.skipped}
    assert set(reported) == set(EXPECTED_SKIPS)
    for name, (line, word) in EXPECTED_SKIPS.items():
        skipped = reported[name]
        assert word.lower() in skipped.reason.lower(), (name, skipped.reason)
        assert skipped.line == line, (name, skipped.line, skipped.reason)

    stored = {chunk.document_id for chunk in job._store.iter_chunks()}
    # the good corpus, plus the good row of the CSV and the good row of the flat file
    assert stored == {
        "test-tessel-manual", "faq-roadside", "faq-warranty", "tsb-hv-22-003",
        "faq-good-row", "recall-24v210000-halvard-tessel",
    }  # fmt: skip
    assert find_inconsistencies(job._store) == []


def test_every_reason_says_what_to_do(settings: GloveboxSettings, tmp_path: Path) -> None:
    corpus = write_bad_corpus(tmp_path / "kb")
    report = make_job(settings, HashEmbedder()).run([corpus])
    remedies = (
        "add",
        "remove",
        "export",
        "save",
        "fix",
        "split",
        "re-save",
        "fill",
        "copy",
        "raise",
    )
    for skipped in report.skipped:
        assert any(word in skipped.reason.lower() for word in remedies), skipped.reason
