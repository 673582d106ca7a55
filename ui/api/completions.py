"""OpenAI-compatible chat completions (/v1/chat/completions) on the driver channel, citations
kept: any OpenAI client works with a publishable key as its API key.

    client = OpenAI(base_url="https://HOST/v1", api_key="pk_...")
    client.chat.completions.create(model="glovebox", messages=[{"role": "user", ...}])
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from assistant.desk.agent_desk import customer_copy
from assistant.records import Channel
from assistant.wiring import Services
from knowledge.embedder import Embedder
from ui.api.dependencies import KEYED, LimitsDep, ServicesDep, SettingsDep
from ui.api.driver import DriverClient, checked_question, within_conversation_rate
from ui.api.driver_replies import driver_reply, turn_index
from ui.api.errors import ApiError
from ui.api.models import ChatCompletionRequest, OpenAIMessage

router = APIRouter(tags=["openai-compatible"], dependencies=KEYED)


@router.post("/v1/chat/completions")
def completions(
    body: ChatCompletionRequest, services: ServicesDep, settings: SettingsDep,
    limits: LimitsDep, client: DriverClient,
) -> Any:  # fmt: skip
    """OpenAI-compatible chat completions on the driver channel, citations kept."""
    if body.user:  # OpenAI's end-user id stands in for a conversation here
        within_conversation_rate(limits, f"openai-user:{body.user}")
    question, history = conversation(body.messages)
    question = checked_question(question, settings.max_question_chars)
    session_id = replayed_session(services, history, client)
    named = vehicle_message(services, history)
    vehicle = services.catalog.find_in_text(named) if named else None
    reply = services.assistant.ask(
        question, channel=Channel.DRIVER, session_id=session_id,
        vehicle_text=vehicle.label() if vehicle else None,
    )  # fmt: skip
    extra = driver_reply(reply, turn_index(services, session_id))  # refuses internal sources
    content = customer_copy(reply).text
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    if body.stream:
        return StreamingResponse(
            completion_chunks(completion_id, body.model, content, extra),
            media_type="text/event-stream",
        )
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": usage(services.embedder, body.messages, content),
        "citations": extra["citations"],
        "glovebox": {k: extra[k] for k in ("session_id", "confidence", "escalation")},
    }


def replayed_session(
    services: Services, history: list[tuple[str, str]], client: str | None = None
) -> str:
    """A new driver session holding the client's earlier messages, as the question's context."""
    session_id = services.sessions.create_session(Channel.DRIVER, client_key=client)
    for role, text in history:
        services.sessions.add_turn(session_id, role, text)  # type: ignore[arg-type]
    return session_id


def vehicle_message(services: Services, history: list[tuple[str, str]]) -> str | None:
    """The driver's latest earlier message that names a vehicle."""
    named = [
        text
        for role, text in history
        if role == "user" and services.catalog.find_in_text(text) is not None
    ]
    return named[-1] if named else None


def conversation(messages: list[OpenAIMessage]) -> tuple[str, list[tuple[str, str]]]:
    """The last user message is the question; earlier user/assistant messages are history."""
    texts = [(m.role, text_of(m.content)) for m in messages if m.role in ("user", "assistant")]
    if not texts or texts[-1][0] != "user":
        raise ApiError(400, "the last message must be the user's question", "messages")
    return texts[-1][1], [(role, text) for role, text in texts[:-1] if text]


def text_of(content: str | list[dict[str, Any]] | None) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if part.get("type") == "text")
    return ""


def usage(embedder: Embedder, messages: list[OpenAIMessage], content: str) -> dict[str, int]:
    """Token counts by the embedder's own tokenizer (Glovebox runs no paid model; the counts
    are for the client's bookkeeping)."""
    prompt = sum(embedder.count_tokens([text_of(message.content) for message in messages]))
    completion = sum(embedder.count_tokens([content]))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def completion_chunks(
    completion_id: str, model: str, content: str, extra: dict[str, Any]
) -> Iterator[str]:
    from assistant.chain import ANSWER_PIECES

    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        payload = {
            "id": completion_id, "object": "chat.completion.chunk", "created": created,
            "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }  # fmt: skip
        return f"data: {json.dumps(payload)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    for piece in ANSWER_PIECES.split(content):
        if piece:
            yield chunk({"content": piece})
    final = json.loads(chunk({}, "stop")[6:])
    final["citations"] = extra["citations"]
    yield f"data: {json.dumps(final)}\n\n"
    yield "data: [DONE]\n\n"
