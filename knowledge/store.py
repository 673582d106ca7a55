"""The vector store: what the rest of Glovebox may ask of one knowledge base (`KnowledgeStore`),
and its Chroma implementation, one collection per knowledge base, embedded or in server mode."""

from __future__ import annotations

import functools
import math
import re
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlparse

from knowledge.errors import ConfigurationError, StageError
from knowledge.filters import (
    AllOf,
    AnyOf,
    AtLeast,
    AtMost,
    ChunkFilter,
    Equals,
    OneOf,
    matches,
)
from knowledge.integrity import CHROMA_FILE, check_chroma_file, damaged_chroma
from knowledge.records import MetadataValue
from knowledge.settings import GloveboxSettings, quiet_offline_environment

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

KB_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,48}[a-z0-9]$|^[a-z0-9]$")
COLLECTION_PREFIX = "glovebox-"
STORE_SCHEMA_VERSION = 1
READ_PAGE_SIZE = 2000
DEFAULT_EF_SEARCH = 100
"""Chroma's HNSW `ef_search` when a collection does not say."""
MAX_ADMITTED_IDS = 20_000
"""Ids a query is searched among; a filter admitting more is left to Chroma's pre-filter."""
EXACT_SEARCH_IDS = 300
"""Up to this many admitted ids, their vectors are read and compared here, exactly. Chroma's
search among a few ids walks much of its graph: 6 or 23 ids took 4 ms at 10k chunks and
71 ms at 100k, reading 230 vectors and comparing them 4-5 ms (1000: 21 ms, Chroma 15)."""
REVISION_STANDS_SECONDS = 0.02
"""How long a read of a knowledge base's content revision stands. One question consults the
keyword index several times within milliseconds, and each read is a round trip to Chroma
(about 0.7 ms); a change marked in this process is seen at once, another process's at most
this much later."""

_REVISIONS_SEEN: dict[str, tuple[str, float]] = {}
"""Each collection's content revision as this process last read or marked it, and when (by
collection id: every store object of one knowledge base shares it)."""


def collection_name(kb: str) -> str:
    if not KB_NAME_PATTERN.match(kb):
        raise ConfigurationError(
            f"knowledge base name {kb!r} is not allowed: use 1-50 lowercase letters, digits, "
            "'-' or '_', starting and ending with a letter or digit (for example --kb default)"
        )
    return COLLECTION_PREFIX + kb


def make_chroma_client(settings: GloveboxSettings) -> ClientAPI:
    """`HttpClient` when GLOVEBOX_CHROMA_URL is set (server mode), else an embedded store."""
    quiet_offline_environment()
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        if url.scheme not in {"http", "https"} or not url.hostname:
            raise ConfigurationError(
                f"GLOVEBOX_CHROMA_URL={settings.chroma_url!r} is not an http(s) URL; "
                "set it like http://127.0.0.1:8001 or unset it to use the embedded store"
            )
        return chromadb.HttpClient(
            host=url.hostname,
            port=url.port or (443 if url.scheme == "https" else 8000),
            ssl=url.scheme == "https",
            settings=chroma_settings,
        )
    from chromadb.errors import InternalError

    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    check_chroma_file(settings.chroma_path)
    try:
        return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)
    except InternalError as error:
        raise damaged_chroma(settings.chroma_path / CHROMA_FILE, f"Chroma says {error}") from error


@dataclass(frozen=True)
class StoredChunk:
    """What the store holds about a chunk, without its vector."""

    id: str
    metadata: dict[str, MetadataValue]

    @property
    def document_id(self) -> str:
        return str(self.metadata.get("document_id", ""))

    @property
    def content_hash(self) -> str:
        return str(self.metadata.get("content_hash", ""))


Hit = tuple[StoredChunk, str, float]
"""A query's answer for one chunk: the chunk, its text and its cosine distance."""

ChunkReader = Callable[[Sequence[str]], Mapping[str, tuple[Mapping[str, Any], str]]]
"""Reads chunks by id from elsewhere than the store (the keyword index keeps each chunk's
metadata and text): the metadata and text of those of the ids it has."""


@dataclass(frozen=True)
class ChunkWrite:
    """A chunk to write: with an embedding if its text changed, without if only metadata did."""

    id: str
    text: str
    metadata: dict[str, MetadataValue]
    embedding: list[float] | None = None


class KnowledgeStore(Protocol):
    """One knowledge base's chunks: their text, metadata and vectors, read and written by id.

    Reads that take `where` see only the chunks the filter matches (`knowledge.filters`); a
    filter that matches nothing gives nothing. Every implementation passes the shared contract
    in tests/knowledge/store_contract.py.
    """

    @property
    def kb(self) -> str:
        """The knowledge base's name (`--kb`)."""
        ...

    @property
    def embedding_model(self) -> str:
        """The embedding model the stored vectors were made with."""
        ...

    @property
    def content_revision(self) -> str:
        """Changes whenever an ingest changed the knowledge base; in-process indexes key on it."""
        ...

    def count(self) -> int: ...

    def iter_chunks(self, where: ChunkFilter | None = None) -> Iterator[StoredChunk]:
        """Every chunk (that `where` matches), without its text."""
        ...

    def iter_chunks_with_text(self) -> Iterator[tuple[StoredChunk, str]]: ...

    def get_texts(self, ids: Sequence[str]) -> dict[str, str]:
        """The text of each of these ids that exists."""
        ...

    def get_chunks(self, ids: Sequence[str]) -> list[tuple[StoredChunk, str]]:
        """The chunks of these ids that exist, with their text, in the order asked."""
        ...

    def document_chunks(self, document_id: str) -> list[tuple[StoredChunk, str]]:
        """Every chunk of one document with its text, in document order (`position`, then id)."""
        ...

    def write(self, chunks: Sequence[ChunkWrite]) -> None:
        """Upserts chunks that carry an embedding; replaces only the metadata of the rest."""
        ...

    def delete(self, ids: Sequence[str]) -> None: ...

    def mark_changed(self, revision: str | None = None) -> str:
        """Gives the knowledge base a new `content_revision` (an ingest changed it): this one,
        or a fresh one; returns it."""
        ...

    def query(
        self,
        embedding: list[float],
        *,
        k: int,
        where: ChunkFilter | None = None,
        admitted: Callable[[], Sequence[str] | None] | None = None,
        read: ChunkReader | None = None,
    ) -> list[tuple[StoredChunk, str, float]]:
        """The k nearest chunks (that `where` matches) as (chunk, text, cosine distance),
        nearest first. `admitted`, when given, lists the ids `where` admits (None when it
        cannot tell): a store may search among them instead of filtering. `read`, when given,
        has the chunks' metadata and text: a store may read the ones it has from it."""
        ...


class ChromaKnowledgeStore:
    """One knowledge base: a Chroma collection in cosine space that remembers its embedding model.

    store = ChromaKnowledgeStore.open(client, "default", model_name="all-MiniLM-L6-v2",
                                      dimension=384)
    store.count()
    """

    def __init__(self, client: ClientAPI, collection: Collection, kb: str) -> None:
        self._client = client
        self._collection = collection
        self.kb = kb
        self._post_filter = PostFilterPlan()

    @property
    def client(self) -> ClientAPI:
        return self._client

    @property
    def collection(self) -> Collection:
        """The Chroma collection itself, for checks, repairs and backups."""
        return self._collection

    @classmethod
    def open(
        cls,
        client: ClientAPI,
        kb: str,
        *,
        model_name: str,
        dimension: int | None,
        create: bool = True,
    ) -> ChromaKnowledgeStore:
        """`dimension=None` leaves the embedder's dimension to `check_embedder`, once the
        model is loaded (a server opens its store before its warm-up loads the model)."""
        name = collection_name(kb)
        existing = {collection.name for collection in client.list_collections()}
        if name not in existing:
            if not create:
                raise ConfigurationError(
                    f"knowledge base {kb!r} does not exist yet; "
                    f"run `glovebox ingest PATH --kb {kb}`"
                )
            if dimension is None:
                raise ValueError("a new knowledge base needs its embedder's dimension")
            collection = client.create_collection(
                name,
                configuration={"hnsw": {"space": "cosine"}},
                metadata={
                    "embedding_model": model_name,
                    "embedding_dimension": dimension,
                    "glovebox_schema": STORE_SCHEMA_VERSION,
                },
                embedding_function=None,
            )
            return cls(client, collection, kb)
        collection = client.get_collection(name, embedding_function=None)
        cls._check_embedding_model(collection, kb, model_name, dimension)
        return cls(client, collection, kb)

    def check_embedder(self, model_name: str, dimension: int) -> None:
        """Refuses an embedder other than the one the stored vectors were made with."""
        self._check_embedding_model(self._collection, self.kb, model_name, dimension)

    @staticmethod
    def _check_embedding_model(
        collection: Collection, kb: str, model_name: str, dimension: int | None
    ) -> None:
        metadata = collection.metadata or {}
        built_model = metadata.get("embedding_model")
        built_dimension = metadata.get("embedding_dimension")
        if built_model is None:
            raise ConfigurationError(
                f"collection {collection.name!r} was not created by Glovebox (no embedding model "
                f"recorded); ingest into another knowledge base with --kb, or drop this one"
            )
        if built_model != model_name or dimension not in (None, built_dimension):
            raise ConfigurationError(
                f"knowledge base {kb!r} was built with embedding model {built_model} "
                f"({built_dimension}-d) but the configured model is {model_name} ({dimension}-d); "
                f"set GLOVEBOX_EMBEDDING_MODEL_PATH back to that model, or re-ingest into a new "
                f"knowledge base with --kb NEW_NAME (or `glovebox kb drop {kb}` and ingest again)"
            )

    @property
    def embedding_model(self) -> str:
        return str((self._collection.metadata or {}).get("embedding_model", ""))

    def count(self) -> int:
        return int(self._collection.count())

    def iter_chunks(self, where: ChunkFilter | None = None) -> Iterator[StoredChunk]:
        offset = 0
        while True:
            page = self._collection.get(
                where=chroma_where(where),
                include=["metadatas"],
                limit=READ_PAGE_SIZE,
                offset=offset,
            )
            ids = page["ids"]
            metadatas = page["metadatas"] or []
            for chunk_id, metadata in zip(ids, metadatas, strict=True):
                yield StoredChunk(chunk_id, dict(metadata or {}))  # type: ignore[arg-type]
            if len(ids) < READ_PAGE_SIZE:
                return
            offset += READ_PAGE_SIZE

    def iter_chunks_with_text(self) -> Iterator[tuple[StoredChunk, str]]:
        offset = 0
        while True:
            page = self._collection.get(
                include=["metadatas", "documents"], limit=READ_PAGE_SIZE, offset=offset
            )
            ids = page["ids"]
            for chunk_id, metadata, text in zip(
                ids, page["metadatas"] or [], page["documents"] or [], strict=True
            ):
                yield StoredChunk(chunk_id, dict(metadata or {})), text or ""  # type: ignore[arg-type]
            if len(ids) < READ_PAGE_SIZE:
                return
            offset += READ_PAGE_SIZE

    @property
    def content_revision(self) -> str:
        """Changes whenever an ingest changed the knowledge base; in-process indexes key on it."""
        seen = _REVISIONS_SEEN.get(str(self._collection.id))
        if seen is not None and time.monotonic() - seen[1] < REVISION_STANDS_SECONDS:
            return seen[0]
        # A fresh handle: another process (the ingest job) may have changed the metadata.
        collection = self._client.get_collection(self._collection.name)
        revision = str((collection.metadata or {}).get("content_revision", "0"))
        _REVISIONS_SEEN[str(self._collection.id)] = (revision, time.monotonic())
        return revision

    def mark_changed(self, revision: str | None = None) -> str:
        import uuid

        revision = revision or uuid.uuid4().hex
        metadata = dict(self._collection.metadata or {})
        metadata["content_revision"] = revision
        self._collection.modify(metadata=metadata)
        _REVISIONS_SEEN[str(self._collection.id)] = (revision, time.monotonic())
        return revision

    def get_texts(self, ids: Sequence[str]) -> dict[str, str]:
        if not ids:
            return {}
        page = self._collection.get(ids=list(ids), include=["documents"])
        return dict(zip(page["ids"], page["documents"] or [], strict=True))

    def get_chunks(self, ids: Sequence[str]) -> list[tuple[StoredChunk, str]]:
        """The chunks of these ids that exist, with their text, in the order asked."""
        if not ids:
            return []
        page = self._collection.get(ids=list(ids), include=["metadatas", "documents"])
        found = {
            chunk_id: (StoredChunk(chunk_id, dict(metadata or {})), text or "")  # type: ignore[arg-type]
            for chunk_id, metadata, text in zip(
                page["ids"], page["metadatas"] or [], page["documents"] or [], strict=True
            )
        }
        return [found[chunk_id] for chunk_id in ids if chunk_id in found]

    def document_chunks(self, document_id: str) -> list[tuple[StoredChunk, str]]:
        """Every chunk of one document with its text, in document order."""
        page = self._collection.get(
            where={"document_id": document_id}, include=["metadatas", "documents"]
        )
        chunks = [
            (StoredChunk(chunk_id, dict(metadata or {})), text or "")  # type: ignore[arg-type]
            for chunk_id, metadata, text in zip(
                page["ids"], page["metadatas"] or [], page["documents"] or [], strict=True
            )
        ]
        return sorted(chunks, key=lambda pair: document_order(pair[0]))

    def write(self, chunks: Sequence[ChunkWrite]) -> None:
        """Upserts chunks with new embeddings, and updates metadata in place for the rest."""
        embedded = [chunk for chunk in chunks if chunk.embedding is not None]
        relabelled = [chunk for chunk in chunks if chunk.embedding is None]
        if embedded:
            self._collection.upsert(
                ids=[chunk.id for chunk in embedded],
                embeddings=[chunk.embedding or [] for chunk in embedded],  # type: ignore[arg-type]
                documents=[chunk.text for chunk in embedded],
                metadatas=[chunk.metadata for chunk in embedded],  # type: ignore[misc]
            )
        if relabelled:
            self._collection.update(
                ids=[chunk.id for chunk in relabelled],
                metadatas=[chunk.metadata for chunk in relabelled],  # type: ignore[misc]
            )

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            self._collection.delete(ids=list(ids))

    def query(
        self,
        embedding: list[float],
        *,
        k: int,
        where: ChunkFilter | None = None,
        admitted: Callable[[], Sequence[str] | None] | None = None,
        read: ChunkReader | None = None,
    ) -> list[Hit]:
        """The k nearest chunks as (chunk, text, cosine distance), nearest first.

        A filter is first tried on unfiltered neighbours in Python (`PostFilterPlan`): Chroma's
        own pre-filter reads every chunk it admits, which costs more than the search itself
        from a few thousand chunks on. When too few neighbours pass, a filter whose chunks
        `admitted` lists (a vehicle's, from the keyword index) is searched among those ids;
        any other, Chroma filters. Chroma reads a hit's metadata slowly (about 0.2 ms each):
        the hits `read` has are read from it."""
        if where is None:
            return self._nearest(embedding, k, None, read=read)
        plan = self._post_filter
        depth = plan.read_for(where, k, search_depth=self._search_depth)
        if depth is not None:
            hits, complete = self._post_filtered(embedding, k, where, depth, read)
            if complete:
                return hits
        ids = admitted() if admitted is not None else None
        if ids is not None and len(ids) <= EXACT_SEARCH_IDS:
            return self._nearest_among(embedding, k, ids, read) if ids else []
        if ids is not None and len(ids) <= MAX_ADMITTED_IDS:
            return self._nearest(embedding, min(k, len(ids)), None, ids=ids, read=read)
        started = time.perf_counter()
        hits = self._nearest(embedding, k, where, read=read)
        plan.observe_filtered(where, seconds=time.perf_counter() - started)
        return hits

    def _post_filtered(
        self,
        embedding: list[float],
        k: int,
        where: ChunkFilter,
        depth: PostFilterRead,
        read: ChunkReader | None,
    ) -> tuple[list[Hit], bool]:
        """The k nearest of `depth.depth` unfiltered neighbours that pass, their metadata read
        `depth.page` at a time, nearest first; and whether that is the whole answer."""
        if depth.depth == depth.page:
            started = time.perf_counter()
            neighbours = self._nearest(embedding, depth.depth, None, read=read)
            passing = [hit for hit in neighbours if matches(where, hit[0].metadata)]
            self._post_filter.observe_read(
                where, passed=len(passing), read=len(neighbours),
                seconds=time.perf_counter() - started,
            )  # fmt: skip
            return passing[:k], len(passing) >= k or len(neighbours) < depth.depth
        started = time.perf_counter()
        distances = self._nearest_distances(embedding, depth.depth)
        ids = list(distances)
        passing, hydrated = [], 0
        for start in range(0, len(ids), depth.page):
            for chunk, text in read_chunks(self, ids[start : start + depth.page], read):
                hydrated += 1
                if matches(where, chunk.metadata):
                    passing.append((chunk, text, distances[chunk.id]))
            if len(passing) >= k:
                break
        self._post_filter.observe_read(
            where, passed=len(passing), read=hydrated, seconds=time.perf_counter() - started
        )
        # Fewer neighbours than asked: every chunk of the knowledge base was searched.
        return passing[:k], len(passing) >= k or len(ids) < depth.depth

    @functools.cached_property
    def _search_depth(self) -> int:
        """How many candidates Chroma's vector search keeps (its HNSW `ef_search`): a filtered
        search keeps that many that pass, so an unfiltered one must look that much deeper."""
        with warnings.catch_warnings():
            # Chroma warns that a collection without an embedding function has a legacy one.
            warnings.simplefilter("ignore", DeprecationWarning)
            configuration = self._collection.configuration or {}
        hnsw = configuration.get("hnsw") or {}
        return int(hnsw.get("ef_search") or DEFAULT_EF_SEARCH)

    def _nearest_distances(
        self,
        embedding: list[float],
        k: int,
        where: ChunkFilter | None = None,
        *,
        ids: Sequence[str] | None = None,
    ) -> dict[str, float]:
        """The k nearest chunk ids with their cosine distances, nearest first, nothing read."""
        from chromadb.errors import InternalError

        try:
            result = self._collection.query(
                query_embeddings=[embedding],  # type: ignore[arg-type]
                n_results=k,
                where=chroma_where(where),
                ids=list(ids) if ids is not None else None,
                include=["distances"],
            )
        except InternalError as error:
            raise self._damaged(error) from error
        distances = (result["distances"] or [[]])[0]
        return {
            chunk_id: float(distance)
            for chunk_id, distance in zip(result["ids"][0], distances, strict=True)
        }

    def _nearest_among(
        self, embedding: list[float], k: int, ids: Sequence[str], read: ChunkReader | None
    ) -> list[Hit]:
        """The k nearest of these chunks by exact cosine distance, nearest first (ties by id)."""
        import numpy as np
        from chromadb.errors import InternalError

        try:
            found = self._collection.get(ids=list(ids), include=["embeddings"])
        except InternalError as error:
            raise self._damaged(error) from error
        if not found["ids"]:
            return []
        vectors = np.asarray(found["embeddings"], dtype=np.float64)
        query = np.asarray(embedding, dtype=np.float64)
        norms = np.linalg.norm(vectors, axis=1) * np.linalg.norm(query)
        cosine = (vectors @ query) / np.where(norms > 0, norms, 1.0)
        distances = dict(zip(found["ids"], (1.0 - cosine).tolist(), strict=True))
        nearest = sorted(distances, key=lambda chunk_id: (distances[chunk_id], chunk_id))[:k]
        return [
            (chunk, text, distances[chunk.id]) for chunk, text in read_chunks(self, nearest, read)
        ]

    def _damaged(self, error: Exception) -> StageError:
        return StageError(
            "retrieval",
            f"the vector index of knowledge base {self.kb!r} failed ({error}); run "
            f"`glovebox kb check --kb {self.kb}` to find the damage and how to mend it",
        )

    def _nearest(
        self,
        embedding: list[float],
        k: int,
        where: ChunkFilter | None,
        *,
        ids: Sequence[str] | None = None,
        read: ChunkReader | None = None,
    ) -> list[Hit]:
        if read is not None:
            nearest = self._nearest_distances(embedding, k, where, ids=ids)
            return [
                (chunk, text, nearest[chunk.id])
                for chunk, text in read_chunks(self, list(nearest), read)
            ]
        from chromadb.errors import InternalError

        try:
            result = self._collection.query(
                query_embeddings=[embedding],  # type: ignore[arg-type]
                n_results=k,
                where=chroma_where(where),
                ids=list(ids) if ids is not None else None,
                include=["metadatas", "documents", "distances"],
            )
        except InternalError as error:
            raise self._damaged(error) from error
        ids = result["ids"][0]
        metadatas = (result["metadatas"] or [[]])[0]
        documents = (result["documents"] or [[]])[0]
        distances = (result["distances"] or [[]])[0]
        return [
            (StoredChunk(chunk_id, dict(metadata or {})), text, float(distance))  # type: ignore[arg-type]
            for chunk_id, metadata, text, distance in zip(
                ids, metadatas, documents, distances, strict=True
            )
        ]


@dataclass(frozen=True)
class PostFilterRead:
    """Search `depth` unfiltered neighbours; read their metadata `page` at a time."""

    depth: int
    page: int


def read_chunks(
    store: KnowledgeStore, ids: Sequence[str], read: ChunkReader | None
) -> list[tuple[StoredChunk, str]]:
    """These chunks that exist, in this order: from `read` where it has them, the rest from the
    store."""
    known = read(ids) if read is not None else {}
    missing = [chunk_id for chunk_id in ids if chunk_id not in known]
    found = {chunk.id: (chunk, text) for chunk, text in store.get_chunks(missing)}
    for chunk_id, (metadata, text) in known.items():
        found[chunk_id] = (StoredChunk(chunk_id, dict(metadata)), text)
    return [found[chunk_id] for chunk_id in ids if chunk_id in found]


class PostFilterPlan:
    """How a filtered query reads unfiltered neighbours and filters them in Python, or None
    for Chroma's pre-filter, from what that filter and the store cost before.

    Chroma 1.5's pre-filter reads every chunk each condition admits, in every knowledge base
    of the store (0.5-2 s at 100k chunks), while reading a neighbour costs about 0.3 ms
    whatever the size and searching one far less. A filter not seen before reads as many
    neighbours as Chroma's search keeps (`ef_search`), to learn its share; one that admitted
    everything then reads just k (the agent's audiences). Otherwise it searches as deep as
    Chroma's filtered search would look (`ef_search` / share, so the answer is as good) and
    reads k / share with a margin (the driver's public-only about 1.5 k / 0.7), up to
    `MAX_FETCH_FACTOR` k; a rarer filter (a vehicle's) reads more only where Chroma's filtered
    query was timed twice as slow.

        plan = PostFilterPlan()
        plan.read_for(where, k=30, search_depth=100)  # 100; then 143 deep, 65 read at 70%
    """

    MAX_FETCH_FACTOR = 8
    MAX_DEPTH = 4000
    MARGIN = 1.5
    """Neighbours cluster by topic, so a question may find fewer passing than the share says."""
    REMEMBERED_FILTERS = 4096

    def __init__(self) -> None:
        self._shares: dict[ChunkFilter, float] = {}
        self._filtered_seconds: dict[ChunkFilter, float] = {}
        self._seconds_per_neighbour: float | None = None
        self._any_filtered_seconds: float | None = None
        """Chroma's filter costs about the same for any filter of one store: its size rules."""

    def read_for(self, where: ChunkFilter, k: int, *, search_depth: int) -> PostFilterRead | None:
        share = self._shares.get(where)
        if share is None:  # as many as Chroma's search keeps: enough to tell a rare filter
            probe = max(k, search_depth)
            return PostFilterRead(probe, probe)
        if share >= 1.0:
            return PostFilterRead(k, k)
        if share <= 0:
            return None
        page = math.ceil(k * self.MARGIN / share)
        depth = max(page, math.ceil(search_depth / share))
        if depth > self.MAX_DEPTH:
            return None
        if page <= self.MAX_FETCH_FACTOR * k:
            return PostFilterRead(depth, page)
        filtered = self._filtered_seconds.get(where, self._any_filtered_seconds)
        per_neighbour = self._seconds_per_neighbour
        if filtered is None or per_neighbour is None or page * per_neighbour > filtered / 2:
            return None
        return PostFilterRead(depth, page)

    def observe_read(self, where: ChunkFilter, *, passed: int, read: int, seconds: float) -> None:
        """`read` unfiltered neighbours took `seconds`, and `passed` of them passed `where`."""
        if not read:
            return
        self._remember(self._shares, where, passed / read)
        per_neighbour = seconds / read
        previous = self._seconds_per_neighbour
        self._seconds_per_neighbour = (
            per_neighbour if previous is None else (previous + per_neighbour) / 2
        )

    def observe_filtered(self, where: ChunkFilter, *, seconds: float) -> None:
        """Chroma's filtered query for `where` took `seconds`."""
        self._remember(self._filtered_seconds, where, seconds)
        previous = self._any_filtered_seconds
        self._any_filtered_seconds = seconds if previous is None else (previous + seconds) / 2

    def _remember(self, memory: dict[ChunkFilter, float], where: ChunkFilter, value: float) -> None:
        previous = memory.get(where)
        if previous is None and len(memory) >= self.REMEMBERED_FILTERS:
            memory.clear()  # one vehicle filter each; a long-running server forgets them
        memory[where] = value if previous is None else (previous + value) / 2


def chroma_where(where: ChunkFilter | None) -> dict[str, Any] | None:
    """A store-neutral filter in Chroma's `where` language."""
    match where:
        case None:
            return None
        case Equals(field, value):
            return {field: {"$eq": value}}
        case OneOf(field, values):
            return {field: {"$in": list(values)}}
        case AtMost(field, value):
            return {field: {"$lte": value}}
        case AtLeast(field, value):
            return {field: {"$gte": value}}
        case AllOf(filters) | AnyOf(filters):
            parts = [chroma_where(part) for part in filters]
            if len(parts) == 1:  # Chroma wants two or more under $and / $or
                return parts[0]
            return {"$and" if isinstance(where, AllOf) else "$or": parts}
    raise TypeError(f"not a chunk filter: {where!r}")


def document_order(chunk: StoredChunk) -> tuple[int, str]:
    """Where a chunk comes in its document: by `position`, then by id."""
    position = chunk.metadata.get("position")
    return (position if isinstance(position, int) else 0), chunk.id


def list_knowledge_bases(client: ClientAPI) -> list[str]:
    return sorted(
        collection.name.removeprefix(COLLECTION_PREFIX)
        for collection in client.list_collections()
        if collection.name.startswith(COLLECTION_PREFIX)
    )


def drop_knowledge_base(client: ClientAPI, kb: str) -> None:
    name = collection_name(kb)
    if name not in {collection.name for collection in client.list_collections()}:
        raise ConfigurationError(
            f"knowledge base {kb!r} does not exist; `glovebox kb list` shows them"
        )
    client.delete_collection(name)
