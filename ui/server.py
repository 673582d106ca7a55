"""The one process `glovebox serve` runs: readiness, sign-in, the agent API, the driver API, the
API docs at /docs (served from this machine) and the Gradio console mounted at /console. Nothing
of the console or the agent API answers without a signed-in agent; sessions expire after
`GLOVEBOX_AGENT_SESSION_HOURS`. The routes themselves are in `ui.api`.

The rate limits and the sign-in throttle count in the desk's database, so several processes on
one database share them; `uvicorn_config` takes a client's address from X-Forwarded-For only
when the peer is one of `GLOVEBOX_TRUSTED_PROXIES`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse

from assistant.desk.agent_desk import AgentDesk, NotSignedIn
from knowledge.settings import GloveboxSettings
from ui.agent_auth import token_from
from ui.api import ApiState, RateLimits, install_api
from ui.api.errors import error_response
from ui.api.sign_in import CONSOLE_PATH
from ui.api_docs import install_api_docs

if TYPE_CHECKING:
    import uvicorn


def create_app(settings: GloveboxSettings, kb: str, *, console: bool = True) -> FastAPI:
    """Opens the knowledge base and the database once (refusing a missing knowledge base).

    The app's startup starts the warm-up in a background thread, so the server listens at
    once: /healthz says "starting" until the first question will be fast, then "ready".
    """
    from assistant.wiring import WarmUp, build_services

    services = build_services(settings, kb)
    services.accounts.purge_expired()
    desk = AgentDesk(
        services,
        timedelta(hours=settings.agent_session_hours),
        max_question_chars=settings.max_question_chars,
    )
    warm_up = WarmUp(services)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        warm_up.start()
        yield

    # FastAPI's own /docs and /redoc load their scripts from a CDN: ours are served from here.
    application = FastAPI(
        title="Glovebox", version="0.1.0", docs_url=None, redoc_url=None, lifespan=lifespan
    )
    limits = RateLimits.from_settings(settings, services.database)
    install_api(application, ApiState(settings, kb, services, desk, limits, warm_up))
    install_api_docs(application)
    if console:
        _mount_console(application, desk)
    return application


CONSOLE_DIRECT_CALLS = tuple(f"{CONSOLE_PATH}/gradio_api/{route}/" for route in ("run", "api"))
"""Gradio's routes that run one of the console's functions directly. The console calls them
through Gradio's queue; these would run any of them, private ones too, by number, and answer
500 for a number or name that is none."""
NO_CONSOLE_API = "the console has no API of its own; use the agent API under /v1/agent (see /docs)"


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
        if path.startswith(CONSOLE_DIRECT_CALLS):
            return error_response(404, NO_CONSOLE_API, "path")
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


def uvicorn_config(
    application: Any, settings: GloveboxSettings, *, host: str, port: int
) -> uvicorn.Config:
    """How `glovebox serve` runs an app. Uvicorn by default believes X-Forwarded-For from
    loopback, so anyone on the machine could pose as any address; here only the configured
    proxies are believed, and with none the peer's own address is the client's. A request
    uvicorn cannot parse is answered in the API's one error shape too."""
    import uvicorn

    from ui.api.malformed_http import json_error_protocol

    proxies = ",".join(settings.trusted_proxies)
    return uvicorn.Config(
        application,
        host=host,
        port=port,
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or "",
        http=json_error_protocol(),
    )
