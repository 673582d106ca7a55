"""How an agent's HTTP request says who signed in: the console's cookie or a bearer token."""

from __future__ import annotations

from typing import Any

SESSION_COOKIE = "glovebox_agent"


def token_from(cookies: dict[str, str], headers: Any) -> str | None:
    """The agent's session token: the console's cookie, or an API client's bearer token."""
    authorization = str(headers.get("authorization") or "")
    if authorization.lower().startswith("bearer "):
        return authorization[7:].strip() or None
    return cookies.get(SESSION_COOKIE) or None
