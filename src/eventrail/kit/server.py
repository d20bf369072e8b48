"""Limits on reading a request, enforced by the HTTP server before the app sees it.

``eventrail serve`` runs uvicorn with :class:`GuardedHttpToolsProtocol`, its
httptools protocol plus:

- **header size**: the request line and headers together may not exceed
  ``MAX_HEADER_BYTES`` (64 KiB), nor one header line ``MAX_HEADER_LINE_BYTES``
  (16 KiB); past either, the request is answered 431 with the error envelope
  and the connection closed. The bytes are counted as they arrive, so a
  request never buffers more than the limit and two network reads;
- **header timeout**: a connection must deliver a complete request line and
  headers within ``EVENTRAIL_HEADER_TIMEOUT_SECONDS`` (10) of being opened or
  of the request's first byte (408, then closed);
- **body timeout**: a body must be complete within
  ``EVENTRAIL_BODY_TIMEOUT_SECONDS`` (30) of the end of its headers (closed);
- **an answer before the body** (a 413 for a body over the limit, or any answer
  given before the whole body was read): the connection is not closed under a
  client that is still sending, which would then see a reset or a broken pipe
  instead of the answer. What it still sends is read and dropped, up to
  ``DISCARD_BYTES`` (32 MiB) or for ``DISCARD_SECONDS`` (10 s), whichever comes
  first, and the connection is closed when the client has sent all of it, closes
  its end, or reaches either bound;
- **connection cap**: past ``EVENTRAIL_MAX_CONNECTIONS`` (1000) open
  connections per server process, a new connection closes the one that has
  waited longest for its headers; if none is waiting, the newcomer gets 503.
  Half-sent requests therefore cannot hold the server: they are the first to go.

The timeouts are checked once a second (not a timer per request: the sweep
costs nothing per request). Idle keep-alive connections are closed after
uvicorn's ``timeout_keep_alive`` (5 s). :func:`header_problem` is the same
size check on an ASGI scope, for the app behind any server; a scope this
protocol made says it was checked (``HEADERS_CHECKED``), so the check is not
made twice.

Every request passes through these callbacks, so they stay few: the sizes of
the request line and of each header line are checked once the headers are
complete (the total, which bounds the memory, as the bytes arrive). An answer's
status line and headers go out with its body in one write (``_Answer``), not
in two as uvicorn's protocol writes them.
"""

from __future__ import annotations

import asyncio
import http
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import httptools
import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from eventrail.errors import (
    EventrailError,
    HeadersTooLarge,
    RequestTimeout,
    ServiceUnavailable,
    error_body,
)

MAX_HEADER_BYTES = 64 * 1024
MAX_HEADER_LINE_BYTES = 16 * 1024
# The key of an ASGI scope made by GuardedHttpToolsProtocol: its sizes were checked.
HEADERS_CHECKED = "eventrail.headers_checked"
TOO_LARGE = "Request line or headers too large: at most 16 KiB per line and 64 KiB in all"
HEADERS_LATE = "Request headers not received in time"
_SWEEP_SECONDS = 1.0
_LINGER_SECONDS = 2.0
# What is read and dropped of a body after the answer was given (see above).
DISCARD_BYTES = 32 * 1024 * 1024
DISCARD_SECONDS = 10.0

log = logging.getLogger("eventrail.server")


def header_problem(scope: Any) -> str | None:
    """Why the request line and headers of an ASGI scope are too large, or None."""
    if HEADERS_CHECKED in scope:
        return None
    target = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
    return TOO_LARGE if _oversized(target, scope["headers"]) else None


def _oversized(target: int, headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """Whether a header line is over MAX_HEADER_LINE_BYTES, or the request target
    (``target`` bytes) and the header lines over MAX_HEADER_BYTES in all."""
    total = target
    for name, value in headers:
        line = len(name) + len(value) + 4
        if line > MAX_HEADER_LINE_BYTES:
            return True
        total += line
    return total > MAX_HEADER_BYTES


@dataclass(frozen=True)
class ReadLimits:
    header_timeout: float
    body_timeout: float
    max_connections: int


@cache
def _limits() -> ReadLimits:
    from eventrail.config import get_settings

    settings = get_settings()
    return ReadLimits(
        settings.header_timeout_seconds,
        settings.body_timeout_seconds,
        settings.max_connections,
    )


class _HeaderLineTooLarge(Exception):
    pass


def _response(exc: EventrailError, default_headers: list[tuple[bytes, bytes]]) -> bytes:
    body = orjson.dumps(error_body(exc))
    status = exc.status_code
    lines = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}".encode()]
    lines += [name + b": " + value for name, value in default_headers]
    lines += [f"{name}: {value}".encode("latin-1") for name, value in exc.headers.items()]
    lines += [
        b"content-type: application/json",
        b"content-length: " + str(len(body)).encode(),
        b"connection: close",
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


# Connections reading a request in this process -> their deadline (loop time),
# oldest first: _headers from the connection or the request's first byte,
# _bodies from the end of the headers.
_headers: dict[GuardedHttpToolsProtocol, float] = {}
_bodies: dict[GuardedHttpToolsProtocol, float] = {}
_sweeper: list[asyncio.AbstractEventLoop] = []


def _sweep(loop: asyncio.AbstractEventLoop) -> None:
    now = loop.time()
    for waiting, expired in ((_headers, "headers"), (_bodies, "body")):
        late = [p for p, deadline in waiting.items() if deadline <= now]
        for protocol in late:
            if protocol.flow is not None and protocol.flow.read_paused:
                continue  # the server stopped reading, not the client
            protocol.too_slow(expired)
    loop.call_later(_SWEEP_SECONDS, _sweep, loop)


class _Answer:
    """The transport a request's cycle writes its answer to.

    - The status line and headers, which uvicorn writes on their own, are held
      until the body's first part and written with it: one write (one system call,
      one packet) for an answer instead of two. An answer to HEAD, which has no
      body to wait for, is not held.
    - ``close()`` sends what is held, then lets the protocol drop the rest of a
      body still being sent before it closes (``close_after_body``).

    Once the head is out, ``write`` is the transport's own."""

    __slots__ = ("_head", "_protocol", "_transport", "cycle", "is_closing", "write")

    def __init__(
        self, transport: asyncio.Transport, protocol: GuardedHttpToolsProtocol, cycle: Any
    ) -> None:
        self._transport = transport
        self._protocol = protocol
        self._head = b""
        self.cycle = cycle
        self.write: Any = self._hold
        self.is_closing = transport.is_closing

    def _hold(self, data: bytes) -> None:
        cycle = self.cycle
        if not cycle.response_started or cycle.scope["method"] == "HEAD":
            self._transport.write(data)  # "100 Continue", or an answer with no body
            return
        self._head = data
        self.write = self._with_head

    def _with_head(self, data: bytes) -> None:
        self.write = self._transport.write
        head, self._head = self._head, b""
        self._transport.write(head + data)

    def close(self) -> None:
        if self._head:
            self._with_head(b"")
        self._protocol.close_after_body()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


# Header names (lower-cased, as uvicorn keeps them) that announce a request body.
_BODY_HEADERS = frozenset({b"content-length", b"transfer-encoding"})


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the limits of this module."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = _limits()
        self._header_bytes = 0
        self._reading_headers = False
        self._refused = False
        self._discarding = False
        self._discarded = 0

    # -- connections -------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self.loop not in _sweeper:
            _sweeper.append(self.loop)
            self.loop.call_later(_SWEEP_SECONDS, _sweep, self.loop)
        if len(self.connections) > self.limits.max_connections:
            oldest = next(iter(_headers), None)
            if oldest is None:
                self.refuse(ServiceUnavailable("Too many connections; retry shortly"))
                return
            oldest.refuse(RequestTimeout(HEADERS_LATE))
        _headers[self] = self.loop.time() + self.limits.header_timeout

    def connection_lost(self, exc: Exception | None) -> None:
        _headers.pop(self, None)
        _bodies.pop(self, None)
        super().connection_lost(exc)

    def refuse(self, exc: EventrailError, *, linger: bool = False) -> None:
        """Answer ``exc`` with the envelope and close. With ``linger``, what the
        client still sends is read and dropped for a moment first, so that a client
        busy sending sees the answer rather than a reset."""
        _headers.pop(self, None)
        _bodies.pop(self, None)
        if self._refused or self.transport.is_closing():
            return
        self._refused = True
        self.transport.write(_response(exc, self.server_state.default_headers))
        if linger and self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(_LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()

    # -- an answer given before the body was read --------------------------------------
    def _body_pending(self) -> bool:
        return self.cycle is not None and self.cycle.more_body and not self.transport.is_closing()

    def close_after_body(self) -> None:
        """Close, once the client has sent the body it is still sending (bounded)."""
        if self._discarding or not self._body_pending():
            self.transport.close()
            return
        self._discard_rest()

    def _discard_rest(self) -> None:
        """The answer is written: read and drop what the client still sends, up to
        DISCARD_BYTES or DISCARD_SECONDS, then close (sooner if it closes its end)."""
        self._discarding = True
        self._discarded = 0
        _bodies.pop(self, None)
        if self.cycle is not None:
            self.cycle.keep_alive = False
        self.flow.resume_reading()
        if self.transport.can_write_eof():
            self.transport.write_eof()  # the answer is all there is
        self.loop.call_later(DISCARD_SECONDS, self.transport.close)

    def on_response_complete(self) -> None:
        if self._discarding:
            self.server_state.total_requests += 1
            return
        cycle = self.cycle  # a keep-alive answer given before the body was read:
        if cycle is not None and cycle.more_body and not self.transport.is_closing():
            self.server_state.total_requests += 1
            self._discard_rest()
            return
        super().on_response_complete()

    def too_slow(self, part: str) -> None:
        if part == "headers":
            self.refuse(RequestTimeout(HEADERS_LATE))
        else:
            _bodies.pop(self, None)
            self.transport.close()  # the app sees the client go away

    # -- reading -----------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._discarding:
            self._discarded += len(data)
            if self._discarded > DISCARD_BYTES:
                self.transport.close()
            return
        self._unset_keepalive_if_required()
        # A read that began while the headers were pending is all header bytes
        # if they are still pending after it: counted exactly, never a body.
        counted = self._reading_headers
        if counted:
            self._header_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            if isinstance(exc.__context__, _HeaderLineTooLarge):
                self.refuse(HeadersTooLarge(TOO_LARGE), linger=True)
                return
            self._invalid()
            return
        except httptools.HttpParserError:
            self._invalid()
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        if self._reading_headers and self._header_bytes > MAX_HEADER_BYTES:
            self.refuse(HeadersTooLarge(TOO_LARGE), linger=True)

    def handle_websocket_upgrade(self) -> None:
        # The connection becomes the WebSocket protocol's: no request to time out.
        _headers.pop(self, None)
        _bodies.pop(self, None)
        super().handle_websocket_upgrade()

    def _invalid(self) -> None:
        _headers.pop(self, None)
        _bodies.pop(self, None)
        self.logger.warning("Invalid HTTP request received.")
        self.send_400_response("Invalid HTTP request received.")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = 0
        self._reading_headers = True
        if self not in _headers:
            _headers[self] = self.loop.time() + self.limits.header_timeout

    def on_headers_complete(self) -> None:
        self._reading_headers = False
        _headers.pop(self, None)
        # The sizes, exactly: the total was bounded while the bytes arrived.
        if len(self.url) > MAX_HEADER_LINE_BYTES or _oversized(len(self.url), self.headers):
            raise _HeaderLineTooLarge
        body = any(name in _BODY_HEADERS for name, _ in self.headers)
        if body:
            _bodies[self] = self.loop.time() + self.limits.body_timeout
        super().on_headers_complete()
        self.scope[HEADERS_CHECKED] = True  # type: ignore[literal-required]
        cycle = self.cycle
        if cycle is not None:  # None when the request was refused as it arrived
            cycle.transport = _Answer(self.transport, self, cycle)  # type: ignore[assignment]

    def on_message_complete(self) -> None:
        _bodies.pop(self, None)
        super().on_message_complete()
