"""Pure ASGI middleware (no BaseHTTPMiddleware: it costs a task and a copy per request)."""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from eventrail.errors import BadRequest, EventrailError, error_response
from eventrail.kit import ids
from eventrail.kit.json import loads, payload_problem
from eventrail.kit.requests import parse_query, read_body, require_json

REQUEST_ID_HEADER = b"x-cap-requestid"


class RequestIdMiddleware:
    """Gives every request an id (``request.state.request_id``) and returns it as
    ``X-Cap-Requestid`` on every response, errors included; adds the
    ``X-RateLimit-*`` headers of the rate-limit decision a handler left in
    ``request.state.rate_limit``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = ids.uuid4_hex()
        scope.setdefault("state", {})["request_id"] = rid
        header = (b"X-Cap-Requestid", rid.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                state = scope.get("state", {})
                value = state.get("request_id", rid)
                headers = [
                    h for h in message.get("headers", []) if h[0].lower() != REQUEST_ID_HEADER
                ]
                headers.append((header[0], value.encode()))
                decision = state.get("rate_limit")
                if decision is not None:
                    headers.extend(decision.headers())
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)


_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# The console's HTML forms post urlencoded bodies, which the console parses itself.
FORM_PREFIX = "/console/"


def _json_refusal(body: bytes) -> str | None:
    """Why a JSON request body cannot be taken (size, depth, encoding), or None.

    Parsed here with orjson, whose depth limit refuses the hostile nesting that
    would exhaust the stdlib parser's recursion further in.
    """
    try:
        document = loads(body)
    except ValueError:
        return "Request body is not valid JSON"
    where = _nul_path(document)
    if where is not None:
        return f"Invalid value for field '{where}' in request body: contains a NUL character"
    problem = payload_problem(document)
    return f"Invalid request body: {problem}" if problem is not None else None


def _nul_path(document: Any) -> str | None:
    """The dotted path of the first JSON string (or key) holding a NUL character."""
    stack: list[tuple[str, Any]] = [("", document)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, str) and "\x00" in node:
            return path or "body"
        if isinstance(node, dict):
            for key, value in reversed(list(node.items())):
                child = f"{path}.{key}" if path else str(key)
                if "\x00" in key:
                    return child
                stack.append((child, value))
        elif isinstance(node, list):
            stack.extend((f"{path}[{i}]", value) for i, value in reversed(list(enumerate(node))))
    return None


class RequestGuardMiddleware:
    """Refuses what no endpoint can take, before any of them sees it.

    - a body over 1 MiB (413); the body is read here, up to the limit, and
      replayed to the app, so a chunked upload cannot slip past it either;
    - a body that is not JSON on the API's own endpoints (415; the console's forms
      under /console/ are urlencoded);
    - a NUL character in the path, the query or a JSON body (400): no text
      column of PostgreSQL can hold one, and no identifier needs one;
    - a query parameter given more than once, or whose raw bytes are not UTF-8 (400);
    - a JSON body that does not parse, nests deeper than 32 levels or holds a
      string over 64 KiB (400).

    The fast lane (webhooks, the event_data, logs and audits reads) does its own checking.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        query: bytes = scope.get("query_string", b"")
        if "\x00" in path:
            nul = BadRequest("Request path contains a NUL character (%00)")
            await error_response(nul)(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        body: bytes | None = b""
        try:
            parse_query(query)
            if scope["method"] in _BODY_METHODS:
                body = await read_body(receive, headers.get(b"content-length"))
        except EventrailError as exc:
            await error_response(exc)(scope, receive, send)
            return
        if body is None:  # the client went away
            return
        if scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        if path.startswith(FORM_PREFIX):
            await self.app(scope, _replay(body, receive), send)
            return
        try:
            # the API itself always wants a declared JSON body
            require_json(headers.get(b"content-type", b"").decode("latin-1"), body)
        except EventrailError as exc:
            await error_response(exc)(scope, receive, send)
            return
        if body:
            refusal = _json_refusal(body)
            if refusal is not None:
                await error_response(BadRequest(refusal))(scope, receive, send)
                return
        await self.app(scope, _replay(body, receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the body read already, then what the client sends next."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
