"""A device e-manual exported as JSON sections (the EMNLP 2021 E-Manual corpus layout).

The file maps section keys to sections: {"section_7": {"title": "Camera", "text": [lines...],
"section_hierarchy": "section_3>section_5>section_7", ...}}. The hierarchy names ancestor keys,
so a section's heading path is the titles along it ("Apps > Samsung apps > Camera").
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ingest.loaders.base import LoadContext, LoadResult
from ingest.metadata import build_document, slug
from ingest.reading import read_text
from knowledge.errors import InputError
from knowledge.records import ParsedDocument, Section

HIERARCHY_SEPARATOR = ">"


class EmanualJsonLoader:
    """One manual per file; each corpus section becomes a section that keeps its full path.

    The section key (e.g. "section_70") is kept as the anchor, so a passage can be traced back
    to its entry in the file.

        result = EmanualJsonLoader().load(Path("s10_manual_corpus.json"), LoadContext("s10"))
    """

    def load(self, path: Path, context: LoadContext) -> LoadResult:
        corpus = _parse(read_text(path, context.max_file_mb), context.source)
        fields: dict[str, Any] = {
            "kind": "owner_manual",
            "audience": "public",
            **(context.manifest_fields or {}),
        }
        fields.setdefault("title", path.stem.removesuffix("_corpus").replace("_", " "))
        fields.setdefault("id", slug(path.stem))
        document = build_document(fields, source=context.source)

        titles = {
            key: str(entry["title"]).strip()
            for key, entry in corpus.items()
            if isinstance(entry, dict) and isinstance(entry.get("title"), str)
        }
        sections: list[Section] = []
        skipped: list[InputError] = []
        for key, entry in corpus.items():
            try:
                section = _section(key, entry, titles, context.source)
            except InputError as error:
                skipped.append(error)
                continue
            if section is not None:
                sections.append(section)
        if not sections:
            raise InputError(
                context.source,
                "no section has any text; each entry needs a 'title' and a non-empty 'text' list",
            )
        return LoadResult([ParsedDocument(document=document, sections=sections)], skipped)


def _parse(text: str, source: str) -> dict[str, Any]:
    try:
        corpus = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(
            source, f"not valid JSON ({error.msg}); fix the file", line=error.lineno
        ) from error
    if not isinstance(corpus, dict):
        raise InputError(
            source, 'an e-manual corpus is a JSON object of "section key": {title, text}'
        )
    return corpus


def _section(key: str, entry: Any, titles: dict[str, str], source: str) -> Section | None:
    """The section for one entry; None when it has no text."""
    if not isinstance(entry, dict) or not titles.get(key):
        raise InputError(source, f"section '{key}' needs a 'title' string; add it or remove it")
    lines = entry.get("text")
    if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):
        raise InputError(source, f"section '{key}': 'text' must be a list of strings")
    text = "\n".join(lines).strip()
    if not text:
        return None
    return Section(heading_path=_heading_path(key, entry, titles, source), text=text, anchor=key)


def _heading_path(
    key: str, entry: dict[str, Any], titles: dict[str, str], source: str
) -> list[str]:
    hierarchy = entry.get("section_hierarchy")
    if not isinstance(hierarchy, str) or not hierarchy.strip():
        return [titles[key]]
    ancestry = [part.strip() for part in hierarchy.split(HIERARCHY_SEPARATOR) if part.strip()]
    unknown = [part for part in ancestry if part not in titles]
    if unknown:
        raise InputError(
            source,
            f"section '{key}': its section_hierarchy names {', '.join(unknown)}, which the file "
            "does not hold (or holds without a title); fix the hierarchy",
        )
    if ancestry[-1] != key:
        ancestry.append(key)
    return [titles[part] for part in ancestry]
