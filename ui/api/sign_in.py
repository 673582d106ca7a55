"""Agent sign-in: a form for the console (/login, /logout), JSON for API clients
(/v1/agent/sessions).

Wrong passwords are throttled without locking anyone out (`assistant.desk.sign_in_throttle`):
a right sign-in gets a device token (the `glovebox_device` cookie, and `device` in the JSON;
API clients send it back as `X-Glovebox-Device`). From a device trusted for that username the
password is always checked, whoever else is guessing; only the device's own wrong passwords
count against it. Any other client is refused with 429 and Retry-After, its password not
checked, once its address has 10 wrong passwords for that username in a minute, the username
100 in an hour from anywhere, or the address 50 in a minute across all usernames. A right
password gives its places back, so one agent's typos never refuse another's right password.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

# At module level: under `from __future__ import annotations` FastAPI resolves a route's
# `-> HTMLResponse` in this module's globals; a function-local import leaves it a ForwardRef
# that /openapi.json cannot build a schema for.
from fastapi.responses import HTMLResponse, RedirectResponse

from assistant.desk.agent_desk import AgentDesk
from assistant.desk.sign_in_throttle import DEVICE_TRUST, SignInThrottle
from knowledge.settings import GloveboxSettings
from ui.agent_auth import SESSION_COOKIE
from ui.api.dependencies import (
    ClientAddress,
    DeskDep,
    LimitsDep,
    SessionToken,
    SettingsDep,
    SignedInAgent,
    too_many,
)
from ui.api.errors import ApiError
from ui.api.models import PATH_MAX_CHARS, SignIn

CONSOLE_PATH = "/console"
DEVICE_COOKIE = "glovebox_device"
DEVICE_HEADER = "X-Glovebox-Device"
WRONG_PASSWORD = "Wrong username or password."

router = APIRouter()


class TooManySignIns(Exception):
    """Too many wrong passwords for this account or from this address: wait `retry_after`."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after

    @property
    def message(self) -> str:
        return (
            "Too many failed sign-ins for this account or from this address; wait "
            f"{self.retry_after} seconds and try again (a browser you signed in with before "
            "is not held up)."
        )

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


@dataclass(frozen=True)
class SignedIn:
    token: str
    """The session."""
    device: str
    """The device token to keep: it makes this client trusted for this username."""


def sign_in(
    desk: AgentDesk,
    throttle: SignInThrottle,
    address: str,
    username: str,
    password: str,
    device: str | None,
) -> SignedIn | None:
    """A session for the right password; None for a wrong one (counted). Raises
    TooManySignIns, without checking the password, when the throttle refuses the attempt."""
    attempt = throttle.admit(address, username, device)
    if not attempt.allowed:
        raise TooManySignIns(attempt.retry_after)
    token = desk.sign_in(username, password)
    if token is None:
        return None  # the attempt's places stay taken: a wrong password counts
    return SignedIn(token, throttle.succeeded(attempt))


def device_token(request: Request) -> str | None:
    """The device token an API client sends as a header, or a browser as its cookie."""
    return request.headers.get(DEVICE_HEADER) or request.cookies.get(DEVICE_COOKIE) or None


def keep_device(response: Response, request: Request, device: str) -> None:
    response.set_cookie(
        DEVICE_COOKIE,
        device,
        max_age=int(DEVICE_TRUST.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


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
        signed_in = sign_in(
            desk, limits.sign_ins, address, username, password, device_token(request)
        )
    except TooManySignIns as refused:
        return HTMLResponse(
            login_html(target, error=refused.message), status_code=429, headers=refused.headers
        )
    if signed_in is None:
        return HTMLResponse(login_html(target, error=WRONG_PASSWORD), status_code=401)
    response = RedirectResponse(target, status_code=303)
    keep_device(response, request, signed_in.device)
    response.set_cookie(
        SESSION_COOKIE,
        signed_in.token,
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
    body: SignIn, request: Request, response: Response, address: ClientAddress, desk: DeskDep,
    limits: LimitsDep, settings: SettingsDep,
) -> dict[str, Any]:  # fmt: skip
    """`device` in the answer: send it back as X-Glovebox-Device when signing in again."""
    device = device_token(request)
    try:
        signed_in = sign_in(desk, limits.sign_ins, address, body.username, body.password, device)
    except TooManySignIns as refused:
        raise too_many(refused.message, refused.retry_after, "password") from None
    if signed_in is None:
        raise ApiError(401, "wrong username or password")
    keep_device(response, request, signed_in.device)
    agent = desk.agent_for(signed_in.token)
    return {
        "token": signed_in.token,
        "device": signed_in.device,
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
