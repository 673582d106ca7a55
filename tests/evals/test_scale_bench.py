"""`glovebox bench scale`: its tiers, its market copies, its reused vectors, its table, and a
real run of a small tier so that the command cannot rot."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from evals.scale_bench import MEASURES, BuildRecord, LatencyFigures, TierResult, scale_table
from evals.scale_corpus import (
    RecordedVectorEmbedder,
    ScaleTier,
    parse_tiers,
    plan_tier,
    write_tier_sources,
)
from evals.scale_server import ReingestFigures, ServerFigures
from ingest.loaders.base import LoadContext
from ingest.loaders.recall_exports import RecallCsvLoader
from knowledge.errors import InputError
from tests.conftest import shared_data
from tests.fakes import HashEmbedder


def test_tiers_are_sizes_in_chunks_smallest_first() -> None:
    tiers = parse_tiers("100k, 2k,10k,2k")
    assert [(t.label, t.target_chunks) for t in tiers] == [
        ("2k", 2_000), ("10k", 10_000), ("100k", 100_000),
    ]  # fmt: skip
    assert ScaleTier.parse("1.5M").target_chunks == 1_500_000
    for bad in ("", "ten", "0k", "-2k"):
        with pytest.raises(InputError, match="--tiers"):
            parse_tiers(bad)


def test_a_tier_past_the_distinct_text_is_market_copies() -> None:
    small, big = (plan_tier(ScaleTier.parse(size), 10_000) for size in ("2k", "100k"))
    assert small.markets == 1 and 1_800 < small.notices < 2_000
    assert big.markets == 10 and 9_000 < big.notices < 10_000
    assert small.kb != big.kb


def _group(campaign: str, model: str, summary: str) -> list[dict[str, str]]:
    return [
        {"NHTSA ID": campaign, "DOCUMENT NAME": f"RCMN-{campaign}-1.pdf", "MAKE": "ACME",
         "MODEL": model, "MODEL YEAR": str(year), "SUMMARY": summary}
        for year in (2021, 2022)
    ]  # fmt: skip


def _notices(folder: Path) -> dict[str, str]:
    """Each notice the real recall loader reads from the folder: document id -> its text."""
    notices = {}
    for path in sorted(folder.glob("*.csv")):
        for item in RecallCsvLoader().load(path, LoadContext(str(path))).documents:
            notices[item.document.id] = "\n".join(section.text for section in item.sections)
    return notices


def test_market_copies_have_their_own_ids_and_the_same_text(tmp_path: Path) -> None:
    groups = [
        _group("24V101", "ROADSTER", "The brake hose may rub and leak fluid."),
        _group("24V102", "HAULER", "The seat belt buckle may not latch."),
        _group("RCL-9", "HAULER", "A number its notice shows whole: not copied."),
    ]
    tier = ScaleTier("tiny", 6)
    folder = write_tier_sources(groups, plan_tier(tier, distinct_chunks=3), tmp_path / "tiny")

    original, copy = _notices(folder / "market-00"), _notices(folder / "market-01")
    assert len(original) == 3 and len(copy) == 2
    assert not set(original) & set(copy)
    assert sorted(copy.values()) == sorted(
        text for text in original.values() if "RCL-9" not in text
    )


def test_a_notice_is_never_split_across_files(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("evals.scale_corpus.ROWS_PER_FILE", 3)
    groups = [_group(f"24V{n:03d}", "ROADSTER", f"Defect number {n}.") for n in range(5)]
    folder = write_tier_sources(groups, plan_tier(ScaleTier("t", 5), 5), tmp_path / "t")
    files = sorted((folder / "market-00").glob("*.csv"))
    assert len(files) == 5
    for path in files:
        with path.open(encoding="utf-8") as handle:
            assert len({row["NHTSA ID"] for row in csv.DictReader(handle)}) == 1


def test_recorded_vectors_are_the_models_and_are_reused_across_runs(tmp_path: Path) -> None:
    model = HashEmbedder()
    recording = tmp_path / "vectors.npz"
    first = RecordedVectorEmbedder(model, recording)
    vectors = first.embed_documents(["brake hose", "seat belt", "brake hose"])
    assert (first.computed, first.reused) == (2, 1)
    assert vectors[0] == vectors[2] == model.embed_query("brake hose")
    first.save()

    model.embedded_texts.clear()
    again = RecordedVectorEmbedder(model, recording)
    reused = again.embed_documents(["seat belt", "air bag"])
    assert model.embedded_texts == ["air bag"]
    assert (again.computed, again.reused) == (1, 1)
    assert reused[0] == pytest.approx(vectors[1], abs=1e-6)


def _result(label: str, chunks: int, retrieve_ms: float) -> TierResult:
    plan = plan_tier(ScaleTier.parse(label), 10_000)
    build = BuildRecord(plan.kb, chunks, 100.0, 80.0, chunks, 0, 0, "2026-01-01 00:00 UTC")
    latency = LatencyFigures([retrieve_ms] * 3, [retrieve_ms * 2] * 3, [retrieve_ms * 4] * 3)
    server = ServerFigures(5.0, "ready", 0.5, 800.0)
    return TierResult(plan, chunks, build, latency, server, ReingestFigures(4.0, 2.0, 0, False))


def test_the_table_has_a_row_per_measure_and_growth_per_chunk() -> None:
    table = scale_table([_result("10k", 10_000, 10.0), _result("100k", 100_000, 100.0)])
    rows = {line[:22].strip(): line[22:].split() for line in table.splitlines()}
    assert rows["measure"] == ["10k", "100k", "10k->100k"]
    assert rows["retrieve p95 ms"] == ["10.0", "100.0", "1.00", "µs/chunk"]
    assert rows["answer/LC p95"] == ["0.50", "0.50"]
    assert rows["re-ingest model"] == ["no", "no"]
    assert rows["/healthz said"] == ["ready", "ready"]


NUMBER = re.compile(r"^\d+(\.\d+)?$")
WORDS = {"/healthz said": {"ok", "ready"}, "re-ingest model": {"yes", "no", "n/a"}}
FIRST_ASK_ROWS = ("first-ask answer p50", "first-ask answer p95", "first-ask LC p50",
                  "first-ask LC p95", "first-ask ans/LC p95")  # fmt: skip
WORDS.update({row: {"n/a"} for row in FIRST_ASK_ROWS})  # one round: no first round apart


@pytest.mark.slow
@pytest.mark.integration
def test_a_small_tier_runs_whole(tmp_path: Path) -> None:
    """About 2k chunks: 100 of them embedded, the rest market copies; about a minute."""
    from typer.testing import CliRunner

    from ui.cli import app

    index = shared_data("nhtsa/recall_documents_2020_2026/RCL_FROM_2020_2024.zip")
    questions = tmp_path / "questions.jsonl"
    questions.write_text(
        "\n".join(
            json.dumps(q)
            for q in (
                {"question": "any recalls on my 2021 honda crv?", "channel": "driver"},
                {"question": "seat belt wont latch, recall?", "channel": "driver"},
                {"question": "caller asks about a fuel pump campaign", "channel": "agent",
                 "vehicle": "2020 Toyota Tundra"},
            )
        )
    )  # fmt: skip
    result = CliRunner().invoke(
        app,
        ["bench", "scale", "--tiers", "2k", "--distinct", "100", "--rounds", "1",
         "--home", str(tmp_path / "bench"), "--questions", str(questions),
         "--shared-data", str(index.parents[2])],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    table = lines[next(i for i, line in enumerate(lines) if line.startswith("measure")) :]
    assert table[0].split() == ["measure", "2k"]
    rows = {line[:22].strip(): line[22:].split() for line in table[1:]}
    assert len(rows) == len(MEASURES)
    for name, cells in rows.items():
        assert len(cells) == 1, name
        if name in WORDS:
            assert cells[0] in WORDS[name], name
        else:
            assert NUMBER.match(cells[0]) and float(cells[0]) > 0, (name, cells)
    assert 1_500 < int(rows["chunks"][0]) < 3_000
    assert "reused" in result.stdout and "quality figures would mean nothing" in result.stdout
