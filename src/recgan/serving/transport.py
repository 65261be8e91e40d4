"""uvicorn's HTTP protocol with TCP_NODELAY on every connection.

With ``--workers N`` uvicorn binds the listening socket itself (``socket.socket(family)``, protocol 0), and
asyncio only disables Nagle's algorithm on sockets whose protocol reads IPPROTO_TCP. A response written in
two pieces (h11 writes headers and body separately) then waits for the client's delayed ACK: 40-50 ms added
to every request. Setting TCP_NODELAY per connection removes that whatever the parser and the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

from uvicorn.protocols.http.auto import AutoHTTPProtocol


class NoDelayHTTPProtocol(AutoHTTPProtocol):  # type: ignore[misc,valid-type]
    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)  # type: ignore[arg-type]


PROTOCOL = f"{__name__}:NoDelayHTTPProtocol"
"""What to pass as uvicorn's ``http=`` (an import string, so worker processes can import it)."""
