"""A scripted chat model for unit tests of the LLM stages: no network, no weights."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field


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
