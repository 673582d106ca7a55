"""The real text `glovebox bench scale` builds its knowledge bases from, and the vectors it reuses.

The text is NHTSA's recall-document index (`RCL_FROM_2020_2024.zip`, read in place): the rows of
each (campaign, make, model) become one recall notice through the normal recall-export loader.
A tier of N chunks takes the first notices of the index in file order; a tier bigger than
`distinct_chunks` is that many notices copied into several "markets". A copy differs from its
original only in its campaign number's last three digits, which its text never shows (a notice
shows the six-character campaign), so it has its own document id and exactly the same text.

    plan = plan_tier(ScaleTier.parse("100k"), distinct_chunks=10_000)  # 10 markets
    folder = write_tier_sources(read_recall_groups(zip_path), plan, home / "sources" / "100k")
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from knowledge.embedder import Embedder
from knowledge.errors import InputError
from knowledge.records import compact_name

RECALL_INDEX = Path("nhtsa") / "recall_documents_2020_2026" / "RCL_FROM_2020_2024.zip"
"""Inside the shared data folder."""
CHUNKS_PER_NOTICE = 1.06
"""Measured on the index: 9,863 notices made 10,462 chunks."""
ROWS_PER_FILE = 30_000
"""About 10 MB of CSV: under the ingest's default file-size cap."""
SIX_CHARACTER_CAMPAIGN = re.compile(r"^\d{2}[VETC]\d{3}$")

RecallGroup = list[dict[str, str]]
"""The index rows of one (campaign, make, model): one recall notice."""


@dataclass(frozen=True)
class ScaleTier:
    """A knowledge-base size to measure at, as typed (`10k`) and as a chunk count."""

    label: str
    target_chunks: int

    @classmethod
    def parse(cls, text: str) -> ScaleTier:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*", text)
        if match is None or float(match.group(1)) <= 0:
            raise InputError("--tiers", f"{text!r} is not a size; write chunks like 2k, 10k, 100k")
        scale = {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2).lower()]
        return cls(text.strip().lower(), round(float(match.group(1)) * scale))


def parse_tiers(text: str) -> list[ScaleTier]:
    """`2k,10k,100k` as tiers, smallest first."""
    tiers = [ScaleTier.parse(part) for part in text.split(",") if part.strip()]
    if not tiers:
        raise InputError("--tiers", "name at least one size, e.g. --tiers 10k,100k")
    return sorted(set(tiers), key=lambda tier: tier.target_chunks)


@dataclass(frozen=True)
class TierPlan:
    """How a tier is made: `notices` distinct notices, in `markets` copies."""

    tier: ScaleTier
    notices: int
    markets: int

    @property
    def kb(self) -> str:
        return f"scale-{self.tier.label}-{self.notices}x{self.markets}"


def plan_tier(tier: ScaleTier, distinct_chunks: int) -> TierPlan:
    distinct = min(tier.target_chunks, distinct_chunks)
    return TierPlan(
        tier,
        notices=max(1, round(distinct / CHUNKS_PER_NOTICE)),
        markets=max(1, round(tier.target_chunks / distinct)),
    )


def read_recall_groups(zip_path: Path) -> list[RecallGroup]:
    """The index's rows grouped into notices, as the recall-export loader groups them, in the
    order each notice first appears."""
    if not zip_path.is_file():
        raise InputError(str(zip_path), "not found; pass --shared-data with nhtsa/ in it")
    groups: dict[tuple[str, str, str], RecallGroup] = {}
    with zipfile.ZipFile(zip_path) as archive:
        member = next(name for name in archive.namelist() if name.lower().endswith(".csv"))
        with archive.open(member) as raw:
            rows = csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8", errors="replace"))
            for row in rows:
                key = (row["NHTSA ID"], compact_name(row["MAKE"]), compact_name(row["MODEL"]))
                groups.setdefault(key, []).append(row)
    return list(groups.values())


def write_tier_sources(groups: list[RecallGroup], plan: TierPlan, folder: Path) -> Path:
    """The tier's CSV files under `folder` (one folder per market, every notice whole in one
    file); the same files each time, so a second ingest of them changes nothing."""
    if plan.notices > len(groups):
        raise InputError(
            "--tiers", f"the index has {len(groups)} notices, fewer than the {plan.notices} asked"
        )
    originals = groups[: plan.notices]
    for market in range(plan.markets):
        market_folder = folder / f"market-{market:02d}"
        market_folder.mkdir(parents=True, exist_ok=True)
        for number, part in enumerate(_whole_notice_parts(originals, market)):
            _write_csv(market_folder / f"recalls-{number:02d}.csv", part)
    return folder


def _market_copy(group: RecallGroup, market: int) -> RecallGroup:
    if market == 0:
        return group
    if not SIX_CHARACTER_CAMPAIGN.match(group[0]["NHTSA ID"]):
        return []  # its text would show the changed number: it would not be the same text
    return [{**row, "NHTSA ID": f"{row['NHTSA ID']}{market:03d}"} for row in group]


def _whole_notice_parts(groups: list[RecallGroup], market: int) -> list[list[dict[str, str]]]:
    parts: list[list[dict[str, str]]] = [[]]
    for group in groups:
        copy = _market_copy(group, market)
        if parts[-1] and len(parts[-1]) + len(copy) > ROWS_PER_FILE:
            parts.append([])
        parts[-1].extend(copy)
    return [part for part in parts if part]


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), quoting=csv.QUOTE_ALL)
    writer.writeheader()
    writer.writerows(rows)
    text = buffer.getvalue()
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


class RecordedVectorEmbedder:
    """Bench only: the vector the real model gave a text before, else the real model's now.

    It lets the big tiers reuse the vectors of their market copies' identical texts (and lets a
    later run reuse an earlier run's) instead of spending an hour embedding. Every vector is the
    real model's for exactly that text; only where it was computed differs. The recording is a
    NumPy file keyed by the text's SHA-256.

        embedder = RecordedVectorEmbedder(real, home / "vectors-all-MiniLM-L6-v2.npz")
        job = build_ingest_job(settings, kb, embedder); job.run(paths); embedder.save()
    """

    def __init__(self, real: Embedder, recording: Path) -> None:
        self._real = real
        self._recording = recording
        self._vectors: dict[str, list[float]] = {}
        self.computed = 0
        self.reused = 0
        if recording.is_file():
            import numpy as np

            with np.load(recording) as saved:
                for digest, vector in zip(saved["digests"], saved["vectors"], strict=True):
                    self._vectors[str(digest)] = vector.tolist()

    @property
    def model_name(self) -> str:
        return self._real.model_name

    @property
    def dimension(self) -> int:
        return self._real.dimension

    @property
    def max_tokens(self) -> int:
        return self._real.max_tokens

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self._real.count_tokens(texts)

    def embed_query(self, text: str) -> list[float]:
        return self._real.embed_query(text)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        digests = [hashlib.sha256(text.encode()).hexdigest() for text in texts]
        missing = list({d: text for d, text in zip(digests, texts, strict=True)
                        if d not in self._vectors}.items())  # fmt: skip
        if missing:
            vectors = self._real.embed_documents([text for _, text in missing])
            self._vectors.update((d, v) for (d, _), v in zip(missing, vectors, strict=True))
        self.computed += len(missing)
        self.reused += len(texts) - len(missing)
        return [self._vectors[digest] for digest in digests]

    def save(self) -> None:
        import numpy as np

        self._recording.parent.mkdir(parents=True, exist_ok=True)
        partial = self._recording.with_name(self._recording.name + ".partial.npz")
        np.savez(
            partial,
            digests=np.array(list(self._vectors), dtype="U64"),
            vectors=np.array(list(self._vectors.values()), dtype=np.float32),
        )
        partial.replace(self._recording)
