"""`glovebox backup` and `glovebox restore`: the desk database and every knowledge base in one
folder with a JSON manifest (versions, counts, time, embedding models), taken while serving.

    manifest = take_backup(settings, Path("/backups/2026-12-02"))
    restore_backup(settings, Path("/backups/2026-12-02"), force=False)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from assistant.backup.database import (
    check_database_copy,
    copy_database,
    database_is_empty,
    restore_database,
    table_counts,
)
from assistant.backup.knowledge import (
    check_export,
    export_knowledge_base,
    import_knowledge_base,
    knowledge_base_records,
)
from knowledge.errors import ConfigurationError, InputError
from knowledge.settings import GloveboxSettings
from knowledge.store import list_knowledge_bases, make_chroma_client

MANIFEST = "manifest.json"
DATABASE_FILE = "database.sqlite3"
BACKUP_FORMAT = 1


@dataclass(frozen=True)
class RestoreReport:
    tables: dict[str, int]
    knowledge_bases: dict[str, int]


def take_backup(settings: GloveboxSettings, destination: Path) -> dict[str, Any]:
    """Writes the backup into `destination` (new or empty) and returns its manifest. The
    knowledge bases are exported first, the database last, so no ticket cites a passage the
    backup lacks unless an ingest removed it meanwhile."""
    if destination.exists() and any(destination.iterdir()):
        raise InputError(str(destination), "not empty; give a new folder for the backup")
    (destination / "knowledge").mkdir(parents=True, exist_ok=True)
    client = make_chroma_client(settings)
    knowledge_bases = {
        kb: export_knowledge_base(client, kb, destination / "knowledge" / f"{kb}.jsonl")
        for kb in list_knowledge_bases(client)
    }
    copy_database(settings.resolved_database_url, destination / DATABASE_FILE)
    manifest = {
        "format": BACKUP_FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": {name: version(name) for name in ("glovebox", "chromadb", "SQLAlchemy")},
        "database": {"file": DATABASE_FILE,
                     "tables": table_counts(f"sqlite:///{destination / DATABASE_FILE}")},
        "knowledge_bases": knowledge_bases,
    }  # fmt: skip
    # Written last: a folder without a manifest is a backup that did not finish.
    (destination / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def restore_backup(settings: GloveboxSettings, source: Path, *, force: bool) -> RestoreReport:
    """Checks the whole backup, then that the target is empty (or `force`), then restores the
    knowledge bases and the database. Stop the server first."""
    manifest = read_manifest(source)
    check_database_copy(source / DATABASE_FILE, manifest["database"]["tables"])
    for kb, entry in manifest["knowledge_bases"].items():
        check_export(source / "knowledge" / f"{kb}.jsonl", entry["records"])
    client = make_chroma_client(settings)
    if not force:
        refuse_a_target_in_use(settings, client, list(manifest["knowledge_bases"]))
    restored = {
        kb: import_knowledge_base(client, kb, source / "knowledge" / f"{kb}.jsonl",
                                  entry["metadata"])
        for kb, entry in manifest["knowledge_bases"].items()
    }  # fmt: skip
    restore_database(source / DATABASE_FILE, settings.resolved_database_url)
    return RestoreReport(table_counts(settings.resolved_database_url), restored)


def read_manifest(source: Path) -> dict[str, Any]:
    path = source / MANIFEST
    if not path.exists():
        raise InputError(str(path), "missing: not a Glovebox backup, or one that did not finish")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        complete = isinstance(manifest["database"]["tables"], dict) and isinstance(
            manifest["knowledge_bases"], dict
        )
    except (ValueError, KeyError, TypeError) as error:
        raise InputError(str(path), f"not a backup manifest ({error})") from error
    if not complete or manifest.get("format") != BACKUP_FORMAT:
        raise InputError(str(path), f"not a backup manifest of format {BACKUP_FORMAT}")
    return dict(manifest)


def refuse_a_target_in_use(settings: GloveboxSettings, client: Any, kbs: list[str]) -> None:
    in_use = [kb for kb in kbs if knowledge_base_records(client, kb)]
    if not database_is_empty(settings.resolved_database_url):
        in_use.insert(0, "the database")
    if in_use:
        raise ConfigurationError(
            f"{', '.join(in_use)} under {settings.home} already hold data; restore into a new "
            "GLOVEBOX_HOME, or add --force to replace them (a SQLite file is moved aside)"
        )
