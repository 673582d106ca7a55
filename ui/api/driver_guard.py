"""The driver API's guard in front of every route: CORS for the widget keys' allowed origins
(exact match, echoed, never "*"), preflight answers, and request bodies capped before they are
read.

    application.add_middleware(BaseHTTPMiddleware, dispatch=DriverGuard(settings).dispatch)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request, Response

from knowledge.settings import GloveboxSettings
from ui.api.errors import error_response

DRIVER_PATHS = (
    "/v1/chat", "/v1/feedback", "/v1/escalations", "/v1/sessions", "/v1/recalls", "/v1/sources",
    "/v1/ratings", "/v1/starters",
)  # fmt: skip
"""The public API's path prefixes: browsers on the allowed origins may call these."""


def cors_headers(origin: str) -> dict[str, str]:
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": "GET, POST",
        "Access-Control-Allow-Headers": "Content-Type, X-Glovebox-Key, Authorization",
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }


class DriverGuard:
    def __init__(self, settings: GloveboxSettings) -> None:
        self._origins = {
            origin.rstrip("/") for origins in settings.widget_keys.values() for origin in origins
        }
        self._max_request_bytes = settings.max_request_bytes

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        path = request.url.path
        public = path.startswith(DRIVER_PATHS)
        origin = request.headers.get("origin")
        if public and request.method == "OPTIONS":
            if origin is None or origin.rstrip("/") not in self._origins:
                return error_response(403, f"origin {origin} may not use this API")
            return Response(status_code=204, headers=cors_headers(origin))
        length = request.headers.get("content-length")
        if public and request.method == "POST" and not length:
            # A chunked body has no length to check against the cap before it is read.
            return error_response(411, "send the body with a Content-Length header (not chunked)")
        if length and length.isdigit() and int(length) > self._max_request_bytes:
            return error_response(413, f"the request is over {self._max_request_bytes} bytes")
        response = await call_next(request)
        if public and origin is not None and origin.rstrip("/") in self._origins:
            response.headers.update(cors_headers(origin))
        return response
