"""The agent API under /v1/agent/: everything the console does, for scripts and other front ends.
Every route needs a signed-in agent (see `ui.api.sign_in`) and calls the same `AgentDesk` as the
console, so both behave the same.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Path, Query, Response

# At module level: FastAPI resolves `-> HTMLResponse` in this module's globals.
from fastapi.responses import HTMLResponse

from assistant.desk.agent_desk import (
    AGENT_TYPING_SECONDS,
    QueueChannel,
    QueueSeverity,
    QueueSort,
    QueueState,
)
from assistant.records import ticket_id_from_reference
from knowledge.errors import InputError
from ui.api.dependencies import DeskDep, SignedInAgent, StateDep
from ui.api.errors import ApiError
from ui.api.models import (
    DOCUMENT_ID_MAX_CHARS,
    FEEDBACK_EXPORT_MAX,
    SEARCH_MAX_CHARS,
    TICKET_REFERENCE_MAX_CHARS,
    VEHICLE_MAX_CHARS,
    ChatRequest,
    FeedbackRequest,
    TextRequest,
)
from ui.source_page import source_page_html

if TYPE_CHECKING:
    from assistant.desk.feedback import Feedback
    from assistant.records import CsatRating, Ticket

AGENT_API_PATH = "/v1/agent"
EARLIER_CASE_FIELDS = ("id", "state", "reason", "summary", "resolution_note", "created_at")

router = APIRouter(prefix=AGENT_API_PATH)

Reference = Annotated[str, Path(max_length=TICKET_REFERENCE_MAX_CHARS)]
"""A ticket's reference in a path, GBX-000123."""


def ticket_id(reference: str) -> int:
    """The ticket `reference` names; a 400 naming `reference` for anything else."""
    try:
        return ticket_id_from_reference(reference)
    except InputError as error:
        raise ApiError(400, error.problem, "reference") from None


@router.post("/chat")
def agent_chat(body: ChatRequest, agent: SignedInAgent, desk: DeskDep) -> dict[str, Any]:
    events = desk.ask(
        agent, body.question, session_id=body.session_id, vehicle_text=body.vehicle,
        vin=body.vin,
    )  # fmt: skip
    reply = next(event.reply for event in events if event.reply is not None)
    turn = desk.finish(reply)
    return {
        **reply.to_json(),
        "turn_index": turn.turn_index,
        "sources": [asdict(source) for source in turn.sources],
        "customer_copy": asdict(turn.customer_copy),
    }


@router.post("/feedback")
def agent_feedback(body: FeedbackRequest, agent: SignedInAgent, desk: DeskDep) -> dict[str, Any]:
    stored = desk.feedback(
        agent, body.session_id, body.turn_index, helpful=body.helpful,
        comment=body.comment, suggestion=body.suggestion,
    )  # fmt: skip
    return feedback_json(stored)


@router.get("/feedback")
def agent_feedback_export(
    agent: SignedInAgent,
    desk: DeskDep,
    limit: Annotated[int, Query(ge=1, le=FEEDBACK_EXPORT_MAX)] = 500,
) -> list[dict[str, Any]]:
    return [feedback_json(item) for item in desk.feedback_list(agent, limit=limit)]


@router.get("/sources/{document_id:path}", response_class=HTMLResponse)
def agent_source(
    document_id: Annotated[str, Path(max_length=DOCUMENT_ID_MAX_CHARS)],
    agent: SignedInAgent,
    state: StateDep,
) -> Response:
    """Any source, internal ones too, as the page a console citation opens."""
    document = state.desk.source(agent, document_id)
    if document is None:
        message = f"no source {document_id!r} in knowledge base {state.knowledge_base!r}"
        raise ApiError(404, message, "document_id")
    return HTMLResponse(source_page_html(document))


@router.get("/vehicle")
def agent_vehicle(
    q: Annotated[str, Query(max_length=VEHICLE_MAX_CHARS)], agent: SignedInAgent, desk: DeskDep
) -> dict[str, Any]:
    del agent  # signed in is all it takes
    return asdict(desk.vehicle_card(q))


@router.get("/tickets")
def agent_tickets(
    agent: SignedInAgent,
    desk: DeskDep,
    state: QueueState = "open",
    channel: QueueChannel = "all",
    severity: QueueSeverity = "all",
    sort: QueueSort = "severity",
    q: Annotated[str, Query(max_length=SEARCH_MAX_CHARS)] = "",
) -> list[dict[str, Any]]:
    """The queue; `q` searches every ticket by reference, VIN or words."""
    found = desk.queue(agent, state=state, channel=channel, severity=severity, sort=sort, search=q)
    return [ticket_json(ticket) for ticket in found]


@router.get("/tickets/{reference}")
def agent_ticket(reference: Reference, agent: SignedInAgent, desk: DeskDep) -> dict[str, Any]:
    """The ticket, its conversation as it is now, and its earlier cases (same
    conversation or VIN)."""
    found = desk.ticket(agent, ticket_id(reference))
    earlier = [
        {key: ticket_json(case)[key] for key in EARLIER_CASE_FIELDS}
        for case in desk.earlier_cases(agent, found)
    ]
    return {
        **ticket_json(found), "transcript": desk.transcript(agent, found),
        "earlier_cases": earlier,
    }  # fmt: skip


@router.get("/tickets/{reference}/suggestion")
def agent_suggestion(reference: Reference, agent: SignedInAgent, desk: DeskDep) -> dict[str, Any]:
    """A reply to the customer's last message, drafted from public sources, for the agent
    to edit and send; `suggestion` is null when nothing supports one."""
    found = desk.ticket(agent, ticket_id(reference))
    suggested = desk.suggested_reply(agent, found)
    return {"reference": found.reference, "suggestion": asdict(suggested) if suggested else None}


@router.post("/tickets/{reference}/claim")
def agent_claim(reference: Reference, agent: SignedInAgent, desk: DeskDep) -> dict[str, Any]:
    return ticket_json(desk.claim(agent, ticket_id(reference)))


@router.post("/tickets/{reference}/notes")
def agent_note(
    reference: Reference, body: TextRequest, agent: SignedInAgent, desk: DeskDep
) -> dict[str, Any]:
    return ticket_json(desk.note(agent, ticket_id(reference), body.text))


@router.post("/tickets/{reference}/replies")
def agent_reply(
    reference: Reference, body: TextRequest, agent: SignedInAgent, desk: DeskDep
) -> dict[str, Any]:
    return ticket_json(desk.reply(agent, ticket_id(reference), body.text))


@router.post("/tickets/{reference}/typing")
def agent_typing(reference: Reference, agent: SignedInAgent, desk: DeskDep) -> dict[str, Any]:
    """The agent is writing a reply: the driver's widget shows it for a few seconds."""
    found = desk.note_typing(agent, ticket_id(reference))
    return {"id": found.reference, "agent_typing": True, "for_seconds": AGENT_TYPING_SECONDS}


@router.post("/tickets/{reference}/resolve")
def agent_resolve(
    reference: Reference, body: TextRequest, agent: SignedInAgent, desk: DeskDep
) -> dict[str, Any]:
    return ticket_json(desk.resolve(agent, ticket_id(reference), body.text))


@router.get("/insights")
def agent_insights(
    agent: SignedInAgent, desk: DeskDep, days: Annotated[int, Query(ge=1, le=365)] = 30
) -> dict[str, Any]:
    return asdict(desk.insights(agent, days=days))


def ticket_json(ticket: Ticket) -> dict[str, Any]:
    return {
        "id": ticket.reference,
        "session_id": ticket.session_id,
        "channel": ticket.channel.value,
        "reason": ticket.reason,
        "severity": ticket.severity.value,
        "state": ticket.state.value,
        "summary": ticket.summary,
        "assistant_said": ticket.assistant_said,
        "vehicle": asdict(ticket.vehicle) if ticket.vehicle else None,
        "assignee": ticket.assignee,
        "resolution_note": ticket.resolution_note,
        "notes": ticket.notes,
        "transcript": ticket.transcript,
        "passages": ticket.passages,
        "created_at": ticket.created_at.isoformat(),
        "updated_at": ticket.updated_at.isoformat(),
        "asker_waiting_since": ticket.asker_waiting_since.isoformat()
        if ticket.asker_waiting_since
        else None,
        "csat": csat_json(ticket.csat) if ticket.csat else None,
    }


def csat_json(csat: CsatRating) -> dict[str, Any]:
    return {
        "rating": csat.rating,
        "comment": csat.comment,
        "created_at": csat.created_at.isoformat(),
    }


def feedback_json(item: Feedback) -> dict[str, Any]:
    data = asdict(item)
    data["created_at"] = item.created_at.isoformat()
    return data
