"""Deterministic fakes for unit tests only. Integration tests use the real model and real Chroma."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

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
