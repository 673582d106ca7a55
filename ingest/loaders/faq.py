"""FAQs from YAML or CSV: every entry is a document of its own."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import yaml

try:
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeLoader  # type: ignore[assignment]

from ingest.loaders.base import LoadContext, LoadResult
from ingest.metadata import build_document, yaml_error_line
from ingest.reading import read_text
from knowledge.errors import InputError
from knowledge.records import ParsedDocument, Section

FAQ_CSV_COLUMNS = ("id", "category", "question", "answer")
VEHICLE_COLUMNS = ("make", "model", "year_first", "year_last", "market")


def faq_document(
    entry: dict[str, Any], defaults: dict[str, Any], *, source: str, line: int | None
) -> ParsedDocument:
    """One FAQ entry as a document titled by its question; the answer is its text."""
    for required in ("id", "question", "answer"):
        if not str(entry.get(required) or "").strip():
            raise InputError(
                source, f"FAQ entry is missing '{required}'; add it or remove the entry", line=line
            )
    fields = {**defaults, **{key: value for key, value in entry.items() if value not in ("", None)}}
    question = str(fields.pop("question")).strip()
    answer = str(fields.pop("answer")).strip()
    category = str(fields.get("category") or "General").strip()
    fields.update(kind="faq", title=question, category=category)
    fields.setdefault("audience", "public")
    document = build_document(fields, source=source, line=line, anchor=str(entry["id"]))
    section = Section(heading_path=[category, question], text=answer, anchor=str(entry["id"]))
    return ParsedDocument(document=document, sections=[section])


class FaqYamlLoader:
    """`defaults:` plus a `faqs:` list of {id, category, question, answer, vehicle?}."""

    def load(self, path: Path, context: LoadContext) -> LoadResult:
        text = read_text(path, context.max_file_mb)
        try:
            data = yaml.compose(text, Loader=SafeLoader)
            parsed = yaml.load(text, Loader=SafeLoader)
        except yaml.YAMLError as error:
            raise InputError(
                context.source,
                f"not valid YAML ({getattr(error, 'problem', error)}); fix the file",
                line=yaml_error_line(error),
            ) from error
        if not isinstance(parsed, dict) or not isinstance(parsed.get("faqs"), list):
            raise InputError(
                context.source,
                "a YAML knowledge file must be a mapping with a 'faqs:' list "
                "(see docs/knowledge-formats.md)",
            )
        defaults = {**(context.manifest_fields or {}), **(parsed.get("defaults") or {})}
        entry_lines = _entry_lines(data)
        result = LoadResult()
        for index, entry in enumerate(parsed["faqs"]):
            line = entry_lines[index] if index < len(entry_lines) else None
            if not isinstance(entry, dict):
                result.skipped_parts.append(
                    InputError(context.source, "FAQ entry is not a mapping; fix it", line=line)
                )
                continue
            try:
                result.documents.append(
                    faq_document(entry, defaults, source=context.source, line=line)
                )
            except InputError as error:
                result.skipped_parts.append(error)
        if not result.documents:
            raise InputError(context.source, "no usable FAQ entry; fix the entries listed")
        return result


def _entry_lines(node: Any) -> list[int]:
    """Line number of each item of the top-level 'faqs' list."""
    if not isinstance(node, yaml.MappingNode):
        return []
    for key, value in node.value:
        if getattr(key, "value", None) == "faqs" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


class FaqCsvLoader:
    """Header `id,category,question,answer` plus optional audience and vehicle columns."""

    def load(self, path: Path, context: LoadContext) -> LoadResult:
        text = read_text(path, context.max_file_mb)
        reader = csv.DictReader(io.StringIO(text))
        header = [name.strip().lower() for name in reader.fieldnames or []]
        missing = [column for column in FAQ_CSV_COLUMNS if column not in header]
        if missing:
            raise InputError(
                context.source,
                f"the header lacks column(s) {', '.join(missing)}; the first row must name "
                f"{','.join(FAQ_CSV_COLUMNS)} (optional: audience,{','.join(VEHICLE_COLUMNS)})",
                line=1,
            )
        reader.fieldnames = header
        result = LoadResult()
        defaults = dict(context.manifest_fields or {})
        try:
            for row in reader:
                line = reader.line_num
                if None in row:
                    result.skipped_parts.append(
                        InputError(
                            context.source,
                            f"row has {len(header) + len(row[None])} fields but the header names "
                            f"{len(header)}; quote fields that contain commas",
                            line=line,
                        )
                    )
                    continue
                entry: dict[str, Any] = {
                    key: (value or "").strip()
                    for key, value in row.items()
                    if key not in VEHICLE_COLUMNS
                }
                vehicle = {key: (row.get(key) or "").strip() for key in VEHICLE_COLUMNS}
                if vehicle["make"]:
                    entry["vehicle"] = {key: value or None for key, value in vehicle.items()}
                try:
                    result.documents.append(
                        faq_document(entry, defaults, source=context.source, line=line)
                    )
                except InputError as error:
                    result.skipped_parts.append(error)
        except csv.Error as error:
            result.skipped_parts.append(
                InputError(
                    context.source,
                    f"CSV cannot be parsed past here ({error}); fix the quoting",
                    line=reader.line_num,
                )
            )
        if not result.documents:
            raise InputError(context.source, "no usable FAQ row; fix the rows listed")
        return result
