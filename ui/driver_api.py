"""The public HTTP API drivers reach through the widget, apps and OpenAI-compatible clients.

Everything here runs on the driver channel: internal bulletins are filtered out at retrieval,
and replies carry only what a driver may see (answer, public citations, confidence, the
escalation's status): never chunk ids, retrieval scores, rewritten questions or timings.

Every request names a publishable key (`X-Glovebox-Key`, or `Authorization: Bearer` for
OpenAI clients); a browser request must come from one of that key's allowed origins (exact
match, echoed in CORS headers). Requests are rate-limited per IP and per session, and bodies
and questions are capped.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from assistant.chain import WITH_A_PERSON, AssistantReply, Citation
from assistant.desk.agent_desk import AgentDesk, customer_copy
from assistant.desk.feedback import CSAT_HIGHEST, CSAT_LOWEST
from assistant.recalls import RecallNotice
from assistant.records import (
    Channel,
    ConversationSession,
    EscalationState,
    Ticket,
    ticket_id_from_reference,
    ticket_reference,
)
from assistant.sources import stored_source_link
from assistant.wiring import Services
from knowledge.embedder import Embedder
from knowledge.errors import GloveboxError, InputError
from knowledge.settings import GloveboxSettings
from ui.source_page import source_page_html

STATIC = Path(__file__).resolve().parent / "static"
DRIVER_PATHS = (
    "/v1/chat", "/v1/feedback", "/v1/escalations", "/v1/sessions", "/v1/recalls", "/v1/sources",
    "/v1/ratings", "/v1/starters",
)  # fmt: skip
PUBLIC_CITATION_FIELDS = ("n", "title", "section", "kind", "page", "effective_date", "quote")
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")
UNAVAILABLE = "the assistant is unavailable right now; try again shortly"
"""All a driver is told when a stage fails: its detail (URLs, settings) is for the log."""

logger = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


class DriverChat(BaseModel):
    question: str = Field(min_length=1)
    session_id: str | None = Field(default=None, max_length=64)
    vehicle: str | None = Field(default=None, max_length=120)
    vin: str | None = Field(default=None, max_length=17)


class DriverFeedback(BaseModel):
    session_id: str = Field(min_length=1, max_length=64)
    turn_index: int = Field(ge=0)
    helpful: bool
    comment: str = Field(default="", max_length=2000)


class DriverRating(BaseModel):
    session_id: str = Field(min_length=1, max_length=64)
    ticket_id: str = Field(min_length=1, max_length=32)
    """The resolved ticket's reference, as the session gives it (GBX-000123)."""
    rating: int = Field(ge=CSAT_LOWEST, le=CSAT_HIGHEST, strict=True)
    comment: str = Field(default="", max_length=2000)


class EscalationRequest(BaseModel):
    session_id: str | None = Field(default=None, max_length=64)
    """None when the driver asks for a person before asking anything."""
    message: str = Field(default="", max_length=2000)


class OpenAIMessage(BaseModel):
    role: Literal["system", "user", "assistant", "developer", "tool"]
    content: str | list[dict[str, Any]] | None = None


class ChatCompletionRequest(BaseModel):
    model: str = "glovebox"
    messages: list[OpenAIMessage] = Field(min_length=1, max_length=100)
    stream: bool = False
    user: str | None = Field(default=None, max_length=64)


class RateLimiter:
    """At most `limit` events per `window` seconds per key (a sliding window, in memory).

    per_ip = RateLimiter(60)
    if not per_ip.allow(client_ip): ...  # answer 429
    """

    def __init__(
        self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limit = limit
        self._window = window
        self._clock = clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._next_sweep = clock() + window

    def allow(self, key: str) -> bool:
        """Counts an event for `key`; False (and not counted) when `key` is at its limit."""
        with self._lock:
            events = self._recent(key)
            if len(events) >= self._limit:
                return False
            events.append(self._clock())
            return True

    def exhausted(self, key: str) -> bool:
        """Whether `key` is at its limit now; counts nothing."""
        with self._lock:
            return len(self._recent(key)) >= self._limit

    def record(self, key: str) -> None:
        """Counts an event for `key` even past its limit (a failed sign-in, say)."""
        with self._lock:
            self._recent(key).append(self._clock())

    def __len__(self) -> int:
        """How many keys are remembered."""
        with self._lock:
            return len(self._events)

    def _recent(self, key: str) -> deque[float]:
        now = self._clock()
        if now >= self._next_sweep:
            # At most once a window, so a limiter with many keys is not rebuilt on every call.
            self._events = {
                k: v for k, v in self._events.items() if v and now - v[-1] <= self._window
            }
            self._next_sweep = now + self._window
        events = self._events.setdefault(key, deque())
        while events and now - events[0] > self._window:
            events.popleft()
        return events


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


def sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


class DriverApi:
    """The routes, their guards and the widget files; `install(app)` wires them in."""

    def __init__(self, settings: GloveboxSettings, services: Services, desk: AgentDesk) -> None:
        self._settings = settings
        self._services = services
        self._desk = desk
        """The agents' desk, for whether one is typing to a driver."""
        self._per_ip = RateLimiter(settings.rate_limit_per_ip)
        self._per_session = RateLimiter(settings.rate_limit_per_session)
        self._origins = {
            origin.rstrip("/") for origins in settings.widget_keys.values() for origin in origins
        }

    # --- Guards -----------------------------------------------------------------------------

    def check_key(self, request: Request) -> str:
        key = request.headers.get("x-glovebox-key", "").strip()
        authorization = request.headers.get("authorization", "")
        if not key and authorization.lower().startswith("bearer "):
            key = authorization[7:].strip()
        if not key:
            raise ApiError(401, "no publishable key: send X-Glovebox-Key (or a Bearer token)")
        allowed = self._settings.widget_keys.get(key)
        if allowed is None:
            raise ApiError(401, "unknown publishable key; check the data-key of the widget tag")
        origin = request.headers.get("origin")
        if origin is not None and origin.rstrip("/") not in {o.rstrip("/") for o in allowed}:
            raise ApiError(403, f"origin {origin} is not allowed for this key")
        return key

    def check_rate(self, request: Request) -> None:
        client = request.client.host if request.client else "unknown"
        if not self._per_ip.allow(client):
            raise ApiError(429, "too many requests from this address; wait a minute")

    def check_session_rate(self, key: str) -> None:
        """Per conversation: call it after `driver_session` has checked the id, so a made-up id
        is a 404, not a new key to remember."""
        if not self._per_session.allow(key):
            raise ApiError(429, "too many questions in this conversation; wait a minute")

    def check_question(self, question: str) -> str:
        question = question.strip()
        if not question:
            raise ApiError(400, "the question is empty", "question")
        if len(question) > self._settings.max_question_chars:
            raise ApiError(
                413 if len(question) > 4 * self._settings.max_question_chars else 400,
                f"the question is {len(question)} characters; the limit is "
                f"{self._settings.max_question_chars}",
                "question",
            )
        return question

    def driver_session(self, session_id: str) -> Any:
        session = self._services.sessions.get_session(session_id)
        # An agent's session id never opens here: it would show internal answers.
        if session is None or session.channel is not Channel.DRIVER:
            raise ApiError(404, f"no conversation {session_id}; start a new one")
        return session

    # --- Installing -------------------------------------------------------------------------

    def install(self, application: FastAPI) -> None:
        application.include_router(self.router())
        application.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
        application.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]

        @application.middleware("http")
        async def guard(
            request: Request, call_next: Callable[[Request], Awaitable[Response]]
        ) -> Response:
            return await self._guard(request, call_next)

    async def _guard(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        path = request.url.path
        public = path.startswith(DRIVER_PATHS)
        origin = request.headers.get("origin")
        if public and request.method == "OPTIONS":
            if origin is None or origin.rstrip("/") not in self._origins:
                return _error(403, f"origin {origin} may not use this API")
            return Response(status_code=204, headers=_cors(origin))
        length = request.headers.get("content-length")
        if public and request.method == "POST" and not length:
            # A chunked body has no length to check against the cap before it is read.
            return _error(411, "send the body with a Content-Length header (not chunked)")
        if length and length.isdigit() and int(length) > self._settings.max_request_bytes:
            return _error(413, f"the request is over {self._settings.max_request_bytes} bytes")
        response = await call_next(request)
        if public and origin is not None and origin.rstrip("/") in self._origins:
            response.headers.update(_cors(origin))
        return response

    def router(self) -> APIRouter:
        router = APIRouter()
        services = self._services

        @router.get("/widget.js", include_in_schema=False)
        def widget_js() -> Response:
            return Response(
                (STATIC / "widget.js").read_text(encoding="utf-8"),
                media_type="text/javascript",
                headers={"Cache-Control": "public, max-age=300"},
            )

        @router.post("/v1/chat", tags=["driver"])
        def chat(body: DriverChat, request: Request) -> dict[str, Any]:
            """Ask a question; the whole answer as JSON."""
            self.check_key(request)
            self.check_rate(request)
            question = self.check_question(body.question)
            if body.session_id:
                self.driver_session(body.session_id)
                self.check_session_rate(body.session_id)
            reply = services.assistant.ask(
                question, channel=Channel.DRIVER, session_id=body.session_id,
                vehicle_text=body.vehicle, vin=body.vin,
            )  # fmt: skip
            return driver_reply(reply, self._turn_index(reply.session_id))

        @router.post("/v1/chat/stream", tags=["driver"])
        def chat_stream(body: DriverChat, request: Request) -> StreamingResponse:
            """Ask a question; Server-Sent Events: session, status, delta..., citations,
            confidence, escalation (if any), done."""
            self.check_key(request)
            self.check_rate(request)
            question = self.check_question(body.question)
            if body.session_id:
                self.driver_session(body.session_id)
                self.check_session_rate(body.session_id)
            else:  # made now, so the stream can name it first
                body.session_id = services.sessions.create_session(Channel.DRIVER)
            return StreamingResponse(
                self._events(question, body), media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )  # fmt: skip

        @router.post("/v1/feedback", tags=["driver"])
        def feedback(body: DriverFeedback, request: Request) -> dict[str, Any]:
            self.check_key(request)
            self.check_rate(request)
            self.driver_session(body.session_id)
            stored = services.feedback.add_feedback(
                body.session_id, body.turn_index, body.helpful, comment=body.comment or None
            )
            return {"saved": True, "id": stored.id}

        @router.post("/v1/ratings", tags=["driver"])
        def rate(body: DriverRating, request: Request) -> dict[str, Any]:
            """The driver rates how a person handled their resolved ticket: 1-5, once."""
            self.check_key(request)
            self.check_rate(request)
            found = self.driver_session(body.session_id)
            ticket = self._ticket_to_rate(found, body.ticket_id)
            stored = services.feedback.add_csat(
                found.id, ticket.id, body.rating, comment=body.comment or None
            )
            return {"saved": True, "ticket_id": stored.ticket_reference, "rating": stored.rating}

        @router.post("/v1/escalations", tags=["driver"])
        def escalate(body: EscalationRequest, request: Request) -> dict[str, Any]:
            """The driver asks for a person: a ticket in the agents' queue."""
            self.check_key(request)
            self.check_rate(request)
            if body.session_id:
                session_id = self.driver_session(body.session_id).id
            else:
                session_id = services.sessions.create_session(Channel.DRIVER)
            escalation = services.assistant.hand_to_person(session_id, body.message)
            return {
                "session_id": session_id,
                "ticket_id": escalation.ticket_id,
                "state": escalation.state.value,
                "message": f"{self._settings.handoff_message} "
                f"Your reference is {escalation.ticket_id}.",
            }

        @router.get("/v1/sessions/{session_id}", tags=["driver"])
        def session(session_id: str, request: Request) -> dict[str, Any]:
            """The conversation so far: for a reloaded page, and to see an agent's replies."""
            self.check_key(request)
            self.check_rate(request)
            found = self.driver_session(session_id)
            turns = []
            for turn in found.turns:
                entry: dict[str, Any] = {
                    "role": turn.role, "text": turn.text, "turn_index": turn.index,
                }  # fmt: skip
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
                and self._desk.agent_is_typing(ticket),
                "csat": self._csat_request(found),
            }

        @router.get("/v1/starters", tags=["driver"])
        def starters(request: Request, locale: str = "en") -> dict[str, Any]:
            """Questions to offer before the first one: the carmaker profile's for the locale,
            else up to 4 from the public FAQ."""
            self.check_key(request)
            self.check_rate(request)
            language = _language(locale)
            return {"locale": language, "starters": services.starters.for_language(language)}

        @router.get("/v1/recalls", tags=["driver"])
        def recalls(
            request: Request, vin: str | None = None, model: str | None = None,
            year: int | None = None,
        ) -> dict[str, Any]:  # fmt: skip
            """Recalls for a VIN, or for a model and year."""
            self.check_key(request)
            self.check_rate(request)
            vehicle = self._vehicle(vin, model, year)
            found = services.recalls.notices_for(vehicle, Channel.DRIVER)
            return {
                "vehicle": {"make": vehicle.make, "model": vehicle.model, "year": vehicle.year},
                "recalls": [_recall(notice) for notice in found],
            }

        @router.get("/v1/sources/{document_id:path}", tags=["driver"], response_class=HTMLResponse)
        def source(document_id: str, request: Request) -> HTMLResponse:
            """A public source, whole, as a page a citation's link opens (no key: it is public)."""
            self.check_rate(request)
            document = services.sources.document(document_id, audiences=Channel.DRIVER.audiences)
            if document is None:
                raise ApiError(404, f"no public source {document_id!r}", "document_id")
            return HTMLResponse(source_page_html(document))

        @router.post("/v1/chat/completions", tags=["openai-compatible"])
        def completions(body: ChatCompletionRequest, request: Request) -> Any:
            """OpenAI-compatible chat completions on the driver channel, citations kept."""
            self.check_key(request)
            self.check_rate(request)
            if body.user:  # OpenAI's end-user id stands in for a conversation here
                self.check_session_rate(f"openai-user:{body.user}")
            question, history = _conversation(body.messages)
            question = self.check_question(question)
            session_id = services.sessions.create_session(Channel.DRIVER)
            vehicle_text = None
            for role, text in history:
                services.sessions.add_turn(session_id, role, text)  # type: ignore[arg-type]
                if role == "user" and services.catalog.find_in_text(text) is not None:
                    vehicle_text = text
            vehicle = services.catalog.find_in_text(vehicle_text) if vehicle_text else None
            reply = services.assistant.ask(
                question, channel=Channel.DRIVER, session_id=session_id,
                vehicle_text=vehicle.label() if vehicle else None,
            )  # fmt: skip
            extra = driver_reply(reply, self._turn_index(session_id))  # refuses internal sources
            content = customer_copy(reply).text
            completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
            if body.stream:
                return StreamingResponse(
                    _completion_chunks(completion_id, body.model, content, extra),
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
                "usage": _usage(services.embedder, body.messages, content),
                "citations": extra["citations"],
                "glovebox": {k: extra[k] for k in ("session_id", "confidence", "escalation")},
            }

        return router

    def _csat_request(self, session: ConversationSession) -> dict[str, Any] | None:
        """The session's newest ticket once a person resolved it: the widget asks for a rating
        until `rated`."""
        newest = session.last_ticket_id
        if newest is None or newest == session.open_ticket_id:
            return None
        ticket = self._services.tickets.get_ticket(newest)
        if ticket is None or ticket.state is not EscalationState.RESOLVED:
            return None
        return {"ticket_id": ticket.reference, "rated": ticket.csat is not None}

    def _ticket_to_rate(self, session: ConversationSession, reference: str) -> Ticket:
        """The session's resolved, unrated ticket `reference`; a 4xx naming `ticket_id` if not."""
        try:
            ticket_id = ticket_id_from_reference(reference)
        except InputError:
            raise ApiError(
                400, f"{reference!r} is not a ticket reference; send it like GBX-000123",
                "ticket_id",
            ) from None  # fmt: skip
        ticket = self._services.tickets.get_ticket(ticket_id)
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

    def _turn_index(self, session_id: str) -> int:
        session = self._services.sessions.get_session(session_id)
        return len(session.turns) - 1 if session else 0

    def _vehicle(self, vin: str | None, model: str | None, year: int | None) -> Any:
        if vin:
            decoded = self._services.catalog.decode_vin(vin.strip().upper())
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
        found = self._services.catalog.find_in_text(f"{model} {year or ''}")
        if found is None or not found.model:
            close = self._services.catalog.model_choices(model)
            hint = f"; close: {', '.join(close)}" if close else ""
            raise ApiError(400, f"I have no information on the model {model!r}{hint}", "model")
        return found

    def _events(self, question: str, body: DriverChat) -> Iterator[str]:
        labels = {
            "retrieve": "Searching the service information",
            "support": "Checking the answer against its sources",
            "escalate": "Passing this to a person",
        }
        stream = self._services.assistant.stream(
            question, channel=Channel.DRIVER, session_id=body.session_id,
            vehicle_text=body.vehicle, vin=body.vin,
        )  # fmt: skip
        try:
            yield sse("session", {"session_id": body.session_id})
            for event in stream:
                if event.kind == "status" and event.text in labels:
                    yield sse("status", {"stage": event.text, "label": labels[event.text]})
                elif event.kind == "delta":
                    yield sse("delta", {"text": event.text})
                elif event.reply is not None:
                    yield from self._closing_events(event.reply)
        except ApiError as error:
            yield sse("error", {"message": error.message})
        except InputError as error:
            yield sse("error", {"message": str(error)})
        except GloveboxError:
            logger.exception("the driver stream for session %s failed", body.session_id)
            yield sse("error", {"message": UNAVAILABLE})

    def _closing_events(self, reply: AssistantReply) -> Iterator[str]:
        shown = driver_reply(reply, self._turn_index(reply.session_id))
        if reply.outcome == "with_person":  # the message went to the person: the bot is silent
            yield sse("escalation", shown["escalation"])
            yield sse("done", {"turn_index": shown["turn_index"]})
            return
        yield sse("citations", {"citations": shown["citations"]})
        yield sse(
            "confidence", {"confidence": shown["confidence"], "abstained": shown["abstained"]}
        )
        if shown["escalation"]:
            message = self._settings.handoff_message
            yield sse("escalation", {**shown["escalation"], "message": message})
        yield sse("done", {"turn_index": shown["turn_index"]})


def _language(locale: str) -> str:
    """'en', 'en-US' and 'EN_us' are all 'en'."""
    language = locale.strip().lower().replace("_", "-").split("-")[0]
    if not LANGUAGE_CODE.match(language):
        raise ApiError(400, f"{locale[:20]!r} is not a language; give one like en or es", "locale")
    return language


def _usage(embedder: Embedder, messages: list[OpenAIMessage], content: str) -> dict[str, int]:
    """Token counts by the embedder's own tokenizer (Glovebox runs no paid model; the counts
    are for the client's bookkeeping)."""
    prompt = sum(embedder.count_tokens([_text(message.content) for message in messages]))
    completion = sum(embedder.count_tokens([content]))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _conversation(messages: list[OpenAIMessage]) -> tuple[str, list[tuple[str, str]]]:
    """The last user message is the question; earlier user/assistant messages are history."""
    texts = [(m.role, _text(m.content)) for m in messages if m.role in ("user", "assistant")]
    if not texts or texts[-1][0] != "user":
        raise ApiError(400, "the last message must be the user's question", "messages")
    return texts[-1][1], [(role, text) for role, text in texts[:-1] if text]


def _text(content: str | list[dict[str, Any]] | None) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if part.get("type") == "text")
    return ""


def _completion_chunks(
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


def _recall(notice: RecallNotice) -> dict[str, Any]:
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


def _cors(origin: str) -> dict[str, str]:
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": "GET, POST",
        "Access-Control-Allow-Headers": "Content-Type, X-Glovebox-Key, Authorization",
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }


def _error(status: int, message: str, field: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"message": message}
    if field:
        body["field"] = field
    return JSONResponse({"error": body}, status_code=status)


async def _api_error(_request: Request, error: ApiError) -> JSONResponse:
    return _error(error.status, error.message, error.field)


async def _validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
    problems = error.errors()
    first = problems[0] if problems else {"loc": (), "msg": "invalid request"}
    if first.get("type") == "json_invalid":  # its loc is a character position, not a field
        return _error(
            422, f"the body is not valid JSON ({first.get('msg')}); send a JSON object", "body"
        )
    field = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    return _error(422, f"{field or 'request'}: {first.get('msg')}", field or None)
