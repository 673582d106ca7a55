"""The ingest job: load, chunk, compare with the store, embed only what changed, write, report."""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from collections.abc import Collection, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ingest.chunking import Chunker
from ingest.dedupe import INDEX_FILE_NAME, NearDuplicate, NearDuplicateIndex
from ingest.discovery import SourceFile, discover
from ingest.loaders import SUPPORTED_SUFFIXES as SUPPORTED_SUFFIXES
from ingest.loaders import LoadContext, loader_for
from ingest.metadata import Manifest
from ingest.source_state import (
    STATE_FILE_NAME,
    RecordedDocument,
    RecordedFile,
    SourceState,
    file_sha256,
    fingerprint,
)
from knowledge.embedder import Embedder, embedding_model_loads
from knowledge.errors import ConfigurationError, InputError
from knowledge.filters import OneOf
from knowledge.keywords import IndexedChunk, KeywordIndexFiles, catch_up
from knowledge.records import Chunk, ParsedDocument, document_revision
from knowledge.settings import GloveboxSettings
from knowledge.store import ChunkWrite, KnowledgeStore, StoredChunk
from knowledge.timing import StageTimer


class IngestProgress(Protocol):
    """What the job tells a progress display; the CLI draws a rich bar from it."""

    def phase(self, description: str, total: int | None) -> None: ...

    def advance(self, steps: int) -> None: ...


class SilentProgress:
    def phase(self, description: str, total: int | None) -> None:
        pass

    def advance(self, steps: int) -> None:
        pass


@dataclass(frozen=True)
class SkippedInput:
    """A file, or part of one, that was not ingested, and what to do about it."""

    path: str
    reason: str
    line: int | None = None

    @classmethod
    def from_error(cls, error: InputError) -> SkippedInput:
        return cls(path=error.source, reason=error.problem, line=error.line)


@dataclass
class DocumentPlan:
    """What syncing one document changes in the store."""

    document_id: str
    source_file: str
    action: str  # add | update | unchanged | remove
    to_embed: list[ChunkWrite] = field(default_factory=list)
    to_relabel: list[ChunkWrite] = field(default_factory=list)
    to_delete: list[str] = field(default_factory=list)
    chunks_added: int = 0
    chunks_updated: int = 0
    chunks_unchanged: int = 0
    embedding_texts: dict[str, str] = field(default_factory=dict)


@dataclass
class IngestReport:
    """The outcome of one ingest; `to_json()` has the keys scripts rely on."""

    knowledge_base: str
    dry_run: bool = False
    files_seen: int = 0
    documents: int = 0
    documents_added: int = 0
    documents_updated: int = 0
    documents_removed: int = 0
    documents_superseded: list[str] = field(default_factory=list)
    chunks_added: int = 0
    chunks_updated: int = 0
    chunks_removed: int = 0
    chunks_unchanged: int = 0
    chunks_embedded: int = 0
    chunks_total: int = 0
    near_duplicates: list[NearDuplicate] = field(default_factory=list)
    skipped: list[SkippedInput] = field(default_factory=list)
    repaired_interrupted_run: bool = False
    model_loaded: bool = False
    """Whether this ingest had to load the embedding model (only to embed new or changed text)."""
    seconds: float = 0.0
    embedding_seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)
    plan: list[DocumentPlan] = field(default_factory=list)

    @property
    def chunks_per_second(self) -> float:
        return self.chunks_embedded / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "knowledge_base": self.knowledge_base,
            "dry_run": self.dry_run,
            "files_seen": self.files_seen,
            "documents": self.documents,
            "documents_added": self.documents_added,
            "documents_updated": self.documents_updated,
            "documents_removed": self.documents_removed,
            "documents_superseded": self.documents_superseded,
            "chunks_added": self.chunks_added,
            "chunks_updated": self.chunks_updated,
            "chunks_removed": self.chunks_removed,
            "chunks_unchanged": self.chunks_unchanged,
            "chunks_embedded": self.chunks_embedded,
            "chunks_total": self.chunks_total,
            "near_duplicates": [
                {"chunk": d.chunk_id, "duplicate_of": d.duplicate_of, "similarity": d.similarity}
                for d in self.near_duplicates
            ],
            "skipped": [{"path": s.path, "line": s.line, "reason": s.reason} for s in self.skipped],
            "repaired_interrupted_run": self.repaired_interrupted_run,
            "model_loaded": self.model_loaded,
            "seconds": round(self.seconds, 3),
            "embedding_seconds": round(self.embedding_seconds, 3),
            "stage_seconds": {name: round(value, 3) for name, value in self.stage_seconds.items()},
            "chunks_per_second": round(self.chunks_per_second, 2),
            "plan": [
                {
                    "document_id": p.document_id,
                    "source_file": p.source_file,
                    "action": p.action,
                    "chunks_to_embed": len(p.to_embed),
                    "chunks_to_remove": len(p.to_delete),
                }
                for p in self.plan
                if p.action != "unchanged"
            ],
        }


class RunMarker:
    """A file that says an ingest into this knowledge base is running (or was cut off).

    A crashed or killed run leaves it behind; the next run sees that, and its comparison of the
    store with the sources repairs whatever the cut-off run left half done.
    """

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "ingest.running"

    def previous_run_interrupted(self) -> bool:
        if not self.path.exists():
            return False
        try:
            pid = int(json.loads(self.path.read_text())["pid"])
        except (ValueError, KeyError, OSError, json.JSONDecodeError):
            return True
        if pid != os.getpid() and _process_alive(pid):
            raise ConfigurationError(
                f"another ingest into this knowledge base is running (pid {pid}); wait for it, "
                f"or if it is gone remove {self.path}"
            )
        return True

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.update(committed_documents=0)

    def update(self, committed_documents: int) -> None:
        payload = {"pid": os.getpid(), "committed_documents": committed_documents}
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(payload))
        temporary.replace(self.path)

    def finish(self) -> None:
        self.path.unlink(missing_ok=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class IngestJob:
    """Syncs source paths into a knowledge base: afterwards the store holds exactly those sources.

    Unchanged chunks are never re-embedded; changed ones are replaced; chunks of deleted or
    superseded documents are removed. A file that cannot be read is reported and its previous
    version, if any, is kept.

        job = IngestJob(store, embedder, chunker, state_dir=settings.kb_state_dir("default"))
        report = job.run([Path("knowledge/sample")])
    """

    def __init__(
        self,
        store: KnowledgeStore,
        embedder: Embedder,
        chunker: Chunker,
        *,
        state_dir: Path,
        max_file_mb: float = 50.0,
        batch_size: int = 32,
        write_batch_chunks: int = 1024,
        near_duplicate_min_similarity: float = 0.8,
        keyword_index: KeywordIndexFiles | None = None,
    ) -> None:
        self._store = store
        self._keywords = keyword_index
        self._embedder = embedder
        self._chunker = chunker
        self._marker = RunMarker(state_dir)
        self._near_duplicate_index_path = state_dir / INDEX_FILE_NAME
        self._source_state_path = state_dir / STATE_FILE_NAME
        self._max_file_mb = max_file_mb
        self._batch_size = batch_size
        self._write_batch_chunks = write_batch_chunks
        self._near_duplicate_min_similarity = near_duplicate_min_similarity
        self._settings_deciding_chunks = {
            "chunker": chunker.settings,
            "embedding_model": embedder.model_name,
            "max_file_mb": max_file_mb,
            "near_duplicate_min_similarity": near_duplicate_min_similarity,
        }

    @property
    def store(self) -> KnowledgeStore:
        return self._store

    def run(
        self,
        paths: list[Path],
        *,
        dry_run: bool = False,
        manifests: list[Path | Manifest] | None = None,
        progress: IngestProgress | None = None,
    ) -> IngestReport:
        progress = progress or SilentProgress()
        started = time.perf_counter()
        model_loads_before = embedding_model_loads()
        report = IngestReport(knowledge_base=self._store.kb, dry_run=dry_run)
        report.repaired_interrupted_run = self._marker.previous_run_interrupted()

        clock = StageTimer(report.stage_seconds)
        with closing(self._open_source_state(dry_run)) as state:
            skippable = self._skippable_files(state, report.repaired_interrupted_run)
            with clock("read"):
                loaded = self._load(paths, manifests, report, progress, skippable)
            with clock("chunk"):
                chunks_by_document = {
                    item.document.id: self._chunker.run(item) for item in loaded.parsed.values()
                }
            with clock("plan"):
                stored_by_document = self._stored_by_document(
                    outline_only=bool(loaded.skipped_files), documents=loaded.parsed.keys()
                )
                self._parse_late(
                    loaded.skipped_files_unlike(stored_by_document),
                    loaded, chunks_by_document, stored_by_document, report,
                )  # fmt: skip
                removed = self._documents_to_remove(
                    paths, loaded.present, stored_by_document, loaded.failed_paths, report
                )
            with self._open_near_duplicate_index(dry_run) as index:
                with clock("near_duplicates"):
                    report.near_duplicates = self._sync_near_duplicates(
                        index, chunks_by_document, stored_by_document, removed,
                        also_report=loaded.skipped_chunk_ids(),
                    )  # fmt: skip
                with clock("plan"):
                    self._parse_late(
                        loaded.skipped_files_relabelled(report.near_duplicates),
                        loaded, chunks_by_document, stored_by_document, report,
                    )  # fmt: skip
                    plans = self._plan(
                        loaded.parsed, chunks_by_document, stored_by_document, removed, report
                    )
                    plans.extend(self._plan_skipped(loaded, report))
                report.plan = plans
                if not dry_run:
                    if self._keywords is not None:
                        with clock("keyword_index"):  # behind only if another tool wrote
                            catch_up(
                                self._keywords, self._store, force=report.repaired_interrupted_run
                            )
                    self._marker.start()
                    with clock("embed_and_write"):
                        self._execute(plans, report, progress)
                    index.commit()
                    self._record_sources(state, paths, loaded, chunks_by_document, report)
                    self._marker.finish()
        report.model_loaded = embedding_model_loads() > model_loads_before
        report.seconds = time.perf_counter() - started
        return report

    def _open_source_state(self, dry_run: bool) -> SourceState:
        path = self._source_state_path
        return SourceState.open(None if dry_run and not path.exists() else path)

    def _skippable_files(self, state: SourceState, interrupted: bool) -> dict[str, RecordedFile]:
        """The files a run may skip when unchanged; none when the store may not be what the
        last run left (cut off, or changed by something else: a restore, another machine)."""
        if interrupted or not state.existed or state.revision != self._store.content_revision:
            return {}
        return state.files()

    def _source_fingerprint(self, source: SourceFile) -> str:
        return fingerprint(
            {
                **self._settings_deciding_chunks,
                "manifest_fields": source.manifest_fields,
                "shown": str(source.path),
            }
        )

    def _record_sources(
        self,
        state: SourceState,
        roots: list[Path],
        loaded: _LoadedSources,
        chunks_by_document: dict[str, list[Chunk]],
        report: IngestReport,
    ) -> None:
        labels = {d.chunk_id: d.duplicate_of for d in report.near_duplicates}
        files = [
            RecordedFile(
                path,
                identity.size,
                identity.mtime_ns,
                identity.sha256,
                identity.fingerprint,
                tuple(_recorded_document(item, chunks_by_document, labels) for item in items),
            )
            for path, (identity, items) in loaded.produced.items()
        ]
        resolved_roots = [root.resolve() for root in roots]
        gone = [
            path
            for path in state.files()
            if path not in loaded.seen and any(_is_within(Path(path), r) for r in resolved_roots)
        ]
        state.record(files, [*loaded.unrecorded, *gone], self._store.content_revision)

    def _sync_near_duplicates(
        self,
        index: NearDuplicateIndex,
        chunks_by_document: dict[str, list[Chunk]],
        stored_by_document: dict[str, list[StoredChunk]],
        removed: set[str],
        also_report: list[str],
    ) -> list[NearDuplicate]:
        """The index follows the store as this ingest leaves it: these chunks, and the chunks
        of documents in other folders or in files skipped as unchanged, which stay."""
        return index.sync(
            {chunk.id: chunk.text for chunks in chunks_by_document.values() for chunk in chunks},
            kept=[
                stored.id
                for document_id, stored_chunks in stored_by_document.items()
                if document_id not in chunks_by_document and document_id not in removed
                for stored in stored_chunks
            ],
            fetch_texts=self._store.get_texts,
            also_report=also_report,
        )

    def _open_near_duplicate_index(self, dry_run: bool) -> NearDuplicateIndex:
        # A dry run of a first ingest leaves no index file behind: it works on one in memory.
        path = self._near_duplicate_index_path
        in_memory = dry_run and not path.exists()
        return NearDuplicateIndex.open(
            None if in_memory else path, self._near_duplicate_min_similarity
        )

    def _load(
        self,
        paths: list[Path],
        manifests: list[Path | Manifest] | None,
        report: IngestReport,
        progress: IngestProgress,
        skippable: dict[str, RecordedFile],
    ) -> _LoadedSources:
        discovery = discover(paths, manifests)
        report.skipped.extend(SkippedInput.from_error(error) for error in discovery.manifest_errors)
        report.files_seen = len(discovery.files)
        progress.phase("Reading sources", len(discovery.files))
        loaded = _LoadedSources()
        for source in discovery.files:
            resolved = str(source.path.resolve())
            loaded.seen.add(resolved)
            identity = self._identity(source)
            recorded = skippable.get(resolved)
            if (
                identity is not None
                and recorded is not None
                and loaded.can_skip(recorded, identity)
            ):
                loaded.skip(source, recorded)
            else:
                self._parse_file(source, identity, loaded, report)
            progress.advance(1)
        self._drop_superseded(loaded, report)
        report.documents = len(loaded.present)
        return loaded

    def _identity(self, source: SourceFile) -> _FileIdentity | None:
        try:
            status = source.path.stat()
            sha256 = file_sha256(source.path)
        except OSError:
            return None  # reading it reports the problem
        fingerprint_ = self._source_fingerprint(source)
        return _FileIdentity(status.st_size, status.st_mtime_ns, sha256, fingerprint_)

    def _parse_file(
        self,
        source: SourceFile,
        identity: _FileIdentity | None,
        loaded: _LoadedSources,
        report: IngestReport,
        *,
        claims_checked: bool = True,
    ) -> list[str]:
        """Loads one file into `loaded.parsed`; returns the ids it added."""
        resolved = str(source.path.resolve())
        warnings_before = len(report.skipped)
        items = self._load_file(source, report, loaded.failed_paths)
        added: list[str] = []
        for item in items:
            document_id = item.document.id
            if claims_checked and document_id in loaded.claimed:
                source_file, line = loaded.claimed[document_id]
                report.skipped.append(
                    SkippedInput(
                        item.document.provenance.source_file,
                        f"document id {document_id!r} is already used by "
                        f"{source_file}{f':{line}' if line else ''}; "
                        "give one of them another id",
                        item.document.provenance.line,
                    )
                )
                continue
            item.document.attributes["source_path"] = resolved
            provenance = item.document.provenance
            loaded.claimed[document_id] = (provenance.source_file, provenance.line)
            loaded.parsed[document_id] = item
            added.append(document_id)
        clean = len(report.skipped) == warnings_before and resolved not in loaded.failed_paths
        if clean and identity is not None:
            loaded.produced[resolved] = (identity, items)
        else:
            loaded.unrecorded.add(resolved)
        return added

    def _parse_late(
        self,
        paths: list[str],
        loaded: _LoadedSources,
        chunks_by_document: dict[str, list[Chunk]],
        stored_by_document: dict[str, list[StoredChunk]],
        report: IngestReport,
    ) -> None:
        """Parses skipped files after all: the store or the near-duplicate labels are not what
        their record says, so they go through the full comparison."""
        superseded = set(report.documents_superseded)
        added: list[str] = []
        for path in paths:
            source, recorded = loaded.skipped_files.pop(path)
            for document in recorded.documents:
                loaded.skipped_documents.pop(document.id, None)
            identity = _FileIdentity(
                recorded.size, recorded.mtime_ns, recorded.sha256, recorded.fingerprint
            )
            new = self._parse_file(source, identity, loaded, report, claims_checked=False)
            for document_id in new:
                if document_id in superseded:
                    del loaded.parsed[document_id]
                else:
                    added.append(document_id)
        for document_id in added:
            chunks_by_document[document_id] = self._chunker.run(loaded.parsed[document_id])
        self._read_stored(stored_by_document, added)

    def _load_file(
        self, source: SourceFile, report: IngestReport, failed_paths: set[str]
    ) -> list[ParsedDocument]:
        shown = str(source.path)
        loader = loader_for(source.path)
        if loader is None:
            report.skipped.append(
                SkippedInput(
                    shown,
                    f"unsupported file type {source.path.suffix or '(none)'}; supported: "
                    f"{', '.join(sorted(SUPPORTED_SUFFIXES))}; convert it or move it out",
                )
            )
            failed_paths.add(str(source.path.resolve()))
            return []
        context = LoadContext(shown, source.manifest_fields, self._max_file_mb)
        try:
            result = loader.load(source.path, context)
        except InputError as error:
            report.skipped.append(SkippedInput.from_error(error))
            failed_paths.add(str(source.path.resolve()))
            return []
        except Exception as error:  # one broken document must never stop the ingest
            report.skipped.append(
                SkippedInput(
                    shown,
                    f"could not be read ({type(error).__name__}: {error}); check the file, and "
                    "report it as a Glovebox bug if it looks valid",
                )
            )
            failed_paths.add(str(source.path.resolve()))
            return []
        report.skipped.extend(SkippedInput.from_error(error) for error in result.skipped_parts)
        if result.skipped_parts:
            failed_paths.add(str(source.path.resolve()))
        return result.documents

    @staticmethod
    def _drop_superseded(loaded: _LoadedSources, report: IngestReport) -> None:
        parsed, skipped = loaded.parsed, loaded.skipped_documents
        superseded_keys = {key for item in parsed.values() for key in item.document.supersedes}
        superseded_keys.update(key for document in skipped.values() for key in document.supersedes)
        if not superseded_keys:
            return
        for document_id in list(loaded.claimed):
            if document_id in parsed:
                item = parsed[document_id]
                names = {document_id, str(item.document.attributes.get("bulletin_number", ""))}
            elif document_id in skipped:
                names = set(skipped[document_id].names)
            else:
                continue
            if names & superseded_keys:
                report.documents_superseded.append(document_id)
                parsed.pop(document_id, None)
                skipped.pop(document_id, None)

    def _stored_by_document(
        self, *, outline_only: bool, documents: Collection[str]
    ) -> dict[str, list[StoredChunk]]:
        """Every stored chunk by document. With `outline_only`, only `documents` carry their
        whole metadata; the others have just what removals need (read from the keyword index,
        which holds every chunk's metadata in SQLite, when it reflects the store)."""
        if outline_only and (outline := self._stored_outline()) is not None:
            self._read_stored(outline, documents)
            return outline
        stored_by_document: dict[str, list[StoredChunk]] = defaultdict(list)
        for stored in self._store.iter_chunks():
            stored_by_document[stored.document_id].append(stored)
        return stored_by_document

    def _stored_outline(self) -> dict[str, list[StoredChunk]] | None:
        if self._keywords is None or not self._keywords.reflects(self._store.content_revision):
            return None
        outline: dict[str, list[StoredChunk]] = defaultdict(list)
        for chunk_id, values in self._keywords.chunk_outline(OUTLINE_FIELDS):
            metadata = {f: v for f, v in zip(OUTLINE_FIELDS, values, strict=True) if v is not None}
            outline[str(metadata.get("document_id", ""))].append(StoredChunk(chunk_id, metadata))
        return outline

    def _read_stored(
        self, stored_by_document: dict[str, list[StoredChunk]], documents: Collection[str]
    ) -> None:
        """Replaces these documents' entries with their chunks' whole metadata from the store."""
        wanted = list(documents)
        for start in range(0, len(wanted), STORED_READ_BATCH):
            batch = wanted[start : start + STORED_READ_BATCH]
            for document_id in batch:
                stored_by_document.pop(document_id, None)
            for stored in self._store.iter_chunks(where=OneOf("document_id", tuple(batch))):
                stored_by_document.setdefault(stored.document_id, []).append(stored)

    @staticmethod
    def _documents_to_remove(
        roots: list[Path],
        present: Collection[str],
        stored_by_document: dict[str, list[StoredChunk]],
        failed_paths: set[str],
        report: IngestReport,
    ) -> set[str]:
        """Stored documents the sources no longer have: superseded, or deleted from a folder
        being synced (a file that could not be read keeps its previous version)."""
        resolved_roots = [root.resolve() for root in roots]
        superseded = set(report.documents_superseded)
        removed: set[str] = set()
        for document_id, stored_chunks in stored_by_document.items():
            if document_id in present:
                continue
            source_path = str(stored_chunks[0].metadata.get("source_path", ""))
            in_scope = any(_is_within(Path(source_path), root) for root in resolved_roots)
            kept_because_unreadable = source_path in failed_paths
            if document_id in superseded or (in_scope and not kept_because_unreadable):
                removed.add(document_id)
        return removed

    def _plan(
        self,
        parsed: dict[str, ParsedDocument],
        chunks_by_document: dict[str, list[Chunk]],
        stored_by_document: dict[str, list[StoredChunk]],
        removed: set[str],
        report: IngestReport,
    ) -> list[DocumentPlan]:
        duplicate_of = {d.chunk_id: d.duplicate_of for d in report.near_duplicates}
        plans: list[DocumentPlan] = []
        for document_id, item in parsed.items():
            plan = self._plan_document(
                item, chunks_by_document[document_id], stored_by_document.get(document_id, []),
                duplicate_of,
            )  # fmt: skip
            plans.append(plan)
        for document_id in (d for d in stored_by_document if d in removed):
            stored_chunks = stored_by_document[document_id]
            plans.append(
                DocumentPlan(
                    document_id,
                    str(stored_chunks[0].metadata.get("source_file", "")),
                    "remove",
                    to_delete=[stored.id for stored in stored_chunks],
                )
            )
        for plan in plans:
            report.chunks_added += plan.chunks_added
            report.chunks_updated += plan.chunks_updated
            report.chunks_unchanged += plan.chunks_unchanged
            report.chunks_removed += len(plan.to_delete)
            report.documents_added += plan.action == "add"
            report.documents_updated += plan.action == "update"
            report.documents_removed += plan.action == "remove"
        report.chunks_total = sum(len(chunks) for chunks in chunks_by_document.values())
        return plans

    @staticmethod
    def _plan_skipped(loaded: _LoadedSources, report: IngestReport) -> list[DocumentPlan]:
        """Documents of files skipped as unchanged: counted from their record, not the store."""
        plans = [
            DocumentPlan(
                document.id,
                document.source_file,
                "unchanged",
                chunks_unchanged=len(document.chunks),
            )
            for document in loaded.skipped_documents.values()
        ]
        unchanged = sum(plan.chunks_unchanged for plan in plans)
        report.chunks_unchanged += unchanged
        report.chunks_total += unchanged
        report.documents = len(loaded.present)
        return plans

    @staticmethod
    def _plan_document(
        item: ParsedDocument,
        chunks: list[Chunk],
        stored_chunks: list[StoredChunk],
        duplicate_of: dict[str, str],
    ) -> DocumentPlan:
        document = item.document
        revision = document_revision(document.flat_metadata(), [c.content_hash for c in chunks])
        stored = {chunk.id: chunk for chunk in stored_chunks}
        plan = DocumentPlan(
            document.id,
            document.provenance.source_file,
            "update" if stored else "add",
        )
        for chunk in chunks:
            metadata = chunk.chroma_metadata(revision, len(chunks))
            if chunk.id in duplicate_of:
                metadata["near_duplicate_of"] = duplicate_of[chunk.id]
            previous = stored.get(chunk.id)
            if previous is None:
                plan.to_embed.append(ChunkWrite(chunk.id, chunk.text, metadata, None))
                plan.chunks_added += 1
            elif previous.content_hash != chunk.content_hash:
                plan.to_embed.append(ChunkWrite(chunk.id, chunk.text, metadata, None))
                plan.chunks_updated += 1
            else:
                plan.chunks_unchanged += 1
                if previous.metadata != metadata:
                    # Chroma merges an update into the stored metadata: a key that went (a
                    # near_duplicate_of whose original left) is removed by setting it to None.
                    dropped: dict[str, Any] = dict.fromkeys(previous.metadata.keys() - metadata)
                    relabel = ChunkWrite(chunk.id, chunk.text, {**metadata, **dropped}, None)
                    plan.to_relabel.append(relabel)
        current_ids = {chunk.id for chunk in chunks}
        plan.to_delete = [chunk_id for chunk_id in stored if chunk_id not in current_ids]
        if stored and not (plan.to_embed or plan.to_relabel or plan.to_delete):
            plan.action = "unchanged"
        plan.embedding_texts = {chunk.id: chunk.embedding_text for chunk in chunks}
        return plan

    def _execute(
        self, plans: list[DocumentPlan], report: IngestReport, progress: IngestProgress
    ) -> None:
        pending = [plan for plan in plans if plan.action != "unchanged"]
        progress.phase("Embedding and writing", sum(len(plan.to_embed) for plan in pending))
        committed = 0
        for window in _windows(pending, self._write_batch_chunks):
            embedded_started = time.perf_counter()
            writes = self._embed_window(window, progress)
            report.embedding_seconds += time.perf_counter() - embedded_started
            report.chunks_embedded += sum(len(plan.to_embed) for plan in window)
            # One upsert for the window: Chroma applies a batch as one log entry, so a crash
            # leaves each document either as it was or with all its new chunks written.
            relabels = [write for plan in window for write in plan.to_relabel]
            deletes = [chunk_id for plan in window for chunk_id in plan.to_delete]
            self._store.write([*writes, *relabels])
            self._store.delete(deletes)
            self._index_keywords(writes, relabels, deletes)
            committed += len(window)
            self._marker.update(committed)
        if pending:
            self._mark_changed()

    def _index_keywords(
        self, writes: list[ChunkWrite], relabels: list[ChunkWrite], deletes: list[str]
    ) -> None:
        if self._keywords is None:
            return
        self._keywords.apply(
            [
                IndexedChunk(write.id, str(write.metadata.get("content_hash", "")),
                             dict(write.metadata), write.text)
                for write in writes
            ],
            deletes,
            relabelled=[(write.id, _without_dropped_keys(write.metadata)) for write in relabels],
        )  # fmt: skip

    def _mark_changed(self) -> None:
        """A new store revision, announced to the keyword index first so that a server never
        sees a store revision its keyword index does not know."""
        if self._keywords is None:
            self._store.mark_changed()
            return
        import uuid

        revision = uuid.uuid4().hex
        self._keywords.announce_revision(revision)
        self._store.mark_changed(revision)
        self._keywords.confirm_revision(revision)
        self._keywords.compact_if_needed()

    def _embed_window(
        self, window: list[DocumentPlan], progress: IngestProgress
    ) -> list[ChunkWrite]:
        items = [
            (write, plan.embedding_texts[write.id]) for plan in window for write in plan.to_embed
        ]
        # Similar lengths batched together waste less padding: the encoder's main cost here.
        # A few batches go to the encoder per call: fewer calls, and still a moving progress bar.
        order = sorted(range(len(items)), key=lambda index: len(items[index][1]), reverse=True)
        vectors: dict[int, list[float]] = {}
        step = self._batch_size * 4
        for start in range(0, len(order), step):
            batch = order[start : start + step]
            embedded = self._embedder.embed_documents([items[index][1] for index in batch])
            vectors.update(zip(batch, embedded, strict=True))
            progress.advance(len(batch))
        return [
            ChunkWrite(write.id, write.text, write.metadata, vectors[index])
            for index, (write, _) in enumerate(items)
        ]


OUTLINE_FIELDS = ("document_id", "source_path", "source_file")
"""The metadata removals are planned from."""
STORED_READ_BATCH = 500


@dataclass(frozen=True)
class _FileIdentity:
    size: int
    mtime_ns: int
    sha256: str
    fingerprint: str


@dataclass
class _LoadedSources:
    """What reading the sources found: documents parsed, and files skipped as unchanged."""

    parsed: dict[str, ParsedDocument] = field(default_factory=dict)
    skipped_files: dict[str, tuple[SourceFile, RecordedFile]] = field(default_factory=dict)
    skipped_documents: dict[str, RecordedDocument] = field(default_factory=dict)
    """Documents of skipped files that this run keeps (not superseded)."""
    claimed: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    """Document id -> the file (as shown) and line that first produced it, in source order."""
    produced: dict[str, tuple[_FileIdentity, list[ParsedDocument]]] = field(default_factory=dict)
    """Files read without a problem: recorded for the next run."""
    unrecorded: set[str] = field(default_factory=set)
    failed_paths: set[str] = field(default_factory=set)
    seen: set[str] = field(default_factory=set)

    @property
    def present(self) -> set[str]:
        return self.parsed.keys() | self.skipped_documents.keys()

    def can_skip(self, recorded: RecordedFile, identity: _FileIdentity) -> bool:
        unchanged = (recorded.sha256, recorded.fingerprint) == (
            identity.sha256,
            identity.fingerprint,
        )
        # A document id an earlier file took: parsing reports the clash as a first run would.
        return unchanged and not any(d.id in self.claimed for d in recorded.documents)

    def skip(self, source: SourceFile, recorded: RecordedFile) -> None:
        path = str(source.path.resolve())
        self.skipped_files[path] = (source, recorded)
        for document in recorded.documents:
            self.claimed[document.id] = (document.source_file, document.line)
            self.skipped_documents[document.id] = document

    def skipped_chunk_ids(self) -> list[str]:
        return [c for document in self.skipped_documents.values() for c in document.chunks]

    def skipped_files_unlike(self, stored_by_document: dict[str, list[StoredChunk]]) -> list[str]:
        """Skipped files whose kept documents the store does not hold chunk for chunk."""
        return [
            path
            for path, (_, recorded) in self.skipped_files.items()
            if any(
                document.id in self.skipped_documents
                and (
                    not document.chunks
                    or {c.id for c in stored_by_document.get(document.id, [])}
                    != document.chunks.keys()
                )
                for document in recorded.documents
            )
        ]

    def skipped_files_relabelled(self, near_duplicates: list[NearDuplicate]) -> list[str]:
        """Skipped files with a chunk whose near-duplicate label this run changes."""
        labels = {duplicate.chunk_id: duplicate.duplicate_of for duplicate in near_duplicates}
        return [
            path
            for path, (_, recorded) in self.skipped_files.items()
            if any(
                labels.get(chunk_id, "") != label
                for document in recorded.documents
                if document.id in self.skipped_documents
                for chunk_id, label in document.chunks.items()
            )
        ]


def _recorded_document(
    item: ParsedDocument, chunks_by_document: dict[str, list[Chunk]], labels: dict[str, str]
) -> RecordedDocument:
    document = item.document
    return RecordedDocument(
        document.id,
        document.provenance.source_file,
        document.provenance.line,
        (document.id, str(document.attributes.get("bulletin_number", ""))),
        tuple(document.supersedes),
        {chunk.id: labels.get(chunk.id, "") for chunk in chunks_by_document.get(document.id, [])},
    )


def _without_dropped_keys(metadata: dict[str, Any]) -> dict[str, Any]:
    """Metadata as the store keeps it: a relabel's None drops the key."""
    return {key: value for key, value in metadata.items() if value is not None}


def _windows(plans: list[DocumentPlan], chunk_budget: int) -> Iterator[list[DocumentPlan]]:
    window: list[DocumentPlan] = []
    size = 0
    for plan in plans:
        window.append(plan)
        # Relabels go in the same write: Chroma refuses a batch over its maximum (5,461).
        size += len(plan.to_embed) + len(plan.to_relabel)
        if size >= chunk_budget:
            yield window
            window, size = [], 0
    if window:
        yield window


def _is_within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def build_ingest_job(
    settings: GloveboxSettings, kb: str, embedder: Embedder | None = None
) -> IngestJob:
    """The ingest job for a knowledge base, wired from settings."""
    from knowledge.components import build_embedder, open_keyword_index, open_knowledge_base

    embedder = embedder or build_embedder(settings)
    store = open_knowledge_base(settings, kb, embedder)
    chunker = Chunker(
        embedder.count_tokens,
        max_tokens=min(settings.chunk_max_tokens, embedder.max_tokens),
        overlap_tokens=settings.chunk_overlap_tokens,
    )
    return IngestJob(
        store,
        embedder,
        chunker,
        state_dir=settings.kb_state_dir(kb),
        max_file_mb=settings.ingest_max_file_mb,
        batch_size=settings.embedding_batch_size,
        write_batch_chunks=settings.ingest_write_batch_chunks,
        near_duplicate_min_similarity=settings.near_duplicate_min_similarity,
        keyword_index=open_keyword_index(settings, kb),
    )


def find_inconsistencies(store: KnowledgeStore) -> list[str]:
    """Documents whose stored chunks disagree: mixed revisions, or chunks missing or left over."""
    by_document: dict[str, list[StoredChunk]] = defaultdict(list)
    for chunk in store.iter_chunks():
        by_document[chunk.document_id].append(chunk)
    problems = []
    for document_id, chunks in sorted(by_document.items()):
        revisions = {str(chunk.metadata.get("document_revision")) for chunk in chunks}
        expected = {int(chunk.metadata.get("document_chunk_count", -1)) for chunk in chunks}  # type: ignore[arg-type]
        if len(revisions) > 1:
            problems.append(f"{document_id}: chunks from {len(revisions)} revisions")
        if expected != {len(chunks)}:
            problems.append(
                f"{document_id}: {len(chunks)} chunks stored, expected {sorted(expected)}"
            )
    return problems
