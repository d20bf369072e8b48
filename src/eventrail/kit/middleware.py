"""Pure ASGI middleware (no BaseHTTPMiddleware: it costs a task and a copy per request)."""

from __future__ import annotations

import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = b"x-cap-requestid"


class RequestIdMiddleware:
    """Gives every request an id (``request.state.request_id``) and returns it as
    ``X-Cap-Requestid`` on every response, errors included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = uuid.uuid4().hex
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
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)
