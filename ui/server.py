"""The one process `glovebox serve` runs: readiness, sign-in, the agent API, the API docs at
/docs (served from this machine) and the Gradio console mounted at /console. Nothing of the
console or the agent API answers without a signed-in agent; sessions expire after
`GLOVEBOX_AGENT_SESSION_HOURS`.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Query, Request, Response

# At module level: under `from __future__ import annotations` FastAPI resolves a route's
# `-> HTMLResponse` in this module's globals; a function-local import leaves it a ForwardRef
# that /openapi.json cannot build a schema for.
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel, Field

from assistant.desk.accounts import AgentAccount
from assistant.desk.agent_desk import (
    AGENT_TYPING_SECONDS,
    AgentDesk,
    NotSignedIn,
    QueueChannel,
    QueueSeverity,
    QueueSort,
    QueueState,
)
from knowledge.errors import InputError, StageError
from knowledge.settings import GloveboxSettings
from ui.agent_auth import SESSION_COOKIE, token_from
from ui.api_docs import install_api_docs
from ui.driver_api import UNAVAILABLE, DriverApi, RateLimiter
from ui.source_page import source_page_html

if TYPE_CHECKING:
    from assistant.records import CsatRating, Ticket

CONSOLE_PATH = "/console"
AGENT_API_PATH = "/v1/agent/"
FAILED_SIGN_INS_PER_MINUTE = 10
"""Per client address; a right password is never throttled, so a call centre behind one
address can all sign in at the start of a shift."""
WRONG_PASSWORD = "Wrong username or password."
TOO_MANY_SIGN_INS = "Too many failed sign-ins from this address; wait a minute and try again."

logger = logging.getLogger(__name__)


class SignIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class ChatRequest(BaseModel):
    question: str = Field(min_length=1)
    """Capped by GLOVEBOX_MAX_QUESTION_CHARS, which the desk checks."""
    session_id: str | None = Field(default=None, max_length=64)
    vehicle: str | None = Field(default=None, max_length=120)
    vin: str | None = Field(default=None, max_length=17)


class FeedbackRequest(BaseModel):
    session_id: str = Field(min_length=1, max_length=64)
    turn_index: int = Field(ge=0)
    helpful: bool
    comment: str = Field(default="", max_length=4000)
    suggestion: str = Field(default="", max_length=8000)


class TextRequest(BaseModel):
    text: str = Field(min_length=1, max_length=8000)


EARLIER_CASE_FIELDS = ("id", "state", "reason", "summary", "resolution_note", "created_at")


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
        "csat": _csat_json(ticket.csat) if ticket.csat else None,
    }


def _csat_json(csat: CsatRating) -> dict[str, Any]:
    return {
        "rating": csat.rating,
        "comment": csat.comment,
        "created_at": csat.created_at.isoformat(),
    }


def create_app(settings: GloveboxSettings, kb: str, *, console: bool = True) -> FastAPI:
    """Opens the knowledge base and the database once (refusing a missing knowledge base)."""
    from assistant.records import ticket_id_from_reference
    from assistant.wiring import build_services

    services = build_services(settings, kb)
    services.accounts.purge_expired()
    desk = AgentDesk(
        services,
        timedelta(hours=settings.agent_session_hours),
        max_question_chars=settings.max_question_chars,
    )
    store = services.store
    failed_sign_ins = RateLimiter(FAILED_SIGN_INS_PER_MINUTE)
    # FastAPI's own /docs and /redoc load their scripts from a CDN: ours are served from here.
    application = FastAPI(title="Glovebox", version="0.1.0", docs_url=None, redoc_url=None)

    @application.exception_handler(InputError)
    async def bad_input(_request: Request, error: InputError) -> JSONResponse:
        return JSONResponse(
            {"error": {"field": error.source, "message": str(error)}}, status_code=400
        )

    @application.exception_handler(NotSignedIn)
    async def not_signed_in(_request: Request, error: NotSignedIn) -> JSONResponse:
        return JSONResponse({"error": {"message": str(error)}}, status_code=401)

    @application.exception_handler(StageError)
    async def stage_failed(request: Request, error: StageError) -> JSONResponse:
        path = request.url.path
        if path.startswith((AGENT_API_PATH, CONSOLE_PATH)):
            return JSONResponse({"error": {"message": str(error)}}, status_code=503)
        logger.error("%s %s failed: %s", request.method, path, error, exc_info=error)
        return JSONResponse({"error": {"message": UNAVAILABLE}}, status_code=503)

    def client_address(request: Request) -> str:
        return request.client.host if request.client else "unknown"

    def signed_in_agent(request: Request) -> AgentAccount:
        return desk.agent_for(token_from(request.cookies, request.headers))

    Agent = Depends(signed_in_agent)

    @application.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "knowledge_base": kb, "chunks": store.count()}

    @application.get("/api/knowledge-base")
    def knowledge_base() -> dict[str, Any]:
        documents: dict[str, int] = {}
        for chunk in store.iter_chunks():
            kind = str(chunk.metadata.get("kind", "unknown"))
            documents.setdefault(kind, 0)
            if chunk.metadata.get("position") == 0:
                documents[kind] += 1
        return {
            "knowledge_base": kb,
            "embedding_model": store.embedding_model,
            "chunks": store.count(),
            "documents_by_kind": documents,
            "ready": store.count() > 0,
        }

    # --- Sign-in: a form for the console, JSON for API clients --------------------------------

    @application.get("/login", response_class=HTMLResponse)
    def login_page(next: str = CONSOLE_PATH + "/") -> HTMLResponse:
        return HTMLResponse(login_html(next))

    @application.post("/login", response_model=None)
    async def login(request: Request) -> Response:
        form = await request.form()
        target = _safe_next(str(form.get("next") or ""))
        address = client_address(request)
        if failed_sign_ins.exhausted(address):
            return HTMLResponse(login_html(target, error=TOO_MANY_SIGN_INS), status_code=429)
        token = desk.sign_in(str(form.get("username") or ""), str(form.get("password") or ""))
        if token is None:
            failed_sign_ins.record(address)
            return HTMLResponse(login_html(target, error=WRONG_PASSWORD), status_code=401)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=int(settings.agent_session_hours * 3600),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return response

    @application.post("/logout", response_model=None)
    def logout(request: Request) -> Response:
        token = token_from(request.cookies, request.headers)
        if token:
            desk.sign_out(token)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @application.post("/v1/agent/sessions")
    def open_agent_session(body: SignIn, request: Request) -> JSONResponse:
        address = client_address(request)
        if failed_sign_ins.exhausted(address):
            return JSONResponse(
                {"error": {"message": TOO_MANY_SIGN_INS, "field": "password"}}, status_code=429
            )
        token = desk.sign_in(body.username, body.password)
        if token is None:
            failed_sign_ins.record(address)
            return JSONResponse(
                {"error": {"message": "wrong username or password"}}, status_code=401
            )
        agent = desk.agent_for(token)
        return JSONResponse(
            {
                "token": token,
                "expires_in": int(settings.agent_session_hours * 3600),
                "agent": {"username": agent.username, "display_name": agent.display_name},
            }
        )

    @application.delete("/v1/agent/sessions")
    def close_agent_session(request: Request, agent: AgentAccount = Agent) -> dict[str, str]:
        token = token_from(request.cookies, request.headers)
        assert token is not None
        desk.sign_out(token)
        return {"signed_out": agent.username}

    # --- Agent API: everything the console does, for scripts and other front ends -------------

    @application.post("/v1/agent/chat")
    def agent_chat(body: ChatRequest, agent: AgentAccount = Agent) -> dict[str, Any]:
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

    @application.post("/v1/agent/feedback")
    def agent_feedback(body: FeedbackRequest, agent: AgentAccount = Agent) -> dict[str, Any]:
        stored = desk.feedback(
            agent, body.session_id, body.turn_index, helpful=body.helpful,
            comment=body.comment, suggestion=body.suggestion,
        )  # fmt: skip
        return _feedback_json(stored)

    @application.get("/v1/agent/feedback")
    def agent_feedback_export(
        agent: AgentAccount = Agent, limit: int = 500
    ) -> list[dict[str, Any]]:
        return [_feedback_json(item) for item in desk.feedback_list(agent, limit=limit)]

    @application.get("/v1/agent/sources/{document_id:path}", response_class=HTMLResponse)
    def agent_source(document_id: str, agent: AgentAccount = Agent) -> Response:
        """Any source, internal ones too, as the page a console citation opens."""
        document = desk.source(agent, document_id)
        if document is None:
            message = f"no source {document_id!r} in knowledge base {kb!r}"
            return JSONResponse({"error": {"message": message, "field": "document_id"}}, 404)
        return HTMLResponse(source_page_html(document))

    @application.get("/v1/agent/vehicle")
    def agent_vehicle(q: str, agent: AgentAccount = Agent) -> dict[str, Any]:
        del agent
        return asdict(desk.vehicle_card(q))

    @application.get("/v1/agent/tickets")
    def agent_tickets(
        agent: AgentAccount = Agent,
        state: QueueState = "open",
        channel: QueueChannel = "all",
        severity: QueueSeverity = "all",
        sort: QueueSort = "severity",
        q: Annotated[str, Query(max_length=200)] = "",
    ) -> list[dict[str, Any]]:
        """The queue; `q` searches every ticket by reference, VIN or words."""
        tickets = desk.queue(
            agent, state=state, channel=channel, severity=severity, sort=sort, search=q
        )
        return [ticket_json(ticket) for ticket in tickets]

    @application.get("/v1/agent/tickets/{reference}")
    def agent_ticket(reference: str, agent: AgentAccount = Agent) -> dict[str, Any]:
        """The ticket, its conversation as it is now, and its earlier cases (same
        conversation or VIN)."""
        ticket = desk.ticket(agent, ticket_id_from_reference(reference))
        earlier = [
            {key: ticket_json(case)[key] for key in EARLIER_CASE_FIELDS}
            for case in desk.earlier_cases(agent, ticket)
        ]
        return {
            **ticket_json(ticket), "transcript": desk.transcript(agent, ticket),
            "earlier_cases": earlier,
        }  # fmt: skip

    @application.get("/v1/agent/tickets/{reference}/suggestion")
    def agent_suggestion(reference: str, agent: AgentAccount = Agent) -> dict[str, Any]:
        """A reply to the customer's last message, drafted from public sources, for the agent
        to edit and send; `suggestion` is null when nothing supports one."""
        ticket = desk.ticket(agent, ticket_id_from_reference(reference))
        suggested = desk.suggested_reply(agent, ticket)
        return {
            "reference": ticket.reference,
            "suggestion": asdict(suggested) if suggested else None,
        }

    @application.post("/v1/agent/tickets/{reference}/claim")
    def agent_claim(reference: str, agent: AgentAccount = Agent) -> dict[str, Any]:
        return ticket_json(desk.claim(agent, ticket_id_from_reference(reference)))

    @application.post("/v1/agent/tickets/{reference}/notes")
    def agent_note(
        reference: str, body: TextRequest, agent: AgentAccount = Agent
    ) -> dict[str, Any]:
        return ticket_json(desk.note(agent, ticket_id_from_reference(reference), body.text))

    @application.post("/v1/agent/tickets/{reference}/replies")
    def agent_reply(
        reference: str, body: TextRequest, agent: AgentAccount = Agent
    ) -> dict[str, Any]:
        return ticket_json(desk.reply(agent, ticket_id_from_reference(reference), body.text))

    @application.post("/v1/agent/tickets/{reference}/typing")
    def agent_typing(reference: str, agent: AgentAccount = Agent) -> dict[str, Any]:
        """The agent is writing a reply: the driver's widget shows it for a few seconds."""
        ticket = desk.note_typing(agent, ticket_id_from_reference(reference))
        return {"id": ticket.reference, "agent_typing": True, "for_seconds": AGENT_TYPING_SECONDS}

    @application.post("/v1/agent/tickets/{reference}/resolve")
    def agent_resolve(
        reference: str, body: TextRequest, agent: AgentAccount = Agent
    ) -> dict[str, Any]:
        return ticket_json(desk.resolve(agent, ticket_id_from_reference(reference), body.text))

    @application.get("/v1/agent/insights")
    def agent_insights(
        agent: AgentAccount = Agent, days: Annotated[int, Query(ge=1, le=365)] = 30
    ) -> dict[str, Any]:
        return asdict(desk.insights(agent, days=days))

    DriverApi(settings, services, desk).install(application)
    install_api_docs(application)
    if console:
        _mount_console(application, desk)
    return application


def _mount_console(application: FastAPI, desk: AgentDesk) -> None:
    import gradio as gr

    from ui.console import CONSOLE_CSS, build_console, console_theme

    def console_user(request: Request) -> str | None:
        try:
            return desk.agent_for(token_from(request.cookies, request.headers)).username
        except NotSignedIn:
            return None

    @application.middleware("http")
    async def console_needs_sign_in(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        path = request.url.path
        wants_page = request.method == "GET" and "text/html" in request.headers.get("accept", "")
        if path.startswith(CONSOLE_PATH) and wants_page and console_user(request) is None:
            return RedirectResponse(f"/login?next={quote(path)}", status_code=303)
        return await call_next(request)

    gr.mount_gradio_app(
        application,
        build_console(desk),
        path=CONSOLE_PATH,
        auth_dependency=console_user,
        footer_links=[],  # no link to Gradio's API page
        # mount_gradio_app sets these itself, over what the Blocks were built with.
        theme=console_theme(),
        css=CONSOLE_CSS,
    )


def _safe_next(target: str) -> str:
    """Only a path on this server: never an open redirect to another site."""
    if not target.startswith("/") or target.startswith("//"):
        return CONSOLE_PATH + "/"
    return target


def _feedback_json(item: Any) -> dict[str, Any]:
    data = asdict(item)
    data["created_at"] = item.created_at.isoformat()
    return data


def login_html(target: str, *, error: str = "") -> str:
    alert = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Glovebox agent sign-in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: system-ui, sans-serif; background: #f3f4f6; display: grid;
  place-items: center; min-height: 100vh; margin: 0; }}
form {{ background: white; padding: 2rem; border-radius: 12px; width: 320px;
  box-shadow: 0 4px 24px rgba(0,0,0,.08); }}
h1 {{ font-size: 1.25rem; margin: 0 0 1rem; }}
label {{ display: block; margin: .75rem 0 .25rem; font-size: .9rem; }}
input {{ width: 100%; box-sizing: border-box; padding: .55rem; border: 1px solid #cbd5e1;
  border-radius: 6px; font-size: 1rem; }}
button {{ margin-top: 1.25rem; width: 100%; padding: .6rem; border: 0; border-radius: 6px;
  background: #1d4ed8; color: white; font-size: 1rem; cursor: pointer; }}
.error {{ color: #b91c1c; }}
</style></head>
<body><form method="post" action="/login">
<h1>Glovebox · agent sign-in</h1>{alert}
<input type="hidden" name="next" value="{html.escape(_safe_next(target))}">
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form></body></html>"""
