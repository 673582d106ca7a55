"""Uvicorn's answer to a request it cannot parse (a bad Content-Length, a broken header line),
in the one error shape instead of its text/plain "Invalid HTTP request received."

Uvicorn answers those itself, before any app sees the request, from its protocol class's
`send_400_response`; `ui.server.uvicorn_config` passes the classes here as `http=`.

    uvicorn.Config(app, http=json_error_protocol())
"""

from __future__ import annotations

import asyncio
import json
import sys

from uvicorn.protocols.http.h11_impl import H11Protocol

STATUS_LINE = b"HTTP/1.1 400 Bad Request\r\n"


def malformed_request_body() -> bytes:
    """The error body for the parser error being handled now (`send_400_response` is called
    from uvicorn's `except` around its parser), naming the part of the request at fault."""
    problem = str(sys.exc_info()[1] or "unreadable request")
    lowered = problem.lower()
    if "content-length" in lowered:
        field = "Content-Length"
    elif "header" in lowered:
        field = "headers"
    else:
        field = "request"
    message = (
        f"the request is not valid HTTP/1.1 ({problem[:120]}); "
        "check its request line, headers and Content-Length"
    )
    return json.dumps({"error": {"message": message, "field": field}}).encode()


class JsonErrorH11Protocol(H11Protocol):
    """h11's protocol (pure Python), answering a malformed request in the one shape."""

    def send_400_response(self, msg: str) -> None:
        import h11

        body = malformed_request_body()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        for event in (
            h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
            h11.Data(data=body),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event) or b"")
        self.transport.close()


def json_error_protocol() -> type[asyncio.Protocol]:
    """What uvicorn's "auto" picks (httptools when installed, else h11), answering JSON."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # httptools is an optional extra of uvicorn
        return JsonErrorH11Protocol

    class JsonErrorHttpToolsProtocol(HttpToolsProtocol):
        def send_400_response(self, msg: str) -> None:
            body = malformed_request_body()
            head = [STATUS_LINE]
            for name, value in self.server_state.default_headers:
                head.extend([name, b": ", value, b"\r\n"])
            head.append(
                b"content-type: application/json\r\ncontent-length: %d\r\n"
                b"connection: close\r\n\r\n" % len(body)
            )
            self.transport.write(b"".join(head) + body)
            self.transport.close()

    return JsonErrorHttpToolsProtocol
