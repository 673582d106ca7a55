"""Document metadata from front matter or a manifest, validated into a `SourceDocument`."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from knowledge.errors import InputError
from knowledge.records import Provenance, SourceDocument

MANIFEST_NAME = "manifest.yaml"
FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)?---[ \t]*(?:\n|\Z)", re.DOTALL)
DOCUMENT_FIELDS = {
    "id", "kind", "audience", "title", "vehicle", "language", "effective_date", "version",
    "supersedes",
}  # fmt: skip


def yaml_error_line(error: Exception, first_line: int = 1) -> int | None:
    """The line YAML blames; for a quote, bracket or key left open, the line that opened it.

    Inside a block mapping or list the context is only where that block starts (often line 1),
    so there the line of the problem itself is the one to show.
    """
    context = str(getattr(error, "context", None) or "")
    order = ("problem_mark", "context_mark")
    if not context.startswith("while parsing a block"):
        order = ("context_mark", "problem_mark")
    mark = getattr(error, order[0], None) or getattr(error, order[1], None)
    return mark.line + first_line if mark is not None else None


def split_front_matter(text: str, source: str) -> tuple[dict[str, Any], str, int]:
    """(front matter, body, number of lines the front matter took)."""
    match = FRONT_MATTER.match(text)
    if not match:
        return {}, text, 0
    try:
        front_matter = yaml.safe_load(match.group(1) or "") or {}
    except yaml.YAMLError as error:
        raise InputError(
            source,
            f"the front matter is not valid YAML ({getattr(error, 'problem', error)}); fix it",
            line=yaml_error_line(error, first_line=2),
        ) from error
    if not isinstance(front_matter, dict):
        raise InputError(source, "the front matter must be a YAML mapping of field: value", line=1)
    return front_matter, text[match.end() :], match.group(0).count("\n")


def build_document(
    fields: dict[str, Any], *, source: str, line: int | None = None, anchor: str | None = None
) -> SourceDocument:
    """Validates metadata into a document; an error names the field and what to put there."""
    known = {key: value for key, value in fields.items() if key in DOCUMENT_FIELDS}
    attributes = {
        key: _attribute_value(value)
        for key, value in fields.items()
        if key not in DOCUMENT_FIELDS and key != "path" and value is not None
    }
    for required in ("kind", "audience"):
        if not known.get(required):
            raise InputError(
                source,
                f"missing required metadata field '{required}'; add it to the front matter or to "
                f"a {MANIFEST_NAME} entry for this file (see docs/knowledge-formats.md), or give "
                f"it when ingesting one file (glovebox ingest FILE --kind ... --vehicle ...)",
                line=line,
            )
    if isinstance(known.get("supersedes"), str):
        known["supersedes"] = [known["supersedes"]]
    if known.get("version") is not None:
        known["version"] = str(known["version"])
    try:
        return SourceDocument(
            **known,
            attributes=attributes,
            provenance=Provenance(source_file=source, line=line, anchor=anchor),
        )
    except ValidationError as error:
        problems = "; ".join(
            f"field '{'.'.join(str(part) for part in issue['loc'])}': {issue['msg']}"
            for issue in error.errors()
        )
        raise InputError(source, f"invalid metadata: {problems}", line=line) from error


def _attribute_value(value: Any) -> Any:
    if isinstance(value, list):
        return [str(item) for item in value]
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "document"


@dataclass
class ManifestEntry:
    pattern: str
    fields: dict[str, Any]


@dataclass
class Manifest:
    """Metadata for files that cannot carry front matter (HTML, PDF), keyed by path glob."""

    folder: Path
    entries: list[ManifestEntry] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> Manifest:
        source = str(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as error:
            raise InputError(
                source,
                f"the manifest is not valid YAML ({getattr(error, 'problem', error)}); fix it",
                line=yaml_error_line(error),
            ) from error
        if not isinstance(data, dict) or not isinstance(data.get("documents", []), list):
            raise InputError(source, "a manifest is a mapping with a 'documents:' list")
        entries = []
        for index, entry in enumerate(data.get("documents", [])):
            if not isinstance(entry, dict) or not entry.get("path"):
                raise InputError(source, f"documents[{index}] needs a 'path:' (a file or glob)")
            entries.append(ManifestEntry(str(entry["path"]), dict(entry)))
        return cls(path.parent, entries, [str(item) for item in data.get("ignore", [])])

    def _relative(self, path: Path) -> str | None:
        try:
            return path.resolve().relative_to(self.folder.resolve()).as_posix()
        except ValueError:
            return None

    def fields_for(self, path: Path) -> dict[str, Any] | None:
        relative = self._relative(path)
        for entry in self.entries:
            pattern_path = Path(entry.pattern)
            if pattern_path.is_absolute():
                if path.resolve() == pattern_path.resolve():
                    return entry.fields
            elif relative is not None and fnmatch.fnmatch(relative, entry.pattern):
                return entry.fields
        return None

    def ignores(self, path: Path) -> bool:
        relative = self._relative(path)
        return relative is not None and any(fnmatch.fnmatch(relative, p) for p in self.ignore)


VEHICLE_GIVEN = re.compile(
    r"^\s*(?P<make>\S+)\s+(?P<model>.+?)(?:\s+(?P<first>\d{4})(?:\s*[-–]\s*(?P<last>\d{4}))?)?\s*$"
)


def vehicle_fields(text: str) -> dict[str, Any]:
    """'Toyota Venza 2021-2024' as document metadata: the make is the first word."""
    match = VEHICLE_GIVEN.match(text)
    if match is None:
        raise InputError(
            "--vehicle",
            f"{text!r} is not 'MAKE MODEL [YEAR or YEAR-YEAR]' (e.g. 'Toyota Venza 2021-2024')",
        )
    first = int(match["first"]) if match["first"] else None
    last = int(match["last"]) if match["last"] else first
    if first is not None and last is not None and last < first:
        raise InputError("--vehicle", f"the years in {text!r} run backwards; write FIRST-LAST")
    fields: dict[str, Any] = {"make": match["make"], "model": match["model"].strip()}
    if first is not None:
        fields.update(year_first=first, year_last=last)
    return fields


def manifest_for_files(files: list[Path], fields: dict[str, Any]) -> Manifest:
    """The metadata given on the command line, as a manifest entry for each file given: for
    sources without front matter, so one manual needs no manifest file."""
    folders = [path for path in files if not path.is_file()]
    if folders:
        raise InputError(
            str(folders[0]),
            "metadata on the command line (--kind, --vehicle, ...) is for files; describe a "
            f"folder's files in a {MANIFEST_NAME} (see docs/knowledge-formats.md)",
        )
    given = {key: value for key, value in fields.items() if value is not None}
    entries = [
        ManifestEntry(str(path.resolve()), {"path": str(path.resolve()), **given}) for path in files
    ]
    return Manifest(Path("/"), entries)
