"""The fast lane: a few hot routes served as plain ASGI handlers, everything else
handed to the framework.

FastAPI's dependency injection and validation cost more per request than the
whole work of a read or an acknowledgement (measured: a trivial FastAPI
endpoint reaches 27% of the bare server stack). The busiest read APIs and the
webhooks are therefore served here: the handler gets a :class:`FastRequest`
(parsed once: headers, query, path parameters, body) and returns a
:class:`FastResponse`; the lane adds ``X-Cap-Requestid`` and the rate-limit
headers, refuses oversized bodies and NUL characters, renders
:class:`~eventrail.errors.EventrailError` as Capillary's error envelope, and answers a
database outage with 503 (``kit/dbhealth.py``).

In front of every route, its own and the framework's, it refuses request
headers over the sizes that ``kit/server.py`` enforces while reading them
(431): the server in front may not be ours.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from eventrail.errors import (
    BadRequest,
    EventrailError,
    HeadersTooLarge,
    InternalError,
    MethodNotAllowed,
    ServiceUnavailable,
    error_body,
)
from eventrail.kit import ids
from eventrail.kit.dbhealth import DatabaseHealth, is_unavailable
from eventrail.kit.json import dumps
from eventrail.kit.requests import check_declared_length, parse_query, read_body, read_prefix
from eventrail.kit.server import header_problem

log = logging.getLogger("eventrail")

# Every query parameter is a single value: a repeated one is ambiguous (which one
# counts?), so it is refused rather than silently picking the first or the last.
_JSON = (b"content-type", b"application/json")


@dataclass(slots=True)
class FastRequest:
    scope: Scope
    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, str]
    path_params: dict[str, str]
    body: bytes
    request_id: str
    rate_limit: Any = None  # a kit.ratelimit.Decision, whose headers go on the answer
    # A route registered with ``body_after_admission``: the body is still to be read
    # (``read_body``), once the handler has admitted the request.
    receive: Receive | None = None
    # Part of the body was left unsent or unread when the answer was given: the
    # answer says "Connection: close", so that the client does not send its next
    # request on a connection whose rest of a body the server is dropping.
    body_left: bool = False

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    async def read_body(self) -> bytes:
        """The whole body (up to kit.requests.MAX_BODY_BYTES, 413 past it); read
        now if the lane left it unread."""
        if self.receive is not None:
            receive, self.receive = self.receive, None
            sent = await read_body(receive, self.headers.get("content-length"))
            if sent is None:
                raise BadRequest("Request body was cut off: the client went away")
            self.body = sent
        return self.body

    async def read_prefix(self, limit: int) -> tuple[bytes, bool]:
        """At most ``limit`` bytes of a body left unread, and whether that is all of
        it. What is not read is never buffered: the server drops it after the
        answer (kit/server.py)."""
        if self.receive is None:
            return self.body[:limit], len(self.body) <= limit
        receive, self.receive = self.receive, None
        prefix, complete = await read_prefix(receive, self.headers.get("content-length"), limit)
        self.body_left = not complete
        return prefix, complete


@dataclass(slots=True)
class FastResponse:
    body: bytes
    status: int = 200
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)


def json_response(content: Any, status: int = 200) -> FastResponse:
    return FastResponse(dumps(content), status)


FastHandler = Callable[[FastRequest], Awaitable[FastResponse]]
Route = tuple[str, str, FastHandler]  # (method, path template, handler)
_AFTER_ADMISSION = "_eventrail_body_after_admission"


def body_after_admission(handler: FastHandler) -> FastHandler:
    """Mark a handler that admits its request before reading the body: the lane
    hands it the request with the body unread (``FastRequest.read_body``), so that
    a post refused for its credentials or a budget is answered without the server
    reading or buffering what the sender sends (the webhooks: issue 11, finding 4)."""
    setattr(handler, _AFTER_ADMISSION, True)
    return handler


@dataclass(frozen=True, slots=True)
class _Route:
    method: str
    path: str  # the template, as FastAPI's routes name theirs (access line, metrics label)
    pattern: re.Pattern[str]
    handler: FastHandler


def compile_template(template: str) -> re.Pattern[str]:
    """``/webhooks/{webhook_id}`` -> ``^/webhooks/(?P<webhook_id>[^/]+)$``."""
    parts = re.split(r"\{(\w+)\}", template)
    regex = "".join(
        re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)" for i, part in enumerate(parts)
    )
    return re.compile(f"^{regex}$")


class FastLane:
    """An ASGI app: serves its routes, hands every other request to ``fallback``."""

    def __init__(self, fallback: ASGIApp, health: DatabaseHealth | None = None) -> None:
        self.fallback = fallback
        self.health = health or DatabaseHealth()
        self._prefixes: tuple[str, ...] = ()
        # The routes of a path without parameters, by that path: found with one
        # look-up; only the others are tried pattern by pattern.
        self._exact: dict[str, list[_Route]] = {}
        self._patterned: list[_Route] = []

    def route(self, method: str, template: str, handler: FastHandler) -> None:
        route = _Route(method, template, compile_template(template), handler)
        self._prefixes = (*self._prefixes, template.split("{", 1)[0])
        if "{" in template:
            self._patterned.append(route)
        else:
            self._exact.setdefault(template, []).append(route)

    def _match(
        self, scope: Scope, method: str, path: str
    ) -> tuple[_Route, dict[str, str], list[str]] | None:
        """The route (for ``method``, else the first for the path), its path
        parameters, and the allowed methods when only the method differs (else
        empty); ``None`` when the path is not the lane's."""
        if not path.startswith(self._prefixes):
            return None
        allowed: list[str] = []
        first: _Route | None = None
        for route in self._exact.get(path, ()):
            if route.method == method:
                return route, {}, []
            allowed.append(route.method)
            first = first or route
        for route in self._patterned:
            found = route.pattern.match(path)
            if found is None:
                continue
            if route.method == method:
                return route, found.groupdict(), []
            allowed.append(route.method)
            first = first or route
        return (first, {}, allowed) if first is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.fallback(scope, receive, send)
            return
        too_large = header_problem(scope)
        if too_large is not None:
            response = _error(HeadersTooLarge(too_large))
            headers = [_JSON, (b"x-cap-requestid", ids.uuid4_hex().encode()), *response.headers]
            await send({"type": "http.response.start", "status": 431, "headers": headers})
            await send({"type": "http.response.body", "body": response.body})
            return
        matched = self._match(scope, scope["method"], scope["path"])
        if matched is None:
            await self.fallback(scope, receive, send)
            return
        route, path_params, allowed = matched
        scope["route"] = route  # where FastAPI puts its own route (kit/accesslog.py reads it)
        handler = _method_not_allowed(allowed) if allowed else route.handler
        request_id = ids.uuid4_hex()
        request: FastRequest | None = None
        try:
            request = await self._request(
                scope,
                receive,
                path_params,
                request_id,
                read=not getattr(handler, _AFTER_ADMISSION, False),
            )
            response = await handler(request)
        except EventrailError as exc:
            response = _error(exc)
        except Exception as exc:
            if is_unavailable(exc):
                self.health.failed(exc)
                response = _error(ServiceUnavailable())
            else:
                # The handler, not the path: a path holds webhook ids and customer ids.
                where = getattr(handler, "__qualname__", "a handler")
                log.exception("unhandled error in %s %s", scope["method"], where)
                response = _error(InternalError())
        headers = [
            _JSON,
            (b"x-cap-requestid", (request.request_id if request else request_id).encode()),
        ]
        if request is not None and request.rate_limit is not None:
            headers.extend(request.rate_limit.headers())
        if request is not None and (request.body_left or request.receive is not None):
            headers.append((b"connection", b"close"))
        headers.extend(response.headers)
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})

    @staticmethod
    async def _request(
        scope: Scope,
        receive: Receive,
        path_params: dict[str, str],
        request_id: str,
        *,
        read: bool = True,
    ) -> FastRequest:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        path: str = scope["path"]
        if "\x00" in path:
            raise BadRequest("Request path contains a NUL character (%00)")
        query = parse_query(scope.get("query_string", b""))
        request = FastRequest(
            scope, scope["method"], path, headers, query, path_params, b"", request_id
        )
        length = headers.get("content-length")
        if scope["method"] in ("POST", "PUT", "PATCH") and (
            length != "0" if length is not None else "transfer-encoding" in headers
        ):
            check_declared_length(length)  # 413 before anything else
            request.receive = receive
            if read:
                await request.read_body()
        return request


def _error(exc: EventrailError) -> FastResponse:
    response = FastResponse(dumps(error_body(exc)), exc.status_code)
    response.headers.extend((k.encode(), v.encode()) for k, v in exc.headers.items())
    return response


def _method_not_allowed(allowed: list[str]) -> FastHandler:
    async def refuse(_: FastRequest) -> FastResponse:
        raise MethodNotAllowed(headers={"allow": ", ".join(allowed)})

    return refuse
