"""Deterministic fakes for unit tests only. Integration tests use the real model and real Chroma."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

from knowledge.filters import ChunkFilter, Equals, matches
from knowledge.records import MetadataValue
from knowledge.store import ChunkReader, ChunkWrite, StoredChunk, document_order

WORDPIECE_LIKE = re.compile(r"\w+|[^\w\s]")


class HashEmbedder:
    """A deterministic bag-of-words embedder: same text, same vector; shared words, nearby vectors.

    Counts every `embed_documents` text so tests can assert what was (not) re-embedded.
    """

    def __init__(self, dimension: int = 64, max_tokens: int = 256, name: str = "hash-embedder"):
        self._dimension = dimension
        self._max_tokens = max_tokens
        self._name = name
        self.embedded_texts: list[str] = []

    @property
    def model_name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.embedded_texts.extend(texts)
        return [self._vector(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(WORDPIECE_LIKE.findall(text)) for text in texts]

    def _vector(self, text: str) -> list[float]:
        vector = [0.0] * self._dimension
        for word in WORDPIECE_LIKE.findall(text.lower()):
            digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
            vector[int.from_bytes(digest, "big") % self._dimension] += 1.0
        norm = math.sqrt(sum(value * value for value in vector)) or 1.0
        return [value / norm for value in vector]


class ScriptedChatModel(BaseChatModel):
    """Replies with `replies` in order (an exception in the list is raised instead).

    Records every message list it receives in `received`, and the call options in `options`,
    so tests can check the prompt. Streams a reply word by word.

        model = ScriptedChatModel(replies=["38 psi [1]."])
        model.invoke("question")  # AIMessage("38 psi [1].")
    """

    replies: list[str | Exception]
    received: list[list[BaseMessage]] = Field(default_factory=list)
    options: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _next_reply(self, messages: list[BaseMessage], options: dict[str, Any]) -> str:
        self.received.append(list(messages))
        self.options.append(options)
        if not self.replies:
            raise AssertionError("the scripted chat model ran out of replies")
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        reply = self._next_reply(messages, kwargs)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=reply))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        reply = self._next_reply(messages, kwargs)
        for piece in re.findall(r"\s*\S+", reply):
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece))


class InMemoryKnowledgeStore:
    """A knowledge base in a dict, for unit tests: it passes the same store contract as Chroma
    (tests/knowledge/store_contract.py), with exact cosine search over the stored vectors.

        store = InMemoryKnowledgeStore()
        store.write([ChunkWrite("a", "text", {"document_id": "a"}, [1.0, 0.0])])
    """

    def __init__(self, kb: str = "memory", embedding_model: str = "hash-embedder") -> None:
        self.kb = kb
        self.embedding_model = embedding_model
        self._chunks: dict[str, tuple[dict[str, MetadataValue], str, list[float]]] = {}
        self._revision = "0"
        self._changes = 0

    @property
    def content_revision(self) -> str:
        return self._revision

    def mark_changed(self, revision: str | None = None) -> str:
        self._changes += 1
        self._revision = revision or str(self._changes)
        return self._revision

    def count(self) -> int:
        return len(self._chunks)

    def iter_chunks(self, where: ChunkFilter | None = None) -> Iterator[StoredChunk]:
        for chunk, _ in self._matching(where):
            yield chunk

    def iter_chunks_with_text(self) -> Iterator[tuple[StoredChunk, str]]:
        yield from self._matching(None)

    def get_texts(self, ids: Sequence[str]) -> dict[str, str]:
        return {chunk_id: self._chunks[chunk_id][1] for chunk_id in ids if chunk_id in self._chunks}

    def get_chunks(self, ids: Sequence[str]) -> list[tuple[StoredChunk, str]]:
        return [self._read(chunk_id) for chunk_id in ids if chunk_id in self._chunks]

    def document_chunks(self, document_id: str) -> list[tuple[StoredChunk, str]]:
        chunks = list(self._matching(Equals("document_id", document_id)))
        return sorted(chunks, key=lambda pair: document_order(pair[0]))

    def write(self, chunks: Sequence[ChunkWrite]) -> None:
        # As Chroma: the write's metadata is merged into what is stored (a key set to None is
        # removed), and a write without an embedding to an unknown id is ignored.
        for chunk in chunks:
            metadata, text, vector = self._chunks.get(chunk.id, ({}, chunk.text, []))
            if chunk.embedding is not None:
                text, vector = chunk.text, list(chunk.embedding)
            elif chunk.id not in self._chunks:
                continue
            merged = {**metadata, **chunk.metadata}
            kept = {key: value for key, value in merged.items() if value is not None}
            self._chunks[chunk.id] = (kept, text, vector)

    def delete(self, ids: Sequence[str]) -> None:
        for chunk_id in ids:
            self._chunks.pop(chunk_id, None)

    def query(
        self,
        embedding: list[float],
        *,
        k: int,
        where: ChunkFilter | None = None,
        admitted: Callable[[], Sequence[str] | None] | None = None,
        read: ChunkReader | None = None,
    ) -> list[tuple[StoredChunk, str, float]]:
        scored = [
            (chunk, text, 1.0 - _cosine(embedding, self._chunks[chunk.id][2]))
            for chunk, text in self._matching(where)
        ]
        return sorted(scored, key=lambda item: item[2])[:k]

    def _matching(self, where: ChunkFilter | None) -> Iterator[tuple[StoredChunk, str]]:
        for chunk_id, (metadata, _, _) in self._chunks.items():
            if where is None or matches(where, metadata):
                yield self._read(chunk_id)

    def _read(self, chunk_id: str) -> tuple[StoredChunk, str]:
        metadata, text, _ = self._chunks[chunk_id]
        return StoredChunk(chunk_id, dict(metadata)), text


def _cosine(left: Sequence[float], right: Sequence[float]) -> float:
    norms = math.sqrt(sum(x * x for x in left)) * math.sqrt(sum(y * y for y in right))
    return sum(x * y for x, y in zip(left, right, strict=True)) / norms if norms else 0.0
