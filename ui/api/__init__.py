"""Glovebox's HTTP API as FastAPI routers: status, agent sign-in, the agent API (/v1/agent/...),
the public driver API (/v1/...) and its OpenAI-compatible route. Their handlers are small
module-level functions; what they need comes through `ui.api.dependencies`, their bodies are the
models of `ui.api.models`, and every error has the one shape of `ui.api.errors`.

    application = FastAPI()
    limits = RateLimits.from_settings(settings, services.database)
    install_api(application, ApiState(settings, kb, services, desk, limits, WarmUp(services)))
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from starlette.middleware.base import BaseHTTPMiddleware

from ui.api import agent, completions, driver, sign_in, status
from ui.api.dependencies import STATE_ATTRIBUTE, ApiState
from ui.api.driver_guard import DriverGuard
from ui.api.errors import install_error_handlers
from ui.api.rate_limit import RateLimits

__all__ = ["ROUTERS", "ApiState", "RateLimits", "install_api"]

ROUTERS: tuple[APIRouter, ...] = (
    status.router,
    sign_in.router,
    agent.router,
    driver.public_router,
    driver.router,
    completions.router,
)
STAFF_PATHS = (f"{agent.AGENT_API_PATH}/", sign_in.CONSOLE_PATH)
"""Where only signed-in agents get in: a failed stage's detail is theirs to read."""


def install_api(application: FastAPI, state: ApiState) -> None:
    """The routes, the driver API's guard and the error handlers, over `state`."""
    setattr(application.state, STATE_ATTRIBUTE, state)
    install_error_handlers(application, staff_paths=STAFF_PATHS)
    application.add_middleware(BaseHTTPMiddleware, dispatch=DriverGuard(state.settings).dispatch)
    for router in ROUTERS:
        application.include_router(router)
