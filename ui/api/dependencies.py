"""What the routes ask FastAPI for: the app's services, desk, settings and limits, the signed-in
agent, and the driver API's publishable-key and rate checks.

Everything comes from the `ApiState` that `install_api` keeps on `app.state`, so one process may
build several apps (tests do), and a test may swap any of these with `app.dependency_overrides`.

    @router.get("/v1/agent/tickets")
    def tickets(agent: SignedInAgent, desk: DeskDep) -> list[dict[str, Any]]: ...
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from assistant.desk.accounts import AgentAccount
from assistant.desk.agent_desk import AgentDesk
from assistant.wiring import Services, WarmUp
from knowledge.errors import ConfigurationError
from knowledge.settings import GloveboxSettings
from ui.agent_auth import token_from
from ui.api.errors import ApiError
from ui.api.rate_limit import RateLimits

STATE_ATTRIBUTE = "glovebox"
"""Where on `app.state` the API's state is kept."""


@dataclass(frozen=True)
class ApiState:
    """What every route of one app shares, opened once by `create_app`."""

    settings: GloveboxSettings
    knowledge_base: str
    services: Services
    desk: AgentDesk
    limits: RateLimits
    warm_up: WarmUp
    """What /healthz reports: whether the first question will be fast yet."""


def api_state(request: Request) -> ApiState:
    state = getattr(request.app.state, STATE_ATTRIBUTE, None)
    if not isinstance(state, ApiState):
        raise ConfigurationError(
            "the app has no Glovebox API state: build it with ui.server.create_app"
        )
    return state


StateDep = Annotated[ApiState, Depends(api_state)]


def api_settings(state: StateDep) -> GloveboxSettings:
    return state.settings


def api_services(state: StateDep) -> Services:
    return state.services


def agent_desk(state: StateDep) -> AgentDesk:
    return state.desk


def rate_limits(state: StateDep) -> RateLimits:
    return state.limits


SettingsDep = Annotated[GloveboxSettings, Depends(api_settings)]
ServicesDep = Annotated[Services, Depends(api_services)]
DeskDep = Annotated[AgentDesk, Depends(agent_desk)]
LimitsDep = Annotated[RateLimits, Depends(rate_limits)]


def client_address(request: Request) -> str:
    """The peer's address, or the client's when the peer is a trusted proxy: uvicorn rewrites
    `request.client` from X-Forwarded-For only for GLOVEBOX_TRUSTED_PROXIES (`ui.server`)."""
    return request.client.host if request.client else "unknown"


def session_token(request: Request) -> str | None:
    """The agent's token: the console's cookie, or an API client's bearer token."""
    return token_from(request.cookies, request.headers)


ClientAddress = Annotated[str, Depends(client_address)]
SessionToken = Annotated[str | None, Depends(session_token)]


def signed_in_agent(token: SessionToken, desk: DeskDep) -> AgentAccount:
    """The agent the session belongs to; NotSignedIn (a 401) without a live session."""
    return desk.agent_for(token)


SignedInAgent = Annotated[AgentAccount, Depends(signed_in_agent)]


def publishable_key(request: Request, settings: SettingsDep) -> str:
    """The widget key the request names (`X-Glovebox-Key`, or a bearer token for OpenAI
    clients), known and, from a browser, sent from one of its allowed origins."""
    key = request.headers.get("x-glovebox-key", "").strip()
    authorization = request.headers.get("authorization", "")
    if not key and authorization.lower().startswith("bearer "):
        key = authorization[7:].strip()
    if not key:
        raise ApiError(401, "no publishable key: send X-Glovebox-Key (or a Bearer token)")
    allowed = settings.widget_keys.get(key)
    if allowed is None:
        raise ApiError(401, "unknown publishable key; check the data-key of the widget tag")
    origin = request.headers.get("origin")
    if origin is not None and origin.rstrip("/") not in {o.rstrip("/") for o in allowed}:
        raise ApiError(403, f"origin {origin} is not allowed for this key")
    return key


def too_many(message: str, retry_after: int, field: str | None = None) -> ApiError:
    """A 429 that says, in `Retry-After`, how many seconds to wait."""
    return ApiError(429, message, field, headers={"Retry-After": str(max(1, retry_after))})


def within_address_rate(address: ClientAddress, limits: LimitsDep) -> None:
    """Counts the request against its address's limit; a 429 past it."""
    admission = limits.per_address.allow(address)
    if not admission.allowed:
        raise too_many("too many requests from this address; wait a minute", admission.retry_after)


KEYED = [Depends(publishable_key), Depends(within_address_rate)]
"""The driver API's guards, in this order: a request without a good key costs no rate."""
