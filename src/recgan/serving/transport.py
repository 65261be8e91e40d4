"""uvicorn's HTTP protocol with TCP_NODELAY on every connection and JSON for the errors uvicorn answers itself.

With ``--workers N`` uvicorn binds the listening socket itself (``socket.socket(family)``, protocol 0), and
asyncio only disables Nagle's algorithm on sockets whose protocol reads IPPROTO_TCP. A response written in
two pieces (h11 writes headers and body separately) then waits for the client's delayed ACK: 40-50 ms added
to every request. Setting TCP_NODELAY per connection removes that whatever the parser and the socket.

uvicorn answers a request it cannot parse with a plain-text 400 before the app sees it; here that answer has
the service's JSON error shape, and so has a request whose client ends its side of the connection before
sending the whole body its Content-Length announced (uvicorn would drop it without an answer).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket

from uvicorn.protocols.http.auto import AutoHTTPProtocol

BAD_REQUEST_MESSAGE = ("malformed HTTP request (bad syntax, or a body shorter than its Content-Length "
                       "before the client ended the connection)")


def bad_request_bytes(default_headers: list[tuple[bytes, bytes]] | None = None) -> bytes:
    """A complete HTTP/1.1 400 response with the JSON error body of every other error; closes the connection."""
    body = json.dumps({"error": {"code": "bad_request", "message": BAD_REQUEST_MESSAGE}}).encode()
    head = [b"HTTP/1.1 400 Bad Request\r\n"]
    for name, value in default_headers or []:
        head += [name, b": ", value, b"\r\n"]
    head += [b"content-type: application/json\r\n", b"content-length: " + str(len(body)).encode() + b"\r\n",
             b"connection: close\r\n\r\n"]
    return b"".join(head) + body


class JsonBadRequestMixin:
    """For a uvicorn HTTP protocol class (h11 or httptools): its own 400s in the service's JSON shape."""

    def send_400_response(self, msg: str) -> None:
        state = getattr(self, "server_state", None)
        self.transport.write(bad_request_bytes(getattr(state, "default_headers", None)))  # type: ignore[attr-defined]
        self.transport.close()  # type: ignore[attr-defined]

    def eof_received(self) -> bool | None:
        cycle = getattr(self, "cycle", None)
        if cycle is not None and cycle.more_body and not cycle.response_started and not cycle.disconnected:
            # the client ended its side in the middle of a body: answer instead of dropping the request
            cycle.disconnected = True  # the app reads a disconnect; anything it would send is dropped
            cycle.message_event.set()
            self.send_400_response("body shorter than its Content-Length")
        return None


class NoDelayHTTPProtocol(JsonBadRequestMixin, AutoHTTPProtocol):  # type: ignore[misc,valid-type]
    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)  # type: ignore[arg-type]


PROTOCOL = f"{__name__}:NoDelayHTTPProtocol"
"""What to pass as uvicorn's ``http=`` (an import string, so worker processes can import it)."""
