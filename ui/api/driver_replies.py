"""What a driver may see of an answer: its text, public citations, confidence and the
escalation's status, as JSON or as Server-Sent Events; never chunk ids, retrieval scores,
rewritten questions or timings.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

from assistant.chain import AssistantReply, Citation
from assistant.recalls import RecallNotice
from assistant.records import Channel
from assistant.sources import stored_source_link
from assistant.wiring import Services
from knowledge.errors import GloveboxError, InputError
from ui.api.errors import UNAVAILABLE, ApiError
from ui.api.models import ChatRequest

PUBLIC_CITATION_FIELDS = ("n", "title", "section", "kind", "page", "effective_date", "quote")
STAGE_LABELS = {
    "retrieve": "Searching the service information",
    "support": "Checking the answer against its sources",
    "escalate": "Passing this to a person",
}
"""The stages a driver is told about while an answer streams."""

logger = logging.getLogger(__name__)


def public_citation(citation: Citation) -> dict[str, Any]:
    return stored_public_citation(citation.to_json())


def stored_public_citation(citation: dict[str, Any]) -> dict[str, Any]:
    """What a driver sees of a citation: its public fields, and where its document opens."""
    shown = {name: citation.get(name) for name in PUBLIC_CITATION_FIELDS}
    return shown | {"url": stored_source_link(citation, agent=False)}


def driver_reply(reply: AssistantReply, turn_index: int) -> dict[str, Any]:
    """What a driver may see of a reply; nothing internal."""
    if any(citation.audience != "public" for citation in reply.citations):
        raise ApiError(500, "a driver reply cited a non-public source; it was withheld")
    escalation = reply.escalation
    return {
        "session_id": reply.session_id,
        "turn_index": turn_index,
        "answer": reply.answer,
        "citations": [public_citation(c) for c in reply.citations],
        "confidence": round(reply.confidence, 2),
        "abstained": reply.abstained,
        "asked_for_vehicle": reply.asked_for_vehicle,
        "escalation": None
        if escalation is None
        else {
            "state": escalation.state.value,
            "reason": escalation.reason,
            "ticket_id": escalation.ticket_id,
        },
    }


def turn_index(services: Services, session_id: str) -> int:
    """The position of the session's newest turn, which a driver's feedback names."""
    session = services.sessions.get_session(session_id)
    return len(session.turns) - 1 if session else 0


def recall_json(notice: RecallNotice) -> dict[str, Any]:
    metadata = notice.opening.metadata
    return {
        "campaign": metadata.get("campaign_short"),
        "title": metadata.get("title"),
        "component": metadata.get("component"),
        "consequence": notice.section("Consequence"),
        "remedy": notice.section("Remedy"),
        "do_not_drive": bool(metadata.get("do_not_drive")),
        "park_outside": bool(metadata.get("park_outside")),
        "effective_date": metadata.get("effective_date"),
    }


def sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def answer_events(
    services: Services, handoff_message: str, question: str, body: ChatRequest
) -> Iterator[str]:
    """session, status..., delta..., citations, confidence, escalation (if any), done; or an
    error event, which tells the driver nothing internal."""
    stream = services.assistant.stream(
        question, channel=Channel.DRIVER, session_id=body.session_id,
        vehicle_text=body.vehicle, vin=body.vin,
    )  # fmt: skip
    try:
        yield sse("session", {"session_id": body.session_id})
        for event in stream:
            if event.kind == "status" and event.text in STAGE_LABELS:
                yield sse("status", {"stage": event.text, "label": STAGE_LABELS[event.text]})
            elif event.kind == "delta":
                yield sse("delta", {"text": event.text})
            elif event.reply is not None:
                shown = driver_reply(event.reply, turn_index(services, event.reply.session_id))
                yield from closing_events(event.reply, shown, handoff_message)
    except ApiError as error:
        yield sse("error", {"message": error.message})
    except InputError as error:
        yield sse("error", {"message": str(error)})
    except GloveboxError:
        logger.exception("the driver stream for session %s failed", body.session_id)
        yield sse("error", {"message": UNAVAILABLE})


def closing_events(
    reply: AssistantReply, shown: dict[str, Any], handoff_message: str
) -> Iterator[str]:
    if reply.outcome == "with_person":  # the message went to the person: the bot is silent
        yield sse("escalation", shown["escalation"])
        yield sse("done", {"turn_index": shown["turn_index"]})
        return
    yield sse("citations", {"citations": shown["citations"]})
    yield sse("confidence", {"confidence": shown["confidence"], "abstained": shown["abstained"]})
    if shown["escalation"]:
        yield sse("escalation", {**shown["escalation"], "message": handoff_message})
    yield sse("done", {"turn_index": shown["turn_index"]})
