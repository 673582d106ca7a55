"""The public driver API the widget and apps call (the OpenAI-compatible route is in
`ui.api.completions`).

Everything here runs on the driver channel: internal bulletins are filtered out at retrieval,
and replies carry only what a driver may see (`ui.api.driver_replies`). Every route but the
widget's script and the public sources needs a publishable key (`KEYED`); requests are
rate-limited per address and per conversation, and questions are capped.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

# At module level: FastAPI resolves `-> HTMLResponse` in this module's globals.
from fastapi.responses import HTMLResponse, StreamingResponse

from assistant.chain import NOTHING_TO_HAND_OVER, WITH_A_PERSON
from assistant.records import (
    Channel,
    ConversationSession,
    EscalationState,
    Ticket,
    Vehicle,
    has_words,
    ticket_id_from_reference,
    ticket_reference,
)
from assistant.vehicles import VehicleCatalog
from assistant.wiring import Services
from knowledge.errors import InputError
from ui.api.dependencies import (
    KEYED,
    ClientAddress,
    DeskDep,
    LimitsDep,
    ServicesDep,
    SettingsDep,
    too_many,
    within_address_rate,
)
from ui.api.driver_replies import (
    answer_events,
    driver_reply,
    recall_json,
    stored_public_citation,
    turn_index,
)
from ui.api.errors import ApiError
from ui.api.models import (
    DOCUMENT_ID_MAX_CHARS,
    LOCALE_MAX_CHARS,
    MODEL_YEAR_FIRST,
    MODEL_YEAR_LAST,
    SESSION_ID_MAX_CHARS,
    VEHICLE_MAX_CHARS,
    ChatRequest,
    DriverFeedback,
    DriverRating,
    EscalationRequest,
)
from ui.api.rate_limit import RateLimits
from ui.source_page import source_page_html

STATIC = FilePath(__file__).resolve().parent.parent / "static"
WIDGET_SCRIPT = "widget.js"
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")
VIN_QUERY_MAX_CHARS = 32
"""A VIN is 17 characters; room for the spaces a pasted one comes with."""


def driver_client(address: ClientAddress) -> str:
    """Who is asking, pseudonymously: a digest of the address, kept on the conversations it
    opens so that open tickets can be capped per address (the address itself is not kept)."""
    return hashlib.sha256(f"glovebox-driver:{address}".encode()).hexdigest()[:32]


DriverClient = Annotated[str, Depends(driver_client)]

public_router = APIRouter()
"""The widget's script and public sources: no key, as a page or a citation link loads them."""
router = APIRouter(tags=["driver"], dependencies=KEYED)


@public_router.get(f"/{WIDGET_SCRIPT}", include_in_schema=False)
def widget_js() -> Response:
    return Response(
        (STATIC / WIDGET_SCRIPT).read_text(encoding="utf-8"),
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=300"},
    )


@public_router.get(
    "/v1/sources/{document_id:path}", tags=["driver"], response_class=HTMLResponse,
    dependencies=[Depends(within_address_rate)],
)  # fmt: skip
def source(
    document_id: Annotated[str, Path(max_length=DOCUMENT_ID_MAX_CHARS)], services: ServicesDep
) -> HTMLResponse:
    """A public source, whole, as a page a citation's link opens (no key: it is public)."""
    document = services.sources.document(document_id, audiences=Channel.DRIVER.audiences)
    if document is None:
        raise ApiError(404, f"no public source {document_id!r}", "document_id")
    return HTMLResponse(source_page_html(document))


@router.post("/v1/chat")
def chat(
    body: ChatRequest, services: ServicesDep, settings: SettingsDep, limits: LimitsDep,
    client: DriverClient,
) -> dict[str, Any]:  # fmt: skip
    """Ask a question; the whole answer as JSON."""
    question = checked_question(body.question, settings.max_question_chars)
    if body.session_id:
        continued_conversation(services, limits, body.session_id)
    else:
        body.session_id = services.sessions.create_session(Channel.DRIVER, client_key=client)
    reply = services.assistant.ask(
        question, channel=Channel.DRIVER, session_id=body.session_id,
        vehicle_text=body.vehicle, vin=body.vin,
    )  # fmt: skip
    return driver_reply(reply, turn_index(services, reply.session_id))


@router.post("/v1/chat/stream")
def chat_stream(
    body: ChatRequest, services: ServicesDep, settings: SettingsDep, limits: LimitsDep,
    client: DriverClient,
) -> StreamingResponse:  # fmt: skip
    """Ask a question; Server-Sent Events: session, status, delta..., citations,
    confidence, escalation (if any), done."""
    question = checked_question(body.question, settings.max_question_chars)
    if body.session_id:
        continued_conversation(services, limits, body.session_id)
    else:  # made now, so the stream can name it first
        body.session_id = services.sessions.create_session(Channel.DRIVER, client_key=client)
    return StreamingResponse(
        answer_events(services, settings.handoff_message, question, body),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post("/v1/feedback")
def feedback(body: DriverFeedback, services: ServicesDep) -> dict[str, Any]:
    driver_session(services, body.session_id)
    stored = services.feedback.add_feedback(
        body.session_id, body.turn_index, body.helpful, comment=body.comment or None
    )
    return {"saved": True, "id": stored.id}


@router.post("/v1/ratings")
def rate(body: DriverRating, services: ServicesDep) -> dict[str, Any]:
    """The driver rates how a person handled their resolved ticket: 1-5, once."""
    found = driver_session(services, body.session_id)
    ticket = ticket_to_rate(services, found, body.ticket_id)
    stored = services.feedback.add_csat(
        found.id, ticket.id, body.rating, comment=body.comment or None
    )
    return {"saved": True, "ticket_id": stored.ticket_reference, "rating": stored.rating}


@router.post("/v1/escalations")
def escalate(
    body: EscalationRequest, services: ServicesDep, settings: SettingsDep, client: DriverClient
) -> dict[str, Any]:
    """The driver asks for a person: a ticket in the agents' queue. A driver who has asked
    nothing yet says what it is about (`message`)."""
    if body.session_id:
        session_id = driver_session(services, body.session_id).id
    elif not has_words(body.message):
        # Refused here, before a conversation is made for it (the assistant says the same).
        raise ApiError(422, NOTHING_TO_HAND_OVER, "message")
    else:
        session_id = services.sessions.create_session(Channel.DRIVER, client_key=client)
    escalation = services.assistant.hand_to_person(session_id, body.message)
    return {
        "session_id": session_id,
        "ticket_id": escalation.ticket_id,
        "state": escalation.state.value,
        "message": f"{settings.handoff_message} Your reference is {escalation.ticket_id}.",
    }


@router.get("/v1/sessions/{session_id}")
def session(
    session_id: Annotated[str, Path(max_length=SESSION_ID_MAX_CHARS)],
    services: ServicesDep,
    desk: DeskDep,
) -> dict[str, Any]:
    """The conversation so far: for a reloaded page, and to see an agent's replies."""
    found = driver_session(services, session_id)
    turns = []
    for turn in found.turns:
        entry: dict[str, Any] = {"role": turn.role, "text": turn.text, "turn_index": turn.index}
        if turn.role == "assistant" and turn.payload:
            entry["citations"] = [
                stored_public_citation(c)
                for c in turn.payload.get("citations", [])
                if c.get("audience") == "public"
            ]
        turns.append(entry)
    ticket = found.open_ticket_id
    return {
        "session_id": found.id,
        "state": found.state.value,
        "ticket_id": ticket_reference(ticket) if ticket else None,
        "turns": turns,
        "agent_typing": ticket is not None
        and found.state in WITH_A_PERSON
        and desk.agent_is_typing(ticket),
        "csat": csat_request(services, found),
    }


@router.get("/v1/starters")
def starters(
    services: ServicesDep, locale: Annotated[str, Query(max_length=LOCALE_MAX_CHARS)] = "en"
) -> dict[str, Any]:
    """Questions to offer before the first one: the carmaker profile's for the locale,
    else up to 4 from the public FAQ."""
    language = language_of(locale)
    return {"locale": language, "starters": services.starters.for_language(language)}


@router.get("/v1/recalls")
def recalls(
    services: ServicesDep,
    vin: Annotated[str | None, Query(max_length=VIN_QUERY_MAX_CHARS)] = None,
    model: Annotated[str | None, Query(max_length=VEHICLE_MAX_CHARS)] = None,
    year: Annotated[int | None, Query(ge=MODEL_YEAR_FIRST, le=MODEL_YEAR_LAST)] = None,
) -> dict[str, Any]:
    """Recalls for a VIN, or for a model and year (model years 1980 to the year after next)."""
    vehicle = vehicle_for(services.catalog, vin, model, year)
    found = services.recalls.notices_for(vehicle, Channel.DRIVER)
    return {
        "vehicle": {"make": vehicle.make, "model": vehicle.model, "year": vehicle.year},
        "recalls": [recall_json(notice) for notice in found],
    }


# --- Checks -----------------------------------------------------------------------------------


def checked_question(question: str, limit: int) -> str:
    """The question without surrounding space; a 422 naming `question` if it has no words, a
    400 if over `limit` characters (a 413 when far over)."""
    question = question.strip()
    if not has_words(question):
        raise ApiError(
            422, "the question has no words in it; type what you want to know", "question"
        )
    if len(question) > limit:
        raise ApiError(
            413 if len(question) > 4 * limit else 400,
            f"the question is {len(question)} characters; the limit is {limit}",
            "question",
        )
    return question


def driver_session(services: Services, session_id: str) -> ConversationSession:
    """The driver's conversation; a 404 for an unknown id or an agent's session (it would show
    internal answers)."""
    session = services.sessions.get_session(session_id)
    if session is None or session.channel is not Channel.DRIVER:
        raise ApiError(404, f"no conversation {session_id}; start a new one", "session_id")
    return session


def within_conversation_rate(limits: RateLimits, key: str) -> None:
    """Per conversation: call it once the id is known to be one, so a made-up id is a 404,
    not a new key to remember."""
    admission = limits.per_conversation.allow(key)
    if not admission.allowed:
        raise too_many(
            "too many questions in this conversation; wait a minute", admission.retry_after
        )


def continued_conversation(
    services: Services, limits: RateLimits, session_id: str
) -> ConversationSession:
    session = driver_session(services, session_id)
    within_conversation_rate(limits, session_id)
    return session


def csat_request(services: Services, session: ConversationSession) -> dict[str, Any] | None:
    """The session's newest ticket once a person resolved it: the widget asks for a rating
    until `rated`."""
    newest = session.last_ticket_id
    if newest is None or newest == session.open_ticket_id:
        return None
    ticket = services.tickets.get_ticket(newest)
    if ticket is None or ticket.state is not EscalationState.RESOLVED:
        return None
    return {"ticket_id": ticket.reference, "rated": ticket.csat is not None}


def ticket_to_rate(services: Services, session: ConversationSession, reference: str) -> Ticket:
    """The session's resolved, unrated ticket `reference`; a 4xx naming `ticket_id` if not."""
    try:
        ticket_id = ticket_id_from_reference(reference)
    except InputError:
        raise ApiError(
            400, f"{reference!r} is not a ticket reference; send it like GBX-000123",
            "ticket_id",
        ) from None  # fmt: skip
    ticket = services.tickets.get_ticket(ticket_id)
    if ticket is None or ticket.session_id != session.id:
        raise ApiError(404, f"this conversation has no ticket {reference}", "ticket_id")
    if ticket.state is not EscalationState.RESOLVED:
        raise ApiError(
            409, f"{ticket.reference} is not resolved yet; rate it once a person resolved it",
            "ticket_id",
        )  # fmt: skip
    if ticket.csat is not None:
        raise ApiError(
            409, f"{ticket.reference} is already rated; a ticket is rated once", "ticket_id"
        )
    return ticket


def vehicle_for(
    catalog: VehicleCatalog, vin: str | None, model: str | None, year: int | None
) -> Vehicle:
    if vin:
        decoded = catalog.decode_vin(vin.strip().upper())
        if not decoded.model:
            raise ApiError(
                400,
                f"the model of VIN {vin} is not known here (no VIN table for its maker code "
                f"{vin[:3]!r}); give ?model=...&year=... instead",
                "vin",
            )
        return decoded
    if not model:
        raise ApiError(400, "give ?vin=..., or ?model=...&year=...", "vin")
    found = catalog.find_in_text(f"{model} {year or ''}")
    if found is None or not found.model:
        close = catalog.model_choices(model)
        hint = f"; close: {', '.join(close)}" if close else ""
        raise ApiError(400, f"I have no information on the model {model!r}{hint}", "model")
    if year is not None and found.year != year:  # never every year's recalls for a year asked
        raise ApiError(400, f"{year} is not a model year of the {found.model}", "year")
    return found


def language_of(locale: str) -> str:
    """'en', 'en-US' and 'EN_us' are all 'en'."""
    language = locale.strip().lower().replace("_", "-").split("-")[0]
    if not LANGUAGE_CODE.match(language):
        raise ApiError(400, f"{locale[:20]!r} is not a language; give one like en or es", "locale")
    return language
