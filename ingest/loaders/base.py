"""What every loader takes and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from knowledge.errors import InputError
from knowledge.records import ParsedDocument


@dataclass(frozen=True)
class LoadContext:
    """What a loader needs besides the file: manifest metadata and limits."""

    source: str
    """The path as the report and the provenance show it."""
    manifest_fields: dict[str, Any] | None = None
    max_file_mb: float = 50.0


@dataclass
class LoadResult:
    """The documents a file yielded, and the parts of it (rows, entries) that had to be skipped."""

    documents: list[ParsedDocument] = field(default_factory=list)
    skipped_parts: list[InputError] = field(default_factory=list)


class Loader(Protocol):
    """Reads one file. Raises `InputError` when nothing of it can be used."""

    def load(self, path: Path, context: LoadContext) -> LoadResult: ...
