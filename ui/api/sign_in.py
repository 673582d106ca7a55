"""Agent sign-in: a form for the console (/login, /logout), JSON for API clients
(/v1/agent/sessions). A wrong password is counted per address; a right one is never throttled.
"""

from __future__ import annotations

import html
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

# At module level: under `from __future__ import annotations` FastAPI resolves a route's
# `-> HTMLResponse` in this module's globals; a function-local import leaves it a ForwardRef
# that /openapi.json cannot build a schema for.
from fastapi.responses import HTMLResponse, RedirectResponse

from assistant.desk.agent_desk import AgentDesk
from knowledge.settings import GloveboxSettings
from ui.agent_auth import SESSION_COOKIE
from ui.api.dependencies import (
    ClientAddress,
    DeskDep,
    LimitsDep,
    SessionToken,
    SettingsDep,
    SignedInAgent,
)
from ui.api.errors import ApiError
from ui.api.models import PATH_MAX_CHARS, SignIn
from ui.api.rate_limit import RateLimiter

CONSOLE_PATH = "/console"
WRONG_PASSWORD = "Wrong username or password."
TOO_MANY_SIGN_INS = "Too many failed sign-ins from this address; wait a minute and try again."

router = APIRouter()


class TooManySignIns(Exception):
    """This address got the password wrong too often in the last minute."""


def sign_in(
    desk: AgentDesk, failed: RateLimiter, address: str, username: str, password: str
) -> str | None:
    """A session token; None for a wrong username or password, which is counted against the
    address. Raises TooManySignIns once the address is at its limit, right password or not."""
    if failed.exhausted(address):
        raise TooManySignIns(address)
    token = desk.sign_in(username, password)
    if token is None:
        failed.record(address)
    return token


def session_seconds(settings: GloveboxSettings) -> int:
    return int(settings.agent_session_hours * 3600)


@router.get("/login", response_class=HTMLResponse)
def login_page(
    next: Annotated[str, Query(max_length=PATH_MAX_CHARS)] = CONSOLE_PATH + "/",
) -> HTMLResponse:
    return HTMLResponse(login_html(next))


@router.post("/login", response_model=None)
async def login(
    request: Request, address: ClientAddress, desk: DeskDep, limits: LimitsDep,
    settings: SettingsDep,
) -> Response:  # fmt: skip
    form = await request.form()
    target = safe_next(str(form.get("next") or ""))
    username, password = str(form.get("username") or ""), str(form.get("password") or "")
    try:
        token = sign_in(desk, limits.failed_sign_ins, address, username, password)
    except TooManySignIns:
        return HTMLResponse(login_html(target, error=TOO_MANY_SIGN_INS), status_code=429)
    if token is None:
        return HTMLResponse(login_html(target, error=WRONG_PASSWORD), status_code=401)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=session_seconds(settings),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout", response_model=None)
def logout(token: SessionToken, desk: DeskDep) -> Response:
    if token:
        desk.sign_out(token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/v1/agent/sessions")
def open_agent_session(
    body: SignIn, address: ClientAddress, desk: DeskDep, limits: LimitsDep,
    settings: SettingsDep,
) -> dict[str, Any]:  # fmt: skip
    try:
        token = sign_in(desk, limits.failed_sign_ins, address, body.username, body.password)
    except TooManySignIns:
        raise ApiError(429, TOO_MANY_SIGN_INS, "password") from None
    if token is None:
        raise ApiError(401, "wrong username or password")
    agent = desk.agent_for(token)
    return {
        "token": token,
        "expires_in": session_seconds(settings),
        "agent": {"username": agent.username, "display_name": agent.display_name},
    }


@router.delete("/v1/agent/sessions")
def close_agent_session(agent: SignedInAgent, token: SessionToken, desk: DeskDep) -> dict[str, str]:
    assert token is not None  # a signed-in agent came with one
    desk.sign_out(token)
    return {"signed_out": agent.username}


def safe_next(target: str) -> str:
    """Only a path on this server: never an open redirect to another site."""
    if not target.startswith("/") or target.startswith("//"):
        return CONSOLE_PATH + "/"
    return target


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
<input type="hidden" name="next" value="{html.escape(safe_next(target))}">
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form></body></html>"""
