"""The ceiling: a bare ASGI app on the same server stack as eventrail (uvicorn,
uvloop, httptools), answering a trivial GET and a trivial POST of the same body
size. No framework, no database: what the stack itself can do on this machine."""

from __future__ import annotations

from typing import Any

_GET_BODY = b'{"data":[],"warnings":[],"errors":[]}'
_POST_BODY = (
    b'{"status":{"code":1100,"message":"Event is pushed to transformation state"},'
    b'"requestId":"00000000-0000-4000-8000-000000000000"}'
)
_HEADERS = [(b"content-type", b"application/json")]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["method"] == "POST":
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        body = _POST_BODY
    else:
        body = _GET_BODY
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": body})
