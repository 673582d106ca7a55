"""`glovebox bench vehicles`: spotting vehicles in messages with a real catalogue loaded.

The catalogue is every make, model and model-year span of NHTSA's 2020-2024 recall-document
index (`nhtsa/recall_documents_2020_2026/RCL_FROM_2020_2024.zip`, read in place), thousands of
models. The questions (`evals/datasets/vehicle_mentions.jsonl`, 100 written for it) name a
vehicle of the index, one it does not have, or none; the split is drawn from a hash of the id.

    report = run_vehicle_bench(shared_root)
    print(vehicle_table(report))
"""

from __future__ import annotations

import csv
import io
import statistics
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from assistant.records import Vehicle
from assistant.vehicles import CatalogEntry, VehicleCatalog
from evals.corpora import hashed_split
from evals.dataset import jsonl_records
from ingest.loaders.nhtsa import display_name
from knowledge.errors import InputError
from knowledge.records import compact_name

INDEX = "nhtsa/recall_documents_2020_2026/RCL_FROM_2020_2024.zip"
QUESTIONS = Path(__file__).resolve().parent / "datasets" / "vehicle_mentions.jsonl"
DEV_SHARE = 0.4


@dataclass(frozen=True)
class MentionCase:
    id: str
    question: str
    make: str | None
    model: str | None
    year: int | None
    split: str


@dataclass
class SplitScore:
    found_right: int = 0
    found: int = 0
    labelled: int = 0

    @property
    def precision(self) -> float:
        return self.found_right / self.found if self.found else 0.0

    @property
    def recall(self) -> float:
        return self.found_right / self.labelled if self.labelled else 0.0


@dataclass
class VehicleBenchReport:
    makes: int
    models: int
    rows: int
    build_seconds: float
    lookup_ms: list[float]
    scores: dict[str, SplitScore] = field(default_factory=dict)


def index_catalog(zip_path: Path) -> tuple[list[CatalogEntry], int]:
    """(make, model, first year, last year) for every make and model of the index."""
    spans: dict[tuple[str, str], list[int]] = {}
    rows = 0
    try:
        with zipfile.ZipFile(zip_path) as archive, archive.open(archive.namelist()[0]) as raw:
            for row in csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8", errors="replace")):
                rows += 1
                make, model = (row.get("MAKE") or "").strip(), (row.get("MODEL") or "").strip()
                if not make or not model:
                    continue
                years = spans.setdefault((make, model), [])
                year = (row.get("MODEL YEAR") or "").strip()
                if year.isdigit() and year != "9999":
                    years.append(int(year))
    except (OSError, zipfile.BadZipFile, KeyError) as error:
        raise InputError(
            str(zip_path), f"cannot read the recall-document index ({error})"
        ) from error
    entries: list[CatalogEntry] = [
        (display_name(make), display_name(model), min(years, default=None) or None,
         max(years, default=None) or None)
        for (make, model), years in spans.items()
    ]  # fmt: skip
    return entries, rows


def load_questions(path: Path = QUESTIONS) -> list[MentionCase]:
    cases = []
    for number, row in jsonl_records(path):
        try:
            cases.append(
                MentionCase(
                    row["id"], row["question"], row.get("make"), row.get("model"),
                    row.get("year"), hashed_split("vehicles", row["id"], DEV_SHARE),
                )
            )  # fmt: skip
        except (KeyError, TypeError) as error:
            raise InputError(str(path), f"not a vehicle question ({error})", line=number) from error
    return cases


def _right(found: Vehicle, case: MentionCase) -> bool:
    same_model = compact_name(found.model or "") == compact_name(case.model or "")
    same_make = compact_name(found.make or "") == compact_name(case.make or "")
    return same_model and same_make and (case.year is None or found.year == case.year)


def run_vehicle_bench(shared_root: Path, *, passes: int = 5) -> VehicleBenchReport:
    entries, rows = index_catalog(shared_root / INDEX)
    started = time.perf_counter()
    catalog = VehicleCatalog(entries)
    build_seconds = time.perf_counter() - started
    cases = load_questions()
    report = VehicleBenchReport(
        len(catalog.makes()), len(catalog.models()), rows, build_seconds, []
    )
    for number in range(passes):
        for case in cases:
            started = time.perf_counter()
            # As the chain does: another maker's car named is no vehicle of the catalogue.
            other = catalog.other_make_in(case.question)
            found = None if other else catalog.find_in_text(case.question)
            report.lookup_ms.append((time.perf_counter() - started) * 1000)
            if number:
                continue
            score = report.scores.setdefault(case.split, SplitScore())
            score.labelled += case.model is not None
            if found is not None and found.model:
                score.found += 1
                score.found_right += case.model is not None and _right(found, case)
    return report


def vehicle_table(report: VehicleBenchReport) -> str:
    timings = sorted(report.lookup_ms)
    p95 = timings[int(0.95 * (len(timings) - 1))]
    lines = [
        f"catalogue: {report.models} models of {report.makes} makes from {report.rows} index "
        f"rows, built in {report.build_seconds:.2f} s",
        f"lookup per message: p50 {statistics.median(timings):.2f} ms, p95 {p95:.2f} ms "
        f"({len(timings)} lookups)",
        f"{'split':<7}{'questions naming one':>22}{'found':>8}{'precision':>11}{'recall':>8}",
    ]
    for split in ("dev", "test"):
        score = report.scores.get(split)
        if score:
            lines.append(
                f"{split:<7}{score.labelled:>22}{score.found:>8}{score.precision:>11.2f}"
                f"{score.recall:>8.2f}"
            )
    return "\n".join(lines)
