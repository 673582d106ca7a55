"""Finding source files under the paths given to ingest, with the manifests that describe them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.metadata import MANIFEST_NAME, Manifest
from knowledge.errors import InputError


@dataclass(frozen=True)
class SourceFile:
    path: Path
    root: Path
    manifest_fields: dict[str, Any] | None


@dataclass
class Discovery:
    files: list[SourceFile]
    manifest_errors: list[InputError]


def discover(roots: list[Path], extra_manifests: list[Path | Manifest] | None = None) -> Discovery:
    """Every file under `roots` (sorted, hidden ones and manifests left out), with its metadata.

    A file's manifest entry is looked up in its own folder first, then in parent folders up to
    its root, then in manifests given explicitly (files, or built from the command line).
    """
    manifests: dict[Path, Manifest | None] = {}
    errors: list[InputError] = []
    explicit: list[Manifest] = []
    for given in extra_manifests or []:
        if isinstance(given, Manifest):
            explicit.append(given)
            continue
        try:
            explicit.append(Manifest.load(given))
        except InputError as error:
            errors.append(error)

    def manifest_in(folder: Path) -> Manifest | None:
        if folder not in manifests:
            candidate = folder / MANIFEST_NAME
            manifests[folder] = None
            if candidate.is_file():
                try:
                    manifests[folder] = Manifest.load(candidate)
                except InputError as error:
                    errors.append(error)
        return manifests[folder]

    files: list[SourceFile] = []
    seen: set[Path] = set()
    for root in roots:
        if not root.exists():
            raise InputError(str(root), "no such file or folder; check the path you gave to ingest")
        candidates = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in candidates:
            relative_parts = path.relative_to(root).parts if root.is_dir() else ()
            if any(part.startswith(".") for part in relative_parts) or path.name == MANIFEST_NAME:
                continue
            if path.resolve() in seen:
                continue
            seen.add(path.resolve())
            chain = [manifest_in(folder) for folder in _folders_up_to(path.parent, root)]
            found = [manifest for manifest in [*chain, *explicit] if manifest is not None]
            if any(manifest.ignores(path) for manifest in found):
                continue
            fields = next(
                (f for manifest in found if (f := manifest.fields_for(path)) is not None), None
            )
            files.append(SourceFile(path=path, root=root, manifest_fields=fields))
    return Discovery(files, errors)


def _folders_up_to(folder: Path, root: Path) -> list[Path]:
    if root.is_file():
        return [folder]
    folders = [folder]
    while folder != root and root in folder.parents:
        folder = folder.parent
        folders.append(folder)
    return folders
