"""The one shape of an API error, `{"error": {"message": ..., "field": ...}}`, and the handlers
that turn Glovebox's errors into it. `install_error_handlers` adds them to the app once.

    raise ApiError(404, "no conversation abc; start a new one")
    raise ApiError(400, "'x' is not a language; give one like en or es", "locale")
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.desk.agent_desk import NotSignedIn
from assistant.records import TooManyOpenTickets
from knowledge.errors import InputError, StageError

UNAVAILABLE = "the assistant is unavailable right now; try again shortly"
"""All a driver is told when a stage fails: its detail (URLs, settings) is for the log."""

REQUEST_FIELDS = {"session": "session_id"}
"""What the assistant calls a thing (`InputError.source`), by the field a request names it in."""
HTTP_EXCEPTION_FIELDS = {400: "body", 404: "path", 405: "method", 413: "body"}
"""What FastAPI's and Starlette's own refusals are about: a body they could not parse (JSON
nested too deep), no such route, a method the route does not take."""
HTTP_EXCEPTION_MESSAGES = {
    404: "no such page or API route; the API's routes are listed at /docs",
    405: "this route does not take that method; /docs lists the ones it takes",
}

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """A refusal with its HTTP status, what to do about it, and the field it is about."""

    def __init__(
        self,
        status: int,
        message: str,
        field: str | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.headers = headers
        """Sent with the error (a 429's Retry-After)."""


OPEN_TICKETS_RETRY_SECONDS = 600
"""When a driver at the open-ticket cap may try again: a person resolves a case in minutes."""


def error_response(
    status: int, message: str, field: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The error body every route, guard and handler answers with (`field` only when known)."""
    body: dict[str, Any] = {"message": message}
    if field:
        body["field"] = field
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def install_error_handlers(application: FastAPI, *, staff_paths: tuple[str, ...]) -> None:
    """`staff_paths`: path prefixes only signed-in agents reach; a failed stage's detail is
    shown there, and only logged elsewhere."""
    # The decorator form, applied here, keeps each handler's own exception type for mypy.
    application.exception_handler(ApiError)(api_error)
    application.exception_handler(RequestValidationError)(validation_error)
    application.exception_handler(InputError)(bad_input)
    application.exception_handler(NotSignedIn)(not_signed_in)
    application.exception_handler(TooManyOpenTickets)(too_many_open_tickets)
    application.exception_handler(StageError)(partial(stage_failed, staff_paths=staff_paths))
    application.exception_handler(StarletteHTTPException)(http_exception)
    application.exception_handler(Exception)(unexpected_error)


async def api_error(_request: Request, error: ApiError) -> JSONResponse:
    return error_response(error.status, error.message, error.field, error.headers)


async def bad_input(_request: Request, error: InputError) -> JSONResponse:
    return error_response(400, str(error), REQUEST_FIELDS.get(error.source, error.source))


async def http_exception(_request: Request, error: StarletteHTTPException) -> JSONResponse:
    """Starlette's and FastAPI's own refusals (`{"detail": ...}` by default) in the one shape."""
    if error.status_code == 400 and "parsing the body" in str(error.detail):
        message = "the body could not be read as JSON (nested too deep?); send a JSON object"
    else:
        message = HTTP_EXCEPTION_MESSAGES.get(error.status_code, str(error.detail))
    response = error_response(
        error.status_code, message, HTTP_EXCEPTION_FIELDS.get(error.status_code)
    )
    response.headers.update(error.headers or {})  # a 405's Allow
    return response


async def not_signed_in(_request: Request, error: NotSignedIn) -> JSONResponse:
    return error_response(401, str(error))


async def too_many_open_tickets(_request: Request, error: TooManyOpenTickets) -> JSONResponse:
    retry = {"Retry-After": str(OPEN_TICKETS_RETRY_SECONDS)}
    return error_response(429, str(error), "session_id", headers=retry)


async def stage_failed(
    request: Request, error: StageError, *, staff_paths: tuple[str, ...]
) -> JSONResponse:
    path = request.url.path
    if path.startswith(staff_paths):
        return error_response(503, str(error))
    logger.error("%s %s failed: %s", request.method, path, error, exc_info=error)
    return error_response(503, UNAVAILABLE)


async def unexpected_error(request: Request, error: Exception) -> JSONResponse:
    """A bug's 500 in the one shape too; Starlette still raises it on, so uvicorn logs its
    traceback (nothing of it reaches the client)."""
    logger.error("%s %s raised %r", request.method, request.url.path, error)
    return error_response(500, UNAVAILABLE)


async def validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
    """The first field pydantic refused, by its path ("comment", "query.year")."""
    problems = error.errors()
    first = problems[0] if problems else {"loc": (), "msg": "invalid request"}
    if first.get("type") == "json_invalid":  # its loc is a character position, not a field
        return error_response(
            422, f"the body is not valid JSON ({first.get('msg')}); send a JSON object", "body"
        )
    field = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    return error_response(422, f"{field or 'request'}: {first.get('msg')}", field or None)
