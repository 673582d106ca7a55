"""Damaged state on disk: SQLite files that cannot be what Glovebox wrote, and the message that
says how to get back. Damage is reported, never repaired or replaced without being asked.

    problem = sqlite_file_problem(Path(".glovebox/glovebox.sqlite3"))  # None when sound
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from knowledge.errors import StageError
from knowledge.transfer import add_records, read_records

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

    from knowledge.store import ChromaKnowledgeStore

SQLITE_HEADER = b"SQLite format 3\x00"
"""The first 16 bytes of every SQLite database file."""

RESTORE_ADVICE = "restore the last backup with `glovebox restore BACKUP_DIR`"


def sqlite_side_files(path: Path) -> list[Path]:
    """The write-ahead log and shared-memory files SQLite keeps beside a database in WAL mode."""
    return [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]


def sqlite_file_problem(path: Path) -> str | None:
    """Why the file at `path` is not a SQLite database to open, or None.

    A missing file is sound (it is created fresh) unless its write-ahead log is still there:
    then the database was moved or deleted and SQLite would rebuild it from half the data.
    """
    if not path.exists():
        log = sqlite_side_files(path)[0]
        if log.exists() and log.stat().st_size > 0:
            return f"it is missing but its write-ahead log {log.name} is still there"
        return None
    if path.stat().st_size == 0:
        return "it is empty (0 bytes), so its data is gone"
    with path.open("rb") as database:
        header = database.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        return "it does not start with the SQLite header, so it is not a database any more"
    return None


def damaged_file_error(stage: str, path: Path, problem: str, *, fresh_start: str) -> StageError:
    """The error for a damaged file: which file, what is wrong, and the ways back.

    `fresh_start` says how to begin again without the backup (what to move aside, what to run).
    """
    return StageError(
        stage,
        f"{path} is damaged: {problem}. Glovebox changed nothing. To recover, "
        f"{RESTORE_ADVICE}; or {fresh_start}",
    )


CHROMA_FILE = "chroma.sqlite3"
HNSW_FILES = ("header.bin", "data_level0.bin", "length.bin", "link_lists.bin")
"""The files of a persisted HNSW segment; all but link_lists.bin are never empty."""
HNSW_METADATA = "index_metadata.pickle"


def check_chroma_file(chroma_path: Path) -> None:
    """Refuses an embedded store whose chroma.sqlite3 is empty or not a database (Chroma would
    take an empty one for a new store and forget every knowledge base)."""
    path = chroma_path / CHROMA_FILE
    problem = sqlite_file_problem(path)
    if problem is not None:
        raise damaged_chroma(path, problem)


def damaged_chroma(path: Path, problem: str) -> StageError:
    return damaged_file_error(
        "knowledge store",
        path,
        problem,
        fresh_start=f"move {path.parent} aside and ingest your documents again "
        "(`glovebox ingest PATH --kb NAME`)",
    )


def hnsw_segment_problems(chroma_path: Path, collection_id: str) -> list[str]:
    """What is missing from the collection's persisted HNSW files in an embedded store.

    Chroma keeps recent vectors in its write-ahead log (in chroma.sqlite3) until it flushes the
    index; an index never flushed has no files to check.
    """
    import sqlite3

    database = sqlite3.connect(f"file:{chroma_path / CHROMA_FILE}?mode=ro", uri=True)
    try:
        flushed = database.execute(
            "SELECT segments.id FROM segments JOIN max_seq_id ON max_seq_id.segment_id = "
            "segments.id WHERE segments.collection = ? AND segments.scope = 'VECTOR'",
            (collection_id,),
        ).fetchall()
    finally:
        database.close()
    problems = []
    for (segment_id,) in flushed:
        folder = chroma_path / segment_id
        for name in (*HNSW_FILES, HNSW_METADATA):
            file = folder / name
            if not file.exists():
                problems.append(f"{file}: missing")
            elif file.stat().st_size == 0 and name != "link_lists.bin":
                problems.append(f"{file}: empty")
    return problems


@dataclass(frozen=True)
class VectorIndexCheck:
    """What `check_vector_index` found: its problems, the records it could read (None when
    Chroma could not even count them), and how many records a repair put back."""

    problems: list[str]
    records: int | None
    rebuilt: int | None = None


def check_vector_index(
    store: ChromaKnowledgeStore, chroma_path: Path | None, *, repair: bool = False
) -> VectorIndexCheck:
    """The knowledge base's vector index checked against its records; with `repair`, a damaged
    index is rebuilt from the records' stored vectors (or refused, changing nothing)."""
    found = vector_index_problems(store.collection, store.kb, chroma_path)
    if not found.problems or not repair:
        return found
    rebuilt = rebuild_vector_index(store.client, store.collection, store.kb)
    collection = store.client.get_collection(store.collection.name, embedding_function=None)
    after = vector_index_problems(collection, store.kb, chroma_path)
    return VectorIndexCheck(after.problems, after.records, rebuilt)


def vector_index_problems(
    collection: Collection, kb: str, chroma_path: Path | None
) -> VectorIndexCheck:
    """The HNSW files (embedded store, `chroma_path`), every record's vector read back, and a
    query that must reach every record."""
    from chromadb.errors import ChromaError

    problems = hnsw_segment_problems(chroma_path, str(collection.id)) if chroma_path else []
    try:
        record_count = collection.count()
    except ChromaError as error:
        problems.append(f"{kb}: Chroma cannot read its records ({error})")
        return VectorIndexCheck(problems, None)
    try:
        vectors = [page.embeddings for page in read_records(collection)]
        first = next((page[0] for page in vectors if page), None)
        read_back = sum(len(page) for page in vectors)
        reached = len(_nearest_ids(collection, first, record_count)) if first else 0
    except ChromaError as error:
        problems.append(f"{kb}: the vector index cannot give back its vectors ({error})")
        return VectorIndexCheck(problems, record_count)
    if read_back != record_count:
        problems.append(f"{kb}: {read_back} vectors read back for {record_count} records")
    if reached != record_count:
        problems.append(f"{kb}: a search reaches {reached} of {record_count} records")
    return VectorIndexCheck(problems, record_count)


def _nearest_ids(collection: Collection, vector: list[float], k: int) -> list[str]:
    if k == 0:
        return []
    result = collection.query(query_embeddings=[vector], n_results=k, include=[])  # type: ignore[arg-type]
    return list(result["ids"][0])


def rebuild_vector_index(client: ClientAPI, collection: Collection, kb: str) -> int:
    """A fresh collection with every record's stored vector, put in the old one's place;
    returns how many records it holds. Refuses (changing nothing) when the vectors cannot be
    read back, the one case only a backup or a new ingest can mend."""
    from chromadb.errors import ChromaError

    name = collection.name
    try:
        pages = list(read_records(collection))
    except ChromaError as error:
        raise StageError(
            "knowledge store",
            f"the vectors of knowledge base {kb!r} cannot be read back ({error}), so they cannot "
            f"be rebuilt here. Glovebox changed nothing. To recover, {RESTORE_ADVICE}; or drop "
            f"it and ingest again: `glovebox kb drop {kb} --yes`, then "
            f"`glovebox ingest PATH --kb {kb}`",
        ) from error
    rebuilt = client.create_collection(
        f"{name}.rebuild",
        configuration={"hnsw": {"space": "cosine"}},
        metadata=dict(collection.metadata or {}),
        embedding_function=None,
    )
    for page in pages:
        add_records(rebuilt, page)
    client.delete_collection(name)
    rebuilt.modify(name=name)
    return rebuilt.count()
